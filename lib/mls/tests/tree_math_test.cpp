// Tree math beyond the vectors: paths, common ancestors, and input outside the tree.
#include "sotto/mls/tree_math.h"

#include <gtest/gtest.h>

#include <vector>

namespace sotto::mls {
namespace {

LeafCount leaves(uint32_t n) {
  return LeafCount::exactly(n).value();
}

std::vector<uint32_t> values(const std::vector<NodeIndex>& nodes) {
  std::vector<uint32_t> out;
  for (const auto& node : nodes) out.push_back(node.value);
  return out;
}

TEST(TreeMath, LeafCountIsAPowerOfTwo) {
  EXPECT_FALSE(LeafCount::exactly(0).ok());
  EXPECT_FALSE(LeafCount::exactly(3).ok());
  EXPECT_FALSE(LeafCount::exactly(0xffffffff).ok());
  EXPECT_TRUE(LeafCount::exactly(LeafCount::kMax).ok());
  EXPECT_FALSE(LeafCount::exactly(LeafCount::kMax + 1).ok());
  EXPECT_EQ(LeafCount::covering(0)->value(), 1u);
  EXPECT_EQ(LeafCount::covering(1)->value(), 1u);
  EXPECT_EQ(LeafCount::covering(5)->value(), 8u);
  EXPECT_EQ(LeafCount::covering(8)->value(), 8u);
  EXPECT_EQ(LeafCount::covering(LeafCount::kMax)->value(), LeafCount::kMax);
  EXPECT_FALSE(LeafCount::covering(LeafCount::kMax + 1).ok());
}

TEST(TreeMath, Conversions) {
  EXPECT_EQ(to_node(LeafIndex{3}), NodeIndex{6});
  EXPECT_EQ(to_leaf(NodeIndex{6}), LeafIndex{3});
  EXPECT_FALSE(to_leaf(NodeIndex{7}).has_value());
  EXPECT_EQ(level(NodeIndex{0}), 0u);
  EXPECT_EQ(level(NodeIndex{7}), 3u);
  EXPECT_EQ(level(NodeIndex{11}), 2u);
  EXPECT_TRUE(in_tree(LeafIndex{7}, leaves(8)));
  EXPECT_FALSE(in_tree(LeafIndex{8}, leaves(8)));
  EXPECT_TRUE(in_tree(NodeIndex{14}, leaves(8)));
  EXPECT_FALSE(in_tree(NodeIndex{15}, leaves(8)));
}

// RFC 9420 figure 11 / section 4.1: the tree of 8 leaves.
TEST(TreeMath, PathsInEightLeaves) {
  const auto n = leaves(8);
  EXPECT_EQ(values(direct_path(NodeIndex{0}, n).value()), (std::vector<uint32_t>{1, 3, 7}));
  EXPECT_EQ(values(copath(NodeIndex{0}, n).value()), (std::vector<uint32_t>{2, 5, 11}));
  EXPECT_EQ(values(direct_path(NodeIndex{10}, n).value()), (std::vector<uint32_t>{9, 11, 7}));
  EXPECT_EQ(values(copath(NodeIndex{10}, n).value()), (std::vector<uint32_t>{8, 13, 3}));
  EXPECT_TRUE(direct_path(NodeIndex{7}, n)->empty());
  EXPECT_TRUE(copath(NodeIndex{7}, n)->empty());
  EXPECT_TRUE(direct_path(NodeIndex{0}, leaves(1))->empty());
}

TEST(TreeMath, CommonAncestor) {
  const auto n = leaves(8);
  EXPECT_EQ(common_ancestor(NodeIndex{0}, NodeIndex{2}, n).value(), NodeIndex{1});
  EXPECT_EQ(common_ancestor(NodeIndex{0}, NodeIndex{4}, n).value(), NodeIndex{3});
  EXPECT_EQ(common_ancestor(NodeIndex{4}, NodeIndex{14}, n).value(), NodeIndex{7});
  EXPECT_EQ(common_ancestor(NodeIndex{10}, NodeIndex{11}, n).value(), NodeIndex{11});
  EXPECT_EQ(common_ancestor(NodeIndex{6}, NodeIndex{6}, n).value(), NodeIndex{6});
  // Agrees with the definition: the lowest node on both direct paths.
  for (uint32_t x = 0; x < node_width(n); ++x) {
    for (uint32_t y = 0; y < node_width(n); ++y) {
      auto px = direct_path(NodeIndex{x}, n).value();
      px.insert(px.begin(), NodeIndex{x});
      auto py = direct_path(NodeIndex{y}, n).value();
      py.insert(py.begin(), NodeIndex{y});
      NodeIndex want = root(n);
      for (const auto& a : px) {
        bool on_both = false;
        for (const auto& b : py) on_both = on_both || a == b;
        if (on_both) {
          want = a;
          break;
        }
      }
      EXPECT_EQ(common_ancestor(NodeIndex{x}, NodeIndex{y}, n).value(), want) << x << " " << y;
    }
  }
}

TEST(TreeMath, OutsideTheTree) {
  const auto n = leaves(4);
  const NodeIndex outside{7};
  EXPECT_FALSE(left(outside, n).has_value());
  EXPECT_FALSE(right(outside, n).has_value());
  EXPECT_FALSE(parent(outside, n).has_value());
  EXPECT_FALSE(sibling(outside, n).has_value());
  EXPECT_EQ(direct_path(outside, n).error().code(), Errc::invalid_argument);
  EXPECT_EQ(copath(outside, n).error().code(), Errc::invalid_argument);
  EXPECT_FALSE(common_ancestor(outside, NodeIndex{0}, n).ok());
  EXPECT_FALSE(common_ancestor(NodeIndex{0}, outside, n).ok());
  // The largest index: level 32, in no tree.
  const NodeIndex top{0xffffffff};
  EXPECT_EQ(level(top), 32u);
  EXPECT_FALSE(left(top, leaves(LeafCount::kMax)).has_value());
  EXPECT_FALSE(parent(top, leaves(LeafCount::kMax)).has_value());
}

TEST(TreeMath, LargestTree) {
  const auto n = leaves(LeafCount::kMax);
  EXPECT_EQ(node_width(n), 0xfffffffFu);
  EXPECT_EQ(root(n), NodeIndex{0x7fffffff});
  EXPECT_EQ(left(root(n), n), NodeIndex{0x3fffffff});
  EXPECT_EQ(right(root(n), n), NodeIndex{0xbfffffff});
  const NodeIndex last{0xfffffffe};
  EXPECT_EQ(direct_path(last, n)->size(), 31u);
  EXPECT_EQ(direct_path(last, n)->back(), root(n));
  EXPECT_EQ(copath(last, n)->size(), 31u);
  EXPECT_EQ(common_ancestor(NodeIndex{0}, last, n).value(), root(n));
}

}  // namespace
}  // namespace sotto::mls
