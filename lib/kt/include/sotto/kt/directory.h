// The key directory: label (account) -> value (its serialised device signature keys), after
// the IETF keytrans architecture, simplified where that costs no security.
//
// * Each version v = 0, 1, 2, ... of a label is its own prefix-tree leaf, at the index
//   VRF(label, v)[0..32] (ECVRF, RFC 9381, under the directory's VRF key; the VRF input is
//   vrf_input(label, v)). Only the server can compute indices, so the tree says nothing about
//   who is in it; anyone can check an index with the VRF proof.
// * A leaf holds only a commitment to the value (see commit()), never the value itself, so a
//   proof about one label reveals nothing about its neighbours' values or how often they
//   changed. The opening is revealed only with a lookup of that label.
// * Updates are staged and published in epochs. Publishing epoch e inserts the new versions,
//   appends log_entry(e, prefix root) to the RFC 9162 log as leaf e - 1 (so the log has e
//   leaves), and signs a SignedTreeHead over a domain-separated TLS-encoded TBS.
// * Versions are append-only: an epoch never rewrites an existing leaf, which the epoch audit
//   checks.
//
// Lookup of a label with newest version n: VRF proofs of (label, n) and (label, n + 1),
// inclusion of n with its opening and value, non-inclusion of n + 1, log inclusion of the
// epoch's entry, and the head (plus log consistency from a log size the client knows).
#pragma once

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
  uint64_t epoch() const { return log_.size(); }
  // The newest head; Errc::not_found before the first publish.
  Result<SignedTreeHead> head() const;

  // Stages `value` as the next version of `label`, published by the next publish(). A second
  // stage of the same label in one epoch replaces the first. `opening` is kOpeningSize
  // random bytes (the caller's RNG: this library draws no randomness).
  Result<void> stage(BytesView label, BytesView value, SecureBytes opening);

  // Publishes the staged updates as the next epoch, at `timestamp`. Writes the log store,
  // then the directory store; when a store fails the directory must be reopened.
  Result<PublishedEpoch> publish(uint64_t timestamp);

  // Proofs against the newest epoch. `known_log_size` is the log size of the newest head the
  // client holds (0 for none): the proof then carries the consistency proof from it.
  Result<LookupProof> lookup(BytesView label, uint64_t known_log_size) const;
  Result<HistoryProof> history(BytesView label, uint64_t known_log_size) const;
  // The audit of epoch `epoch` (1-based).
  Result<EpochAudit> audit(uint64_t epoch) const;
  // Log consistency between two published log sizes, for clients comparing heads.
  Result<std::vector<Bytes>> consistency(uint64_t old_size, uint64_t new_size) const;

 private:
  struct Staged {
    Bytes value;
    SecureBytes opening;
  };
  struct LabelLess {
    using is_transparent = void;
    bool operator()(BytesView a, BytesView b) const;
  };

  Directory(crypto::Ed25519SigningKey signing_key, crypto::VrfKeyPair vrf_key, LogTree log,
            DirectoryStore& store)
      : signing_key_(std::move(signing_key)),
        vrf_key_(std::move(vrf_key)),
        log_(std::move(log)),
        store_(&store) {}

  Result<VersionProof> version_proof(const VersionRecord& record) const;
  // The VRF proof and the index of (label, version).
  Result<std::pair<Bytes, PrefixIndex>> vrf_index(BytesView label, uint32_t version) const;
  Result<std::vector<Bytes>> client_consistency(uint64_t known_log_size) const;
  // The head, log proofs and next-version absence shared by lookup and history.
  template <class Proof>
  Result<void> fill_common(Proof& proof, BytesView label, uint32_t next,
                           uint64_t known_log_size) const;

  crypto::Ed25519SigningKey signing_key_;
  crypto::VrfKeyPair vrf_key_;
  LogTree log_;
  DirectoryStore* store_;
  PrefixTree tree_;
  std::map<Bytes, Staged, LabelLess> staged_;
};

}  // namespace sotto::kt
