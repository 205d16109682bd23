// PublicTree without vectors: where add, update and remove put and take leaves, the
// extension form's rules, and what the tree keeps to make changes cheap (the tree-hash cache,
// the per-subtree counts behind the free-leaf search, truncation and resolutions, and nodes
// shared between copies) against the same values computed afresh.
#include "sotto/mls/ratchet_tree.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/messages.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;

CipherSuite suite() {
  return CipherSuite::create(3).value();
}

LeafNode member(uint8_t tag) {
  LeafNode leaf;
  leaf.encryption_key.data = Bytes(32, tag);
  leaf.signature_key.data = Bytes(32, static_cast<uint8_t>(tag + 100));
  leaf.credential.content = BasicCredential{Bytes{tag}};
  leaf.source = UpdateLeafSource{};
  return leaf;
}

Node parent(uint8_t tag) {
  return Node{ParentNode{HpkePublicKey{Bytes(32, tag)}, {}, {}}};
}

std::vector<uint32_t> values(const std::vector<NodeIndex>& nodes) {
  std::vector<uint32_t> out;
  for (const NodeIndex n : nodes) out.push_back(n.value);
  return out;
}

// Every node's cached hash equals the hash of the same tree decoded afresh.
void expect_cache_fresh(const PublicTree& tree) {
  auto fresh = PublicTree::decode(suite(), tree.encode());
  ASSERT_TRUE(fresh.ok()) << fresh.error().to_string();
  ASSERT_EQ(fresh->node_count(), tree.node_count());
  for (uint32_t i = 0; i < tree.node_count(); ++i) {
    EXPECT_EQ(tree.tree_hash(NodeIndex{i}), fresh->tree_hash(NodeIndex{i})) << "node " << i;
  }
}

// Section 4.1.1 straight from its definition, walking every node: the reference for the
// pruned resolution.
std::vector<uint32_t> naive_resolution(const PublicTree& tree, NodeIndex index) {
  std::vector<uint32_t> out;
  if (!in_tree(index, tree.leaf_count())) return out;
  if (!tree.blank(index)) {
    out.push_back(index.value);
    if (const ParentNode* p = tree.parent_node(index)) {
      for (const LeafIndex l : p->unmerged_leaves) out.push_back(to_node(l).value);
    }
    return out;
  }
  if (is_leaf(index)) return out;
  for (const auto child : {left(index, tree.leaf_count()), right(index, tree.leaf_count())}) {
    const auto part = naive_resolution(tree, *child);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

// Everything the tree derives and keeps equals a fresh computation: hashes against the tree
// decoded afresh, resolutions, the free leaf and the member count against walks of every
// node.
void expect_derived_fresh(const PublicTree& tree) {
  expect_cache_fresh(tree);
  uint32_t members = 0;
  uint32_t first_blank = tree.leaf_count().value();
  for (uint32_t i = 0; i < tree.leaf_count().value(); ++i) {
    if (tree.leaf(LeafIndex{i}) != nullptr) {
      ++members;
    } else if (first_blank == tree.leaf_count().value()) {
      first_blank = i;
    }
  }
  EXPECT_EQ(tree.member_count(), members);
  EXPECT_EQ(tree.first_blank_leaf(), first_blank);
  for (uint32_t i = 0; i < tree.node_count(); ++i) {
    const auto expected = naive_resolution(tree, NodeIndex{i});
    EXPECT_EQ(values(tree.resolution(NodeIndex{i})), expected) << "node " << i;
    EXPECT_EQ(tree.resolution_empty(NodeIndex{i}), expected.empty()) << "node " << i;
  }
}

TEST(RatchetTree, AddFillsLeftmostBlankThenDoubles) {
  PublicTree tree(suite());
  EXPECT_EQ(tree.add_leaf(member(1)).value().value, 0u);
  EXPECT_EQ(tree.leaf_count().value(), 1u);
  EXPECT_EQ(tree.add_leaf(member(2)).value().value, 1u);
  EXPECT_EQ(tree.add_leaf(member(3)).value().value, 2u);
  EXPECT_EQ(tree.leaf_count().value(), 4u);
  ASSERT_TRUE(tree.remove_leaf(LeafIndex{1}).ok());
  EXPECT_EQ(tree.add_leaf(member(4)).value().value, 1u);
  EXPECT_EQ(tree.add_leaf(member(5)).value().value, 3u);
  EXPECT_EQ(tree.leaf_count().value(), 4u);
  expect_cache_fresh(tree);
}

TEST(RatchetTree, AddRecordsUnmergedLeavesAndResolution) {
  PublicTree tree(suite());
  for (uint8_t i = 1; i <= 3; ++i) ASSERT_TRUE(tree.add_leaf(member(i)).ok());
  ASSERT_TRUE(tree.set_node(NodeIndex{3}, parent(30)).ok());
  ASSERT_TRUE(tree.set_node(NodeIndex{5}, parent(50)).ok());
  EXPECT_EQ(tree.add_leaf(member(4)).value().value, 3u);
  EXPECT_EQ(tree.parent_node(NodeIndex{5})->unmerged_leaves, std::vector<LeafIndex>{LeafIndex{3}});
  EXPECT_EQ(tree.parent_node(NodeIndex{3})->unmerged_leaves, std::vector<LeafIndex>{LeafIndex{3}});
  EXPECT_EQ(values(tree.resolution(NodeIndex{5})), (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(values(tree.resolution(NodeIndex{1})), (std::vector<uint32_t>{0, 2}));
  // Removing leaf 0 blanks nodes 1 and 3: the root resolves to leaf 1 and node 5 with its
  // unmerged leaf.
  ASSERT_TRUE(tree.remove_leaf(LeafIndex{0}).ok());
  EXPECT_EQ(values(tree.resolution(NodeIndex{3})), (std::vector<uint32_t>{2, 5, 6}));
  expect_cache_fresh(tree);
}

TEST(RatchetTree, UpdateBlanksTheDirectPath) {
  PublicTree tree(suite());
  for (uint8_t i = 1; i <= 4; ++i) ASSERT_TRUE(tree.add_leaf(member(i)).ok());
  ASSERT_TRUE(tree.set_node(NodeIndex{1}, parent(10)).ok());
  ASSERT_TRUE(tree.set_node(NodeIndex{3}, parent(30)).ok());
  ASSERT_TRUE(tree.set_node(NodeIndex{5}, parent(50)).ok());
  const Bytes before = tree.tree_hash();
  ASSERT_TRUE(tree.update_leaf(LeafIndex{2}, member(9)).ok());
  EXPECT_FALSE(tree.blank(NodeIndex{1}));
  EXPECT_TRUE(tree.blank(NodeIndex{3}));
  EXPECT_TRUE(tree.blank(NodeIndex{5}));
  EXPECT_EQ(tree.leaf(LeafIndex{2})->encryption_key.data, Bytes(32, 9));
  EXPECT_NE(tree.tree_hash(), before);
  expect_cache_fresh(tree);
}

TEST(RatchetTree, RemoveTruncatesTheBlankRightHalf) {
  PublicTree tree(suite());
  for (uint8_t i = 1; i <= 5; ++i) ASSERT_TRUE(tree.add_leaf(member(i)).ok());
  EXPECT_EQ(tree.leaf_count().value(), 8u);
  ASSERT_TRUE(tree.remove_leaf(LeafIndex{4}).ok());
  EXPECT_EQ(tree.leaf_count().value(), 4u);
  ASSERT_TRUE(tree.remove_leaf(LeafIndex{2}).ok());
  EXPECT_EQ(tree.leaf_count().value(), 4u);  // leaf 3 still holds the right half
  ASSERT_TRUE(tree.remove_leaf(LeafIndex{3}).ok());
  EXPECT_EQ(tree.leaf_count().value(), 2u);
  expect_cache_fresh(tree);
  ASSERT_TRUE(tree.remove_leaf(LeafIndex{1}).ok());
  EXPECT_EQ(tree.leaf_count().value(), 1u);
  EXPECT_EQ(tree.node_count(), 1u);
  expect_cache_fresh(tree);

  const auto blank = tree.remove_leaf(LeafIndex{1});
  ASSERT_FALSE(blank.ok());
  EXPECT_EQ(blank.error().code(), Errc::not_found);
  EXPECT_EQ(tree.update_leaf(LeafIndex{5}, member(1)).error().code(), Errc::not_found);
}

TEST(RatchetTree, ExtensionDropsTrailingBlanks) {
  PublicTree tree(suite());
  for (uint8_t i = 1; i <= 3; ++i) ASSERT_TRUE(tree.add_leaf(member(i)).ok());
  const RatchetTree ext = tree.to_extension();
  EXPECT_EQ(ext.size(), 5u);  // leaves 0..2 and the parents between them
  auto back = PublicTree::from_extension(suite(), ext);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->leaf_count().value(), 4u);
  EXPECT_EQ(back->tree_hash(), tree.tree_hash());
  EXPECT_EQ(back->encode(), tree.encode());
}

TEST(RatchetTree, ExtensionRejectsMalformedTrees) {
  EXPECT_EQ(PublicTree::from_extension(suite(), {}).error().code(), Errc::invalid_value);

  RatchetTree trailing_blank{Node{member(1)}, std::nullopt};
  EXPECT_EQ(PublicTree::from_extension(suite(), trailing_blank).error().code(),
            Errc::invalid_value);

  RatchetTree wrong_kind{Node{member(1)}, Node{member(2)}, Node{member(3)}};
  EXPECT_EQ(PublicTree::from_extension(suite(), wrong_kind).error().code(), Errc::invalid_value);

  Node stray = parent(7);
  std::get<ParentNode>(stray.content).unmerged_leaves.push_back(LeafIndex{5});
  RatchetTree outside{Node{member(1)}, stray, Node{member(2)}};
  EXPECT_EQ(PublicTree::from_extension(suite(), outside).error().code(), Errc::invalid_value);

  EXPECT_FALSE(PublicTree::decode(suite(), Bytes{0x01}).ok());
}

TEST(RatchetTree, SetNodeChecksKindAndRange) {
  PublicTree tree(suite());
  ASSERT_TRUE(tree.add_leaf(member(1)).ok());
  ASSERT_TRUE(tree.add_leaf(member(2)).ok());
  EXPECT_EQ(tree.set_node(NodeIndex{1}, Node{member(3)}).error().code(), Errc::invalid_argument);
  EXPECT_EQ(tree.set_node(NodeIndex{0}, parent(3)).error().code(), Errc::invalid_argument);
  EXPECT_EQ(tree.set_node(NodeIndex{3}, parent(3)).error().code(), Errc::invalid_argument);
}

TEST(RatchetTree, CacheStaysFreshThroughManyChanges) {
  PublicTree tree(suite());
  uint8_t tag = 1;
  for (int round = 0; round < 40; ++round) {
    ASSERT_TRUE(tree.add_leaf(member(tag++)).ok());
    (void)tree.tree_hash();  // fill the cache before the next change
    if (round % 3 == 2) {
      const LeafIndex victim{static_cast<uint32_t>((round * 7) % tree.leaf_count().value())};
      if (tree.leaf(victim) != nullptr) {
        ASSERT_TRUE(tree.remove_leaf(victim).ok());
      }
    }
    if (round % 5 == 4) {
      const uint32_t p = (2 * static_cast<uint32_t>(round) + 1) % tree.node_count();
      if (p % 2 == 1) {
        ASSERT_TRUE(tree.set_node(NodeIndex{p}, parent(tag++)).ok());
      }
    }
    if (round % 4 == 1 && tree.leaf(LeafIndex{0}) != nullptr) {
      ASSERT_TRUE(tree.update_leaf(LeafIndex{0}, member(tag++)).ok());
    }
  }
  expect_cache_fresh(tree);
}

// Random adds, removes (with truncation), updates and parent nodes, checking after each step
// that the hash cache, counts and resolutions match a fresh computation, and that a copy
// taken before the step still shows the tree as it was.
TEST(RatchetTree, DerivedValuesStayFreshThroughRandomChanges) {
  std::mt19937 random(20240531);
  PublicTree tree(suite());
  uint8_t tag = 1;
  for (int step = 0; step < 300; ++step) {
    const PublicTree before = tree;
    const Bytes hash_before = tree.tree_hash();
    const Bytes encoded_before = tree.encode();
    const uint32_t width = tree.leaf_count().value();
    const LeafIndex some_leaf{static_cast<uint32_t>(random() % width)};
    switch (random() % 5) {
      case 0:
      case 1:
        ASSERT_TRUE(tree.add_leaf(member(tag++)).ok());
        break;
      case 2:
        if (tree.leaf(some_leaf) != nullptr && tree.member_count() > 1) {
          ASSERT_TRUE(tree.remove_leaf(some_leaf).ok());
        }
        break;
      case 3:
        if (tree.leaf(some_leaf) != nullptr) {
          ASSERT_TRUE(tree.update_leaf(some_leaf, member(tag++)).ok());
        }
        break;
      default: {
        // A parent above a member, as an UpdatePath would set it.
        if (tree.leaf(some_leaf) == nullptr || width == 1) break;
        const auto path = direct_path(to_node(some_leaf), tree.leaf_count());
        ASSERT_TRUE(path.ok());
        const NodeIndex p = (*path)[random() % path->size()];
        ASSERT_TRUE(tree.set_node(p, parent(tag++)).ok());
        break;
      }
    }
    if (step % 3 == 0) (void)tree.tree_hash();  // sometimes with a full cache, sometimes not
    // The copy kept its nodes and its hashes.
    EXPECT_EQ(before.encode(), encoded_before);
    EXPECT_EQ(before.tree_hash(), hash_before);
    if (step % 10 == 9) expect_derived_fresh(tree);
    // Truncation (section 12.1.3) leaves a member in the right half.
    bool right_half_member = tree.leaf_count().value() == 1;
    for (uint32_t i = tree.leaf_count().value() / 2; i < tree.leaf_count().value(); ++i) {
      right_half_member = right_half_member || tree.leaf(LeafIndex{i}) != nullptr;
    }
    EXPECT_TRUE(right_half_member) << "step " << step;
  }
  expect_derived_fresh(tree);
  EXPECT_GT(tree.member_count(), 10u);
}

TEST(RatchetTree, FreeLeafSearchAndTruncationInALargeTree) {
  PublicTree tree(suite());
  for (uint32_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(tree.add_leaf(member(static_cast<uint8_t>(i))).value().value, i);
  }
  EXPECT_EQ(tree.leaf_count().value(), 1024u);
  EXPECT_EQ(tree.first_blank_leaf(), 1000u);
  ASSERT_TRUE(tree.remove_leaf(LeafIndex{517}).ok());
  ASSERT_TRUE(tree.remove_leaf(LeafIndex{3}).ok());
  EXPECT_EQ(tree.first_blank_leaf(), 3u);
  EXPECT_EQ(tree.add_leaf(member(1)).value().value, 3u);
  EXPECT_EQ(tree.add_leaf(member(2)).value().value, 517u);
  // Removing every leaf from 512 up halves the tree once the right half is empty.
  for (uint32_t i = 999; i >= 512; --i) ASSERT_TRUE(tree.remove_leaf(LeafIndex{i}).ok());
  EXPECT_EQ(tree.leaf_count().value(), 512u);
  EXPECT_EQ(tree.member_count(), 512u);
  EXPECT_EQ(tree.first_blank_leaf(), 512u);
  expect_derived_fresh(tree);
}

TEST(RatchetTree, EncodeMatchesTheExtensionForm) {
  PublicTree tree(suite());
  for (uint8_t i = 1; i <= 6; ++i) ASSERT_TRUE(tree.add_leaf(member(i)).ok());
  ASSERT_TRUE(tree.set_node(NodeIndex{3}, parent(30)).ok());
  ASSERT_TRUE(tree.remove_leaf(LeafIndex{5}).ok());
  EXPECT_EQ(tree.encode(), tls::encode(tree.to_extension()));
}

TEST(RatchetTree, ParentHashRejectsBadArguments) {
  PublicTree tree(suite());
  for (uint8_t i = 1; i <= 4; ++i) ASSERT_TRUE(tree.add_leaf(member(i)).ok());
  EXPECT_EQ(tree.parent_hash(NodeIndex{1}, NodeIndex{2}).error().code(), Errc::invalid_argument);
  ASSERT_TRUE(tree.set_node(NodeIndex{1}, parent(10)).ok());
  EXPECT_TRUE(tree.parent_hash(NodeIndex{1}, NodeIndex{2}).ok());
  EXPECT_EQ(tree.parent_hash(NodeIndex{1}, NodeIndex{4}).error().code(), Errc::invalid_argument);
  // A parent no descendant vouches for.
  EXPECT_EQ(tree.verify_parent_hashes().error().code(), Errc::invalid_value);
}

}  // namespace
}  // namespace sotto::mls
