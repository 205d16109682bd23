// OpenPGP messages (RFC 9580 sections 5.1, 5.4, 5.6, 5.9, 5.13 and 10.3): public-key
// encrypted session keys (v3 and v6, for ECDH Curve25519Legacy recipients), SEIPD v1 (AES-CFB
// with the SHA-1 MDC) and v2 (AES-OCB, HKDF-SHA256, chunked), Literal Data, Compressed Data
// (ZIP and ZLIB, with a hard limit on the output) and One-Pass Signatures; and the two calls an
// e-mail client needs: encrypt (sign, then encrypt) and decrypt (decrypt, then verify).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/openpgp/cert.h"
#include "sotto/openpgp/key.h"
#include "sotto/openpgp/packet.h"

namespace sotto::openpgp {

struct SessionKey {
  std::optional<uint8_t> cipher;  // v3 PKESKs carry it; with v6 the SEIPD v2 packet does
  SecureBytes key;
};

// ---- public-key encrypted session keys -------------------------------------------------

struct Pkesk {
  uint8_t version = 3;      // 3 or 6
  Bytes key_id;             // v3: 8 bytes, all zero for an anonymous recipient
  uint8_t key_version = 0;  // v6: 0 for an anonymous recipient, else 4 or 6
  Bytes fingerprint;        // v6: empty for an anonymous recipient
  uint8_t algorithm = 18;
  Bytes ephemeral;     // ECDH: 0x40 || 32-byte X25519 public key
  Bytes wrapped;       // ECDH: the AES-key-wrapped, padded session key
  Bytes other_fields;  // another algorithm's fields, kept as read

  bool anonymous() const;
  // True when the packet names `key` (by key ID or fingerprint), or names no key.
  bool may_be_for(const PublicKey& key) const;
  Bytes encode() const;
  static Result<Pkesk> parse(BytesView body);
};

// Encrypts `session_key` to an ECDH Curve25519Legacy key (section 11.5, RFC 6637 KDF, AES key
// wrap). Version 3 includes the cipher octet; version 6 does not. `anonymous` leaves the
// recipient's key ID or fingerprint out.
Result<Pkesk> encrypt_session_key(uint8_t version, const PublicKey& recipient,
                                  const SessionKey& session_key, bool anonymous);
// Errc::authentication_failed when the key does not open it (wrong key, tampered packet).
Result<SessionKey> decrypt_session_key(const Pkesk& pkesk, const SecretKey& key);

// ---- symmetric-key encrypted session keys (section 5.3, version 6 only) ------------------

// A string-to-key specifier (section 3.7): salted (type 1) or iterated and salted (type 3),
// with SHA-256. Simple S2K (no salt) and Argon2 are not read.
struct S2k {
  uint8_t type = 1;
  uint8_t hash = 8;         // SHA-256
  Bytes salt;               // 8 octets
  uint8_t coded_count = 0;  // type 3 only

  Bytes encode() const;
  // How many octets deriving a key from a password of `password_size` octets hashes.
  size_t hashed_bytes(size_t password_size) const;
  // The key of `size` octets `password` gives. Errc::unsupported for other types or hashes.
  Result<SecureBytes> derive(BytesView password, size_t size) const;
};

struct Skesk {
  uint8_t version = 6;
  uint8_t cipher = 7;  // AES-128
  uint8_t aead = 2;    // OCB
  S2k s2k;
  Bytes iv;             // the AEAD nonce: 15 octets for OCB
  Bytes encrypted_key;  // the session key, then the AEAD tag

  Bytes encode() const;
  // Errc::unsupported for versions other than 6 (a v4 SKESK goes with SEIPD v1, which this
  // does not write), other AEAD modes and other S2K types.
  static Result<Skesk> parse(BytesView body);
};

// Encrypts `session_key` (its cipher set) under `password`: salted S2K with SHA-256, then
// HKDF-SHA256 and AES-OCB as section 5.3.2 says, as Delta Chat's SecureJoin v3 does.
Result<Skesk> encrypt_session_key_with_password(BytesView password, const SessionKey& session_key);
// Errc::authentication_failed when the password does not open it (or the packet was changed).
Result<SessionKey> decrypt_session_key_with_password(const Skesk& skesk, BytesView password);

// ---- encrypted data ----------------------------------------------------------------------

inline constexpr uint8_t kMaxChunkSizeOctet = 16;
inline constexpr uint8_t kDefaultChunkSizeOctet = 7;  // 2^(7+6) bytes: 8 KiB

// SEIPD packet bodies.
Result<Bytes> seipd_v1_encrypt(const SessionKey& session_key, BytesView plaintext);
Result<Bytes> seipd_v2_encrypt(SymmetricAlgorithm cipher, BytesView key, BytesView plaintext,
                               uint8_t chunk_size_octet = kDefaultChunkSizeOctet);
// Either version; every tag (or the MDC) is checked before anything is returned.
// Errc::authentication_failed when the data was modified or the key is wrong.
Result<SecureBytes> seipd_decrypt(const SessionKey& session_key, BytesView body,
                                  const Limits& limits = {});

// ---- literal, compressed, one-pass signature ---------------------------------------------

struct LiteralData {
  uint8_t format = 'b';
  std::string filename;
  uint32_t date = 0;
  SecureBytes data;
};
Bytes encode_literal(uint8_t format, const std::string& filename, uint32_t date, BytesView data);
Result<LiteralData> parse_literal(BytesView body);

enum class CompressionAlgorithm : uint8_t { uncompressed = 0, zip = 1, zlib = 2, bzip2 = 3 };
// The Compressed Data packet body: algorithm octet || data.
Result<Bytes> compress(CompressionAlgorithm algorithm, BytesView data);
// Errc::length_limit as soon as the output would pass `limit`; bzip2 is Errc::unsupported.
Result<SecureBytes> decompress(BytesView body, size_t limit);

struct OnePassSignature {
  uint8_t type = 0;
  uint8_t hash = 8;
  uint8_t algorithm = 22;
  Bytes key_id;
  bool last = true;  // "nested" flag 1: no further one-pass signature follows
  Bytes encode() const;
  static Result<OnePassSignature> parse(BytesView body);
};

// ---- sign-then-encrypt and decrypt-then-verify --------------------------------------------

struct EncryptOptions {
  uint32_t now = 0;                   // signature creation time, literal date
  bool compress = false;              // wrap the signed message in ZLIB Compressed Data
  bool anonymous_recipients = false;  // PKESKs without key IDs / fingerprints
  uint8_t chunk_size_octet = kDefaultChunkSizeOctet;  // SEIPD v2
  std::string filename;
};

// Signs `plaintext` with `signer` (if not null: One-Pass Signature, Literal Data, Signature)
// and encrypts it to every valid encryption subkey of every recipient: v6 PKESKs and SEIPD v2
// (AES-128-OCB) when every recipient advertises SEIPD v2 in its features, else v3 PKESKs and
// SEIPD v1 (AES-128-CFB with the MDC). Returns the binary message (see armor()).
Result<Bytes> encrypt(BytesView plaintext, const SecretCert* signer,
                      const std::vector<Cert>& recipients, const EncryptOptions& options);

// Signs `plaintext` with `signer` (if not null) and encrypts it under `password` alone: one
// v6 SKESK and SEIPD v2 (AES-128-OCB), as Delta Chat's symmetric messages (SecureJoin v3,
// broadcast channels). The signature names no intended recipient.
Result<Bytes> encrypt_with_password(BytesView plaintext, const SecretCert* signer,
                                    BytesView password, const EncryptOptions& options);

enum class SignatureStatus {
  unsigned_message,  // no signature
  valid,             // a signature by a known key verifies, and its certificate validates
  invalid,           // a signature by a known key does not verify, or its certificate does
                     // not validate now (expired, revoked, no valid self-signature)
  unknown_signer,    // signed, but by no key in `known_keys`
};

struct Decrypted {
  SecureBytes plaintext;
  std::string filename;
  bool seipd_v2 = false;
  SignatureStatus signature = SignatureStatus::unsigned_message;
  Bytes signer_fingerprint;     // with valid or invalid
  std::string signature_error;  // with invalid: why
};

// Decrypts with any secret subkey of `own_keys` that a PKESK names (or any, for anonymous
// PKESKs), then checks signatures against the primary keys of `known_keys`. Errors:
// not_found (no PKESK for our keys), authentication_failed (tampered data or wrong key),
// unsupported (SED without integrity protection, AEAD packets, other algorithms), invalid_value
// (packets that do not form a message), length_limit (see Limits).
Result<Decrypted> decrypt(BytesView message, const std::vector<SecretCert>& own_keys,
                          const std::vector<Cert>& known_keys, uint32_t now,
                          const Limits& limits = {});

// Decrypts a message encrypted under `password` (a v6 SKESK and SEIPD v2), then checks
// signatures as decrypt() does. Errors: not_found (no SKESK this reads), authentication_failed
// (a wrong password, tampered data), length_limit (the SKESKs' S2Ks would hash more than
// limits.max_s2k_bytes), and decrypt()'s.
Result<Decrypted> decrypt_with_password(BytesView message, BytesView password,
                                        const std::vector<Cert>& known_keys, uint32_t now,
                                        const Limits& limits = {});

}  // namespace sotto::openpgp
