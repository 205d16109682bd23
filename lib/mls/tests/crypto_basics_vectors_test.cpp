// tests/vectors/mls/crypto-basics.json: the labelled operations of RFC 9420 section 5, each
// operation of each suite one case. The checks are sotto_mls_vectors' (lib/mls/testing).
#include <gtest/gtest.h>

#include "expect_vectors.h"

namespace sotto::mls {
namespace {

TEST(CryptoBasicsVectors, EveryCase) {
  testing::expect_vectors("crypto-basics");
}

}  // namespace
}  // namespace sotto::mls
