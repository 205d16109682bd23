#include "sotto/kt/directory.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "sotto/kt/witness.h"

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

Result<LabelVrf> prepare_label(const crypto::VrfKeyPair& vrf_key, BytesView label) {
  if (label.empty()) return Error(Errc::invalid_argument, "an empty label");
  LabelVrf out;
  out.vrf_public_key = vrf_key.public_key();
  out.label = to_bytes(label);
  SOTTO_TRY_ASSIGN(out.proof, vrf_key.prove(vrf_input(label)));
  SOTTO_TRY_ASSIGN(out.output, crypto::vrf_proof_to_hash(out.proof));
  return out;
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
  size_t without_vrf = 0;  // labels seen so far whose version 0 has not come by
  const auto rebuild = [&dir, &without_vrf](const VersionRecord& record) -> Result<void> {
    SOTTO_TRY_ASSIGN(const PrefixIndex index, to_prefix_index(record.index));
    SOTTO_TRY(dir.tree_.insert(index, commit(record.opening, record.label, record.value)));
    auto [it, added] = dir.labels_.try_emplace(record.label);
    LabelState& state = it->second;
    if (added) ++without_vrf;
    if (record.version >= state.versions) state.versions = record.version + 1;
    if (record.version != 0) return success();
    Bytes output = record.vrf_output;
    if (output.empty()) {  // a store that keeps only the proof
      SOTTO_TRY_ASSIGN(output, crypto::vrf_proof_to_hash(record.vrf_proof));
    }
    if (output.size() != crypto::kVrfOutputSize || version_index(output, 0) != index) {
      return Error(Errc::internal,
                   "a stored label whose VRF does not give its index (a directory of an older "
                   "format?)");
    }
    std::copy(output.begin(), output.end(), state.vrf_output.begin());
    --without_vrf;
    return success();
  };
  SOTTO_TRY(store.for_each_version(rebuild));
  if (without_vrf != 0) {
    return Error(Errc::internal, std::to_string(without_vrf) + " stored labels have no version 0");
  }
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

Result<void> Directory::stage(BytesView label, BytesView value, SecureBytes opening,
                              std::optional<LabelVrf> prepared) {
  if (opening.size() != kOpeningSize) {
    return Error(Errc::invalid_argument, "a commitment opening is 16 bytes");
  }
  if (label.empty()) return Error(Errc::invalid_argument, "an empty label");
  if (prepared) {
    if (prepared->vrf_public_key != vrf_key_.public_key() ||
        !std::equal(label.begin(), label.end(), prepared->label.begin(), prepared->label.end()) ||
        prepared->output.size() != crypto::kVrfOutputSize) {
      return Error(Errc::invalid_argument, "a prepared VRF of another label or key");
    }
  }
  staged_[to_bytes(label)] = Staged{to_bytes(value), std::move(opening), std::move(prepared)};
  return success();
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
    VersionRecord record;
    record.label = label;
    record.value = staged.value;
    record.opening = staged.opening;
    record.epoch = epoch;
    BytesView output;
    if (auto known = labels_.find(label); known != labels_.end()) {
      if (known->second.versions == 0xffffffffu) {
        return Error(Errc::message_limit, "too many versions");
      }
      record.version = known->second.versions;
      output = known->second.vrf_output;
    } else {
      if (!staged.prepared) {
        SOTTO_TRY_ASSIGN(staged.prepared, prepare_label(vrf_key_, label));
      }
      record.vrf_proof = staged.prepared->proof;
      record.vrf_output = staged.prepared->output;
      output = record.vrf_output;
    }
    const PrefixIndex index = version_index(output, record.version);
    if (tree_.find(index)) {
      return Error(Errc::internal, "an index collision");  // 2^-128: not in this universe
    }
    record.index.assign(index.begin(), index.end());
    const Hash commitment = commit(staged.opening, label, staged.value);
    pending.push_back(Pending{index, commitment, std::move(record)});
  }
  std::sort(pending.begin(), pending.end(),
            [](const Pending& a, const Pending& b) { return a.index < b.index; });
  for (size_t i = 1; i < pending.size(); ++i) {
    if (pending[i].index == pending[i - 1].index) {
      return Error(Errc::internal, "an index collision");
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
  cosignatures_.clear();
  for (const VersionRecord& record : out.versions) {
    LabelState& state = labels_[record.label];
    state.versions = record.version + 1;
    if (record.version == 0) {
      std::copy(record.vrf_output.begin(), record.vrf_output.end(), state.vrf_output.begin());
    }
  }
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
  SOTTO_TRY_ASSIGN(const PrefixIndex index, to_prefix_index(record.index));
  SOTTO_TRY_ASSIGN(proof.inclusion, tree_.prove(index));
  proof.opening = record.opening.reveal();
  proof.value = record.value;
  return proof;
}

template <class Proof>
Result<void> Directory::fill_common(Proof& proof, BytesView label,
                                    const std::vector<VersionRecord>& versions,
                                    uint64_t known_log_size) const {
  SOTTO_TRY_ASSIGN(proof.head, head());
  proof.cosignatures = cosignatures_;
  SOTTO_TRY_ASSIGN(proof.log_consistency, client_consistency(known_log_size));
  SOTTO_TRY_ASSIGN(proof.log_inclusion, log_.inclusion_proof(log_.size() - 1, log_.size()));
  PrefixIndex next{};
  if (versions.empty()) {
    // A label nobody has: its VRF is computed for the answer only (and not kept, so that
    // lookups of made-up names cannot fill the server's memory).
    SOTTO_TRY_ASSIGN(const LabelVrf vrf, prepare_label(vrf_key_, label));
    proof.vrf_proof = vrf.proof;
    next = version_index(vrf.output, 0);
  } else {
    auto known = labels_.find(label);
    if (known == labels_.end() || versions.front().version != 0) {
      return Error(Errc::internal, "the directory store and the directory disagree on a label");
    }
    proof.vrf_proof = versions.front().vrf_proof;
    next = version_index(known->second.vrf_output, static_cast<uint32_t>(versions.size()));
  }
  SOTTO_TRY_ASSIGN(proof.next_absence, tree_.prove(next));
  return success();
}

Result<LookupProof> Directory::lookup(BytesView label, uint64_t known_log_size) const {
  SOTTO_TRY_ASSIGN(const std::vector<VersionRecord> versions, store_->versions(label));
  LookupProof proof;
  if (!versions.empty()) {
    SOTTO_TRY_ASSIGN(proof.latest, version_proof(versions.back()));
  }
  SOTTO_TRY(fill_common(proof, label, versions, known_log_size));
  return proof;
}

Result<HistoryProof> Directory::history(BytesView label, uint64_t known_log_size) const {
  SOTTO_TRY_ASSIGN(const std::vector<VersionRecord> versions, store_->versions(label));
  HistoryProof proof;
  for (const VersionRecord& record : versions) {
    SOTTO_TRY_ASSIGN(VersionProof v, version_proof(record));
    proof.versions.push_back(std::move(v));
  }
  SOTTO_TRY(fill_common(proof, label, versions, known_log_size));
  return proof;
}

Result<void> Directory::add_cosignature(const Cosignature& cosignature) {
  SOTTO_TRY_ASSIGN(const SignedTreeHead newest, head());
  if (!crypto::ed25519_verify(cosignature.witness_public_key, cosignature_tbs(newest),
                              cosignature.signature)) {
    return Error(Errc::bad_signature, "a cosignature that does not verify on the head of epoch " +
                                          std::to_string(newest.epoch));
  }
  for (Cosignature& held : cosignatures_) {
    if (held.witness_public_key == cosignature.witness_public_key) {
      held = cosignature;
      return success();
    }
  }
  cosignatures_.push_back(cosignature);
  return success();
}

Result<EpochAudit> Directory::audit(uint64_t epoch) const {
  return store_->audit(epoch);
}

}  // namespace sotto::kt
