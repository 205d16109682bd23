// Where a key directory keeps what it has published: each label's versions (value, opening,
// index; the label's VRF with its version 0) and each epoch's signed head and audit. The directory
// writes one whole epoch at a time; a durable store (SQLite, PostgreSQL) sits behind the same
// interface, and MemoryDirectoryStore is the one for tests and short-lived directories. The prefix
// tree is derived data: Directory::open rebuilds it from the versions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/kt/directory_proofs.h"

namespace sotto::kt {

// One published version of a label. The opening is secret until a lookup reveals it.
//
// The label's VRF is computed once, when its version 0 is published, and kept in that record
// only: later versions derive their index from it (version_index()) without a VRF.
struct VersionRecord {
  Bytes label;
  uint32_t version = 0;
  Bytes value;
  SecureBytes opening;
  Bytes vrf_proof;     // version 0: pi of vrf_input(label); later versions: empty
  Bytes vrf_output;    // version 0: beta of vrf_proof (64 bytes), or empty where a store does not
                       // keep it (Directory::open then derives it from vrf_proof); later: empty
  Bytes index;         // the prefix-tree index, version_index(beta, version)
  uint64_t epoch = 0;  // the epoch that published it
};

// What one publish adds.
struct EpochRecord {
  SignedTreeHead head;
  EpochAudit audit;
  std::vector<VersionRecord> versions;
};

class DirectoryStore {
 public:
  virtual ~DirectoryStore() = default;

  // The number of epochs stored (the newest epoch number).
  virtual Result<uint64_t> epoch_count() const = 0;
  // Stores epoch epoch_count() + 1: all of it or, with an error, none.
  virtual Result<void> append_epoch(const EpochRecord& epoch) = 0;
  // The versions of `label`, oldest first (empty for an unknown label).
  virtual Result<std::vector<VersionRecord>> versions(BytesView label) const = 0;
  virtual Result<uint32_t> version_count(BytesView label) const = 0;
  // Errc::not_found for an epoch not stored.
  virtual Result<SignedTreeHead> head(uint64_t epoch) const = 0;
  virtual Result<EpochAudit> audit(uint64_t epoch) const = 0;
  // Every version of every label, in no particular order, to rebuild the prefix tree.
  virtual Result<void> for_each_version(
      const std::function<Result<void>(const VersionRecord&)>& visit) const = 0;
};

class MemoryDirectoryStore final : public DirectoryStore {
 public:
  Result<uint64_t> epoch_count() const override;
  Result<void> append_epoch(const EpochRecord& epoch) override;
  Result<std::vector<VersionRecord>> versions(BytesView label) const override;
  Result<uint32_t> version_count(BytesView label) const override;
  Result<SignedTreeHead> head(uint64_t epoch) const override;
  Result<EpochAudit> audit(uint64_t epoch) const override;
  Result<void> for_each_version(
      const std::function<Result<void>(const VersionRecord&)>& visit) const override;

 private:
  // Orders labels bytewise; transparent, so that a BytesView finds without a copy.
  struct LabelLess {
    using is_transparent = void;
    bool operator()(BytesView a, BytesView b) const;
  };
  std::map<Bytes, std::vector<VersionRecord>, LabelLess> labels_;
  std::vector<SignedTreeHead> heads_;  // heads_[e - 1] is epoch e
  std::vector<EpochAudit> audits_;
};

}  // namespace sotto::kt
