// The public ratchet tree of RFC 9420 sections 4 and 7: blank, leaf and parent nodes in
// array order; the ratchet_tree extension form (12.4.3.3); adding, updating and removing
// leaves (12.1.1-12.1.3); resolutions (4.1.1); the tree hash (7.8); parent hashes and their
// verification (7.9); and the LeafNode signature (7.2).
//
// The tree always holds node_width(leaf_count) slots, so every index of the tree math is
// valid. What a change costs is O(log n) in a tree of n leaves, not O(n):
//   - Nodes are immutable and shared between copies of a tree, so copying a tree (a group
//     state is a value, and each commit makes the next one) copies pointers, not LeafNodes.
//   - Tree hashes are cached per node: a node's hash depends on its subtree alone, so a change
//     invalidates only the changed node and its direct path, and resizing keeps every
//     surviving node's hash.
//   - Each node counts the non-blank leaves and non-blank nodes of its subtree, updated
//     along the direct path of a change. The leftmost blank leaf, the truncation after a
//     removal and whether a resolution is empty are found by walking down or up one path,
//     and a resolution skips the subtrees that hold nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/tree_math.h"

namespace sotto::mls {

// LeafNodeTBS (section 7.2): the LeafNode without its signature, followed for the update and
// commit sources by group_id<V> and leaf_index; a key_package leaf has no group context and
// ignores both.
Bytes leaf_node_tbs(const LeafNode& leaf, BytesView group_id, LeafIndex leaf_index);

// VerifyWithLabel(leaf.signature_key, "LeafNodeTBS", LeafNodeTBS, leaf.signature).
bool verify_leaf_node_signature(const crypto::CipherSuite& suite, const LeafNode& leaf,
                                BytesView group_id, LeafIndex leaf_index);

// Sets leaf.signature with the 32-byte Ed25519 seed `signature_private_key`.
Result<void> sign_leaf_node(const crypto::CipherSuite& suite, LeafNode& leaf,
                            BytesView signature_private_key, BytesView group_id,
                            LeafIndex leaf_index);

class PublicTree {
 public:
  // An empty group of one blank leaf; add_leaf fills it.
  explicit PublicTree(crypto::CipherSuite suite);

  // From the ratchet_tree extension. Errc::invalid_value when the list is empty, ends in a
  // blank, is longer than a full tree, or has a leaf at a parent index (or the reverse).
  static Result<PublicTree> from_extension(crypto::CipherSuite suite, const RatchetTree& nodes);
  static Result<PublicTree> from_extension(crypto::CipherSuite suite, RatchetTree&& nodes);
  static Result<PublicTree> decode(crypto::CipherSuite suite, BytesView ratchet_tree);

  // The extension form: the nodes in array order with trailing blanks dropped.
  RatchetTree to_extension() const;
  // tls::encode(to_extension()), written straight from the tree without copying its nodes.
  Bytes encode() const;

  const crypto::CipherSuite& suite() const { return suite_; }
  LeafCount leaf_count() const { return leaf_count_; }
  uint32_t node_count() const { return static_cast<uint32_t>(nodes_.size()); }

  // nullptr for a blank node or an index outside the tree.
  const Node* node(NodeIndex index) const;
  // nullptr for a blank node or an index outside the tree.
  const LeafNode* leaf(LeafIndex index) const;
  const ParentNode* parent_node(NodeIndex index) const;
  bool blank(NodeIndex index) const;
  // The encryption key of a non-blank node, nullptr for a blank one.
  const HpkePublicKey* encryption_key(NodeIndex index) const;

  // ---- changes (section 12.1) ----------------------------------------------------------

  // Puts `leaf` at the leftmost blank leaf, doubling the tree when there is none, and adds
  // its index to the unmerged_leaves of every non-blank parent above it.
  Result<LeafIndex> add_leaf(LeafNode leaf);
  // Replaces a non-blank leaf and blanks its direct path. Errc::not_found for a blank leaf.
  Result<void> update_leaf(LeafIndex index, LeafNode leaf);
  // Blanks a non-blank leaf and its direct path, then halves the tree while its right half
  // is blank. Errc::not_found for a blank leaf.
  Result<void> remove_leaf(LeafIndex index);
  // Sets one node (blank when nullopt), checking its kind against the index.
  Result<void> set_node(NodeIndex index, std::optional<Node> node);

  // ---- derived values ------------------------------------------------------------------

  // Section 4.1.1: a non-blank node and its unmerged leaves; the resolutions of a blank
  // parent's children; nothing for a blank leaf. Costs O(size of the result * log n).
  std::vector<NodeIndex> resolution(NodeIndex index) const;
  // resolution(index).empty(), in O(1).
  bool resolution_empty(NodeIndex index) const;
  // The leaf add_leaf() would fill: the leftmost blank leaf, or leaf_count() when the tree
  // is full and would double.
  uint32_t first_blank_leaf() const;
  // The number of non-blank leaves.
  uint32_t member_count() const;
  // The direct path of `leaf` without the nodes whose copath child has an empty resolution
  // (section 4.1.2), leaf to root; with each node, that copath child.
  struct PathStep {
    NodeIndex node;
    NodeIndex copath_child;
  };
  Result<std::vector<PathStep>> filtered_direct_path(LeafIndex leaf) const;

  // Section 7.8: the tree hash of the root, or of the subtree under `index`.
  Bytes tree_hash() const;
  Bytes tree_hash(NodeIndex index) const;

  // Section 7.9: Hash(ParentHashInput) of the non-blank parent `parent`, as its child on the
  // other side of `copath_child` records it. The sibling's tree hash is its original one:
  // with the parent's unmerged leaves taken out. Errc::invalid_argument unless `parent` is a
  // non-blank parent node and `copath_child` one of its children.
  Result<Bytes> parent_hash(NodeIndex parent, NodeIndex copath_child) const;

  // Section 7.9.2: every non-blank parent node is parent-hash valid with respect to one of
  // its children: some node of that child's resolution, other than the parent's unmerged
  // leaves, records the parent's hash. Errc::invalid_value names the first node that is not.
  Result<void> verify_parent_hashes() const;
  // Every non-blank leaf's signature, with `group_id` for update and commit leaves.
  // Errc::bad_signature names the first leaf that fails.
  Result<void> verify_leaf_signatures(BytesView group_id) const;

 private:
  // Per node: the non-blank leaves and the non-blank nodes of its subtree (itself included).
  struct Counts {
    uint32_t leaves = 0;
    uint32_t nodes = 0;
  };

  PublicTree(crypto::CipherSuite suite, LeafCount leaf_count);
  void resize(LeafCount leaf_count);
  // Replaces one node (nullptr blanks it): keeps the counts and the hash cache of its direct
  // path up to date.
  void put(NodeIndex index, std::shared_ptr<const Node> node);
  void invalidate(NodeIndex index);
  void blank_direct_path(LeafIndex leaf);
  void append_resolution(NodeIndex index, std::vector<NodeIndex>& out) const;
  Bytes hash_subtree(NodeIndex index, const std::vector<LeafIndex>& excluded) const;
  // True when some leaf of `excluded` lies under `index`.
  bool covers_any(NodeIndex index, const std::vector<LeafIndex>& excluded) const;
  // Fills counts_ from nodes_ bottom-up, for a tree built in one go.
  void recount();

  crypto::CipherSuite suite_;
  LeafCount leaf_count_;
  // nullptr for a blank node. Shared, never changed in place: a change puts a new node.
  std::vector<std::shared_ptr<const Node>> nodes_;
  std::vector<Counts> counts_;
  // Tree hash per node, Nh bytes each, in one array so that a copy is one allocation;
  // hash_valid_[i] is 0 when node i's hash is not computed since its subtree last changed.
  mutable std::vector<uint8_t> hashes_;
  mutable std::vector<uint8_t> hash_valid_;
};

}  // namespace sotto::mls
