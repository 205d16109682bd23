// Version 4 signatures (RFC 9580 section 5.2) by EdDSALegacy keys: parse, encode, compute the
// hashed data for the signature types this library uses (0x00 binary, 0x01 text, 0x10-0x13
// user ID certifications, 0x18 subkey binding, 0x1F direct key), sign and verify.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/openpgp/key.h"

namespace sotto::openpgp {

enum class SignatureType : uint8_t {
  binary = 0x00,
  text = 0x01,
  generic_certification = 0x10,
  persona_certification = 0x11,
  casual_certification = 0x12,
  positive_certification = 0x13,
  subkey_binding = 0x18,
  primary_key_binding = 0x19,
  direct_key = 0x1f,
  key_revocation = 0x20,
  subkey_revocation = 0x28,
  certification_revocation = 0x30,
};

// Subpacket types (section 5.2.3.7).
enum class SubpacketType : uint8_t {
  creation_time = 2,
  expiration_time = 3,
  key_expiration_time = 9,
  preferred_symmetric = 11,
  issuer_key_id = 16,
  preferred_hash = 21,
  preferred_compression = 22,
  primary_user_id = 25,
  key_flags = 27,
  features = 30,
  embedded_signature = 32,
  issuer_fingerprint = 33,
  intended_recipient = 35,  // intended recipient fingerprint
  preferred_aead = 39,  // preferred AEAD ciphersuites
};

inline constexpr uint8_t kKeyFlagCertify = 0x01;
inline constexpr uint8_t kKeyFlagSign = 0x02;
inline constexpr uint8_t kKeyFlagEncryptCommunications = 0x04;
inline constexpr uint8_t kKeyFlagEncryptStorage = 0x08;
inline constexpr uint8_t kFeatureSeipdV1 = 0x01;
inline constexpr uint8_t kFeatureSeipdV2 = 0x08;

struct Subpacket {
  uint8_t type = 0;
  bool critical = false;
  Bytes body;
};

struct Signature {
  SignatureType type = SignatureType::binary;
  PublicKeyAlgorithm algorithm = PublicKeyAlgorithm::eddsa_legacy;
  HashAlgorithm hash = HashAlgorithm::sha256;
  std::vector<Subpacket> hashed;
  std::vector<Subpacket> unhashed;
  uint8_t hash_prefix[2] = {0, 0};
  Bytes r;  // MPI magnitudes
  Bytes s;

  Bytes encode() const;  // the packet body
  // Version 4 only (other versions: Errc::unsupported); subpacket areas parsed strictly.
  static Result<Signature> parse(BytesView body);

  // Values of the hashed area (the unhashed area is not trusted for these); nullopt when absent.
  std::optional<uint32_t> creation_time() const;
  std::optional<uint32_t> expiration_time() const;      // seconds after creation
  std::optional<uint32_t> key_expiration_time() const;  // seconds after the key's creation
  std::optional<uint8_t> key_flags() const;
  std::optional<uint8_t> features() const;
  bool primary_user_id() const;
  // Issuer fingerprint (hashed or unhashed: the signature check decides) and key ID (from the
  // fingerprint, else the issuer key ID subpacket).
  std::optional<Bytes> issuer_fingerprint() const;
  std::optional<Bytes> issuer_key_id() const;
  // Fingerprints (v4, 20 bytes) of the hashed intended-recipient subpackets.
  std::vector<Bytes> intended_recipients() const;
  const Subpacket* find_hashed(SubpacketType type) const;
};

// The bytes hashed ahead of a key signature's trailer: 0x99 || length || key body.
void append_key_for_hash(Bytes& out, const PublicKey& key);
// ... and for a user ID: 0xB4 || length || user ID.
void append_user_id_for_hash(Bytes& out, std::string_view user_id);
// Text canonicalised for type 0x01 (line ends as CRLF).
Bytes canonical_text(BytesView text);

// Signs `data` (what the type says is hashed before the signature's own fields) with
// `signer`; `hashed` is the hashed subpacket area (creation time and issuer fingerprint are
// added first when missing), the issuer key ID goes in the unhashed area.
Result<Signature> sign(SignatureType type, const SecretKey& signer, BytesView data,
                       std::vector<Subpacket> hashed, uint32_t now,
                       HashAlgorithm hash = HashAlgorithm::sha256);

// Checks the signature over `data` with `signer`: the algorithm and hash (SHA-256 or SHA-512;
// SHA-1 and others are refused), an unknown critical subpacket, a missing creation time, a
// creation time after `now`, an expiry before `now`, and the EdDSA check. Errc::bad_signature
// or Errc::unsupported, with the reason.
Result<void> verify(const Signature& signature, const PublicKey& signer, BytesView data,
                    uint32_t now);

Subpacket subpacket_u32(SubpacketType type, uint32_t value);
Subpacket subpacket_bytes(SubpacketType type, BytesView value);

}  // namespace sotto::openpgp
