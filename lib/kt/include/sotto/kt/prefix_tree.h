// The prefix tree of the key directory: a binary Merkle tree over 256-bit indices (the first
// 32 bytes of a VRF output), Patricia-compressed the way the IETF keytrans architecture's
// prefix tree is: a subtree that holds one leaf is that leaf, a subtree that holds none is the
// empty node, and only subtrees of two or more leaves are inner nodes. The tree is therefore a
// function of its set of leaves, and a root fixes the whole structure.
//
//   leaf hash   SHA-256(0x10 || index[32] || commitment[32])
//   inner hash  SHA-256(0x11 || left || right)
//   empty hash  SHA-256(0x12)
//
// (Prefixes distinct from the log's 0x00/0x01, so no hash of one tree is a node of the other.)
// The child of an inner node at depth d is chosen by bit d of the index, most significant bit
// of byte 0 first.
//
// A search proof for an index lists the sibling hashes on the way down from the root and the
// node where the search stops: a leaf (the index itself: inclusion; another index sharing the
// path: non-inclusion) or an empty node (non-inclusion). Because a root fixes the structure,
// no index has both an inclusion and a non-inclusion proof under the same root.
//
// Hashes are cached per node and recomputed lazily for the nodes an insert touched, so an
// insert costs O(depth) and a batch of k inserts followed by root() costs O(k log n) hashes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"
#include "sotto/kt/log_store.h"

namespace sotto::kt {

inline constexpr size_t kIndexSize = 32;
inline constexpr size_t kMaxPrefixDepth = 256;
using PrefixIndex = std::array<uint8_t, kIndexSize>;

// A leaf as proofs carry it: the index and the commitment it holds, 32 bytes each.
struct PrefixLeaf {
  Bytes index;
  Bytes commitment;
  SOTTO_TLS_FIELDS(index, commitment)
};

// The search path of one index: sibling hashes from the root down (siblings[d] is the sibling
// at depth d + 1), and the leaf where the search stopped, or nothing for an empty node.
struct PrefixProof {
  std::vector<Bytes> siblings;
  std::optional<PrefixLeaf> terminal;
  SOTTO_TLS_FIELDS(siblings, terminal)
};

Hash prefix_leaf_hash(const PrefixIndex& index, const Hash& commitment);
Hash prefix_inner_hash(const Hash& left, const Hash& right);
Hash prefix_empty_hash();

Result<PrefixIndex> to_prefix_index(BytesView bytes);
Result<Hash> to_hash(BytesView bytes);

class PrefixTree {
 public:
  // Inserts a leaf, or replaces the commitment of the leaf with that index. Returns true when
  // it replaced one. Errc::bad_proof in a partial tree when the path leads into a subtree the
  // tree only knows by its hash.
  Result<bool> insert(const PrefixIndex& index, const Hash& commitment);

  // The commitment at `index`, if any.
  std::optional<Hash> find(const PrefixIndex& index) const;
  Hash root() const;
  size_t size() const { return leaf_count_; }

  // The search proof of `index` (inclusion when find(index) has a value, else non-inclusion).
  Result<PrefixProof> prove(const PrefixIndex& index) const;

  // A partial tree holding exactly what `proofs` (proofs[i] the search proof of indices[i])
  // reveal: the nodes on each search path, the siblings as bare hashes. Inserting any of the
  // indices works on it as on the full tree, so an auditor can recompute the root that the
  // full tree would reach. Errc::bad_proof when a proof is malformed, the proofs contradict
  // each other, or their merge does not hash to `root`.
  static Result<PrefixTree> from_proofs(std::span<const PrefixIndex> indices,
                                        std::span<const PrefixProof> proofs, const Hash& root);

 private:
  enum class Kind : uint8_t { inner, leaf, opaque };
  static constexpr uint32_t kEmpty = 0xffffffffu;
  static constexpr uint32_t kUnknown = 0xfffffffeu;  // while from_proofs builds a tree only
  struct Node {
    Hash hash{};              // inner: cached hash; leaf: the commitment; opaque: the known hash
    uint32_t left = kEmpty;   // inner: left child; leaf: its slot in keys_
    uint32_t right = kEmpty;  // inner: right child
    Kind kind = Kind::inner;
    bool dirty = false;  // inner: hash needs recomputing
  };

  uint32_t new_leaf(const PrefixIndex& index, const Hash& commitment);
  uint32_t new_node(Node node);
  Hash node_hash(uint32_t id) const;
  Result<void> merge_path(const PrefixIndex& index, const PrefixProof& proof);

  mutable std::vector<Node> nodes_;
  std::vector<PrefixIndex> keys_;
  uint32_t root_ = kEmpty;
  size_t leaf_count_ = 0;
};

// The root that `proof` leads to from the search for `index`. Errc::bad_proof when the proof
// is malformed (a hash not 32 bytes, more than 256 siblings, a terminal leaf off the path).
Result<Hash> prefix_proof_root(const PrefixIndex& index, const PrefixProof& proof);

// The commitment of `index` when `proof` shows it under `root`; Errc::bad_proof otherwise.
Result<Hash> verify_prefix_inclusion(const Hash& root, const PrefixIndex& index,
                                     const PrefixProof& proof);
// Success when `proof` shows `index` absent under `root`; Errc::bad_proof otherwise.
Result<void> verify_prefix_non_inclusion(const Hash& root, const PrefixIndex& index,
                                         const PrefixProof& proof);

}  // namespace sotto::kt
