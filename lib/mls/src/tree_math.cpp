#include "sotto/mls/tree_math.h"

#include <bit>
#include <string>

namespace sotto::mls {

namespace {

Error outside_tree(NodeIndex x, LeafCount n) {
  return Error(Errc::invalid_argument, "node " + std::to_string(x.value) +
                                           " is outside a tree of " + std::to_string(n.value()) +
                                           " leaves");
}

}  // namespace

Result<LeafCount> LeafCount::exactly(uint32_t n) {
  if (n == 0 || n > kMax || !std::has_single_bit(n)) {
    return Error(Errc::invalid_argument,
                 "leaf count " + std::to_string(n) + " is not a power of two up to 2^31");
  }
  return LeafCount(n);
}

Result<LeafCount> LeafCount::covering(uint32_t leaves) {
  if (leaves > kMax) {
    return Error(Errc::invalid_argument,
                 "a tree of " + std::to_string(leaves) + " leaves is over 2^31");
  }
  return LeafCount(leaves <= 1 ? 1 : std::bit_ceil(leaves));
}

std::optional<LeafIndex> to_leaf(NodeIndex node) {
  if (!is_leaf(node)) return std::nullopt;
  return LeafIndex{node.value / 2};
}

uint32_t level(NodeIndex x) {
  return static_cast<uint32_t>(std::countr_one(x.value));
}

bool is_leaf(NodeIndex x) {
  return (x.value & 1) == 0;
}

// n <= 2^31, so 2n - 1 fits.
uint32_t node_width(LeafCount n) {
  return 2 * (n.value() - 1) + 1;
}

// The largest power of two not over the width 2n - 1 is n itself.
NodeIndex root(LeafCount n) {
  return NodeIndex{n.value() - 1};
}

bool in_tree(NodeIndex x, LeafCount n) {
  return x.value < node_width(n);
}

bool in_tree(LeafIndex x, LeafCount n) {
  return x.value < n.value();
}

// Inside a tree every level is at most 31 (the root of 2^31 leaves), so the shifts below
// stay within 32 bits.
std::optional<NodeIndex> left(NodeIndex x, LeafCount n) {
  if (!in_tree(x, n) || is_leaf(x)) return std::nullopt;
  return NodeIndex{x.value ^ (uint32_t{1} << (level(x) - 1))};
}

std::optional<NodeIndex> right(NodeIndex x, LeafCount n) {
  if (!in_tree(x, n) || is_leaf(x)) return std::nullopt;
  return NodeIndex{x.value ^ (uint32_t{3} << (level(x) - 1))};
}

std::optional<NodeIndex> parent(NodeIndex x, LeafCount n) {
  if (!in_tree(x, n) || x == root(n)) return std::nullopt;
  // Below the root, level(x) < level(root) <= 31.
  const uint32_t k = level(x);
  const uint32_t b = (x.value >> (k + 1)) & 1;
  return NodeIndex{(x.value | (uint32_t{1} << k)) ^ (b << (k + 1))};
}

std::optional<NodeIndex> sibling(NodeIndex x, LeafCount n) {
  const auto p = parent(x, n);
  if (!p) return std::nullopt;
  return x < *p ? right(*p, n) : left(*p, n);
}

Result<std::vector<NodeIndex>> direct_path(NodeIndex x, LeafCount n) {
  if (!in_tree(x, n)) return outside_tree(x, n);
  std::vector<NodeIndex> path;
  for (auto p = parent(x, n); p; p = parent(*p, n)) path.push_back(*p);
  return path;
}

Result<std::vector<NodeIndex>> copath(NodeIndex x, LeafCount n) {
  if (!in_tree(x, n)) return outside_tree(x, n);
  std::vector<NodeIndex> path;
  for (auto node = x; node != root(n); node = *parent(node, n)) path.push_back(*sibling(node, n));
  return path;
}

bool is_descendant(NodeIndex descendant, NodeIndex ancestor) {
  // The subtree of a node at level k spans 2^k - 1 nodes either side of it.
  const uint64_t k = level(ancestor);
  const uint64_t half = (uint64_t{1} << k) - 1;
  const uint64_t a = ancestor.value;
  const uint64_t d = descendant.value;
  return d + half >= a && d <= a + half;
}

Result<NodeIndex> common_ancestor(NodeIndex x, NodeIndex y, LeafCount n) {
  if (!in_tree(x, n)) return outside_tree(x, n);
  if (!in_tree(y, n)) return outside_tree(y, n);
  NodeIndex a = x;
  // Terminates at the root at the latest, whose subtree holds every node of the tree.
  while (!is_descendant(y, a)) a = *parent(a, n);
  return a;
}

}  // namespace sotto::mls
