// tests/vectors/mls/tree-math.json: root, and left, right, parent and sibling of every node,
// with null where the relative does not exist.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "sotto/mls/tree_math.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using testing::Json;
using testing::VectorTally;

std::optional<NodeIndex> expected_node(const Json& value) {
  if (value.is_null()) return std::nullopt;
  return NodeIndex{value.get<uint32_t>()};
}

std::string show(std::optional<NodeIndex> x) {
  return x ? std::to_string(x->value) : std::string("null");
}

TEST(TreeMathVectors, EveryCase) {
  const auto vectors = testing::load_vectors("mls/tree-math.json");
  ASSERT_TRUE(vectors.has_value());
  VectorTally tally("mls/tree-math.json");
  for (const auto& tc : *vectors) {
    const uint32_t n_leaves = tc.at("n_leaves").get<uint32_t>();
    SCOPED_TRACE("n_leaves " + std::to_string(n_leaves));
    const auto n = LeafCount::exactly(n_leaves);
    ASSERT_TRUE(n.ok()) << n.error().to_string();

    bool ok = node_width(*n) == tc.at("n_nodes").get<uint32_t>();
    EXPECT_TRUE(ok) << "node_width";
    if (root(*n).value != tc.at("root").get<uint32_t>()) {
      ok = false;
      ADD_FAILURE() << "root";
    }
    const auto& lefts = tc.at("left");
    const auto& rights = tc.at("right");
    const auto& parents = tc.at("parent");
    const auto& siblings = tc.at("sibling");
    if (lefts.size() != node_width(*n) || rights.size() != node_width(*n) ||
        parents.size() != node_width(*n) || siblings.size() != node_width(*n)) {
      ok = false;
      ADD_FAILURE() << "array lengths differ from n_nodes";
    }
    for (uint32_t i = 0; ok && i < node_width(*n); ++i) {
      const NodeIndex x{i};
      const auto check = [&](const char* what, std::optional<NodeIndex> got, const Json& want) {
        if (got != expected_node(want)) {
          ok = false;
          ADD_FAILURE() << what << "(" << i << ") = " << show(got) << ", want " << want.dump();
        }
      };
      check("left", left(x, *n), lefts[i]);
      check("right", right(x, *n), rights[i]);
      check("parent", parent(x, *n), parents[i]);
      check("sibling", sibling(x, *n), siblings[i]);
    }
    tally.count(ok);
  }
}

}  // namespace
}  // namespace sotto::mls
