// The key directory's in-memory stores made safe to share between threads: Store promises
// that every method may be called from any thread, and kt's memory stores are unsynchronised.
#pragma once

#include <mutex>

#include "sotto/kt/directory_store.h"
#include "sotto/kt/log_store.h"

namespace sotto::store {

template <class Inner>
class LockedLogStore final : public kt::LogStore {
 public:
  Result<uint64_t> leaf_count() const override {
    std::lock_guard lock(mu_);
    return inner_.leaf_count();
  }
  Result<void> append(std::span<const kt::StoredNode> nodes) override {
    std::lock_guard lock(mu_);
    return inner_.append(nodes);
  }
  Result<kt::Hash> node(kt::NodeId id) const override {
    std::lock_guard lock(mu_);
    return inner_.node(id);
  }

 private:
  mutable std::mutex mu_;
  Inner inner_;
};

template <class Inner>
class LockedDirectoryStore final : public kt::DirectoryStore {
 public:
  Result<uint64_t> epoch_count() const override {
    std::lock_guard lock(mu_);
    return inner_.epoch_count();
  }
  Result<void> append_epoch(const kt::EpochRecord& epoch) override {
    std::lock_guard lock(mu_);
    return inner_.append_epoch(epoch);
  }
  Result<std::vector<kt::VersionRecord>> versions(BytesView label) const override {
    std::lock_guard lock(mu_);
    return inner_.versions(label);
  }
  Result<uint32_t> version_count(BytesView label) const override {
    std::lock_guard lock(mu_);
    return inner_.version_count(label);
  }
  Result<kt::SignedTreeHead> head(uint64_t epoch) const override {
    std::lock_guard lock(mu_);
    return inner_.head(epoch);
  }
  Result<kt::EpochAudit> audit(uint64_t epoch) const override {
    std::lock_guard lock(mu_);
    return inner_.audit(epoch);
  }
  // The visitor runs under the lock: it must not call back into this store.
  Result<void> for_each_version(
      const std::function<Result<void>(const kt::VersionRecord&)>& visit) const override {
    std::lock_guard lock(mu_);
    return inner_.for_each_version(visit);
  }

 private:
  mutable std::mutex mu_;
  Inner inner_;
};

}  // namespace sotto::store
