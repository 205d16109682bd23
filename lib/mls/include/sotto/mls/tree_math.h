// Array-based tree math of RFC 9420 appendix C.
//
// A ratchet tree is a full binary tree: its leaf count is a power of two (section 7.1).
// Nodes are numbered left to right, leaves at even indices and parents at odd ones, so that
// leaf i is node 2i and the root of a tree of n leaves is node 2^k - 1 with k = log2(2n - 1).
//
// The three index kinds are distinct types so that a leaf index never passes for a node
// index by accident. Functions that take a LeafCount check that their input lies in that
// tree: a question with no answer (the parent of the root, the children of a leaf, a node
// outside the tree) gives nullopt, or an error for the functions that return paths.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sotto/core/result.h"
#include "sotto/core/tls.h"

namespace sotto::mls {

// uint32 leaf_index on the wire (Sender, Remove, unmerged_leaves, GroupInfo.signer).
struct LeafIndex {
  uint32_t value = 0;

  SOTTO_TLS_FIELDS(value)
  friend bool operator==(const LeafIndex&, const LeafIndex&) = default;
  friend bool operator<(LeafIndex a, LeafIndex b) { return a.value < b.value; }
};

struct NodeIndex {
  uint32_t value = 0;

  friend bool operator==(const NodeIndex&, const NodeIndex&) = default;
  friend bool operator<(NodeIndex a, NodeIndex b) { return a.value < b.value; }
};

// The number of leaves of a tree: a power of two from 1 to kMax. Only the factories make
// one, so every LeafCount in hand describes a tree that exists.
class LeafCount {
 public:
  // 2^31 leaves need 2^32 - 1 nodes, the most a uint32 node index can address.
  static constexpr uint32_t kMax = uint32_t{1} << 31;

  // Errc::invalid_argument unless n is a power of two in [1, kMax].
  static Result<LeafCount> exactly(uint32_t n);
  // The smallest tree that holds `leaves` leaves (at least one);
  // Errc::invalid_argument when leaves > kMax.
  static Result<LeafCount> covering(uint32_t leaves);

  uint32_t value() const { return value_; }
  friend bool operator==(const LeafCount&, const LeafCount&) = default;

 private:
  explicit LeafCount(uint32_t n) : value_(n) {}
  uint32_t value_;
};

// ---- index conversions -----------------------------------------------------------------

// Precondition checked by the type: every leaf of a LeafCount tree fits (2 * (2^31 - 1)).
// For an arbitrary leaf index use in_tree(leaf, n) first; 2 * value wraps for value >= 2^31,
// which in_tree rejects.
inline NodeIndex to_node(LeafIndex leaf) {
  return NodeIndex{leaf.value * 2};
}
// nullopt for a parent node.
std::optional<LeafIndex> to_leaf(NodeIndex node);

// ---- single-node properties ------------------------------------------------------------

// Leaves are level 0; a parent is one above its children.
uint32_t level(NodeIndex x);
bool is_leaf(NodeIndex x);
// 2(n - 1) + 1: the number of nodes of a tree of n leaves.
uint32_t node_width(LeafCount n);
NodeIndex root(LeafCount n);
bool in_tree(NodeIndex x, LeafCount n);
bool in_tree(LeafIndex x, LeafCount n);

// ---- relatives -------------------------------------------------------------------------

// The children of a parent node: nullopt for a leaf or a node outside the tree.
std::optional<NodeIndex> left(NodeIndex x, LeafCount n);
std::optional<NodeIndex> right(NodeIndex x, LeafCount n);
// nullopt for the root or a node outside the tree.
std::optional<NodeIndex> parent(NodeIndex x, LeafCount n);
// The other child of x's parent: nullopt for the root or a node outside the tree.
std::optional<NodeIndex> sibling(NodeIndex x, LeafCount n);

// ---- paths -----------------------------------------------------------------------------

// The ancestors of x from its parent up to the root (empty for the root).
// Errc::invalid_argument for a node outside the tree.
Result<std::vector<NodeIndex>> direct_path(NodeIndex x, LeafCount n);
// The siblings of x and of each node of its direct path but the root, leaf to root.
Result<std::vector<NodeIndex>> copath(NodeIndex x, LeafCount n);
// The lowest node whose subtree holds both x and y (x itself when y is below x).
Result<NodeIndex> common_ancestor(NodeIndex x, NodeIndex y, LeafCount n);
// True when `descendant` lies in the subtree rooted at `ancestor` (a node is in its own).
bool is_descendant(NodeIndex descendant, NodeIndex ancestor);

}  // namespace sotto::mls
