#include "sotto/kt/prefix_tree.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "sotto/crypto/primitives.h"

namespace sotto::kt {

namespace {

constexpr uint8_t kLeafPrefix = 0x10;
constexpr uint8_t kInnerPrefix = 0x11;
constexpr uint8_t kEmptyPrefix = 0x12;

int bit_at(const PrefixIndex& index, size_t depth) {
  return (index[depth / 8] >> (7 - depth % 8)) & 1;
}

Hash finish(crypto::Sha256& sha) {
  const Bytes digest = sha.finish();
  Hash h;
  std::memcpy(h.data(), digest.data(), kHashSize);
  return h;
}

Error bad_proof(std::string message) {
  return Error(Errc::bad_proof, std::move(message));
}

}  // namespace

Hash prefix_leaf_hash(const PrefixIndex& index, const Hash& commitment) {
  crypto::Sha256 sha;
  sha.update(BytesView(&kLeafPrefix, 1));
  sha.update(index);
  sha.update(commitment);
  return finish(sha);
}

Hash prefix_inner_hash(const Hash& left, const Hash& right) {
  crypto::Sha256 sha;
  sha.update(BytesView(&kInnerPrefix, 1));
  sha.update(left);
  sha.update(right);
  return finish(sha);
}

Hash prefix_empty_hash() {
  static const Hash empty = [] {
    crypto::Sha256 sha;
    sha.update(BytesView(&kEmptyPrefix, 1));
    return finish(sha);
  }();
  return empty;
}

Result<PrefixIndex> to_prefix_index(BytesView bytes) {
  if (bytes.size() != kIndexSize) {
    return bad_proof("a prefix-tree index is " + std::to_string(bytes.size()) + " bytes, not 32");
  }
  PrefixIndex index;
  std::memcpy(index.data(), bytes.data(), kIndexSize);
  return index;
}

Result<Hash> to_hash(BytesView bytes) {
  if (bytes.size() != kHashSize) {
    return bad_proof("a hash is " + std::to_string(bytes.size()) + " bytes, not 32");
  }
  Hash h;
  std::memcpy(h.data(), bytes.data(), kHashSize);
  return h;
}

// ---- the tree --------------------------------------------------------------------------

uint32_t PrefixTree::new_node(Node node) {
  nodes_.push_back(node);
  return static_cast<uint32_t>(nodes_.size() - 1);
}

uint32_t PrefixTree::new_leaf(const PrefixIndex& index, const Hash& commitment) {
  keys_.push_back(index);
  Node node;
  node.kind = Kind::leaf;
  node.hash = commitment;
  node.left = static_cast<uint32_t>(keys_.size() - 1);
  ++leaf_count_;
  return new_node(node);
}

Hash PrefixTree::node_hash(uint32_t id) const {
  if (id == kEmpty) return prefix_empty_hash();
  if (id == kUnknown) return Hash{};  // never reached: from_proofs leaves no unknown child
  Node& node = nodes_[id];
  switch (node.kind) {
    case Kind::leaf:
      return prefix_leaf_hash(keys_[node.left], node.hash);
    case Kind::opaque:
      return node.hash;
    case Kind::inner:
      // nodes_ does not grow while hashing, so `node` stays valid across the recursion.
      if (node.dirty) {
        node.hash = prefix_inner_hash(node_hash(node.left), node_hash(node.right));
        node.dirty = false;
      }
      return node.hash;
  }
  return Hash{};
}

Result<bool> PrefixTree::insert(const PrefixIndex& index, const Hash& commitment) {
  // Walk down, remembering the slot (parent, side) that holds the current node.
  uint32_t parent = kEmpty;
  int side = 0;
  uint32_t id = root_;
  size_t depth = 0;
  auto set_slot = [&](uint32_t child) {
    if (parent == kEmpty) {
      root_ = child;
    } else if (side == 0) {
      nodes_[parent].left = child;
    } else {
      nodes_[parent].right = child;
    }
  };
  std::vector<uint32_t> path;
  path.reserve(64);
  bool replaced = false;
  for (;;) {
    if (id == kEmpty) {
      set_slot(new_leaf(index, commitment));
      break;
    }
    if (id == kUnknown || nodes_[id].kind == Kind::opaque) {
      return bad_proof("the partial prefix tree does not hold the path of this index");
    }
    if (nodes_[id].kind == Kind::leaf) {
      const PrefixIndex existing = keys_[nodes_[id].left];
      if (existing == index) {
        nodes_[id].hash = commitment;
        replaced = true;
        break;
      }
      // Split: inner nodes down to the first bit where the two indices differ.
      size_t split = depth;
      while (bit_at(existing, split) == bit_at(index, split)) ++split;  // they differ somewhere
      const uint32_t old_leaf = id;
      const uint32_t fresh = new_leaf(index, commitment);
      Node bottom;
      bottom.dirty = true;
      if (bit_at(index, split) == 0) {
        bottom.left = fresh;
        bottom.right = old_leaf;
      } else {
        bottom.left = old_leaf;
        bottom.right = fresh;
      }
      uint32_t top = new_node(bottom);
      for (size_t d = split; d > depth; --d) {
        Node above;
        above.dirty = true;
        if (bit_at(index, d - 1) == 0) {
          above.left = top;
        } else {
          above.right = top;
        }
        top = new_node(above);
      }
      set_slot(top);
      break;
    }
    // Inner.
    path.push_back(id);
    parent = id;
    side = bit_at(index, depth);
    id = side == 0 ? nodes_[id].left : nodes_[id].right;
    ++depth;
  }
  for (const uint32_t p : path) nodes_[p].dirty = true;
  return replaced;
}

std::optional<Hash> PrefixTree::find(const PrefixIndex& index) const {
  uint32_t id = root_;
  size_t depth = 0;
  while (id != kEmpty && id != kUnknown) {
    const Node& node = nodes_[id];
    if (node.kind == Kind::leaf) {
      if (keys_[node.left] == index) return node.hash;
      return std::nullopt;
    }
    if (node.kind == Kind::opaque) return std::nullopt;
    id = bit_at(index, depth) == 0 ? node.left : node.right;
    ++depth;
  }
  return std::nullopt;
}

Hash PrefixTree::root() const {
  return node_hash(root_);
}

Result<PrefixProof> PrefixTree::prove(const PrefixIndex& index) const {
  PrefixProof proof;
  uint32_t id = root_;
  size_t depth = 0;
  for (;;) {
    if (id == kEmpty) return proof;
    if (id == kUnknown || nodes_[id].kind == Kind::opaque) {
      return bad_proof("the partial prefix tree does not hold the path of this index");
    }
    if (nodes_[id].kind == Kind::leaf) {
      const Hash& commitment = nodes_[id].hash;
      const PrefixIndex& key = keys_[nodes_[id].left];
      proof.terminal =
          PrefixLeaf{Bytes(key.begin(), key.end()), Bytes(commitment.begin(), commitment.end())};
      return proof;
    }
    const int bit = bit_at(index, depth);
    const uint32_t sibling = bit == 0 ? nodes_[id].right : nodes_[id].left;
    const Hash h = node_hash(sibling);
    proof.siblings.emplace_back(h.begin(), h.end());
    id = bit == 0 ? nodes_[id].left : nodes_[id].right;
    ++depth;
  }
}

Result<void> PrefixTree::merge_path(const PrefixIndex& index, const PrefixProof& proof) {
  const Hash empty = prefix_empty_hash();
  uint32_t parent = kEmpty;
  int side = 0;
  auto slot = [&]() -> uint32_t {
    if (parent == kEmpty) return root_;
    return side == 0 ? nodes_[parent].left : nodes_[parent].right;
  };
  auto set_slot = [&](uint32_t child) {
    if (parent == kEmpty) {
      root_ = child;
    } else if (side == 0) {
      nodes_[parent].left = child;
    } else {
      nodes_[parent].right = child;
    }
  };
  for (size_t depth = 0; depth < proof.siblings.size(); ++depth) {
    uint32_t cur = slot();
    if (cur == kUnknown || (cur != kEmpty && nodes_[cur].kind == Kind::opaque)) {
      Node inner;
      inner.left = kUnknown;
      inner.right = kUnknown;
      inner.dirty = true;
      cur = new_node(inner);
      set_slot(cur);
    } else if (cur == kEmpty || nodes_[cur].kind != Kind::inner) {
      return bad_proof("two prefix proofs disagree on the shape of the tree");
    }
    const int bit = bit_at(index, depth);
    SOTTO_TRY_ASSIGN(const Hash sibling, to_hash(proof.siblings[depth]));
    // The sibling is set by the first proof through this node; a later proof that disagrees
    // is caught by the final root check. An empty hash is the empty node itself.
    const uint32_t other = bit == 0 ? nodes_[cur].right : nodes_[cur].left;
    if (other == kUnknown) {
      uint32_t child = kEmpty;
      if (sibling != empty) {
        Node opaque;
        opaque.kind = Kind::opaque;
        opaque.hash = sibling;
        child = new_node(opaque);
      }
      (bit == 0 ? nodes_[cur].right : nodes_[cur].left) = child;
    }
    parent = cur;
    side = bit;
  }
  const uint32_t cur = slot();
  if (cur == kUnknown || (cur != kEmpty && nodes_[cur].kind == Kind::opaque)) {
    if (proof.terminal) {
      SOTTO_TRY_ASSIGN(const PrefixIndex key, to_prefix_index(proof.terminal->index));
      SOTTO_TRY_ASSIGN(const Hash commitment, to_hash(proof.terminal->commitment));
      set_slot(new_leaf(key, commitment));
    } else {
      set_slot(kEmpty);
    }
    return success();
  }
  if (cur == kEmpty && !proof.terminal) return success();
  if (cur != kEmpty && nodes_[cur].kind == Kind::leaf && proof.terminal) {
    const PrefixIndex& key = keys_[nodes_[cur].left];
    const Hash& commitment = nodes_[cur].hash;
    if (std::equal(key.begin(), key.end(), proof.terminal->index.begin(),
                   proof.terminal->index.end()) &&
        std::equal(commitment.begin(), commitment.end(), proof.terminal->commitment.begin(),
                   proof.terminal->commitment.end())) {
      return success();  // the same leaf, reached by another proof
    }
  }
  return bad_proof("two prefix proofs disagree on the shape of the tree");
}

Result<PrefixTree> PrefixTree::from_proofs(std::span<const PrefixIndex> indices,
                                           std::span<const PrefixProof> proofs, const Hash& root) {
  if (indices.size() != proofs.size()) {
    return Error(Errc::invalid_argument, "one prefix proof per index is needed");
  }
  PrefixTree tree;
  if (proofs.empty()) {
    if (root != prefix_empty_hash()) {
      Node opaque;
      opaque.kind = Kind::opaque;
      opaque.hash = root;
      tree.root_ = tree.new_node(opaque);
    }
    return tree;
  }
  tree.root_ = kUnknown;
  for (size_t i = 0; i < proofs.size(); ++i) {
    SOTTO_TRY_ASSIGN(const Hash r, prefix_proof_root(indices[i], proofs[i]));
    if (r != root) return bad_proof("a prefix proof does not lead to the expected root");
    SOTTO_TRY(tree.merge_path(indices[i], proofs[i]));
  }
  if (tree.root() != root) return bad_proof("merged prefix proofs do not hash to the root");
  tree.leaf_count_ = 0;  // a partial tree does not know its size
  return tree;
}

// ---- verifiers -------------------------------------------------------------------------

Result<Hash> prefix_proof_root(const PrefixIndex& index, const PrefixProof& proof) {
  const size_t depth = proof.siblings.size();
  if (depth > kMaxPrefixDepth) return bad_proof("a prefix proof deeper than 256");
  Hash h = prefix_empty_hash();
  if (proof.terminal) {
    SOTTO_TRY_ASSIGN(const PrefixIndex key, to_prefix_index(proof.terminal->index));
    SOTTO_TRY_ASSIGN(const Hash commitment, to_hash(proof.terminal->commitment));
    for (size_t d = 0; d < depth; ++d) {
      if (bit_at(key, d) != bit_at(index, d)) {
        return bad_proof("the leaf a prefix proof ends at is not on the searched path");
      }
    }
    h = prefix_leaf_hash(key, commitment);
  }
  for (size_t d = depth; d > 0; --d) {
    SOTTO_TRY_ASSIGN(const Hash sibling, to_hash(proof.siblings[d - 1]));
    h = bit_at(index, d - 1) == 0 ? prefix_inner_hash(h, sibling) : prefix_inner_hash(sibling, h);
  }
  return h;
}

Result<Hash> verify_prefix_inclusion(const Hash& root, const PrefixIndex& index,
                                     const PrefixProof& proof) {
  SOTTO_TRY_ASSIGN(const Hash r, prefix_proof_root(index, proof));
  if (r != root) return bad_proof("the prefix proof does not lead to the signed root");
  if (!proof.terminal || !std::equal(index.begin(), index.end(), proof.terminal->index.begin(),
                                     proof.terminal->index.end())) {
    return bad_proof("the prefix proof shows the index absent");
  }
  return to_hash(proof.terminal->commitment);
}

Result<void> verify_prefix_non_inclusion(const Hash& root, const PrefixIndex& index,
                                         const PrefixProof& proof) {
  SOTTO_TRY_ASSIGN(const Hash r, prefix_proof_root(index, proof));
  if (r != root) return bad_proof("the prefix proof does not lead to the signed root");
  if (proof.terminal && std::equal(index.begin(), index.end(), proof.terminal->index.begin(),
                                   proof.terminal->index.end())) {
    return bad_proof("the prefix proof shows the index present");
  }
  return success();
}

}  // namespace sotto::kt
