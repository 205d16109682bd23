#include "sotto/kt/directory.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace sotto::kt {

namespace {

Bytes hash_bytes(const Hash& h) {
  return Bytes(h.begin(), h.end());
}

}  // namespace

bool Directory::LabelLess::operator()(BytesView a, BytesView b) const {
  const size_t n = std::min(a.size(), b.size());
  if (n != 0) {
    const int c = std::memcmp(a.data(), b.data(), n);
    if (c != 0) return c < 0;
  }
  return a.size() < b.size();
}

Result<Directory> Directory::open(crypto::Ed25519SigningKey signing_key, crypto::VrfKeyPair vrf_key,
                                  LogStore& log_store, DirectoryStore& store) {
  SOTTO_TRY_ASSIGN(LogTree log, LogTree::open(log_store));
  SOTTO_TRY_ASSIGN(const uint64_t epochs, store.epoch_count());
  if (log.size() != epochs) {
    return Error(Errc::internal, "the log holds " + std::to_string(log.size()) +
                                     " epochs and the directory store " + std::to_string(epochs));
  }
  Directory dir(std::move(signing_key), std::move(vrf_key), std::move(log), store);
  const auto rebuild = [&dir](const VersionRecord& record) -> Result<void> {
    SOTTO_TRY_ASSIGN(const PrefixIndex index, to_prefix_index(record.index));
    SOTTO_TRY(dir.tree_.insert(index, commit(record.opening, record.label, record.value)));
    return success();
  };
  SOTTO_TRY(store.for_each_version(rebuild));
  if (epochs != 0) {
    SOTTO_TRY_ASSIGN(const SignedTreeHead head, store.head(epochs));
    if (head.prefix_root != hash_bytes(dir.tree_.root()) ||
        head.log_root != hash_bytes(dir.log_.root())) {
      return Error(Errc::internal, "the stored versions do not rebuild the newest head");
    }
  }
  return dir;
}

Result<SignedTreeHead> Directory::head() const {
  if (log_.size() == 0) return Error(Errc::not_found, "no epoch has been published yet");
  return store_->head(log_.size());
}

Result<void> Directory::stage(BytesView label, BytesView value, SecureBytes opening) {
  if (opening.size() != kOpeningSize) {
    return Error(Errc::invalid_argument, "a commitment opening is 16 bytes");
  }
  if (label.empty()) return Error(Errc::invalid_argument, "an empty label");
  staged_[to_bytes(label)] = Staged{to_bytes(value), std::move(opening)};
  return success();
}

Result<std::pair<Bytes, PrefixIndex>> Directory::vrf_index(BytesView label,
                                                           uint32_t version) const {
  SOTTO_TRY_ASSIGN(Bytes pi, vrf_key_.prove(vrf_input(label, version)));
  SOTTO_TRY_ASSIGN(const Bytes beta, crypto::vrf_proof_to_hash(pi));
  return std::make_pair(std::move(pi), index_from_vrf_output(beta));
}

Result<PublishedEpoch> Directory::publish(uint64_t timestamp) {
  const uint64_t epoch = log_.size() + 1;
  // The new leaves, sorted by index as the audit lists them.
  struct Pending {
    PrefixIndex index;
    Hash commitment;
    VersionRecord record;
  };
  std::vector<Pending> pending;
  pending.reserve(staged_.size());
  for (auto& [label, staged] : staged_) {
    SOTTO_TRY_ASSIGN(const uint32_t version, store_->version_count(label));
    if (version == 0xffffffffu) return Error(Errc::message_limit, "too many versions");
    SOTTO_TRY_ASSIGN(auto vrf, vrf_index(label, version));
    if (tree_.find(vrf.second)) {
      return Error(Errc::internal, "a VRF index collision");  // 2^-128: not in this universe
    }
    VersionRecord record{label,
                         version,
                         staged.value,
                         staged.opening,
                         std::move(vrf.first),
                         Bytes(vrf.second.begin(), vrf.second.end()),
                         epoch};
    pending.push_back(
        Pending{vrf.second, commit(staged.opening, label, staged.value), std::move(record)});
  }
  std::sort(pending.begin(), pending.end(),
            [](const Pending& a, const Pending& b) { return a.index < b.index; });
  for (size_t i = 1; i < pending.size(); ++i) {
    if (pending[i].index == pending[i - 1].index) {
      return Error(Errc::internal, "a VRF index collision");
    }
  }

  EpochRecord out;
  EpochAudit& audit = out.audit;
  if (epoch > 1) {
    SOTTO_TRY_ASSIGN(audit.old_head, head());
  }
  audit.changes.reserve(pending.size());
  audit.old_paths.reserve(pending.size());
  for (const Pending& p : pending) {
    SOTTO_TRY_ASSIGN(PrefixProof path, tree_.prove(p.index));
    audit.old_paths.push_back(std::move(path));
    audit.changes.push_back(PrefixLeaf{p.record.index, hash_bytes(p.commitment)});
  }
  // Inserting into the full tree cannot fail (it has no opaque subtrees); the stores can,
  // and then the in-memory tree is ahead of them: the directory must be reopened.
  for (const Pending& p : pending) SOTTO_TRY(tree_.insert(p.index, p.commitment));
  const Hash prefix_root = tree_.root();
  const auto appended = log_.append(log_entry(epoch, prefix_root));
  if (!appended.ok()) {
    return Error(Errc::internal, "the log store failed: " + appended.error().message());
  }
  SignedTreeHead& head = out.head;
  head.epoch = epoch;
  head.log_size = log_.size();
  head.log_root = hash_bytes(log_.root());
  head.prefix_root = hash_bytes(prefix_root);
  head.timestamp = timestamp;
  head.signature = signing_key_.sign(tree_head_tbs(head));

  if (audit.old_head) {
    SOTTO_TRY_ASSIGN(audit.log_consistency,
                     log_.consistency_proof(audit.old_head->log_size, head.log_size));
  }
  SOTTO_TRY_ASSIGN(audit.log_inclusion, log_.inclusion_proof(epoch - 1, head.log_size));
  audit.new_head = head;
  out.versions.reserve(pending.size());
  for (Pending& p : pending) out.versions.push_back(std::move(p.record));
  const auto stored = store_->append_epoch(out);
  if (!stored.ok()) {
    return Error(Errc::internal, "the directory store failed: " + stored.error().message());
  }
  staged_.clear();
  return PublishedEpoch{std::move(out.head), std::move(out.audit)};
}

Result<std::vector<Bytes>> Directory::client_consistency(uint64_t known_log_size) const {
  if (known_log_size == 0 || known_log_size == log_.size()) return std::vector<Bytes>{};
  if (known_log_size > log_.size()) {
    return Error(Errc::invalid_argument, "the client knows a log larger than the directory's");
  }
  return log_.consistency_proof(known_log_size, log_.size());
}

Result<std::vector<Bytes>> Directory::consistency(uint64_t old_size, uint64_t new_size) const {
  return log_.consistency_proof(old_size, new_size);
}

Result<VersionProof> Directory::version_proof(const VersionRecord& record) const {
  VersionProof proof;
  proof.version = record.version;
  proof.vrf_proof = record.vrf_proof;
  SOTTO_TRY_ASSIGN(const PrefixIndex index, to_prefix_index(record.index));
  SOTTO_TRY_ASSIGN(proof.inclusion, tree_.prove(index));
  proof.opening = record.opening.reveal();
  proof.value = record.value;
  return proof;
}

template <class Proof>
Result<void> Directory::fill_common(Proof& proof, BytesView label, uint32_t next,
                                    uint64_t known_log_size) const {
  SOTTO_TRY_ASSIGN(proof.head, head());
  SOTTO_TRY_ASSIGN(proof.log_consistency, client_consistency(known_log_size));
  SOTTO_TRY_ASSIGN(proof.log_inclusion, log_.inclusion_proof(log_.size() - 1, log_.size()));
  SOTTO_TRY_ASSIGN(auto vrf, vrf_index(label, next));
  proof.next_vrf_proof = std::move(vrf.first);
  SOTTO_TRY_ASSIGN(proof.next_absence, tree_.prove(vrf.second));
  return success();
}

Result<LookupProof> Directory::lookup(BytesView label, uint64_t known_log_size) const {
  SOTTO_TRY_ASSIGN(const std::vector<VersionRecord> versions, store_->versions(label));
  LookupProof proof;
  if (!versions.empty()) {
    SOTTO_TRY_ASSIGN(proof.latest, version_proof(versions.back()));
  }
  SOTTO_TRY(fill_common(proof, label, static_cast<uint32_t>(versions.size()), known_log_size));
  return proof;
}

Result<HistoryProof> Directory::history(BytesView label, uint64_t known_log_size) const {
  SOTTO_TRY_ASSIGN(const std::vector<VersionRecord> versions, store_->versions(label));
  HistoryProof proof;
  for (const VersionRecord& record : versions) {
    SOTTO_TRY_ASSIGN(VersionProof v, version_proof(record));
    proof.versions.push_back(std::move(v));
  }
  SOTTO_TRY(fill_common(proof, label, static_cast<uint32_t>(versions.size()), known_log_size));
  return proof;
}

Result<EpochAudit> Directory::audit(uint64_t epoch) const {
  return store_->audit(epoch);
}

}  // namespace sotto::kt
