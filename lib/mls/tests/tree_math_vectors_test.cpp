// tests/vectors/mls/tree-math.json: root, and left, right, parent and sibling of every node.
// The checks are sotto_mls_vectors' (lib/mls/testing), shared with the mls-vectors command.
#include <gtest/gtest.h>

#include "expect_vectors.h"

namespace sotto::mls {
namespace {

TEST(TreeMathVectors, EveryCase) {
  testing::expect_vectors("tree-math");
}

}  // namespace
}  // namespace sotto::mls
