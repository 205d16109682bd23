// ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381, suite_string 0x03): a verifiable random function.
// The key directory uses it to turn an account name into a tree index that only the server
// can compute, and that anyone holding the server's VRF public key can check.
//
//   prove(SK, alpha) -> pi (80 bytes: Gamma || c || s)
//   proof_to_hash(pi) -> beta (64 bytes)
//   verify(PK, alpha, pi) -> beta, or Errc::bad_signature
//
// Keys are RFC 8032 keys: the 32-byte secret key is a seed, hashed with SHA-512 and clamped
// into the secret scalar x; the public key is x*B, the same bytes as the Ed25519 public key of
// that seed. Verification validates the public key (RFC 9381 section 5.4.5: a point that does
// not decode, or whose cofactor multiple is the identity, is rejected) and decodes points
// strictly as RFC 8032 section 5.1.3 does (y >= p, or x = 0 with the sign bit set, is invalid).
#pragma once

#include <cstddef>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::crypto {

inline constexpr size_t kVrfSecretKeySize = 32;
inline constexpr size_t kVrfPublicKeySize = 32;
inline constexpr size_t kVrfProofSize = 80;   // ptLen 32 + cLen 16 + qLen 32
inline constexpr size_t kVrfOutputSize = 64;  // beta, a SHA-512 output

// The intermediate values of one proof, as RFC 9381 appendix B.3 lists them; filled only for
// the known-answer tests (through VrfTestAccess).
struct VrfProofTrace {
  SecureBytes x;         // the clamped secret scalar, not reduced mod q
  Bytes h;               // point_to_string(H), H = encode_to_curve(PK, alpha)
  SecureBytes k_string;  // the 64-byte nonce hash, before reduction mod q
  Bytes u;               // k*B
  Bytes v;               // k*H
  Bytes gamma;           // x*H
};

class VrfKeyPair {
 public:
  // Errc::invalid_argument unless the secret key (seed) is 32 bytes.
  static Result<VrfKeyPair> from_seed(BytesView secret_key);
  static VrfKeyPair generate();

  const Bytes& public_key() const { return public_key_; }
  // The 32-byte secret key it came from: the serialised private key.
  const SecureBytes& seed() const { return seed_; }

  // pi for `alpha`. Deterministic: the same key and alpha give the same proof. Fails
  // (Errc::crypto_failure) only with negligible probability (a nonce or H of zero order).
  Result<Bytes> prove(BytesView alpha) const;

 private:
  friend struct VrfTestAccess;
  VrfKeyPair() = default;
  Result<Bytes> prove(BytesView alpha, VrfProofTrace* trace) const;

  SecureBytes seed_;
  SecureBytes scalar_;     // x mod q
  SecureBytes nonce_key_;  // SHA-512(seed)[32..64], the prefix of the nonce hash
  Bytes public_key_;
};

// beta for a proof. Only the decoding of pi is checked (Gamma a valid point, s < q), not the
// proof itself: use vrf_verify for proofs from anyone else. Errc::bad_signature when pi
// does not decode.
Result<Bytes> vrf_proof_to_hash(BytesView pi);

// beta when `pi` proves `alpha` under `public_key`; Errc::bad_signature otherwise (a public
// key that is not a valid point or has small order, a proof of the wrong length or that does
// not decode, or a proof that does not verify).
Result<Bytes> vrf_verify(BytesView public_key, BytesView alpha, BytesView pi);

}  // namespace sotto::crypto
