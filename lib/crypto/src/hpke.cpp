// HPKE (RFC 9180) on the primitives of primitives.h: DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256, and AES-128-GCM, ChaCha20-Poly1305 or export-only.
#include "sotto/crypto/hpke.h"

#include <array>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>

#include "sotto/crypto/primitives.h"

namespace sotto::crypto {

namespace {

// DHKEM(X25519, HKDF-SHA256): Nsecret, Nenc, Npk, Nsk; and the KDF's Nh.
constexpr size_t kNsecret = 32;
constexpr size_t kNenc = kX25519Size;
constexpr size_t kNsk = kX25519Size;
constexpr size_t kNh = kSha256Size;
// RFC 9180 section 5.1.2: a PSK carries at least 32 bytes of entropy, so it has at least
// that many bytes.
constexpr size_t kMinPskSize = 32;

constexpr std::string_view kVersionLabel = "HPKE-v1";

// suite_id of section 4.1 ("KEM" || I2OSP(kem_id, 2)) or of section 5.1
// ("HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2)).
class SuiteId {
 public:
  static SuiteId kem(HpkeKem kem) {
    SuiteId id;
    id.append("KEM");
    id.append_u16(static_cast<uint16_t>(kem));
    return id;
  }
  static SuiteId hpke(HpkeKem kem, HpkeKdf kdf, HpkeAead aead) {
    SuiteId id;
    id.append("HPKE");
    id.append_u16(static_cast<uint16_t>(kem));
    id.append_u16(static_cast<uint16_t>(kdf));
    id.append_u16(static_cast<uint16_t>(aead));
    return id;
  }
  BytesView view() const { return {bytes_.data(), size_}; }

 private:
  void append(std::string_view text) {
    std::memcpy(bytes_.data() + size_, text.data(), text.size());
    size_ += text.size();
  }
  void append_u16(uint16_t v) {
    bytes_[size_++] = static_cast<uint8_t>(v >> 8);
    bytes_[size_++] = static_cast<uint8_t>(v);
  }
  std::array<uint8_t, 10> bytes_{};
  size_t size_ = 0;
};

// a || b || ... into secret memory, allocated once.
SecureBytes secure_concat(std::initializer_list<BytesView> parts) {
  size_t size = 0;
  for (const BytesView part : parts) size += part.size();
  SecureBytes out(size);
  size_t at = 0;
  for (const BytesView part : parts) {
    if (!part.empty()) std::memcpy(out.data() + at, part.data(), part.size());
    at += part.size();
  }
  return out;
}

// LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm).
SecureBytes labeled_extract(const SuiteId& suite, BytesView salt, std::string_view label,
                            BytesView ikm) {
  const SecureBytes labeled_ikm =
      secure_concat({as_bytes(kVersionLabel), suite.view(), as_bytes(label), ikm});
  return hkdf_extract(salt, labeled_ikm);
}

// LabeledExpand(prk, label, info, L) =
//   Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L).
Result<SecureBytes> labeled_expand(const SuiteId& suite, BytesView prk, std::string_view label,
                                   BytesView info, size_t length) {
  if (length > 255 * kNh) {
    return Error(Errc::invalid_argument,
                 "HPKE expand length " + std::to_string(length) + " over 255 * Nh");
  }
  const uint8_t length_be[2] = {static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
  const Bytes labeled_info =
      concat({length_be, as_bytes(kVersionLabel), suite.view(), as_bytes(label), info});
  return hkdf_expand(prk, labeled_info, length);
}

Aead primitive_aead(HpkeAead aead) {
  return aead == HpkeAead::aes128gcm ? Aead::aes128gcm : Aead::chacha20poly1305;
}

// Nk and Nn of the AEAD; 0 for export-only, whose key and nonce are never computed.
size_t key_size(HpkeAead aead) {
  return aead == HpkeAead::export_only ? 0 : aead_key_size(primitive_aead(aead));
}
size_t nonce_size(HpkeAead aead) {
  return aead == HpkeAead::export_only ? 0 : kAeadNonceSize;
}

bool mode_has_psk(HpkeMode mode) {
  return mode == HpkeMode::psk || mode == HpkeMode::auth_psk;
}
bool mode_has_auth(HpkeMode mode) {
  return mode == HpkeMode::auth || mode == HpkeMode::auth_psk;
}

Result<void> check_mode(HpkeMode mode) {
  switch (mode) {
    case HpkeMode::base:
    case HpkeMode::psk:
    case HpkeMode::auth:
    case HpkeMode::auth_psk:
      return success();
  }
  return Error(Errc::invalid_argument,
               "unknown HPKE mode " + std::to_string(static_cast<unsigned>(mode)));
}

// VerifyPSKInputs (section 5.1), and the PSK's minimum size (section 5.1.2).
Result<void> verify_psk_inputs(HpkeMode mode, BytesView psk, BytesView psk_id) {
  const bool got_psk = !psk.empty();
  const bool got_psk_id = !psk_id.empty();
  if (got_psk != got_psk_id) {
    return Error(Errc::invalid_argument, "HPKE psk and psk_id must be given together");
  }
  if (got_psk && !mode_has_psk(mode)) {
    return Error(Errc::invalid_argument, "HPKE psk given for a mode without a PSK");
  }
  if (!got_psk && mode_has_psk(mode)) {
    return Error(Errc::invalid_argument, "HPKE psk mode without a psk and psk_id");
  }
  if (got_psk && psk.size() < kMinPskSize) {
    return Error(Errc::invalid_argument, "HPKE psk shorter than 32 bytes");
  }
  return success();
}

Result<void> check_private_key(const HpkeKeyPair& key_pair, const char* what) {
  if (key_pair.private_key.size() != kNsk) {
    return Error(Errc::invalid_argument, std::string(what) + " private key must be " +
                                             std::to_string(kNsk) + " bytes, not " +
                                             std::to_string(key_pair.private_key.size()));
  }
  return success();
}

// SerializePublicKey(pk(sk)): the pair's public key, or derived when the pair omits it.
Result<Bytes> public_key_of(const HpkeKeyPair& key_pair) {
  if (key_pair.public_key.empty()) return x25519_public_key(key_pair.private_key);
  if (key_pair.public_key.size() != kNenc) {
    return Error(Errc::invalid_argument, "X25519 public key must be 32 bytes");
  }
  return key_pair.public_key;
}

// ExtractAndExpand(dh, kem_context) of DHKEM (section 4.1).
Result<SecureBytes> extract_and_expand(HpkeKem kem, BytesView dh, BytesView kem_context) {
  const SuiteId suite = SuiteId::kem(kem);
  const SecureBytes eae_prk = labeled_extract(suite, {}, "eae_prk", dh);
  return labeled_expand(suite, eae_prk, "shared_secret", kem_context, kNsecret);
}

}  // namespace

// ---- HpkeContext -------------------------------------------------------------------------

SecureBytes HpkeContext::nonce() const {
  SecureBytes nonce = base_nonce_;
  const size_t n = nonce.size();
  for (size_t i = 0; i < sizeof seq_ && i < n; ++i) {
    nonce[n - 1 - i] ^= static_cast<uint8_t>(seq_ >> (8 * i));
  }
  return nonce;
}

// Section 5.2 stops at seq = 2^(8 Nn) - 1; a uint64_t counter stops earlier, at 2^64 - 1,
// which is never used as a nonce so that no two messages share one.
Result<Bytes> HpkeContext::seal(BytesView aad, BytesView plaintext) {
  if (aead_ == HpkeAead::export_only) {
    return Error(Errc::unsupported, "HPKE seal with the export-only AEAD");
  }
  if (seq_ == std::numeric_limits<uint64_t>::max()) {
    return Error(Errc::message_limit, "HPKE context sequence number exhausted");
  }
  SOTTO_TRY_ASSIGN(Bytes ciphertext,
                   aead_seal(primitive_aead(aead_), key_, nonce(), aad, plaintext));
  ++seq_;
  return ciphertext;
}

Result<SecureBytes> HpkeContext::open(BytesView aad, BytesView ciphertext) {
  if (aead_ == HpkeAead::export_only) {
    return Error(Errc::unsupported, "HPKE open with the export-only AEAD");
  }
  if (seq_ == std::numeric_limits<uint64_t>::max()) {
    return Error(Errc::message_limit, "HPKE context sequence number exhausted");
  }
  SOTTO_TRY_ASSIGN(SecureBytes plaintext,
                   aead_open(primitive_aead(aead_), key_, nonce(), aad, ciphertext));
  ++seq_;
  return plaintext;
}

Result<SecureBytes> HpkeContext::export_secret(BytesView exporter_context, size_t length) const {
  return labeled_expand(SuiteId::hpke(kem_, kdf_, aead_), exporter_secret_, "sec", exporter_context,
                        length);
}

// ---- Hpke --------------------------------------------------------------------------------

Result<Hpke> Hpke::create(HpkeKem kem, HpkeKdf kdf, HpkeAead aead) {
  if (kem != HpkeKem::x25519_sha256) {
    return Error(Errc::unsupported,
                 "HPKE KEM " + std::to_string(static_cast<unsigned>(kem)) + " is not supported");
  }
  if (kdf != HpkeKdf::hkdf_sha256) {
    return Error(Errc::unsupported,
                 "HPKE KDF " + std::to_string(static_cast<unsigned>(kdf)) + " is not supported");
  }
  switch (aead) {
    case HpkeAead::aes128gcm:
      if (!aead_available(Aead::aes128gcm)) {
        return Error(Errc::unsupported, "HPKE AEAD AES-128-GCM is not available in this build");
      }
      break;
    case HpkeAead::chacha20poly1305:
    case HpkeAead::export_only:
      break;
    default:
      return Error(Errc::unsupported, "HPKE AEAD " + std::to_string(static_cast<unsigned>(aead)) +
                                          " is not supported");
  }
  return Hpke(kem, kdf, aead);
}

// Section 7.1.3 for X25519: the private key is LabeledExpand(dkp_prk, "sk", "", Nsk) and
// needs no rejection sampling, since X25519 clamps any 32 bytes.
Result<HpkeKeyPair> Hpke::derive_key_pair(BytesView ikm) const {
  if (ikm.size() < kNsk) {
    return Error(Errc::invalid_argument, "HPKE DeriveKeyPair ikm shorter than Nsk (32 bytes)");
  }
  const SuiteId suite = SuiteId::kem(kem_);
  const SecureBytes dkp_prk = labeled_extract(suite, {}, "dkp_prk", ikm);
  SOTTO_TRY_ASSIGN(SecureBytes private_key, labeled_expand(suite, dkp_prk, "sk", {}, kNsk));
  SOTTO_TRY_ASSIGN(Bytes public_key, x25519_public_key(private_key));
  return HpkeKeyPair{std::move(private_key), std::move(public_key)};
}

HpkeKeyPair Hpke::generate_key_pair() const {
  SecureBytes private_key = random_secret(kNsk);
  // Cannot fail: the key has the right size and a clamped scalar never gives the identity.
  Bytes public_key = x25519_public_key(private_key).value();
  return HpkeKeyPair{std::move(private_key), std::move(public_key)};
}

Result<Hpke::SenderContext> Hpke::setup_sender(HpkeMode mode, BytesView recipient_public_key,
                                               BytesView info, const HpkeOptions& options) const {
  SOTTO_TRY(check_mode(mode));
  SOTTO_TRY(verify_psk_inputs(mode, options.psk, options.psk_id));
  if (mode_has_auth(mode) != (options.sender != nullptr)) {
    return Error(Errc::invalid_argument,
                 mode_has_auth(mode) ? "HPKE auth mode without the sender's key pair"
                                     : "HPKE sender key pair given for a mode without auth");
  }
  if (!options.sender_public_key.empty()) {
    return Error(Errc::invalid_argument, "HPKE sender_public_key is for the receiver");
  }
  if (recipient_public_key.size() != kNenc) {
    return Error(Errc::invalid_argument, "HPKE recipient public key must be 32 bytes");
  }

  // Encap / AuthEncap (section 4.1).
  HpkeKeyPair generated;
  if (options.ephemeral == nullptr) generated = generate_key_pair();
  const HpkeKeyPair& ephemeral = options.ephemeral ? *options.ephemeral : generated;
  SOTTO_TRY(check_private_key(ephemeral, "HPKE ephemeral"));
  SOTTO_TRY_ASSIGN(Bytes enc, public_key_of(ephemeral));

  SOTTO_TRY_ASSIGN(SecureBytes dh, x25519(ephemeral.private_key, recipient_public_key));
  Bytes kem_context;
  if (options.sender != nullptr) {
    SOTTO_TRY(check_private_key(*options.sender, "HPKE sender"));
    SOTTO_TRY_ASSIGN(Bytes sender_public_key, public_key_of(*options.sender));
    SOTTO_TRY_ASSIGN(SecureBytes dh_static,
                     x25519(options.sender->private_key, recipient_public_key));
    dh = secure_concat({dh, dh_static});
    kem_context = concat({enc, recipient_public_key, sender_public_key});
  } else {
    kem_context = concat({enc, recipient_public_key});
  }
  SOTTO_TRY_ASSIGN(SecureBytes shared_secret, extract_and_expand(kem_, dh, kem_context));

  SOTTO_TRY_ASSIGN(HpkeContext context,
                   key_schedule(mode, shared_secret, info, options.psk, options.psk_id));
  return SenderContext{std::move(enc), std::move(context)};
}

Result<HpkeContext> Hpke::setup_receiver(HpkeMode mode, BytesView enc, const HpkeKeyPair& recipient,
                                         BytesView info, const HpkeOptions& options) const {
  SOTTO_TRY(check_mode(mode));
  SOTTO_TRY(verify_psk_inputs(mode, options.psk, options.psk_id));
  if (mode_has_auth(mode) != !options.sender_public_key.empty()) {
    return Error(Errc::invalid_argument,
                 mode_has_auth(mode) ? "HPKE auth mode without the sender's public key"
                                     : "HPKE sender public key given for a mode without auth");
  }
  if (options.sender != nullptr || options.ephemeral != nullptr) {
    return Error(Errc::invalid_argument, "HPKE sender and ephemeral key pairs are for the sender");
  }
  if (enc.size() != kNenc) {
    return Error(Errc::invalid_argument, "HPKE enc must be 32 bytes");
  }
  SOTTO_TRY(check_private_key(recipient, "HPKE recipient"));
  SOTTO_TRY_ASSIGN(Bytes recipient_public_key, public_key_of(recipient));

  // Decap / AuthDecap (section 4.1).
  SOTTO_TRY_ASSIGN(SecureBytes dh, x25519(recipient.private_key, enc));
  Bytes kem_context;
  if (mode_has_auth(mode)) {
    if (options.sender_public_key.size() != kNenc) {
      return Error(Errc::invalid_argument, "HPKE sender public key must be 32 bytes");
    }
    SOTTO_TRY_ASSIGN(SecureBytes dh_static,
                     x25519(recipient.private_key, options.sender_public_key));
    dh = secure_concat({dh, dh_static});
    kem_context = concat({enc, recipient_public_key, options.sender_public_key});
  } else {
    kem_context = concat({enc, recipient_public_key});
  }
  SOTTO_TRY_ASSIGN(SecureBytes shared_secret, extract_and_expand(kem_, dh, kem_context));

  return key_schedule(mode, shared_secret, info, options.psk, options.psk_id);
}

// KeySchedule (section 5.1); the caller has run VerifyPSKInputs.
Result<HpkeContext> Hpke::key_schedule(HpkeMode mode, BytesView shared_secret, BytesView info,
                                       BytesView psk, BytesView psk_id) const {
  const SuiteId suite = SuiteId::hpke(kem_, kdf_, aead_);
  const SecureBytes psk_id_hash = labeled_extract(suite, {}, "psk_id_hash", psk_id);
  const SecureBytes info_hash = labeled_extract(suite, {}, "info_hash", info);
  const uint8_t mode_byte = static_cast<uint8_t>(mode);
  const Bytes key_schedule_context = concat({{&mode_byte, 1}, psk_id_hash, info_hash});

  const SecureBytes secret = labeled_extract(suite, shared_secret, "secret", psk);

  HpkeContext context;
  context.kem_ = kem_;
  context.kdf_ = kdf_;
  context.aead_ = aead_;
  if (aead_ != HpkeAead::export_only) {
    SOTTO_TRY_ASSIGN(context.key_,
                     labeled_expand(suite, secret, "key", key_schedule_context, key_size(aead_)));
    SOTTO_TRY_ASSIGN(context.base_nonce_, labeled_expand(suite, secret, "base_nonce",
                                                         key_schedule_context, nonce_size(aead_)));
  }
  SOTTO_TRY_ASSIGN(context.exporter_secret_,
                   labeled_expand(suite, secret, "exp", key_schedule_context, kNh));
  return context;
}

Result<Hpke::Sealed> Hpke::seal(HpkeMode mode, BytesView recipient_public_key, BytesView info,
                                BytesView aad, BytesView plaintext,
                                const HpkeOptions& options) const {
  SOTTO_TRY_ASSIGN(SenderContext sender, setup_sender(mode, recipient_public_key, info, options));
  SOTTO_TRY_ASSIGN(Bytes ciphertext, sender.context.seal(aad, plaintext));
  return Sealed{std::move(sender.enc), std::move(ciphertext)};
}

Result<SecureBytes> Hpke::open(HpkeMode mode, BytesView enc, const HpkeKeyPair& recipient,
                               BytesView info, BytesView aad, BytesView ciphertext,
                               const HpkeOptions& options) const {
  SOTTO_TRY_ASSIGN(HpkeContext context, setup_receiver(mode, enc, recipient, info, options));
  return context.open(aad, ciphertext);
}

}  // namespace sotto::crypto
