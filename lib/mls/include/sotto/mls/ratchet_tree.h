// The public ratchet tree of RFC 9420 sections 4 and 7: blank, leaf and parent nodes in
// array order; the ratchet_tree extension form (12.4.3.3); adding, updating and removing
// leaves (12.1.1-12.1.3); resolutions (4.1.1); the tree hash (7.8); parent hashes and their
// verification (7.9); and the LeafNode signature (7.2).
//
// The tree always holds node_width(leaf_count) slots, so every index of the tree math is
// valid. Tree hashes are cached per node: a node's hash depends on its subtree alone, so a
// change invalidates only the changed node and its direct path, and resizing the tree keeps
// every surviving node's hash. A change costs O(log n) hashes to recompute. (Finding the
// leftmost blank leaf, truncating, resolutions and verify_parent_hashes still walk nodes
// without hashing them.)
#pragma once

#include <cstdint>
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
  static Result<PublicTree> decode(crypto::CipherSuite suite, BytesView ratchet_tree);

  // The extension form: the nodes in array order with trailing blanks dropped.
  RatchetTree to_extension() const;
  Bytes encode() const;

  const crypto::CipherSuite& suite() const { return suite_; }
  LeafCount leaf_count() const { return leaf_count_; }
  uint32_t node_count() const { return static_cast<uint32_t>(nodes_.size()); }

  // A blank (nullopt) for an index outside the tree.
  const std::optional<Node>& node(NodeIndex index) const;
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
  // parent's children; nothing for a blank leaf.
  std::vector<NodeIndex> resolution(NodeIndex index) const;
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
  PublicTree(crypto::CipherSuite suite, LeafCount leaf_count);
  void resize(LeafCount leaf_count);
  void invalidate(NodeIndex index);
  void blank_direct_path(LeafIndex leaf);
  Bytes hash_subtree(NodeIndex index, const std::vector<LeafIndex>& excluded) const;
  // True when some leaf of `excluded` lies under `index`.
  bool covers_any(NodeIndex index, const std::vector<LeafIndex>& excluded) const;

  crypto::CipherSuite suite_;
  LeafCount leaf_count_;
  std::vector<std::optional<Node>> nodes_;
  // Tree hash per node; nullopt when not computed since the subtree last changed.
  mutable std::vector<std::optional<Bytes>> hash_cache_;
};

}  // namespace sotto::mls
