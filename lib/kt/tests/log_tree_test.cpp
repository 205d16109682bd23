// The log tree against a direct transcription of RFC 9162's recursive definitions (MTH, PATH,
// SUBPROOF), for every tree of 1 to 130 leaves: every root, every inclusion proof and every
// consistency proof, each verified, and each with every hash's bit flipped rejected. Then
// reopening a store, a failing store, and the verifiers' checks of sizes and lengths.
#include "sotto/kt/log_tree.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sotto/core/encoding.h"

namespace sotto::kt {
namespace {

// RFC 9162 section 2.1.1-2.1.4.1, recursively, over leaf hashes; MTH memoised per range.
class ReferenceTree {
 public:
  explicit ReferenceTree(std::vector<Hash> leaves) : leaves_(std::move(leaves)) {}

  Hash mth(uint64_t begin, uint64_t end) {
    if (begin == end) return empty_root();
    if (end - begin == 1) return leaves_[begin];
    const auto key = std::make_pair(begin, end);
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    const uint64_t k = split(end - begin);
    const Hash h = hash_children(mth(begin, begin + k), mth(begin + k, end));
    memo_.emplace(key, h);
    return h;
  }

  Proof path(uint64_t m, uint64_t begin, uint64_t end) {
    Proof out;
    if (end - begin <= 1) return out;
    const uint64_t k = split(end - begin);
    if (m < k) {
      out = path(m, begin, begin + k);
      push(out, mth(begin + k, end));
    } else {
      out = path(m - k, begin + k, end);
      push(out, mth(begin, begin + k));
    }
    return out;
  }

  Proof subproof(uint64_t m, uint64_t begin, uint64_t end, bool b) {
    Proof out;
    if (m == end - begin) {
      if (!b) push(out, mth(begin, end));
      return out;
    }
    const uint64_t k = split(end - begin);
    if (m <= k) {
      out = subproof(m, begin, begin + k, b);
      push(out, mth(begin + k, end));
    } else {
      out = subproof(m - k, begin + k, end, false);
      push(out, mth(begin, begin + k));
    }
    return out;
  }

 private:
  static uint64_t split(uint64_t n) {
    uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  }
  static void push(Proof& proof, const Hash& h) { proof.emplace_back(h.begin(), h.end()); }

  std::vector<Hash> leaves_;
  std::map<std::pair<uint64_t, uint64_t>, Hash> memo_;
};

Bytes leaf_data(uint64_t i) {
  return to_bytes("leaf " + std::to_string(i));
}

// A tree of `size` leaves, leaf_data(0..size-1).
struct Fixture {
  MemoryLogStore store;
  LogTree tree = LogTree::open(store).value();
  std::vector<Hash> leaves;

  explicit Fixture(uint64_t size) {
    for (uint64_t i = 0; i < size; ++i) {
      const auto index = tree.append(leaf_data(i));
      EXPECT_TRUE(index.ok() && *index == i);
      leaves.push_back(leaf_hash(leaf_data(i)));
    }
  }
};

Bytes flipped(const Bytes& b, size_t bit) {
  Bytes out = b;
  out[(bit / 8) % out.size()] ^= static_cast<uint8_t>(1u << (bit % 8));
  return out;
}

BytesView view(const Hash& h) {
  return {h.data(), h.size()};
}

constexpr uint64_t kMaxSize = 130;

TEST(LogTree, EmptyTree) {
  MemoryLogStore store;
  const auto tree = LogTree::open(store);
  ASSERT_TRUE(tree.ok());
  EXPECT_EQ(tree->size(), 0u);
  EXPECT_EQ(to_hex(tree->root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(tree->root(0).value(), empty_root());
  EXPECT_FALSE(tree->inclusion_proof(0, 0).ok());
  EXPECT_FALSE(tree->consistency_proof(0, 0).ok());
}

TEST(LogTree, RootsOfEverySizeMatchTheRfcDefinition) {
  Fixture f(kMaxSize);
  ReferenceTree ref(f.leaves);
  for (uint64_t n = 0; n <= kMaxSize; ++n) {
    const auto root = f.tree.root(n);
    ASSERT_TRUE(root.ok()) << n;
    EXPECT_EQ(*root, ref.mth(0, n)) << "size " << n;
  }
  // Appending one leaf at a time gives the same roots as asking for an earlier size.
  MemoryLogStore store;
  auto grown = LogTree::open(store).value();
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    ASSERT_TRUE(grown.append(leaf_data(n - 1)).ok());
    EXPECT_EQ(grown.root(), ref.mth(0, n)) << "size " << n;
  }
}

TEST(LogTree, EveryInclusionProofUpTo130Leaves) {
  Fixture f(kMaxSize);
  ReferenceTree ref(f.leaves);
  size_t proofs = 0;
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    const Hash root = f.tree.root(n).value();
    for (uint64_t m = 0; m < n; ++m) {
      const auto proof = f.tree.inclusion_proof(m, n);
      ASSERT_TRUE(proof.ok()) << m << " in " << n;
      ASSERT_EQ(*proof, ref.path(m, 0, n)) << m << " in " << n;
      const auto ok = verify_inclusion(f.leaves[m], m, n, *proof, root);
      ASSERT_TRUE(ok.ok()) << m << " in " << n << ": " << ok.error().to_string();
      ++proofs;
      // Every hash with a bit flipped, the leaf and the root included, is rejected.
      for (size_t i = 0; i < proof->size(); ++i) {
        Proof bad = *proof;
        bad[i] = flipped(bad[i], m * 7 + i);
        EXPECT_FALSE(verify_inclusion(f.leaves[m], m, n, bad, root).ok())
            << m << " in " << n << ", hash " << i;
      }
      const Bytes leaf(f.leaves[m].begin(), f.leaves[m].end());
      const Bytes root_bytes(root.begin(), root.end());
      EXPECT_FALSE(verify_inclusion(flipped(leaf, m), m, n, *proof, root).ok());
      EXPECT_FALSE(verify_inclusion(f.leaves[m], m, n, *proof, flipped(root_bytes, n)).ok());
      // The wrong index or size.
      if (m + 1 < n) {
        EXPECT_FALSE(verify_inclusion(f.leaves[m], m + 1, n, *proof, root).ok());
      }
      // The root only fixes the size through the signed tree head, so the same proof and
      // root can pass for another size; against that size's own root it must fail.
      if (n < kMaxSize) {
        const Hash next_root = f.tree.root(n + 1).value();
        EXPECT_FALSE(verify_inclusion(f.leaves[m], m, n + 1, *proof, next_root).ok());
      }
      // One hash short, one hash too many.
      if (!proof->empty()) {
        Proof shorter(proof->begin(), proof->end() - 1);
        EXPECT_FALSE(verify_inclusion(f.leaves[m], m, n, shorter, root).ok());
      }
      Proof longer = *proof;
      longer.push_back(Bytes(kHashSize, 0));
      EXPECT_FALSE(verify_inclusion(f.leaves[m], m, n, longer, root).ok());
    }
  }
  EXPECT_EQ(proofs, kMaxSize * (kMaxSize + 1) / 2);
}

TEST(LogTree, EveryConsistencyProofUpTo130Leaves) {
  Fixture f(kMaxSize);
  ReferenceTree ref(f.leaves);
  std::vector<Hash> roots;
  for (uint64_t n = 0; n <= kMaxSize; ++n) roots.push_back(f.tree.root(n).value());
  size_t proofs = 0;
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    for (uint64_t m = 1; m <= n; ++m) {
      const auto proof = f.tree.consistency_proof(m, n);
      ASSERT_TRUE(proof.ok()) << m << " -> " << n;
      ASSERT_EQ(*proof, ref.subproof(m, 0, n, true)) << m << " -> " << n;
      const auto ok = verify_consistency(m, n, *proof, roots[m], roots[n]);
      ASSERT_TRUE(ok.ok()) << m << " -> " << n << ": " << ok.error().to_string();
      ++proofs;
      for (size_t i = 0; i < proof->size(); ++i) {
        Proof bad = *proof;
        bad[i] = flipped(bad[i], m * 5 + n + i);
        EXPECT_FALSE(verify_consistency(m, n, bad, roots[m], roots[n]).ok())
            << m << " -> " << n << ", hash " << i;
      }
      const Bytes root1(roots[m].begin(), roots[m].end());
      const Bytes root2(roots[n].begin(), roots[n].end());
      EXPECT_FALSE(verify_consistency(m, n, *proof, flipped(root1, n), roots[n]).ok());
      EXPECT_FALSE(verify_consistency(m, n, *proof, roots[m], flipped(root2, m)).ok());
      if (m < n) {
        // Roots swapped, or of other sizes.
        EXPECT_FALSE(verify_consistency(m, n, *proof, roots[n], roots[m]).ok());
        EXPECT_FALSE(verify_consistency(m, n, *proof, roots[m - 1], roots[n]).ok());
        Proof shorter(proof->begin(), proof->end() - 1);
        EXPECT_FALSE(verify_consistency(m, n, shorter, roots[m], roots[n]).ok());
      }
      Proof longer = *proof;
      longer.push_back(Bytes(kHashSize, 0));
      EXPECT_FALSE(verify_consistency(m, n, longer, roots[m], roots[n]).ok());
    }
  }
  EXPECT_EQ(proofs, kMaxSize * (kMaxSize + 1) / 2);
}

TEST(LogTree, ProofsForALargerTreeAgainstTheRfcDefinition) {
  constexpr uint64_t kSize = 3000;
  Fixture f(kSize);
  ReferenceTree ref(f.leaves);
  uint64_t state = 12345;
  auto next = [&](uint64_t bound) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return (state >> 33) % bound;
  };
  for (int i = 0; i < 300; ++i) {
    const uint64_t n = 1 + next(kSize);
    const uint64_t m = next(n);
    const Hash root = f.tree.root(n).value();
    EXPECT_EQ(root, ref.mth(0, n));
    const auto inclusion = f.tree.inclusion_proof(m, n);
    ASSERT_TRUE(inclusion.ok());
    EXPECT_EQ(*inclusion, ref.path(m, 0, n));
    EXPECT_TRUE(verify_inclusion(f.leaves[m], m, n, *inclusion, root).ok());
    const uint64_t m1 = m + 1;
    const auto consistency = f.tree.consistency_proof(m1, n);
    ASSERT_TRUE(consistency.ok());
    EXPECT_EQ(*consistency, ref.subproof(m1, 0, n, true));
    EXPECT_TRUE(verify_consistency(m1, n, *consistency, ref.mth(0, m1), root).ok());
  }
}

TEST(LogTree, ReopeningAStoreContinuesTheLog) {
  MemoryLogStore store;
  Hash root_before{};
  {
    auto tree = LogTree::open(store).value();
    for (uint64_t i = 0; i < 77; ++i) ASSERT_TRUE(tree.append(leaf_data(i)).ok());
    root_before = tree.root();
  }
  auto reopened = LogTree::open(store);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->size(), 77u);
  EXPECT_EQ(reopened->root(), root_before);
  for (uint64_t i = 77; i < 100; ++i) ASSERT_TRUE(reopened->append(leaf_data(i)).ok());
  Fixture fresh(100);
  EXPECT_EQ(reopened->root(), fresh.tree.root());
}

// A store that refuses writes once told to, to show that a failed append changes nothing.
class FailingStore final : public LogStore {
 public:
  bool fail = false;
  Result<uint64_t> leaf_count() const override { return inner_.leaf_count(); }
  Result<void> append(std::span<const StoredNode> nodes) override {
    if (fail) return Error(Errc::internal, "disk full");
    return inner_.append(nodes);
  }
  Result<Hash> node(NodeId id) const override { return inner_.node(id); }

 private:
  MemoryLogStore inner_;
};

TEST(LogTree, AFailedAppendChangesNothing) {
  FailingStore store;
  auto tree = LogTree::open(store).value();
  for (uint64_t i = 0; i < 7; ++i) ASSERT_TRUE(tree.append(leaf_data(i)).ok());
  const Hash root = tree.root();
  store.fail = true;
  const auto failed = tree.append(leaf_data(7));  // would complete three subtrees
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), Errc::internal);
  EXPECT_EQ(tree.size(), 7u);
  EXPECT_EQ(tree.root(), root);
  store.fail = false;
  ASSERT_TRUE(tree.append(leaf_data(7)).ok());
  EXPECT_EQ(tree.root(), Fixture(8).tree.root());
}

TEST(LogTree, MemoryStoreRefusesOutOfOrderNodes) {
  MemoryLogStore store;
  const StoredNode skip[] = {{{0, 1}, Hash{}}};
  EXPECT_FALSE(store.append(skip).ok());
  const StoredNode partly_bad[] = {{{0, 0}, Hash{}}, {{1, 5}, Hash{}}};
  EXPECT_FALSE(store.append(partly_bad).ok());
  EXPECT_EQ(store.leaf_count().value(), 0u) << "a refused batch writes nothing";
  EXPECT_EQ(store.node({0, 0}).error().code(), Errc::not_found);
}

TEST(LogTree, ProofRequestsOutsideTheTreeAreErrors) {
  Fixture f(10);
  EXPECT_FALSE(f.tree.root(11).ok());
  EXPECT_FALSE(f.tree.inclusion_proof(10, 10).ok());
  EXPECT_FALSE(f.tree.inclusion_proof(0, 11).ok());
  EXPECT_FALSE(f.tree.consistency_proof(0, 5).ok());
  EXPECT_FALSE(f.tree.consistency_proof(6, 5).ok());
  EXPECT_FALSE(f.tree.consistency_proof(5, 11).ok());
  EXPECT_EQ(f.tree.consistency_proof(10, 10).value().size(), 0u);
}

TEST(LogVerify, HashLengthsAreChecked) {
  Fixture f(5);
  const Hash root = f.tree.root();
  const Proof proof = f.tree.inclusion_proof(2, 5).value();
  const Bytes leaf(f.leaves[2].begin(), f.leaves[2].end());
  ASSERT_TRUE(verify_inclusion(leaf, 2, 5, proof, root).ok());
  const BytesView leaf_view = leaf;
  EXPECT_EQ(verify_inclusion(leaf_view.first(31), 2, 5, proof, root).error().code(),
            Errc::invalid_value);
  EXPECT_EQ(verify_inclusion(leaf, 2, 5, proof, view(root).first(31)).error().code(),
            Errc::invalid_value);
  Proof long_hash = proof;
  long_hash[0].push_back(0);
  EXPECT_EQ(verify_inclusion(leaf, 2, 5, long_hash, root).error().code(), Errc::invalid_value);

  const Proof consistency = f.tree.consistency_proof(3, 5).value();
  const Hash root3 = f.tree.root(3).value();
  ASSERT_TRUE(verify_consistency(3, 5, consistency, root3, root).ok());
  Proof empty_hash = consistency;
  empty_hash.back().clear();
  EXPECT_EQ(verify_consistency(3, 5, empty_hash, root3, root).error().code(), Errc::invalid_value);
  EXPECT_EQ(verify_consistency(3, 5, consistency, view(root3).first(0), root).error().code(),
            Errc::invalid_value);
}

TEST(LogVerify, ConsistencySizeRules) {
  Fixture f(4);
  const Hash r1 = f.tree.root(1).value();
  const Hash r4 = f.tree.root();
  const Proof none;
  // size1 = 0: rejected, whatever the roots and proof.
  EXPECT_EQ(verify_consistency(0, 0, none, empty_root(), empty_root()).error().code(),
            Errc::invalid_value);
  EXPECT_EQ(verify_consistency(0, 4, none, empty_root(), r4).error().code(), Errc::invalid_value);
  // size1 > size2.
  EXPECT_EQ(verify_consistency(4, 1, none, r4, r1).error().code(), Errc::invalid_value);
  // Equal sizes: the empty proof and equal roots.
  EXPECT_TRUE(verify_consistency(4, 4, none, r4, r4).ok());
  EXPECT_EQ(verify_consistency(4, 4, none, r4, r1).error().code(), Errc::authentication_failed);
  const Proof one = {Bytes(r4.begin(), r4.end())};
  EXPECT_EQ(verify_consistency(4, 4, one, r4, r4).error().code(), Errc::invalid_value);
  // An empty proof between different sizes.
  EXPECT_EQ(verify_consistency(1, 4, none, r1, r4).error().code(), Errc::invalid_value);
}

}  // namespace
}  // namespace sotto::kt
