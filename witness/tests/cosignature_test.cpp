// k-of-n verification of witness cosignatures (sotto/kt/witness.h).
#include <gtest/gtest.h>

#include "directory_fixture.h"
#include "sotto/kt/witness.h"

namespace sotto::kt {
namespace {

struct Witnesses {
  std::vector<crypto::Ed25519SigningKey> keys;
  std::vector<Bytes> public_keys;

  explicit Witnesses(int n) {
    for (int i = 0; i < n; ++i) {
      keys.push_back(
          crypto::Ed25519SigningKey::from_seed(testing::seed(static_cast<uint8_t>(40 + i)))
              .value());
      public_keys.push_back(keys.back().public_key());
    }
  }
  Cosignature cosign(size_t i, const SignedTreeHead& head) const {
    return {keys[i].public_key(), keys[i].sign(cosignature_tbs(head))};
  }
};

class Cosignatures : public ::testing::Test {
 protected:
  void SetUp() override {
    log.stage("alice", testing::device_keys("alice", 0));
    head = log.publish().head;
    log.stage("bob", testing::device_keys("bob", 0));
    other_head = log.publish().head;
  }
  testing::TestDirectory log;
  SignedTreeHead head;
  SignedTreeHead other_head;
  Witnesses witnesses{3};
};

TEST_F(Cosignatures, KOfNSatisfiedAndNot) {
  const std::vector<Cosignature> two{witnesses.cosign(0, head), witnesses.cosign(2, head)};
  auto ok = verify_cosignatures(head, two, witnesses.public_keys, 2);
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(*ok, 2u);
  EXPECT_EQ(*verify_cosignatures(head, two, witnesses.public_keys, 1), 2u);

  auto short_of = verify_cosignatures(head, two, witnesses.public_keys, 3);
  ASSERT_FALSE(short_of.ok());
  EXPECT_EQ(short_of.error().code(), Errc::bad_signature);
  // Cosignatures of another head do not count for this one.
  EXPECT_FALSE(verify_cosignatures(other_head, two, witnesses.public_keys, 1).ok());
}

TEST_F(Cosignatures, DuplicateWitnessCountsOnce) {
  const std::vector<Cosignature> twice{witnesses.cosign(1, head), witnesses.cosign(1, head)};
  EXPECT_EQ(verify_cosignatures(head, twice, witnesses.public_keys, 2).error().code(),
            Errc::bad_signature);
  EXPECT_EQ(*verify_cosignatures(head, twice, witnesses.public_keys, 1), 1u);

  // A key listed twice in the trusted set is still one witness.
  const std::vector<Bytes> listed_twice{witnesses.public_keys[1], witnesses.public_keys[1]};
  EXPECT_EQ(verify_cosignatures(head, twice, listed_twice, 2).error().code(),
            Errc::invalid_argument);
}

TEST_F(Cosignatures, UnknownKeyIgnored) {
  Witnesses strangers(5);  // keys 40..44: the last two are not trusted below
  const std::vector<Cosignature> cosignatures{witnesses.cosign(0, head), strangers.cosign(3, head),
                                              strangers.cosign(4, head)};
  EXPECT_EQ(*verify_cosignatures(head, cosignatures, witnesses.public_keys, 1), 1u);
  EXPECT_EQ(verify_cosignatures(head, cosignatures, witnesses.public_keys, 2).error().code(),
            Errc::bad_signature);
}

TEST_F(Cosignatures, InvalidSignatureNotCounted) {
  Cosignature forged = witnesses.cosign(1, head);
  forged.signature[0] ^= 1;
  Cosignature truncated = witnesses.cosign(2, head);
  truncated.signature.pop_back();
  const std::vector<Cosignature> cosignatures{forged, truncated, witnesses.cosign(0, head)};
  EXPECT_EQ(*verify_cosignatures(head, cosignatures, witnesses.public_keys, 1), 1u);

  // The log's own head signature is not a cosignature, even by a trusted key.
  const std::vector<Cosignature> log_signature{{log.dir->signing_public_key(), head.signature}};
  const std::vector<Bytes> log_key{log.dir->signing_public_key()};
  EXPECT_EQ(verify_cosignatures(head, log_signature, log_key, 1).error().code(),
            Errc::bad_signature);
}

TEST_F(Cosignatures, ThresholdOutOfRange) {
  const std::vector<Cosignature> all{witnesses.cosign(0, head), witnesses.cosign(1, head),
                                     witnesses.cosign(2, head)};
  EXPECT_EQ(verify_cosignatures(head, all, witnesses.public_keys, 0).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(verify_cosignatures(head, all, witnesses.public_keys, 4).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(*verify_cosignatures(head, all, witnesses.public_keys, 3), 3u);
}

TEST_F(Cosignatures, RoundTrip) {
  const Cosignature c = witnesses.cosign(0, head);
  EXPECT_EQ(tls::decode<Cosignature>(tls::encode(c)).value(), c);
}

}  // namespace
}  // namespace sotto::kt
