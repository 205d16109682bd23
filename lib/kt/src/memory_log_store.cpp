#include <string>

#include "sotto/kt/log_store.h"

namespace sotto::kt {

Result<uint64_t> MemoryLogStore::leaf_count() const {
  return levels_.empty() ? uint64_t{0} : static_cast<uint64_t>(levels_[0].size());
}

Result<void> MemoryLogStore::append(std::span<const StoredNode> nodes) {
  // Check every node before writing any, so that a bad batch changes nothing. Within a batch
  // each level appears once (a leaf completes at most one subtree per level).
  for (const StoredNode& n : nodes) {
    const uint64_t next = n.id.level < levels_.size() ? levels_[n.id.level].size() : 0;
    if (n.id.index != next) {
      return Error(Errc::invalid_argument, "log store: node " + std::to_string(n.id.level) + "/" +
                                               std::to_string(n.id.index) +
                                               " is not the next of its level (" +
                                               std::to_string(next) + ")");
    }
  }
  for (const StoredNode& n : nodes) {
    if (n.id.level >= levels_.size()) levels_.resize(n.id.level + 1);
    levels_[n.id.level].push_back(n.hash);
  }
  return success();
}

Result<Hash> MemoryLogStore::node(NodeId id) const {
  if (id.level >= levels_.size() || id.index >= levels_[id.level].size()) {
    return Error(Errc::not_found,
                 "log store: no node " + std::to_string(id.level) + "/" + std::to_string(id.index));
  }
  return levels_[id.level][id.index];
}

}  // namespace sotto::kt
