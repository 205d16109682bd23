// An append-only Merkle log with RFC 9162 hashing (section 2.1): the transparency log that
// binds accounts to device keys. Sans-IO: hashes live in a LogStore the caller provides.
//
//   leaf hash   SHA-256(0x00 || leaf data)
//   node hash   SHA-256(0x01 || left || right)
//   empty tree  SHA-256("")
//
// LogTree appends, and gives the root of any earlier size, inclusion proofs (section 2.1.3.1)
// and consistency proofs (section 2.1.4.1). verify_inclusion and verify_consistency check
// proofs from anyone, following sections 2.1.3.2 and 2.1.4.2 step by step.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/kt/log_store.h"

namespace sotto::kt {

// ---- hashing ---------------------------------------------------------------------------

Hash leaf_hash(BytesView leaf_data);
Hash hash_children(BytesView left, BytesView right);
Hash empty_root();

// ---- the tree --------------------------------------------------------------------------

// A proof as it travels: its node hashes, in the order the RFC lists them (from the leaf or
// the smaller tree upwards). On the wire a node hash is an opaque<32..255>, so a verifier
// must check the length of each.
using Proof = std::vector<Bytes>;

class LogTree {
 public:
  // The log that `store` holds (empty for a new store). The tree keeps a pointer to the
  // store, which must outlive it; nothing else may append to the store meanwhile.
  static Result<LogTree> open(LogStore& store);

  uint64_t size() const { return size_; }

  // Appends a leaf; returns its index. O(1) hashes amortised, O(log n) at worst; the tree
  // and the store are unchanged when the store fails.
  Result<uint64_t> append(BytesView leaf_data);
  Result<uint64_t> append_leaf_hash(const Hash& leaf_hash);

  // The root now (from the right frontier the tree keeps: no store reads).
  Hash root() const;
  // The root when the log had `tree_size` leaves; Errc::invalid_argument beyond size().
  Result<Hash> root(uint64_t tree_size) const;

  // PATH(leaf_index, D[0:tree_size]); needs leaf_index < tree_size <= size().
  Result<Proof> inclusion_proof(uint64_t leaf_index, uint64_t tree_size) const;
  // PROOF(size1, D[0:size2]); needs 0 < size1 <= size2 <= size(). Empty when size1 == size2.
  Result<Proof> consistency_proof(uint64_t size1, uint64_t size2) const;

 private:
  explicit LogTree(LogStore& store) : store_(&store) {}
  // MTH(D[begin:end]) for a range the RFC's recursion produces (begin is a multiple of the
  // largest power of two not above end - begin): its complete subtrees, folded from the right.
  Result<Hash> range_hash(uint64_t begin, uint64_t end) const;

  LogStore* store_;
  uint64_t size_ = 0;
  // The complete subtrees that make up the current tree, leftmost (largest) first: one per
  // set bit of size_.
  std::vector<Hash> frontier_;
};

// ---- verifiers -------------------------------------------------------------------------
//
// Errc::invalid_value for a proof that cannot be right whatever the hashes (a hash that is
// not 32 bytes, leaf_index >= tree_size, size1 > size2, size1 = 0, a proof of the wrong
// length); Errc::authentication_failed when the hashes do not lead to the root(s).

// RFC 9162 section 2.1.3.2.
Result<void> verify_inclusion(BytesView leaf_hash, uint64_t leaf_index, uint64_t tree_size,
                              std::span<const Bytes> proof, BytesView root);

// RFC 9162 section 2.1.4.2, for 0 < size1 < size2. Outside the RFC's range: equal sizes are
// consistent when the proof is empty and the roots are equal; size1 = 0 is rejected (nothing
// is proved about the empty tree, and a lax check would accept any two equal "roots").
Result<void> verify_consistency(uint64_t size1, uint64_t size2, std::span<const Bytes> proof,
                                BytesView root1, BytesView root2);

}  // namespace sotto::kt
