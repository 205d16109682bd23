// Version 4 key packets (RFC 9580 section 5.5) for the two algorithms of Delta Chat and
// Autocrypt: EdDSALegacy over Ed25519 (algorithm 22) and ECDH over Curve25519Legacy
// (algorithm 18). Other algorithms and versions are Errc::unsupported.
#pragma once

#include <cstdint>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::openpgp {

enum class PublicKeyAlgorithm : uint8_t { ecdh = 18, eddsa_legacy = 22, x25519 = 25, ed25519 = 27 };
enum class HashAlgorithm : uint8_t { sha1 = 2, sha256 = 8, sha384 = 9, sha512 = 10, sha224 = 11 };
enum class SymmetricAlgorithm : uint8_t { aes128 = 7, aes192 = 8, aes256 = 9 };
enum class AeadAlgorithm : uint8_t { eax = 1, ocb = 2, gcm = 3 };

// 16, 24 or 32; 0 for an algorithm this library does not implement.
size_t symmetric_key_size(uint8_t algorithm);

inline constexpr size_t kV4FingerprintSize = 20;
inline constexpr size_t kKeyIdSize = 8;

struct PublicKey {
  uint32_t created = 0;
  PublicKeyAlgorithm algorithm = PublicKeyAlgorithm::eddsa_legacy;
  Bytes point;  // 32 bytes, native encoding (Ed25519 public key or X25519 u-coordinate)
  // ECDH only: the KDF parameters (section 11.5.1).
  HashAlgorithm kdf_hash = HashAlgorithm::sha256;
  SymmetricAlgorithm kdf_cipher = SymmetricAlgorithm::aes128;

  // The body of a Public-Key (or Public-Subkey) packet.
  Bytes encode() const;
  static Result<PublicKey> parse(BytesView body);
  // SHA-1 over 0x99 || length || body (section 5.5.4.2), and its last eight bytes.
  Bytes fingerprint() const;
  Bytes key_id() const;
  bool can_sign() const { return algorithm == PublicKeyAlgorithm::eddsa_legacy; }
  bool can_encrypt() const { return algorithm == PublicKeyAlgorithm::ecdh; }
};

struct SecretKey {
  PublicKey public_key;
  // Native form: the Ed25519 seed, or the X25519 scalar (little-endian; OpenPGP writes it
  // reversed, as a big-endian MPI).
  SecureBytes secret;

  // The body of a Secret-Key (or Secret-Subkey) packet, unencrypted (S2K usage 0).
  SecureBytes encode() const;
  // Only unencrypted secret keys (S2K usage 0); the checksum and that the secret matches the
  // public key are checked.
  static Result<SecretKey> parse(BytesView body);

  static SecretKey generate_ed25519(uint32_t created);
  static SecretKey generate_cv25519(uint32_t created);
};

// Verifies an EdDSALegacy signature (r, s as MPI magnitudes) over a digest.
bool eddsa_legacy_verify(const PublicKey& key, BytesView digest, BytesView r, BytesView s);

}  // namespace sotto::openpgp
