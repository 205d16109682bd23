// tests/vectors/mls/psk_secret.json: the PSK combiner of RFC 9420 section 8.4. The checks are
// sotto_mls_vectors' (lib/mls/testing).
#include <gtest/gtest.h>

#include "expect_vectors.h"

namespace sotto::mls {
namespace {

TEST(PskSecretVectors, EveryCase) {
  testing::expect_vectors("psk_secret");
}

}  // namespace
}  // namespace sotto::mls
