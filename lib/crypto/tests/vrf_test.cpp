// ECVRF-EDWARDS25519-SHA512-TAI against RFC 9381 appendix B.3 (every intermediate value the
// examples give), and the ways a proof or key can be wrong: flipped bits, wrong alpha or key,
// bad lengths, small-order and non-canonical key encodings, s >= q, points off the curve.
#include "sotto/crypto/vrf.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "vectors.h"

namespace sotto::crypto {

// Declared a friend in vrf.h: the intermediate values of a proof, for the vectors.
struct VrfTestAccess {
  static Result<Bytes> prove(const VrfKeyPair& key, BytesView alpha, VrfProofTrace& trace) {
    return key.prove(alpha, &trace);
  }
};

namespace {

using sotto::testing::hex_field;
using sotto::testing::Json;

constexpr std::string_view kVectorFile = "ecvrf/rfc9381_edwards25519_sha512_tai.json";

Bytes hex(std::string_view text) {
  return from_hex(text).value();
}

// Why `got` differs from `want`, or nullopt when they agree.
std::optional<std::string> differ(std::string_view what, BytesView got, BytesView want) {
  if (got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin())) {
    return std::nullopt;
  }
  return std::string(what) + " is " + to_hex(got) + ", want " + to_hex(want);
}

#define RETURN_IF_DIFFER(what, got, want)                 \
  do {                                                    \
    if (auto mismatch_ = differ((what), (got), (want))) { \
      return mismatch_;                                   \
    }                                                     \
  } while (0)

// The first value of one example that we do not reproduce, or nullopt.
std::optional<std::string> check_example(const Json& c) {
  const Bytes sk = hex_field(c, "SK");
  const Bytes alpha = hex_field(c, "alpha_hex");
  const Bytes pi = hex_field(c, "pi");
  const Bytes beta = hex_field(c, "beta");
  auto key = VrfKeyPair::from_seed(sk);
  if (!key.ok()) return "from_seed failed: " + key.error().to_string();
  RETURN_IF_DIFFER("PK", key->public_key(), hex_field(c, "PK"));

  VrfProofTrace trace;
  auto proof = VrfTestAccess::prove(*key, alpha, trace);
  if (!proof.ok()) return "prove failed: " + proof.error().to_string();
  RETURN_IF_DIFFER("x", trace.x, hex_field(c, "x"));
  RETURN_IF_DIFFER("H", trace.h, hex_field(c, "H"));
  if (c.contains("k")) RETURN_IF_DIFFER("k", trace.k_string, hex_field(c, "k"));
  RETURN_IF_DIFFER("U", trace.u, hex_field(c, "U"));
  RETURN_IF_DIFFER("V", trace.v, hex_field(c, "V"));
  RETURN_IF_DIFFER("Gamma", trace.gamma, BytesView(pi).subspan(0, 32));
  RETURN_IF_DIFFER("pi", *proof, pi);
  auto public_pi = key->prove(alpha);
  if (!public_pi.ok()) return "prove (no trace) failed: " + public_pi.error().to_string();
  RETURN_IF_DIFFER("pi (no trace)", *public_pi, pi);

  auto hashed = vrf_proof_to_hash(pi);
  if (!hashed.ok()) return "proof_to_hash failed: " + hashed.error().to_string();
  RETURN_IF_DIFFER("beta (proof_to_hash)", *hashed, beta);
  auto verified = vrf_verify(hex_field(c, "PK"), alpha, pi);
  if (!verified.ok()) return "verify failed: " + verified.error().to_string();
  RETURN_IF_DIFFER("beta (verify)", *verified, beta);
  return std::nullopt;
}

TEST(VrfVectors, Rfc9381AppendixB3) {
  const auto file = sotto::testing::load_vectors(kVectorFile);
  ASSERT_TRUE(file.has_value());
  sotto::testing::VectorTally tally{std::string(kVectorFile)};
  for (const Json& c : file->at("vectors")) {
    const auto mismatch = check_example(c);
    EXPECT_FALSE(mismatch.has_value())
        << "example " << c.at("example").get<int>() << ": " << mismatch.value_or("");
    tally.count(!mismatch.has_value());
  }
}

// ---- fixtures for the negative tests: RFC 9381 example 17 ------------------------------------

struct Example {
  Bytes sk = hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  Bytes pk = hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  Bytes alpha = hex("72");
  Bytes pi =
      hex("f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed5933bf0864a62558b3ed7f2fea4"
          "5c92a465301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02");
  Bytes beta =
      hex("eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb5e33821bc613efb94db5e5b5"
          "4c70a848a0bef4553a41befc57663b56373a5031");
};

void expect_rejected(BytesView pk, BytesView alpha, BytesView pi, std::string_view what) {
  const auto r = vrf_verify(pk, alpha, pi);
  ASSERT_FALSE(r.ok()) << what << " was accepted";
  EXPECT_EQ(r.error().code(), Errc::bad_signature) << what << ": " << r.error().to_string();
}

TEST(Vrf, ExampleVerifies) {
  const Example e;
  const auto beta = vrf_verify(e.pk, e.alpha, e.pi);
  ASSERT_TRUE(beta.ok()) << beta.error().to_string();
  EXPECT_EQ(*beta, e.beta);
}

TEST(Vrf, EveryFlippedBitOfTheProofIsRejected) {
  const Example e;
  for (size_t bit = 0; bit < e.pi.size() * 8; ++bit) {
    Bytes pi = e.pi;
    pi[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    expect_rejected(e.pk, e.alpha, pi, "proof with bit " + std::to_string(bit) + " flipped");
  }
}

TEST(Vrf, WrongAlphaIsRejected) {
  const Example e;
  expect_rejected(e.pk, hex(""), e.pi, "empty alpha");
  expect_rejected(e.pk, hex("73"), e.pi, "alpha 0x73");
  expect_rejected(e.pk, hex("7200"), e.pi, "alpha with a trailing zero");
}

TEST(Vrf, WrongPublicKeyIsRejected) {
  const Example e;
  // Examples 16 and 18's keys: valid points, wrong key.
  expect_rejected(hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"), e.alpha,
                  e.pi, "example 16's key");
  expect_rejected(hex("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"), e.alpha,
                  e.pi, "example 18's key");
  const VrfKeyPair other = VrfKeyPair::generate();
  expect_rejected(other.public_key(), e.alpha, e.pi, "a random key");
}

TEST(Vrf, ProofOfWrongLengthIsRejected) {
  const Example e;
  const BytesView pi = e.pi;
  expect_rejected(e.pk, e.alpha, pi.first(79), "proof truncated to 79 bytes");
  expect_rejected(e.pk, e.alpha, pi.first(48), "proof without s");
  expect_rejected(e.pk, e.alpha, pi.first(32), "Gamma alone");
  expect_rejected(e.pk, e.alpha, BytesView{}, "empty proof");
  Bytes longer = e.pi;
  longer.push_back(0);
  expect_rejected(e.pk, e.alpha, longer, "proof with a trailing byte");
  EXPECT_FALSE(vrf_proof_to_hash(pi.first(79)).ok());
  EXPECT_FALSE(vrf_proof_to_hash(longer).ok());
}

TEST(Vrf, InvalidPublicKeyEncodingsAreRejected) {
  const Example e;
  const std::vector<std::pair<std::string_view, std::string_view>> keys = {
      // The eight points of small order: validate_key rejects them.
      {"identity", "0100000000000000000000000000000000000000000000000000000000000000"},
      {"order 2", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
      {"order 4", "0000000000000000000000000000000000000000000000000000000000000000"},
      {"order 4, negative x", "0000000000000000000000000000000000000000000000000000000000000080"},
      {"order 8", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"},
      {"order 8, negative x", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"},
      {"order 8 (2)", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"},
      {"order 8 (2), negative x",
       "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"},
      // Non-canonical encodings, which RFC 8032 decoding refuses.
      {"y = p", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
      {"y = p + 1", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
      {"y = 2^255 - 1", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
      {"x = 0 with the sign bit (y = 1)",
       "0100000000000000000000000000000000000000000000000000000000000080"},
      {"x = 0 with the sign bit (y = p - 1)",
       "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
      // Not on the curve.
      {"y = 2", "0200000000000000000000000000000000000000000000000000000000000000"},
      {"y = 7", "0700000000000000000000000000000000000000000000000000000000000000"},
  };
  for (const auto& [what, key] : keys) expect_rejected(hex(key), e.alpha, e.pi, what);
  const BytesView pk = e.pk;
  expect_rejected(pk.first(31), e.alpha, e.pi, "31-byte key");
  Bytes longer = e.pk;
  longer.push_back(0);
  expect_rejected(longer, e.alpha, e.pi, "33-byte key");
  expect_rejected(BytesView{}, e.alpha, e.pi, "empty key");
  // The example key with the sign bit flipped: a valid point, but -Y.
  Bytes negated = e.pk;
  negated[31] ^= 0x80;
  expect_rejected(negated, e.alpha, e.pi, "the negated key");
}

// A proof whose s is not below q must be rejected, even when s - q would verify: otherwise
// every proof would have a second encoding.
TEST(Vrf, ScalarAtOrAboveTheGroupOrderIsRejected) {
  const Example e;
  const Bytes q = hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  // s + q, as 32 little-endian bytes (s < 2^253 and q < 2^253: no carry out).
  Bytes pi = e.pi;
  unsigned carry = 0;
  for (size_t i = 0; i < 32; ++i) {
    const unsigned sum = pi[48 + i] + q[i] + carry;
    pi[48 + i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
  }
  ASSERT_EQ(carry, 0u);
  expect_rejected(e.pk, e.alpha, pi, "s + q");
  EXPECT_FALSE(vrf_proof_to_hash(pi).ok());
  Bytes s_is_q = e.pi;
  std::copy(q.begin(), q.end(), s_is_q.begin() + 48);
  expect_rejected(e.pk, e.alpha, s_is_q, "s = q");
}

TEST(Vrf, GammaOffTheCurveIsRejected) {
  const Example e;
  Bytes pi = e.pi;
  const Bytes off_curve = hex("0200000000000000000000000000000000000000000000000000000000000000");
  std::copy(off_curve.begin(), off_curve.end(), pi.begin());
  expect_rejected(e.pk, e.alpha, pi, "Gamma off the curve");
  const auto hashed = vrf_proof_to_hash(pi);
  ASSERT_FALSE(hashed.ok());
  EXPECT_EQ(hashed.error().code(), Errc::bad_signature);
}

// RFC 9381's arithmetic is over the whole curve, so a prover who knows x can make proofs
// whose Gamma, or whose public key, carries a torsion component, and they verify. These two
// were made with an independent Python implementation of the RFC (which reproduces appendix
// B.3): Gamma' = x*H + T and V' = k*H - c*T, with T of order 8; and Y' = x*B + T,
// U' = k*B - c*T. A verifier that refused points outside the prime-order subgroup would
// reject them; cofactor clearing keeps beta unique (the first gives example 17's beta).
TEST(Vrf, ProofsWithTorsionComponentsVerifyAsTheRfcSays) {
  const Example e;
  const auto torsion_gamma = vrf_verify(
      e.pk, e.alpha,
      hex("642a2dffc6652dcc96ea4d708a59c81d8ee850009ce8ad262acc139a878c8da9bb94cc9950b84798fe1af9"
          "0be67d9363f7cb3058eb9ffdaaf73c36b6ea8b6f45ed185926f61c7fb97abab4c5efb24800"));
  ASSERT_TRUE(torsion_gamma.ok()) << torsion_gamma.error().to_string();
  EXPECT_EQ(*torsion_gamma, e.beta);

  const Bytes torsion_key = hex("2ad7189ff2c500908ea7f468279fccdfdcb78ae4164feed7c5535bdc99531ca6");
  const auto with_torsion_key = vrf_verify(
      torsion_key, e.alpha,
      hex("f7faa099560603c4c02bbf6767a0962c1cbfe7a166abc073ed71c49b518a879796b64e7fa9698e5530d9be"
          "f66cba3f7db90f74ac7bd0dbaac312ff65a144dabb9fca6e335c04a90484df99506d50520d"));
  ASSERT_TRUE(with_torsion_key.ok()) << with_torsion_key.error().to_string();
  EXPECT_EQ(to_hex(*with_torsion_key),
            "1e74907eb3fe18a12599730b0d85c74426835d2aacb75e2f1015c204c94f6428f8174b5a135fbc3694ad"
            "8357dd9ce4d5efb114cf139443e5338c6899640e70dd");
  // The honest proof does not verify under the torsioned key (it hashes a different H).
  expect_rejected(torsion_key, e.alpha, e.pi, "example 17's proof under Y + T");
}

TEST(Vrf, RandomKeysRoundTrip) {
  for (int i = 0; i < 20; ++i) {
    const VrfKeyPair key = VrfKeyPair::generate();
    const Bytes alpha = random_bytes(static_cast<size_t>(i) * 7);
    const auto pi = key.prove(alpha);
    ASSERT_TRUE(pi.ok()) << pi.error().to_string();
    ASSERT_EQ(pi->size(), kVrfProofSize);
    const auto again = key.prove(alpha);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*pi, *again) << "prove is deterministic";
    const auto beta = vrf_verify(key.public_key(), alpha, *pi);
    ASSERT_TRUE(beta.ok()) << beta.error().to_string();
    ASSERT_EQ(beta->size(), kVrfOutputSize);
    const auto hashed = vrf_proof_to_hash(*pi);
    ASSERT_TRUE(hashed.ok());
    EXPECT_EQ(*beta, *hashed);
    Bytes other_alpha = alpha;
    other_alpha.push_back(1);
    expect_rejected(key.public_key(), other_alpha, *pi, "a proof for another alpha");
  }
}

TEST(Vrf, PublicKeyIsTheEd25519PublicKeyOfTheSeed) {
  const VrfKeyPair key = VrfKeyPair::generate();
  const auto ed = Ed25519SigningKey::from_seed(key.seed());
  ASSERT_TRUE(ed.ok());
  EXPECT_EQ(key.public_key(), ed->public_key());
  const auto again = VrfKeyPair::from_seed(key.seed());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), key.public_key());
}

TEST(Vrf, SecretKeyMustBe32Bytes) {
  for (size_t size : {0, 31, 33, 64}) {
    const auto key = VrfKeyPair::from_seed(Bytes(size, 1));
    ASSERT_FALSE(key.ok()) << size;
    EXPECT_EQ(key.error().code(), Errc::invalid_argument);
  }
}

}  // namespace
}  // namespace sotto::crypto
