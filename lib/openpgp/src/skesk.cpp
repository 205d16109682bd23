// Symmetric-key encrypted session keys, version 6 (RFC 9580 section 5.3.2), and the S2K
// specifiers they use (section 3.7).
#include <algorithm>
#include <string>

#include "buffer.h"
#include "sotto/crypto/aes.h"
#include "sotto/crypto/primitives.h"
#include "sotto/openpgp/message.h"

namespace sotto::openpgp {

namespace {

constexpr uint8_t kS2kSalted = 1;
constexpr uint8_t kS2kIteratedSalted = 3;
constexpr uint8_t kSha256 = 8;
constexpr size_t kS2kSaltSize = 8;
constexpr size_t kOcbNonceSize = 15;
constexpr uint8_t kOcb = 2;

// The octets HKDF's info and the AEAD's associated data both are (section 5.3.2): the packet
// type in its new-format header form, the version, the cipher and the AEAD mode.
Bytes skesk_info(const Skesk& s) {
  return start_buffer({0xc3, s.version, s.cipher, s.aead}, 0);
}

Result<SecureBytes> key_encryption_key(const Skesk& s, BytesView password) {
  const size_t size = symmetric_key_size(s.cipher);
  if (size == 0) return Error(Errc::unsupported, "SKESK cipher " + std::to_string(s.cipher));
  SOTTO_TRY_ASSIGN(SecureBytes derived, s.s2k.derive(password, size));
  const SecureBytes prk = crypto::hkdf_extract({}, derived);
  return crypto::hkdf_expand(prk, skesk_info(s), size);
}

}  // namespace

Bytes S2k::encode() const {
  Bytes out = start_buffer({type, hash}, salt.size() + 1);
  out.insert(out.end(), salt.begin(), salt.end());
  if (type == kS2kIteratedSalted) out.push_back(coded_count);
  return out;
}

size_t S2k::hashed_bytes(size_t password_size) const {
  const size_t once = salt.size() + password_size;
  if (type != kS2kIteratedSalted) return once;
  const size_t coded = (size_t{16} + (coded_count & 15)) << ((coded_count >> 4) + 6);
  return std::max(coded, once);
}

Result<SecureBytes> S2k::derive(BytesView password, size_t size) const {
  if (hash != kSha256) return Error(Errc::unsupported, "S2K hash " + std::to_string(hash));
  if (type != kS2kSalted && type != kS2kIteratedSalted) {
    return Error(Errc::unsupported, "S2K type " + std::to_string(type));
  }
  if (size > crypto::kSha256Size || salt.size() != kS2kSaltSize) {
    return Error(Errc::invalid_value, "an S2K that cannot give the key asked for");
  }
  // Salted: SHA-256(salt || password). Iterated: the same octets repeated until `count` of
  // them were hashed (at least once whole).
  const size_t count = hashed_bytes(password.size());
  crypto::Sha256 h;
  for (size_t hashed = 0; hashed < count;) {
    const size_t from_salt = std::min(salt.size(), count - hashed);
    h.update(BytesView(salt).subspan(0, from_salt));
    hashed += from_salt;
    const size_t from_password = std::min(password.size(), count - hashed);
    h.update(password.subspan(0, from_password));
    hashed += from_password;
  }
  Bytes digest = h.finish();
  SecureBytes key(BytesView(digest).subspan(0, size));
  secure_wipe(digest.data(), digest.size());
  return key;
}

Bytes Skesk::encode() const {
  const Bytes s2k_bytes = s2k.encode();
  const size_t count = 3 + s2k_bytes.size() + iv.size();
  Bytes out = start_buffer(
      {version, static_cast<uint8_t>(count), cipher, aead, static_cast<uint8_t>(s2k_bytes.size())},
      count + encrypted_key.size());
  out.insert(out.end(), s2k_bytes.begin(), s2k_bytes.end());
  out.insert(out.end(), iv.begin(), iv.end());
  out.insert(out.end(), encrypted_key.begin(), encrypted_key.end());
  return out;
}

Result<Skesk> Skesk::parse(BytesView body) {
  BodyReader r(body);
  Skesk s;
  SOTTO_TRY_ASSIGN(s.version, r.u8());
  if (s.version != 6) {
    return Error(Errc::unsupported, "SKESK version " + std::to_string(s.version));
  }
  SOTTO_TRY_ASSIGN(uint8_t count, r.u8());
  SOTTO_TRY_ASSIGN(BytesView fields, r.take(count));
  BodyReader f(fields);
  SOTTO_TRY_ASSIGN(s.cipher, f.u8());
  SOTTO_TRY_ASSIGN(s.aead, f.u8());
  SOTTO_TRY_ASSIGN(uint8_t s2k_size, f.u8());
  SOTTO_TRY_ASSIGN(BytesView s2k, f.take(s2k_size));
  const BytesView iv = f.rest();
  if (s.aead != kOcb) {
    return Error(Errc::unsupported, "SKESK AEAD mode " + std::to_string(s.aead) + " (only OCB)");
  }
  if (iv.size() != kOcbNonceSize)
    return Error(Errc::invalid_value, "SKESK: an OCB nonce of 15 octets");
  BodyReader k(s2k);
  SOTTO_TRY_ASSIGN(s.s2k.type, k.u8());
  if (s.s2k.type != kS2kSalted && s.s2k.type != kS2kIteratedSalted) {
    return Error(Errc::unsupported, "S2K type " + std::to_string(s.s2k.type));
  }
  SOTTO_TRY_ASSIGN(s.s2k.hash, k.u8());
  SOTTO_TRY_ASSIGN(BytesView salt, k.take(kS2kSaltSize));
  s.s2k.salt = to_bytes(salt);
  if (s.s2k.type == kS2kIteratedSalted) {
    SOTTO_TRY_ASSIGN(s.s2k.coded_count, k.u8());
  }
  SOTTO_TRY(k.finish("S2K specifier"));
  s.iv = to_bytes(iv);
  const size_t key_size = symmetric_key_size(s.cipher);
  if (key_size == 0) return Error(Errc::unsupported, "SKESK cipher " + std::to_string(s.cipher));
  const BytesView key = r.rest();
  if (key.size() != key_size + crypto::kOcbTagSize) {
    return Error(Errc::invalid_value, "SKESK: an encrypted session key of the wrong size");
  }
  s.encrypted_key = to_bytes(key);
  return s;
}

Result<Skesk> encrypt_session_key_with_password(BytesView password, const SessionKey& session_key) {
  Skesk s;
  s.cipher = session_key.cipher.value_or(static_cast<uint8_t>(SymmetricAlgorithm::aes128));
  if (symmetric_key_size(s.cipher) != session_key.key.size()) {
    return Error(Errc::invalid_argument, "a session key of the wrong size for its cipher");
  }
  s.s2k.type = kS2kSalted;
  s.s2k.hash = kSha256;
  s.s2k.salt = crypto::random_bytes(kS2kSaltSize);
  s.iv = crypto::random_bytes(kOcbNonceSize);
  SOTTO_TRY_ASSIGN(SecureBytes kek, key_encryption_key(s, password));
  SOTTO_TRY_ASSIGN(s.encrypted_key,
                   crypto::aes_ocb_seal(kek, s.iv, skesk_info(s), session_key.key));
  return s;
}

Result<SessionKey> decrypt_session_key_with_password(const Skesk& skesk, BytesView password) {
  SOTTO_TRY_ASSIGN(SecureBytes kek, key_encryption_key(skesk, password));
  auto key = crypto::aes_ocb_open(kek, skesk.iv, skesk_info(skesk), skesk.encrypted_key);
  if (!key.ok()) return Error(Errc::authentication_failed, "the password does not open the SKESK");
  SessionKey out;
  out.cipher = skesk.cipher;
  out.key = std::move(key).value();
  if (out.key.size() != symmetric_key_size(skesk.cipher)) {
    return Error(Errc::invalid_value, "SKESK: a session key of the wrong size");
  }
  return out;
}

}  // namespace sotto::openpgp
