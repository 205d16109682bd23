// ECVRF-EDWARDS25519-SHA512-TAI on libsodium 1.0.18's edwards25519 core operations; section
// numbers are RFC 9381's.
//
// libsodium gives us two kinds of point operations. crypto_core_ed25519_add/sub take any
// point on the curve, including points of small order and points with a torsion component.
// crypto_scalarmult_ed25519*_noclamp take only points of the prime-order subgroup (and
// refuse to output the identity). The RFC's arithmetic is over the whole curve: hash-to-curve
// candidates, a public key or a Gamma from an adversary may carry a torsion component. So
// points of the prime-order subgroup (every honest H, Gamma and public key) take the fast
// path, and anything else is split into its prime-order and torsion components (see
// multiply()), which keeps the verifier exact without a scalar multiplication of our own.
#include "sotto/crypto/vrf.h"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "sotto/crypto/primitives.h"

namespace sotto::crypto {

namespace {

constexpr uint8_t kSuite = 0x03;
constexpr uint8_t kEncodeToCurveFront = 0x01;
constexpr uint8_t kChallengeFront = 0x02;
constexpr uint8_t kProofToHashFront = 0x03;
constexpr uint8_t kBack = 0x00;
constexpr size_t kPointSize = 32;      // ptLen
constexpr size_t kChallengeSize = 16;  // cLen
constexpr size_t kScalarSize = 32;     // qLen

static_assert(crypto_core_ed25519_BYTES == kPointSize);
static_assert(crypto_core_ed25519_SCALARBYTES == kScalarSize);
static_assert(kVrfProofSize == kPointSize + kChallengeSize + kScalarSize);

// A point in its canonical encoding; scalars are 32 little-endian bytes.
using Point = std::array<uint8_t, kPointSize>;
using Scalar = std::array<uint8_t, kScalarSize>;

constexpr Point kIdentity = {1};  // (x, y) = (0, 1)

void ensure_sodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) __builtin_trap();  // no usable libsodium: nothing is safe
}

// The inputs of the point operations below are canonical encodings of curve points, which
// libsodium always accepts: a failure is a broken invariant, not bad input.
[[noreturn]] void invariant_broken() {
  __builtin_trap();
}

Point add(const Point& p, const Point& q) {
  Point r;
  if (crypto_core_ed25519_add(r.data(), p.data(), q.data()) != 0) invariant_broken();
  return r;
}

Point sub(const Point& p, const Point& q) {
  Point r;
  if (crypto_core_ed25519_sub(r.data(), p.data(), q.data()) != 0) invariant_broken();
  return r;
}

Point times_cofactor(const Point& p) {
  const Point p2 = add(p, p);
  const Point p4 = add(p2, p2);
  return add(p4, p4);
}

// Constant time: secret nonces go through it.
bool is_zero(const uint8_t* n) {
  uint8_t any = 0;
  for (size_t i = 0; i < kScalarSize; ++i) any = static_cast<uint8_t>(any | n[i]);
  return any == 0;
}

// string_to_point (section 5.5, RFC 8032 section 5.1.3): the point when `s` is the canonical
// encoding of a point on the curve, of any order. libsodium decodes y modulo p and ignores the
// sign bit when x = 0; re-encoding (adding the identity) and comparing catches both, so that
// y >= p fails, and x = 0 with the sign bit set fails, as RFC 8032 requires.
std::optional<Point> string_to_point(BytesView s) {
  if (s.size() != kPointSize) return std::nullopt;
  Point in;
  std::memcpy(in.data(), s.data(), kPointSize);
  Point out;
  if (crypto_core_ed25519_add(out.data(), in.data(), kIdentity.data()) != 0) return std::nullopt;
  if (out != in) return std::nullopt;
  return out;
}

// n*B for n < q. Constant time in n.
Point multiply_base(const uint8_t* n) {
  if (is_zero(n)) return kIdentity;
  Point r;
  if (crypto_scalarmult_ed25519_base_noclamp(r.data(), n) != 0) invariant_broken();
  return r;
}

// n*P for n < q and P of the prime-order subgroup other than the identity; nullopt for any
// other P. Constant time in n: the path for secret scalars. libsodium checks P itself (and
// refuses it outside the subgroup); for 0 < n < q and such a P the result is never the
// identity, its other reason to refuse.
std::optional<Point> multiply_prime_order(const uint8_t* n, const Point& p) {
  if (is_zero(n)) {
    if (crypto_core_ed25519_is_valid_point(p.data()) != 1) return std::nullopt;
    return kIdentity;
  }
  Point r;
  if (crypto_scalarmult_ed25519_noclamp(r.data(), n, p.data()) != 0) return std::nullopt;
  return r;
}

// 1/8 mod q, to split a point into its prime-order and torsion components.
const Scalar& inverse_of_eight() {
  static const Scalar inverse = [] {
    const Scalar eight = {8};
    Scalar r{};
    if (crypto_core_ed25519_scalar_invert(r.data(), eight.data()) != 0) invariant_broken();
    return r;
  }();
  return inverse;
}

// n*P for any point P and n < q, for public n only: outside the prime-order subgroup the
// time depends on n mod 8. P = M + T with M of prime order and T of order dividing 8:
// M = (1/8 mod q)*(8P), T = P - M, and n*P = n*M + (n mod 8)*T.
Point multiply(const Scalar& n, const Point& p) {
  if (auto fast = multiply_prime_order(n.data(), p)) return *fast;
  const Point p8 = times_cofactor(p);
  Point m = kIdentity;
  if (p8 != kIdentity) {
    auto prime_part = multiply_prime_order(inverse_of_eight().data(), p8);
    if (!prime_part) invariant_broken();  // 8P has prime order once it is not the identity
    m = *prime_part;
  }
  const Point t = sub(p, m);
  Point r = kIdentity;
  if (m != kIdentity) {
    auto prime_part = multiply_prime_order(n.data(), m);
    if (!prime_part) invariant_broken();
    r = *prime_part;
  }
  for (unsigned i = 0; i < (n[0] & 7u); ++i) r = add(r, t);
  return r;
}

class Sha512 {
 public:
  Sha512() { crypto_hash_sha512_init(&state_); }
  ~Sha512() { sodium_memzero(&state_, sizeof state_); }
  Sha512(const Sha512&) = delete;
  Sha512& operator=(const Sha512&) = delete;
  Sha512& update(BytesView data) {
    crypto_hash_sha512_update(&state_, data.data(), data.size());
    return *this;
  }
  Sha512& update(uint8_t byte) { return update(BytesView(&byte, 1)); }
  void finish(uint8_t* out) { crypto_hash_sha512_final(&state_, out); }

 private:
  crypto_hash_sha512_state state_;
};

// ECVRF_encode_to_curve_try_and_increment (section 5.4.1.1), encode_to_curve_salt = PK_string.
// nullopt only when all 256 counters fail, which happens with probability about 2^-256.
std::optional<Point> encode_to_curve(BytesView public_key, BytesView alpha) {
  for (unsigned ctr = 0; ctr <= 0xff; ++ctr) {
    uint8_t hash[crypto_hash_sha512_BYTES];
    Sha512()
        .update(kSuite)
        .update(kEncodeToCurveFront)
        .update(public_key)
        .update(alpha)
        .update(static_cast<uint8_t>(ctr))
        .update(kBack)
        .finish(hash);
    // interpret_hash_value_as_a_point: string_to_point of the first 32 bytes.
    if (auto candidate = string_to_point(BytesView(hash, kPointSize))) {
      const Point h = times_cofactor(*candidate);
      if (h != kIdentity) return h;
    }
  }
  return std::nullopt;
}

// ECVRF_challenge_generation (section 5.4.3): the first cLen bytes of the hash.
std::array<uint8_t, kChallengeSize> challenge(const Point& y, const Point& h, const Point& gamma,
                                              const Point& u, const Point& v) {
  uint8_t hash[crypto_hash_sha512_BYTES];
  Sha512()
      .update(kSuite)
      .update(kChallengeFront)
      .update(y)
      .update(h)
      .update(gamma)
      .update(u)
      .update(v)
      .update(kBack)
      .finish(hash);
  std::array<uint8_t, kChallengeSize> c;
  std::memcpy(c.data(), hash, kChallengeSize);
  return c;
}

// ECVRF_proof_to_hash (section 5.2) of a decoded Gamma.
Bytes hash_of_gamma(const Point& gamma) {
  Bytes beta(kVrfOutputSize);
  Sha512()
      .update(kSuite)
      .update(kProofToHashFront)
      .update(times_cofactor(gamma))
      .update(kBack)
      .finish(beta.data());
  return beta;
}

struct DecodedProof {
  Point gamma;
  Scalar c;  // cLen bytes, zero-extended
  Scalar s;
};

Error bad_proof(const char* why) {
  return Error(Errc::bad_signature, std::string("VRF ") + why);
}

// ECVRF_decode_proof (section 5.4.4).
Result<DecodedProof> decode_proof(BytesView pi) {
  if (pi.size() != kVrfProofSize) {
    return bad_proof(("proof must be 80 bytes, not " + std::to_string(pi.size())).c_str());
  }
  DecodedProof d{};
  auto gamma = string_to_point(pi.subspan(0, kPointSize));
  if (!gamma) return bad_proof("proof: Gamma is not a valid point");
  d.gamma = *gamma;
  std::memcpy(d.c.data(), pi.data() + kPointSize, kChallengeSize);
  std::memcpy(d.s.data(), pi.data() + kPointSize + kChallengeSize, kScalarSize);
  // s < q exactly when reducing it mod q leaves it unchanged.
  uint8_t wide[crypto_core_ed25519_NONREDUCEDSCALARBYTES] = {};
  std::memcpy(wide, d.s.data(), kScalarSize);
  Scalar reduced;
  crypto_core_ed25519_scalar_reduce(reduced.data(), wide);
  if (reduced != d.s) return bad_proof("proof: s is not below the group order");
  return d;
}

Point to_point(const Bytes& bytes) {
  Point p;
  std::memcpy(p.data(), bytes.data(), kPointSize);
  return p;
}

}  // namespace

// ---- keys ------------------------------------------------------------------------------

Result<VrfKeyPair> VrfKeyPair::from_seed(BytesView secret_key) {
  if (secret_key.size() != kVrfSecretKeySize) {
    return Error(Errc::invalid_argument,
                 "VRF secret key must be 32 bytes, not " + std::to_string(secret_key.size()));
  }
  ensure_sodium();
  // RFC 8032 section 5.1.5: x is the clamped first half of SHA-512(SK), the nonce key the
  // second half (section 5.4.2.2).
  SecureBytes hashed(crypto_hash_sha512_BYTES);
  crypto_hash_sha512(hashed.data(), secret_key.data(), secret_key.size());
  hashed[0] &= 248;
  hashed[31] &= 127;
  hashed[31] |= 64;
  SecureBytes wide(crypto_core_ed25519_NONREDUCEDSCALARBYTES);
  std::memcpy(wide.data(), hashed.data(), kScalarSize);

  VrfKeyPair key;
  key.seed_ = SecureBytes(secret_key);
  key.scalar_ = SecureBytes(kScalarSize);
  crypto_core_ed25519_scalar_reduce(key.scalar_.data(), wide.data());
  key.nonce_key_ = SecureBytes(hashed.view().subspan(kScalarSize));
  const Point y = multiply_base(key.scalar_.data());
  key.public_key_.assign(y.begin(), y.end());
  return key;
}

VrfKeyPair VrfKeyPair::generate() {
  const SecureBytes seed = random_secret(kVrfSecretKeySize);
  return std::move(from_seed(seed).value());
}

// ---- ECVRF_prove (section 5.1) ---------------------------------------------------------

Result<Bytes> VrfKeyPair::prove(BytesView alpha) const {
  return prove(alpha, nullptr);
}

Result<Bytes> VrfKeyPair::prove(BytesView alpha, VrfProofTrace* trace) const {
  ensure_sodium();
  const Point y = to_point(public_key_);
  const auto h = encode_to_curve(public_key_, alpha);
  if (!h) return Error(Errc::crypto_failure, "VRF encode_to_curve found no point");
  const auto gamma = multiply_prime_order(scalar_.data(), *h);
  if (!gamma) invariant_broken();  // H = 8 * candidate, not the identity: prime order

  // ECVRF_nonce_generation_RFC8032 (section 5.4.2.2).
  SecureBytes k_string(crypto_hash_sha512_BYTES);
  Sha512().update(nonce_key_).update(*h).finish(k_string.data());
  SecureBytes k(kScalarSize);
  crypto_core_ed25519_scalar_reduce(k.data(), k_string.data());
  if (is_zero(k.data())) return Error(Errc::crypto_failure, "VRF nonce is zero");

  const Point u = multiply_base(k.data());
  const auto v = multiply_prime_order(k.data(), *h);
  if (!v) invariant_broken();
  const auto c = challenge(y, *h, *gamma, u, *v);

  // s = (k + c*x) mod q
  Scalar c_wide{};
  std::memcpy(c_wide.data(), c.data(), kChallengeSize);
  SecureBytes cx(kScalarSize);
  crypto_core_ed25519_scalar_mul(cx.data(), c_wide.data(), scalar_.data());
  SecureBytes s(kScalarSize);
  crypto_core_ed25519_scalar_add(s.data(), k.data(), cx.data());

  Bytes pi;
  pi.reserve(kVrfProofSize);
  pi.insert(pi.end(), gamma->begin(), gamma->end());
  pi.insert(pi.end(), c.begin(), c.end());
  pi.insert(pi.end(), s.begin(), s.end());

  if (trace != nullptr) {
    SecureBytes hashed(crypto_hash_sha512_BYTES);
    crypto_hash_sha512(hashed.data(), seed_.data(), seed_.size());
    hashed[0] &= 248;
    hashed[31] &= 127;
    hashed[31] |= 64;
    trace->x = SecureBytes(hashed.view().subspan(0, kScalarSize));
    trace->h.assign(h->begin(), h->end());
    trace->k_string = k_string;
    trace->u.assign(u.begin(), u.end());
    trace->v.assign(v->begin(), v->end());
    trace->gamma.assign(gamma->begin(), gamma->end());
  }
  return pi;
}

// ---- ECVRF_proof_to_hash (section 5.2) ---------------------------------------------------

Result<Bytes> vrf_proof_to_hash(BytesView pi) {
  ensure_sodium();
  SOTTO_TRY_ASSIGN(const DecodedProof d, decode_proof(pi));
  return hash_of_gamma(d.gamma);
}

// ---- ECVRF_verify (section 5.3), with validate_key ---------------------------------------

Result<Bytes> vrf_verify(BytesView public_key, BytesView alpha, BytesView pi) {
  ensure_sodium();
  const auto y = string_to_point(public_key);
  if (!y) return bad_proof("public key is not a valid point");
  // ECVRF_validate_key (section 5.4.5).
  if (times_cofactor(*y) == kIdentity) return bad_proof("public key has small order");
  SOTTO_TRY_ASSIGN(const DecodedProof d, decode_proof(pi));
  const auto h = encode_to_curve(public_key, alpha);
  if (!h) return bad_proof("encode_to_curve found no point");

  const Point u = sub(multiply_base(d.s.data()), multiply(d.c, *y));  // s*B - c*Y
  const Point v = sub(multiply(d.s, *h), multiply(d.c, d.gamma));     // s*H - c*Gamma
  const auto c = challenge(*y, *h, d.gamma, u, v);
  if (!constant_time_equal(c, BytesView(d.c.data(), kChallengeSize))) {
    return bad_proof("proof does not verify");
  }
  return hash_of_gamma(d.gamma);
}

}  // namespace sotto::crypto
