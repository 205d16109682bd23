// The key directory: label (account) -> value (its serialised device signature keys), after
// the IETF keytrans architecture, simplified where that costs no security.
//
// * Each label has one VRF output beta = VRF(vrf_input(label)) (ECVRF, RFC 9381, under the
//   directory's VRF key), and each version v = 0, 1, 2, ... of it is its own prefix-tree leaf,
//   at the index version_index(beta, v) = SHA-256(label || beta || v)[0..32]. Only the server
//   (and whoever it shows beta to) can compute indices, so the tree says nothing about who is
//   in it; anyone can check beta with the VRF proof.
// * Why one VRF per label, not one per version: a lookup then needs one VRF proof, a client
//   can cache beta per label (repeat lookups cost only hashes), and an update of an existing
//   label needs no VRF at all. Privacy: beta is pseudorandom and never appears in the tree or
//   in audits, so to everyone without it the indices of a label's versions are independent
//   random strings (SHA-256 outputs of unknown inputs): an auditor cannot link versions to
//   each other, nor to a label. Beta is revealed only with a lookup of that label, that is to
//   those who know the label and ask for it. Such a party can compute the indices of every
//   version and so learn from the public audits in which epochs the label changed. It could
//   learn the same with one VRF per version by asking again after each change (each lookup
//   shows the index of the next version), and a lookup shows the version number, the count of
//   changes, anyway; what it adds is the epochs of past changes of a label it already knows,
//   never a value (values stay behind commitments) and nothing about any other label.
// * A leaf holds only a commitment to the value (see commit()), never the value itself, so a
//   proof about one label reveals nothing about its neighbours' values or how often they
//   changed. The opening is revealed only with a lookup of that label.
// * Updates are staged and published in epochs. Publishing epoch e inserts the new versions,
//   appends log_entry(e, prefix root) to the RFC 9162 log as leaf e - 1 (so the log has e
//   leaves), and signs a SignedTreeHead over a domain-separated TLS-encoded TBS.
// * Versions are append-only: an epoch never rewrites an existing leaf, which the epoch audit
//   checks.
//
// Lookup of a label with newest version n: the VRF proof of the label, inclusion of n with
// its opening and value, non-inclusion of n + 1, log inclusion of the epoch's entry, and the
// head (plus log consistency from a log size the client knows, and witness cosignatures).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/primitives.h"
#include "sotto/crypto/vrf.h"
#include "sotto/kt/directory_proofs.h"
#include "sotto/kt/directory_store.h"
#include "sotto/kt/log_store.h"
#include "sotto/kt/log_tree.h"
#include "sotto/kt/prefix_tree.h"

namespace sotto::kt {

struct PublishedEpoch {
  SignedTreeHead head;
  EpochAudit audit;
};

// The VRF of a label under one VRF key, computed ahead of Directory::stage.
struct LabelVrf {
  Bytes vrf_public_key;
  Bytes label;
  Bytes proof;   // pi of vrf_input(label)
  Bytes output;  // beta, 64 bytes
};

// The expensive step of adding a new label (an ECVRF proof, about 0.25 ms). Depends only on
// the key and the label and touches no shared state, so a caller with a batch of new labels
// may run it on several threads (for the same VrfKeyPair, used read-only) and hand the results
// to Directory::stage. Labels the directory already has need none.
Result<LabelVrf> prepare_label(const crypto::VrfKeyPair& vrf_key, BytesView label);

// The server side. What it publishes lives in two stores the caller provides (which must
// outlive it): the log's hashes in a LogStore, the versions, heads and audits in a
// DirectoryStore. The prefix tree and the staged updates are held in memory.
class Directory {
 public:
  // Opens the directory the stores hold (empty stores: a new directory), rebuilding the
  // prefix tree. Errc::internal when the stores disagree with each other (a log of another
  // size than the epochs, a rebuilt root that is not the newest head's).
  static Result<Directory> open(crypto::Ed25519SigningKey signing_key, crypto::VrfKeyPair vrf_key,
                                LogStore& log_store, DirectoryStore& store);

  const Bytes& signing_public_key() const { return signing_key_.public_key(); }
  const Bytes& vrf_public_key() const { return vrf_key_.public_key(); }
  // For prepare_label() on other threads, while nothing else uses the directory or after.
  const crypto::VrfKeyPair& vrf_key() const { return vrf_key_; }
  uint64_t epoch() const { return log_.size(); }
  // The newest head; Errc::not_found before the first publish.
  Result<SignedTreeHead> head() const;

  // Whether `label` has a published version (then stage() needs no VRF for it).
  bool has_label(BytesView label) const { return labels_.find(label) != labels_.end(); }
  // The number of labels with a published version.
  size_t label_count() const { return labels_.size(); }

  // Stages `value` as the next version of `label`, published by the next publish(). A second
  // stage of the same label in one epoch replaces the first. `opening` is kOpeningSize
  // random bytes (the caller's RNG: this library draws no randomness). `prepared`, the
  // label's VRF from prepare_label(), spares publish() computing it for a new label;
  // Errc::invalid_argument when it is for another label or key.
  Result<void> stage(BytesView label, BytesView value, SecureBytes opening,
                     std::optional<LabelVrf> prepared = std::nullopt);

  // Publishes the staged updates as the next epoch, at `timestamp`. Writes the log store,
  // then the directory store; when a store fails the directory must be reopened.
  Result<PublishedEpoch> publish(uint64_t timestamp);

  // Proofs against the newest epoch. `known_log_size` is the log size of the newest head the
  // client holds (0 for none): the proof then carries the consistency proof from it.
  Result<LookupProof> lookup(BytesView label, uint64_t known_log_size) const;
  Result<HistoryProof> history(BytesView label, uint64_t known_log_size) const;
  // The audit of epoch `epoch` (1-based).
  Result<EpochAudit> audit(uint64_t epoch) const;

  // Adds a witness's cosignature on the newest head, served with lookups and histories until
  // the next publish. Errc::bad_signature when it does not verify on that head,
  // Errc::not_found before the first publish. A second one by the same witness replaces the
  // first. Held in memory only: after a restart, witnesses are asked again.
  Result<void> add_cosignature(const Cosignature& cosignature);
  const std::vector<Cosignature>& cosignatures() const { return cosignatures_; }
  // Log consistency between two published log sizes, for clients comparing heads.
  Result<std::vector<Bytes>> consistency(uint64_t old_size, uint64_t new_size) const;

 private:
  struct Staged {
    Bytes value;
    SecureBytes opening;
    std::optional<LabelVrf> prepared;
  };
  struct LabelLess {
    using is_transparent = void;
    bool operator()(BytesView a, BytesView b) const;
  };
  // What publishing needs of a published label: its version count and VRF output.
  struct LabelState {
    uint32_t versions = 0;
    std::array<uint8_t, crypto::kVrfOutputSize> vrf_output{};
  };

  Directory(crypto::Ed25519SigningKey signing_key, crypto::VrfKeyPair vrf_key, LogTree log,
            DirectoryStore& store)
      : signing_key_(std::move(signing_key)),
        vrf_key_(std::move(vrf_key)),
        log_(std::move(log)),
        store_(&store) {}

  Result<VersionProof> version_proof(const VersionRecord& record) const;
  Result<std::vector<Bytes>> client_consistency(uint64_t known_log_size) const;
  // The head, cosignatures, log proofs, VRF proof and next-version absence shared by lookup
  // and history, for a label whose versions are `versions`.
  template <class Proof>
  Result<void> fill_common(Proof& proof, BytesView label,
                           const std::vector<VersionRecord>& versions,
                           uint64_t known_log_size) const;

  crypto::Ed25519SigningKey signing_key_;
  crypto::VrfKeyPair vrf_key_;
  LogTree log_;
  DirectoryStore* store_;
  PrefixTree tree_;
  std::map<Bytes, LabelState, LabelLess> labels_;
  std::map<Bytes, Staged, LabelLess> staged_;
  std::vector<Cosignature> cosignatures_;  // on the newest head
};

}  // namespace sotto::kt
