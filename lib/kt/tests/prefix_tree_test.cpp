// The prefix tree against a brute-force model: random inserts, every proof verified for
// present and absent indices, roots independent of insertion order, partial trees from
// proofs recomputing the full tree's root, and malformed proofs rejected.
#include "sotto/kt/prefix_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "sotto/core/tls.h"

namespace sotto::kt {
namespace {

PrefixIndex random_index(std::mt19937_64& rng) {
  PrefixIndex index;
  for (auto& b : index) b = static_cast<uint8_t>(rng());
  return index;
}

Hash random_hash(std::mt19937_64& rng) {
  Hash h;
  for (auto& b : h) b = static_cast<uint8_t>(rng());
  return h;
}

// The root from the definition: recursive over the sorted set, depth by depth.
Hash model_root(const std::vector<std::pair<PrefixIndex, Hash>>& leaves, size_t depth) {
  if (leaves.empty()) return prefix_empty_hash();
  if (leaves.size() == 1) return prefix_leaf_hash(leaves[0].first, leaves[0].second);
  std::vector<std::pair<PrefixIndex, Hash>> left, right;
  for (const auto& leaf : leaves) {
    const int bit = (leaf.first[depth / 8] >> (7 - depth % 8)) & 1;
    (bit == 0 ? left : right).push_back(leaf);
  }
  return prefix_inner_hash(model_root(left, depth + 1), model_root(right, depth + 1));
}

TEST(PrefixTree, EmptyTree) {
  PrefixTree tree;
  EXPECT_EQ(tree.root(), prefix_empty_hash());
  std::mt19937_64 rng(1);
  const PrefixIndex index = random_index(rng);
  auto proof = tree.prove(index);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(proof->siblings.empty());
  EXPECT_TRUE(verify_prefix_non_inclusion(tree.root(), index, *proof).ok());
  EXPECT_FALSE(verify_prefix_inclusion(tree.root(), index, *proof).ok());
}

TEST(PrefixTree, MatchesModelAndProofsVerify) {
  std::mt19937_64 rng(42);
  PrefixTree tree;
  std::map<PrefixIndex, Hash> model;
  for (int round = 0; round < 300; ++round) {
    const PrefixIndex index = random_index(rng);
    const Hash c = random_hash(rng);
    auto replaced = tree.insert(index, c);
    ASSERT_TRUE(replaced.ok());
    EXPECT_FALSE(*replaced);
    model[index] = c;
    if (round % 37 == 0) {
      // Update an existing leaf.
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      const Hash c2 = random_hash(rng);
      auto again = tree.insert(it->first, c2);
      ASSERT_TRUE(again.ok());
      EXPECT_TRUE(*again);
      it->second = c2;
    }
  }
  EXPECT_EQ(tree.size(), model.size());
  const std::vector<std::pair<PrefixIndex, Hash>> sorted(model.begin(), model.end());
  const Hash root = tree.root();
  EXPECT_EQ(root, model_root(sorted, 0));
  for (const auto& [index, c] : model) {
    auto proof = tree.prove(index);
    ASSERT_TRUE(proof.ok());
    auto got = verify_prefix_inclusion(root, index, *proof);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    EXPECT_EQ(*got, c);
    EXPECT_FALSE(verify_prefix_non_inclusion(root, index, *proof).ok());
    EXPECT_EQ(tree.find(index), c);
    // Round trip on the wire.
    auto decoded = tls::decode<PrefixProof>(tls::encode(*proof));
    ASSERT_TRUE(decoded.ok());
    EXPECT_TRUE(verify_prefix_inclusion(root, index, *decoded).ok());
  }
  for (int i = 0; i < 200; ++i) {
    PrefixIndex absent = random_index(rng);
    if (i % 2 == 0) {
      // Shares a long prefix with a present index: the search ends at that leaf.
      absent = sorted[rng() % sorted.size()].first;
      absent[31] ^= 0x01;
    }
    auto proof = tree.prove(absent);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(verify_prefix_non_inclusion(root, absent, *proof).ok());
    EXPECT_FALSE(verify_prefix_inclusion(root, absent, *proof).ok());
    EXPECT_FALSE(tree.find(absent).has_value());
  }
}

TEST(PrefixTree, RootIndependentOfOrder) {
  std::mt19937_64 rng(7);
  std::vector<std::pair<PrefixIndex, Hash>> leaves;
  for (int i = 0; i < 100; ++i) leaves.emplace_back(random_index(rng), random_hash(rng));
  PrefixTree a;
  for (const auto& [i, c] : leaves) ASSERT_TRUE(a.insert(i, c).ok());
  std::shuffle(leaves.begin(), leaves.end(), rng);
  PrefixTree b;
  for (const auto& [i, c] : leaves) {
    ASSERT_TRUE(b.insert(i, c).ok());
    (void)b.root();  // interleave hashing with inserts
  }
  EXPECT_EQ(a.root(), b.root());
}

TEST(PrefixTree, AdjacentIndicesAtFullDepth) {
  PrefixIndex x{};
  PrefixIndex y{};
  y[31] = 1;  // differs only in the last bit: leaves at depth 256
  PrefixTree tree;
  ASSERT_TRUE(tree.insert(x, Hash{}).ok());
  ASSERT_TRUE(tree.insert(y, Hash{}).ok());
  auto proof = tree.prove(y);
  ASSERT_TRUE(proof.ok());
  EXPECT_EQ(proof->siblings.size(), 256u);
  EXPECT_TRUE(verify_prefix_inclusion(tree.root(), y, *proof).ok());
}

TEST(PrefixTree, PartialTreeFromProofsReachesTheNewRoot) {
  std::mt19937_64 rng(9);
  PrefixTree tree;
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(tree.insert(random_index(rng), random_hash(rng)).ok());
  const Hash old_root = tree.root();
  std::vector<PrefixIndex> indices;
  std::vector<Hash> commitments;
  std::vector<PrefixProof> proofs;
  for (int i = 0; i < 40; ++i) {
    indices.push_back(random_index(rng));
    commitments.push_back(random_hash(rng));
    proofs.push_back(tree.prove(indices.back()).value());
  }
  auto partial = PrefixTree::from_proofs(indices, proofs, old_root);
  ASSERT_TRUE(partial.ok()) << partial.error().to_string();
  EXPECT_EQ(partial->root(), old_root);
  for (size_t i = 0; i < indices.size(); ++i) {
    ASSERT_TRUE(tree.insert(indices[i], commitments[i]).ok());
    ASSERT_TRUE(partial->insert(indices[i], commitments[i]).ok());
  }
  EXPECT_EQ(partial->root(), tree.root());
  // An index whose path the proofs did not reveal cannot be inserted.
  const PrefixIndex other = random_index(rng);
  auto refused = partial->insert(other, Hash{});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::bad_proof);
  // A proof against another root is refused.
  auto wrong = PrefixTree::from_proofs(indices, proofs, tree.root());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Errc::bad_proof);
}

TEST(PrefixTree, MalformedProofsRejected) {
  std::mt19937_64 rng(11);
  PrefixTree tree;
  std::vector<PrefixIndex> present;
  for (int i = 0; i < 64; ++i) {
    present.push_back(random_index(rng));
    ASSERT_TRUE(tree.insert(present.back(), random_hash(rng)).ok());
  }
  const Hash root = tree.root();
  const PrefixIndex index = present[5];
  const PrefixProof good = tree.prove(index).value();
  ASSERT_GE(good.siblings.size(), 2u);

  auto expect_bad = [&](const PrefixProof& p) {
    auto r = verify_prefix_inclusion(root, index, p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::bad_proof);
  };
  PrefixProof p = good;
  p.siblings.pop_back();  // truncated
  expect_bad(p);
  p = good;
  p.siblings[0][0] ^= 1;  // flipped sibling
  expect_bad(p);
  p = good;
  p.siblings[1].pop_back();  // short hash
  expect_bad(p);
  p = good;
  p.terminal->commitment[3] ^= 1;  // another commitment
  expect_bad(p);
  p = good;
  p.siblings.insert(p.siblings.begin(), Bytes(32, 0));  // extra depth
  expect_bad(p);
  p = good;
  p.terminal.reset();  // claims an empty node
  expect_bad(p);
  p.siblings.assign(257, Bytes(32, 0));  // too deep
  expect_bad(p);

  // Non-inclusion: a terminal leaf that is not on the searched path is refused.
  PrefixIndex absent = random_index(rng);
  PrefixProof forged;
  forged.terminal = PrefixLeaf{Bytes(index.begin(), index.end()), Bytes(32, 0)};
  forged.siblings = good.siblings;
  absent[0] = static_cast<uint8_t>(index[0] ^ 0x80);
  EXPECT_EQ(verify_prefix_non_inclusion(root, absent, forged).error().code(), Errc::bad_proof);
}

}  // namespace
}  // namespace sotto::kt
