#include "sotto/kt/log_tree.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "sotto/crypto/primitives.h"
#include "tree_math.h"

namespace sotto::kt {

using detail::is_power_of_two;
using detail::split_point;

namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

Hash to_hash(const Bytes& digest) {
  Hash h;
  std::memcpy(h.data(), digest.data(), kHashSize);
  return h;
}

Error out_of_range(const std::string& what) {
  return Error(Errc::invalid_argument, what);
}

}  // namespace

// ---- hashing ---------------------------------------------------------------------------

Hash leaf_hash(BytesView leaf_data) {
  crypto::Sha256 sha;
  sha.update(BytesView(&kLeafPrefix, 1));
  sha.update(leaf_data);
  return to_hash(sha.finish());
}

Hash hash_children(BytesView left, BytesView right) {
  crypto::Sha256 sha;
  sha.update(BytesView(&kNodePrefix, 1));
  sha.update(left);
  sha.update(right);
  return to_hash(sha.finish());
}

Hash empty_root() {
  return to_hash(crypto::sha256({}));
}

// ---- the tree --------------------------------------------------------------------------

Result<LogTree> LogTree::open(LogStore& store) {
  LogTree tree(store);
  SOTTO_TRY_ASSIGN(const uint64_t size, store.leaf_count());
  // The frontier: the complete subtree for each set bit of the size, from the left.
  uint64_t begin = 0;
  for (int level = 63; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if ((size & width) == 0) continue;
    SOTTO_TRY_ASSIGN(const Hash h, store.node({static_cast<uint32_t>(level), begin >> level}));
    tree.frontier_.push_back(h);
    begin += width;
  }
  tree.size_ = size;
  return tree;
}

Result<uint64_t> LogTree::append(BytesView leaf_data) {
  return append_leaf_hash(leaf_hash(leaf_data));
}

Result<uint64_t> LogTree::append_leaf_hash(const Hash& leaf) {
  // The new leaf completes one subtree per trailing one bit of the old size: each merges with
  // the frontier's rightmost subtree, which it replaces.
  StoredNode nodes[65];
  size_t count = 0;
  NodeId id{0, size_};
  Hash h = leaf;
  nodes[count++] = {id, h};
  size_t merged = 0;
  while ((id.index & 1) != 0) {
    h = hash_children(frontier_[frontier_.size() - 1 - merged], h);
    ++merged;
    id = {id.level + 1, id.index >> 1};
    nodes[count++] = {id, h};
  }
  SOTTO_TRY_CTX(store_->append(std::span<const StoredNode>(nodes, count)), "log append");
  frontier_.resize(frontier_.size() - merged);
  frontier_.push_back(h);
  return size_++;
}

Hash LogTree::root() const {
  if (frontier_.empty()) return empty_root();
  Hash r = frontier_.back();
  for (size_t i = frontier_.size() - 1; i-- > 0;) r = hash_children(frontier_[i], r);
  return r;
}

Result<Hash> LogTree::root(uint64_t tree_size) const {
  if (tree_size > size_) {
    return out_of_range("tree size " + std::to_string(tree_size) + " beyond the log's " +
                        std::to_string(size_));
  }
  if (tree_size == size_) return root();
  if (tree_size == 0) return empty_root();
  return range_hash(0, tree_size);
}

Result<Hash> LogTree::range_hash(uint64_t begin, uint64_t end) const {
  // The range splits into complete subtrees, one per set bit of its width, largest first;
  // MTH folds them from the right.
  const uint64_t width = end - begin;
  Hash parts[64];
  size_t count = 0;
  uint64_t at = begin;
  for (int level = 63; level >= 0; --level) {
    const uint64_t w = uint64_t{1} << level;
    if ((width & w) == 0) continue;
    SOTTO_TRY_ASSIGN(parts[count], store_->node({static_cast<uint32_t>(level), at >> level}));
    ++count;
    at += w;
  }
  Hash r = parts[count - 1];
  for (size_t i = count - 1; i-- > 0;) r = hash_children(parts[i], r);
  return r;
}

Result<Proof> LogTree::inclusion_proof(uint64_t leaf_index, uint64_t tree_size) const {
  if (tree_size > size_) {
    return out_of_range("tree size " + std::to_string(tree_size) + " beyond the log's " +
                        std::to_string(size_));
  }
  if (leaf_index >= tree_size) {
    return out_of_range("leaf " + std::to_string(leaf_index) + " not in a tree of " +
                        std::to_string(tree_size));
  }
  // PATH(m, D[n]) descends from the root; each step adds the sibling subtree, which the RFC
  // lists after the deeper part of the path: collect top-down, then reverse.
  std::pair<uint64_t, uint64_t> siblings[64];
  size_t count = 0;
  uint64_t begin = 0;
  uint64_t end = tree_size;
  while (end - begin > 1) {
    const uint64_t k = split_point(end - begin);
    if (leaf_index < begin + k) {
      siblings[count++] = {begin + k, end};
      end = begin + k;
    } else {
      siblings[count++] = {begin, begin + k};
      begin += k;
    }
  }
  Proof proof;
  proof.reserve(count);
  for (size_t i = count; i-- > 0;) {
    SOTTO_TRY_ASSIGN(const Hash h, range_hash(siblings[i].first, siblings[i].second));
    proof.emplace_back(h.begin(), h.end());
  }
  return proof;
}

Result<Proof> LogTree::consistency_proof(uint64_t size1, uint64_t size2) const {
  if (size2 > size_) {
    return out_of_range("tree size " + std::to_string(size2) + " beyond the log's " +
                        std::to_string(size_));
  }
  if (size1 == 0 || size1 > size2) {
    return out_of_range("no consistency proof from size " + std::to_string(size1) + " to " +
                        std::to_string(size2));
  }
  // SUBPROOF(m, D[begin:end], whole) unrolled: `m` counts the old tree's leaves in the range,
  // `whole` is the RFC's b (the range is the old tree's own root, whose hash the verifier has).
  std::pair<uint64_t, uint64_t> nodes[65];
  size_t count = 0;
  uint64_t begin = 0;
  uint64_t end = size2;
  uint64_t m = size1;
  bool whole = true;
  while (m != end - begin) {
    const uint64_t k = split_point(end - begin);
    if (m <= k) {
      nodes[count++] = {begin + k, end};
      end = begin + k;
    } else {
      nodes[count++] = {begin, begin + k};
      m -= k;
      begin += k;
      whole = false;
    }
  }
  if (!whole) nodes[count++] = {begin, end};
  Proof proof;
  proof.reserve(count);
  for (size_t i = count; i-- > 0;) {
    SOTTO_TRY_ASSIGN(const Hash h, range_hash(nodes[i].first, nodes[i].second));
    proof.emplace_back(h.begin(), h.end());
  }
  return proof;
}

}  // namespace sotto::kt
