#include "sotto/crypto/cipher_suite.h"

#include <string>

#include "sotto/core/tls.h"

namespace sotto::crypto {

namespace {

constexpr std::string_view kLabelPrefix = "MLS 1.0 ";

// opaque label<V> = "MLS 1.0 " + Label, written without building a temporary string.
void write_label(tls::Writer& w, std::string_view label) {
  w.varint(kLabelPrefix.size() + label.size());
  w.raw(as_bytes(kLabelPrefix));
  w.raw(as_bytes(label));
}

Bytes sign_content(std::string_view label, BytesView content) {
  tls::Writer w(kLabelPrefix.size() + label.size() + content.size() + 8);  // SignContent
  write_label(w, label);
  w.opaque(content);
  return w.take();
}

Bytes encrypt_context(std::string_view label, BytesView context) {
  tls::Writer w;  // EncryptContext
  write_label(w, label);
  w.opaque(context);
  return w.take();
}

}  // namespace

bool CipherSuite::supported(uint16_t id) {
  switch (static_cast<SuiteId>(id)) {
    case SuiteId::x25519_aes128gcm_sha256_ed25519:
      return aead_available(Aead::aes128gcm);
    case SuiteId::x25519_chacha20poly1305_sha256_ed25519:
      return true;
  }
  return false;
}

Result<CipherSuite> CipherSuite::create(uint16_t id) {
  if (!supported(id)) {
    return Error(Errc::unsupported, "cipher suite " + std::to_string(id) + " is not supported");
  }
  const auto suite = static_cast<SuiteId>(id);
  const bool gcm = suite == SuiteId::x25519_aes128gcm_sha256_ed25519;
  SOTTO_TRY_ASSIGN(auto hpke, Hpke::create(HpkeKem::x25519_sha256, HpkeKdf::hkdf_sha256,
                                           gcm ? HpkeAead::aes128gcm : HpkeAead::chacha20poly1305));
  return CipherSuite(suite, gcm ? Aead::aes128gcm : Aead::chacha20poly1305, std::move(hpke));
}

Result<SecureBytes> CipherSuite::expand_with_label(BytesView secret, std::string_view label,
                                                   BytesView context, size_t length) const {
  return expand_with_label(HmacSha256Key(secret), label, context, length);
}

Result<SecureBytes> CipherSuite::expand_with_label(const HmacSha256Key& secret,
                                                   std::string_view label, BytesView context,
                                                   size_t length) const {
  if (length > 0xffff) return Error(Errc::invalid_argument, "ExpandWithLabel length over 2^16");
  tls::Writer w;  // KDFLabel
  w.u16(static_cast<uint16_t>(length));
  write_label(w, label);
  w.opaque(context);
  return secret.expand(w.bytes(), length);
}

Result<SecureBytes> CipherSuite::derive_secret(BytesView secret, std::string_view label) const {
  return expand_with_label(secret, label, {}, hash_size());
}

Result<SecureBytes> CipherSuite::derive_tree_secret(BytesView secret, std::string_view label,
                                                    uint32_t generation, size_t length) const {
  return derive_tree_secret(HmacSha256Key(secret), label, generation, length);
}

Result<SecureBytes> CipherSuite::derive_tree_secret(const HmacSha256Key& secret,
                                                    std::string_view label, uint32_t generation,
                                                    size_t length) const {
  const uint8_t context[4] = {static_cast<uint8_t>(generation >> 24),
                              static_cast<uint8_t>(generation >> 16),
                              static_cast<uint8_t>(generation >> 8),
                              static_cast<uint8_t>(generation)};
  return expand_with_label(secret, label, context, length);
}

Bytes CipherSuite::ref_hash(std::string_view label, BytesView value) const {
  tls::Writer w;  // RefHashInput: the label has no "MLS 1.0 " prefix
  w.opaque(as_bytes(label));
  w.opaque(value);
  return hash(w.bytes());
}

Result<Bytes> CipherSuite::sign_with_label(BytesView private_key, std::string_view label,
                                           BytesView content) const {
  SOTTO_TRY_ASSIGN(auto key, Ed25519SigningKey::from_seed(private_key));
  return sign_with_label(key, label, content);
}

Bytes CipherSuite::sign_with_label(const Ed25519SigningKey& key, std::string_view label,
                                   BytesView content) const {
  return key.sign(sign_content(label, content));
}

bool CipherSuite::verify_with_label(BytesView public_key, std::string_view label,
                                    BytesView content, BytesView signature) const {
  return ed25519_verify(public_key, sign_content(label, content), signature);
}

Result<HpkeCiphertext> CipherSuite::encrypt_with_label(BytesView public_key,
                                                       std::string_view label, BytesView context,
                                                       BytesView plaintext) const {
  SOTTO_TRY_ASSIGN(auto sealed, hpke_.seal(HpkeMode::base, public_key,
                                           encrypt_context(label, context), {}, plaintext));
  return HpkeCiphertext{std::move(sealed.enc), std::move(sealed.ciphertext)};
}

Result<SecureBytes> CipherSuite::decrypt_with_label(const HpkeKeyPair& key_pair,
                                                    std::string_view label, BytesView context,
                                                    BytesView kem_output,
                                                    BytesView ciphertext) const {
  return hpke_.open(HpkeMode::base, kem_output, key_pair, encrypt_context(label, context), {},
                    ciphertext);
}

Result<SecureBytes> CipherSuite::decrypt_with_label(BytesView private_key,
                                                    std::string_view label, BytesView context,
                                                    BytesView kem_output,
                                                    BytesView ciphertext) const {
  SOTTO_TRY_ASSIGN(auto key_pair, hpke_key_pair_from_private(private_key));
  return decrypt_with_label(key_pair, label, context, kem_output, ciphertext);
}

Result<HpkeKeyPair> CipherSuite::hpke_key_pair_from_private(BytesView private_key) const {
  SOTTO_TRY_ASSIGN(auto public_key, x25519_public_key(private_key));
  return HpkeKeyPair{SecureBytes(private_key), std::move(public_key)};
}

}  // namespace sotto::crypto
