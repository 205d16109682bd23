// MLS cipher suites (RFC 9420 section 5.1): the hash, KDF, AEAD, HPKE and signature scheme
// one group uses, and the labelled operations built on them.
//
//   0x0001 MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519        (native builds only)
//   0x0003 MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 (the default; also in wasm)
#pragma once

#include <cstdint>
#include <string_view>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/crypto/hpke.h"
#include "sotto/crypto/primitives.h"

namespace sotto::crypto {

enum class SuiteId : uint16_t {
  x25519_aes128gcm_sha256_ed25519 = 0x0001,
  x25519_chacha20poly1305_sha256_ed25519 = 0x0003,
};

// HPKE ciphertext as MLS carries it (RFC 9420 section 5.1.3).
struct HpkeCiphertext {
  Bytes kem_output;
  Bytes ciphertext;
};

class CipherSuite {
 public:
  // Errc::unsupported for suites this build does not have.
  static Result<CipherSuite> create(uint16_t id);
  static bool supported(uint16_t id);

  uint16_t id() const { return static_cast<uint16_t>(id_); }
  size_t hash_size() const { return kSha256Size; }  // Nh, also the KDF's output size
  size_t aead_key_size() const { return crypto::aead_key_size(aead_); }
  size_t aead_nonce_size() const { return kAeadNonceSize; }
  const Hpke& hpke() const { return hpke_; }

  Bytes hash(BytesView data) const { return sha256(data); }
  SecureBytes mac(BytesView key, BytesView data) const { return hmac_sha256(key, data); }
  SecureBytes extract(BytesView salt, BytesView ikm) const { return hkdf_extract(salt, ikm); }
  Result<SecureBytes> expand(BytesView prk, BytesView info, size_t length) const {
    return hkdf_expand(prk, info, length);
  }
  Result<Bytes> seal(BytesView key, BytesView nonce, BytesView aad, BytesView pt) const {
    return aead_seal(aead_, key, nonce, aad, pt);
  }
  Result<SecureBytes> open(BytesView key, BytesView nonce, BytesView aad, BytesView ct) const {
    return aead_open(aead_, key, nonce, aad, ct);
  }

  // ExpandWithLabel(Secret, Label, Context, Length), label prefixed "MLS 1.0 ". The
  // HmacSha256Key overloads take the secret prepared once for several expansions.
  Result<SecureBytes> expand_with_label(BytesView secret, std::string_view label,
                                        BytesView context, size_t length) const;
  Result<SecureBytes> expand_with_label(const HmacSha256Key& secret, std::string_view label,
                                        BytesView context, size_t length) const;
  // DeriveSecret(Secret, Label) = ExpandWithLabel(Secret, Label, "", Nh).
  Result<SecureBytes> derive_secret(BytesView secret, std::string_view label) const;
  // DeriveTreeSecret(Secret, Label, Generation, Length).
  Result<SecureBytes> derive_tree_secret(BytesView secret, std::string_view label,
                                         uint32_t generation, size_t length) const;
  Result<SecureBytes> derive_tree_secret(const HmacSha256Key& secret, std::string_view label,
                                         uint32_t generation, size_t length) const;
  // RefHash(Label, Value) = Hash(RefHashInput).
  Bytes ref_hash(std::string_view label, BytesView value) const;

  // SignWithLabel / VerifyWithLabel; the private key is the 32-byte Ed25519 seed.
  Result<Bytes> sign_with_label(BytesView private_key, std::string_view label,
                                BytesView content) const;
  Bytes sign_with_label(const Ed25519SigningKey& key, std::string_view label,
                        BytesView content) const;
  bool verify_with_label(BytesView public_key, std::string_view label, BytesView content,
                         BytesView signature) const;

  // EncryptWithLabel / DecryptWithLabel: HPKE base mode with info = EncryptContext.
  Result<HpkeCiphertext> encrypt_with_label(BytesView public_key, std::string_view label,
                                            BytesView context, BytesView plaintext) const;
  Result<SecureBytes> decrypt_with_label(const HpkeKeyPair& key_pair, std::string_view label,
                                         BytesView context, BytesView kem_output,
                                         BytesView ciphertext) const;
  // The private key alone: the public key is derived from it.
  Result<SecureBytes> decrypt_with_label(BytesView private_key, std::string_view label,
                                         BytesView context, BytesView kem_output,
                                         BytesView ciphertext) const;

  // HPKE key pair from a secret (node secrets, init secrets): DeriveKeyPair.
  Result<HpkeKeyPair> derive_hpke_key_pair(BytesView secret) const {
    return hpke_.derive_key_pair(secret);
  }
  Result<HpkeKeyPair> hpke_key_pair_from_private(BytesView private_key) const;

 private:
  CipherSuite(SuiteId id, Aead aead, Hpke hpke) : id_(id), aead_(aead), hpke_(std::move(hpke)) {}
  SuiteId id_;
  Aead aead_;
  Hpke hpke_;
};

}  // namespace sotto::crypto
