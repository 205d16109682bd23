// Cryptographic primitives. lib/crypto is the only code that includes libsodium or OpenSSL;
// everything above it sees these functions. SHA-256, HMAC, ChaCha20-Poly1305, X25519 and
// Ed25519 come from libsodium in every build; AES-128-GCM from OpenSSL, natively only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::crypto {

// ---- randomness ------------------------------------------------------------------------

void random_fill(std::span<uint8_t> out);
Bytes random_bytes(size_t n);
SecureBytes random_secret(size_t n);

// ---- hashes and MACs -------------------------------------------------------------------

inline constexpr size_t kSha256Size = 32;
inline constexpr size_t kSha512Size = 64;

Bytes sha256(BytesView data);
Bytes sha512(BytesView data);
SecureBytes hmac_sha256(BytesView key, BytesView data);
// Constant-time check of an HMAC-SHA256 tag.
bool hmac_sha256_verify(BytesView key, BytesView data, BytesView tag);

// Incremental SHA-256 for data that arrives in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(BytesView data);
  Bytes finish();

 private:
  alignas(16) uint8_t state_[128];
};

// HMAC-SHA256 under one key that is used for several messages: the key is processed once,
// each message then costs its own hashing only (the message keys of MLS are three
// expansions of one secret, its sender-data key and nonce two). The keyed state is wiped
// when the object goes. Natively it runs on OpenSSL's SHA-256 (SHA extensions where the CPU
// has them), in the wasm build on libsodium's.
class HmacSha256Key {
 public:
  explicit HmacSha256Key(BytesView key);
  ~HmacSha256Key();
  HmacSha256Key(const HmacSha256Key&) = delete;
  HmacSha256Key& operator=(const HmacSha256Key&) = delete;

  SecureBytes mac(BytesView data) const;
  // HKDF-Expand (RFC 5869) with this key as the PRK; length <= 255 * 32, else
  // Errc::invalid_argument.
  Result<SecureBytes> expand(BytesView info, size_t length) const;

 private:
  // libsodium's keyed HMAC state (wasm), or a pointer to OpenSSL's keyed context (native).
  alignas(16) uint8_t state_[224];
};

// ---- HKDF (RFC 5869) on HMAC-SHA256 ----------------------------------------------------

SecureBytes hkdf_extract(BytesView salt, BytesView ikm);
// length <= 255 * 32, else Errc::invalid_argument.
Result<SecureBytes> hkdf_expand(BytesView prk, BytesView info, size_t length);

// ---- AEAD --------------------------------------------------------------------------------

enum class Aead : uint8_t { aes128gcm, chacha20poly1305 };

inline constexpr size_t kAeadNonceSize = 12;
inline constexpr size_t kAeadTagSize = 16;
size_t aead_key_size(Aead aead);
// False for AES-128-GCM in the wasm build.
bool aead_available(Aead aead);

// ciphertext || tag.
Result<Bytes> aead_seal(Aead aead, BytesView key, BytesView nonce, BytesView aad,
                        BytesView plaintext);
// Errc::authentication_failed when the tag does not verify; nothing is returned then.
Result<SecureBytes> aead_open(Aead aead, BytesView key, BytesView nonce, BytesView aad,
                              BytesView ciphertext);

// ---- X25519 ------------------------------------------------------------------------------

inline constexpr size_t kX25519Size = 32;

Result<Bytes> x25519_public_key(BytesView private_key);
// Errc::crypto_failure for a low-order public key (all-zero shared secret), as RFC 9180
// section 7.1.4 requires.
Result<SecureBytes> x25519(BytesView private_key, BytesView public_key);

// ---- Ed25519 -----------------------------------------------------------------------------

inline constexpr size_t kEd25519SeedSize = 32;
inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

// A signing key kept in libsodium's expanded form, so that each signature skips the
// seed expansion.
class Ed25519SigningKey {
 public:
  static Result<Ed25519SigningKey> from_seed(BytesView seed);
  static Ed25519SigningKey generate();

  const Bytes& public_key() const { return public_key_; }
  // The 32-byte seed it came from: the serialised private key.
  SecureBytes seed() const;
  Bytes sign(BytesView message) const;

 private:
  Ed25519SigningKey() = default;
  SecureBytes secret_;  // libsodium's 64-byte secret key (seed || public key)
  Bytes public_key_;
};

bool ed25519_verify(BytesView public_key, BytesView message, BytesView signature);

}  // namespace sotto::crypto
