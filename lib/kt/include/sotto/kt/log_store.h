// Where a log tree keeps its hashes. The log is append-only, so a complete subtree never
// changes once its last leaf is in: the store holds the leaf hashes and the hash of every
// complete subtree, and nothing is ever rewritten. A durable store (SQLite, PostgreSQL) sits
// behind the same interface; MemoryLogStore is the one for tests and for short-lived logs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sotto/core/result.h"

namespace sotto::kt {

inline constexpr size_t kHashSize = 32;  // SHA-256
using Hash = std::array<uint8_t, kHashSize>;

// The complete subtree of 2^level leaves that starts at leaf index * 2^level; level 0 holds
// the leaf hashes.
struct NodeId {
  uint32_t level = 0;
  uint64_t index = 0;
};

struct StoredNode {
  NodeId id;
  Hash hash{};
};

class LogStore {
 public:
  virtual ~LogStore() = default;

  // The number of leaves stored.
  virtual Result<uint64_t> leaf_count() const = 0;
  // Stores the leaf with index leaf_count() and the complete subtrees it completes, in one
  // step: all of them or, with an error, none. Each node must be the next one of its level.
  virtual Result<void> append(std::span<const StoredNode> nodes) = 0;
  // A stored hash; Errc::not_found for a node not (yet) complete.
  virtual Result<Hash> node(NodeId id) const = 0;
};

// Hashes in memory, one array per level: about two hashes (64 bytes) per leaf.
class MemoryLogStore final : public LogStore {
 public:
  Result<uint64_t> leaf_count() const override;
  Result<void> append(std::span<const StoredNode> nodes) override;
  Result<Hash> node(NodeId id) const override;

 private:
  std::vector<std::vector<Hash>> levels_;
};

}  // namespace sotto::kt
