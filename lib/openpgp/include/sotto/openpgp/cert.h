// Transferable public and secret keys (RFC 9580 section 10.1): a primary EdDSALegacy key, its
// user IDs with self-certifications, and subkeys with binding signatures. Parsing keeps the
// structure; validate() checks every self-signature and keeps what verifies.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/openpgp/key.h"
#include "sotto/openpgp/packet.h"
#include "sotto/openpgp/signature.h"

namespace sotto::openpgp {

struct UserIdBinding {
  std::string user_id;
  std::vector<Signature> signatures;
};

struct SubkeyBinding {
  PublicKey key;
  std::vector<Signature> signatures;
};

struct Cert {
  PublicKey primary;
  std::vector<Signature> direct_signatures;
  std::vector<UserIdBinding> user_ids;
  std::vector<SubkeyBinding> subkeys;

  // Packets of a transferable public key. Subkeys of algorithms this library does not speak
  // are skipped with their signatures; an unsupported primary key is an error.
  static Result<Cert> parse(BytesView data, const Limits& limits = {});
  Bytes encode() const;
  Bytes fingerprint() const { return primary.fingerprint(); }
};

// What validate() found: only self-signatures that verify count.
struct ValidatedCert {
  PublicKey primary;
  std::string user_id;                  // the primary (or first valid) user ID
  std::optional<uint32_t> expires_at;   // of the primary key
  uint8_t features = 0;                 // of the newest valid self-signature
  std::vector<PublicKey> encryption_keys;  // valid, unexpired ECDH subkeys that may encrypt
  bool supports_seipd_v2() const { return (features & kFeatureSeipdV2) != 0; }
};

// Checks the certificate at time `now`: a user ID with a valid self-certification (0x10-0x13)
// is required, the primary key must be neither expired nor revoked (a valid 0x20), and subkeys
// count only with a valid binding (0x18) whose key flags allow encryption and no valid
// revocation (0x28). Errors: bad_signature (no valid user ID), expired (expired or revoked
// primary key), not_found (no usable encryption subkey).
Result<ValidatedCert> validate(const Cert& cert, uint32_t now);

struct SecretCert {
  Cert cert;
  SecretKey primary;
  std::vector<SecretKey> subkeys;  // in the order of cert.subkeys

  // Packets of a transferable secret key (unencrypted secret key packets only).
  static Result<SecretCert> parse(BytesView data, const Limits& limits = {});
  SecureBytes encode() const;
  // The secret subkey for a fingerprint, or nullptr.
  const SecretKey* subkey(BytesView fingerprint) const;
};

struct GenerateOptions {
  bool seipd_v2 = true;         // advertise SEIPD v2 (features 0x09) or only v1 (0x01)
  uint32_t expires_after = 0;   // seconds; 0: no expiry
};

// An EdDSALegacy primary key (certify, sign) with `user_id` and an ECDH Curve25519 subkey
// (encrypt), both self-signed at `now`.
Result<SecretCert> generate_cert(const std::string& user_id, uint32_t now,
                                 const GenerateOptions& options = {});

}  // namespace sotto::openpgp
