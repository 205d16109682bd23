// RFC 9420 passive-client vectors (mlswg/mls-implementations): join from a Welcome, then
// process each epoch's proposals and commit, comparing epoch authenticators. The checks are
// sotto_mls_vectors' (lib/mls/testing).
#include <gtest/gtest.h>

#include "expect_vectors.h"

namespace sotto::mls {
namespace {

using testing::expect_vectors;
using testing::VectorsExpected;

TEST(PassiveClientVectors, Welcome) {
  expect_vectors("passive-client-welcome");
}
TEST(PassiveClientVectors, HandlingCommit) {
  expect_vectors("passive-client-handling-commit");
}
// Suite 1 cases only, which the browser build cannot run.
TEST(PassiveClientVectors, Random) {
  expect_vectors("passive-client-random", VectorsExpected::some_pass_given_suite_1);
}

}  // namespace
}  // namespace sotto::mls
