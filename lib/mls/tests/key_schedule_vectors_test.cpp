// tests/vectors/mls/key-schedule.json: RFC 9420 section 8 over successive epochs, each epoch
// of each case one vector case. The checks are sotto_mls_vectors' (lib/mls/testing); here
// also what the vectors do not cover.
#include <gtest/gtest.h>

#include "expect_vectors.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/key_schedule.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;

TEST(KeyScheduleVectors, EveryEpoch) {
  testing::expect_vectors("key-schedule");
}

TEST(KeySchedule, RejectsSecretsOfTheWrongSize) {
  const auto suite = CipherSuite::create(3);
  ASSERT_TRUE(suite.ok());
  const Bytes nh(32, 1);
  const Bytes short_secret(31, 1);
  EXPECT_EQ(derive_epoch_secrets(*suite, short_secret, nh, nh, {}).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(derive_epoch_secrets(*suite, nh, short_secret, nh, {}).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(derive_epoch_secrets(*suite, nh, nh, short_secret, {}).error().code(),
            Errc::invalid_argument);
  EXPECT_TRUE(derive_epoch_secrets(*suite, nh, nh, nh, {}).ok());
}

}  // namespace
}  // namespace sotto::mls
