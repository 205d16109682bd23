#include <algorithm>
#include <cstring>
#include <string>

#include "sotto/kt/directory_store.h"

namespace sotto::kt {

bool MemoryDirectoryStore::LabelLess::operator()(BytesView a, BytesView b) const {
  const size_t n = std::min(a.size(), b.size());
  if (n != 0) {
    const int c = std::memcmp(a.data(), b.data(), n);
    if (c != 0) return c < 0;
  }
  return a.size() < b.size();
}

Result<uint64_t> MemoryDirectoryStore::epoch_count() const {
  return heads_.size();
}

Result<void> MemoryDirectoryStore::append_epoch(const EpochRecord& epoch) {
  if (epoch.head.epoch != heads_.size() + 1) {
    return Error(Errc::invalid_argument,
                 "epoch " + std::to_string(epoch.head.epoch) + " is not the next one");
  }
  // Check everything before changing anything: all or nothing.
  for (const VersionRecord& v : epoch.versions) {
    auto it = labels_.find(v.label);
    const size_t count = it == labels_.end() ? 0 : it->second.size();
    if (v.version != count) {
      return Error(Errc::invalid_argument, "a version out of sequence");
    }
  }
  for (const VersionRecord& v : epoch.versions) labels_[v.label].push_back(v);
  heads_.push_back(epoch.head);
  audits_.push_back(epoch.audit);
  return success();
}

Result<std::vector<VersionRecord>> MemoryDirectoryStore::versions(BytesView label) const {
  auto it = labels_.find(label);
  if (it == labels_.end()) return std::vector<VersionRecord>{};
  return it->second;
}

Result<uint32_t> MemoryDirectoryStore::version_count(BytesView label) const {
  auto it = labels_.find(label);
  return static_cast<uint32_t>(it == labels_.end() ? 0 : it->second.size());
}

Result<SignedTreeHead> MemoryDirectoryStore::head(uint64_t epoch) const {
  if (epoch == 0 || epoch > heads_.size()) {
    return Error(Errc::not_found, "no head for epoch " + std::to_string(epoch));
  }
  return heads_[epoch - 1];
}

Result<EpochAudit> MemoryDirectoryStore::audit(uint64_t epoch) const {
  if (epoch == 0 || epoch > audits_.size()) {
    return Error(Errc::not_found, "no audit for epoch " + std::to_string(epoch));
  }
  return audits_[epoch - 1];
}

Result<void> MemoryDirectoryStore::for_each_version(
    const std::function<Result<void>(const VersionRecord&)>& visit) const {
  for (const auto& [label, versions] : labels_) {
    for (const VersionRecord& v : versions) SOTTO_TRY(visit(v));
  }
  return success();
}

}  // namespace sotto::kt
