// tests/vectors/mls/tree-validation.json: per case a ratchet tree; the resolution and tree
// hash of every node; every parent hash and leaf signature valid.
// tests/vectors/mls/tree-operations.json: an Add, Update or Remove applied to tree_before
// gives tree_after. The checks are sotto_mls_vectors' (lib/mls/testing).
#include <gtest/gtest.h>

#include "expect_vectors.h"

namespace sotto::mls {
namespace {

TEST(RatchetTreeVectors, TreeValidation) {
  testing::expect_vectors("tree-validation");
}

// Suite 1 cases only, which the browser build cannot run.
TEST(RatchetTreeVectors, TreeOperations) {
  testing::expect_vectors("tree-operations", testing::VectorsExpected::some_pass_given_suite_1);
}

}  // namespace
}  // namespace sotto::mls
