// The client side of the key directory: checks lookup and history proofs against the newest
// signed tree head it has seen, and keeps that head so that the server can neither roll a
// client back nor move it to a log that does not extend the one it saw.
//
//   * A head older than the one held: Errc::stale.
//   * A head of the same epoch that differs from the held one, or a newer head whose log
//     does not extend the held one by a valid consistency proof: Errc::split_view.
//   * A newer head without any consistency proof: Errc::bad_proof.
//   * A proof that does not verify (VRF, prefix tree, log inclusion, commitment):
//     Errc::bad_proof; a head not signed by the directory: Errc::bad_signature.
//   * With a VerifierPolicy: a head without `witness_threshold` valid cosignatures of distinct
//     trusted witnesses: Errc::bad_signature; a head older than `max_head_age` at `now`:
//     Errc::stale; a head dated more than `max_clock_skew` after `now`: Errc::bad_proof.
//   * monitor(): the owner's label holding another value: Errc::unexpected_value.
//
// The state changes only when a whole proof verifies. Sans-IO: the caller fetches proofs,
// passes them in with the time, and persists save() where it keeps its state.
//
// Head gossip (directory_proofs.h): each client sends gossip() inside its end-to-end encrypted
// messages; a receiver passes the peer's bytes to receive_gossip(). The same head: nothing to
// do. Another head of the same epoch: Errc::split_view, and both heads, each signed by the
// directory, are kept as evidence (split_view_evidence()). Heads of different epochs: the
// client fetches the consistency proof that receive_gossip() names from the server and passes
// it to complete_gossip(), which moves to the peer's head when it is newer, accepts an older
// one that the held log extends, and reports Errc::split_view (with evidence) otherwise.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"
#include "sotto/kt/directory_proofs.h"

namespace sotto::kt {

struct VerifiedValue {
  uint32_t version = 0;
  Bytes value;
  uint64_t epoch = 0;
};

// The directory's public keys, as the client learned them (configuration, pinned).
struct DirectoryKeys {
  Bytes vrf_public_key;
  Bytes signing_public_key;
};

// What a client requires of heads beyond the directory's signature. The default requires
// nothing more (no witnesses, no clock).
struct VerifierPolicy {
  std::vector<Bytes> witness_keys;  // Ed25519 public keys of the trusted witnesses
  size_t witness_threshold = 0;     // k of witness_keys must cosign each head; 0: none
  uint64_t max_head_age = 0;        // seconds; 0: heads may be of any age
  uint64_t max_clock_skew = 300;    // seconds a head may be dated after `now`
};

// Two heads of one directory that cannot both be honest: proof that it forked its log.
struct SplitViewEvidence {
  SignedTreeHead ours;
  SignedTreeHead theirs;
  SOTTO_TLS_FIELDS(ours, theirs)
  friend bool operator==(const SplitViewEvidence&, const SplitViewEvidence&) = default;
};

// The log consistency proof a client needs from the server to compare two heads.
struct ConsistencyRequest {
  uint64_t old_size = 0;
  uint64_t new_size = 0;
};

// What receive_gossip() found.
struct GossipCheck {
  SignedTreeHead peer;  // the peer's head, its signature checked
  // Absent: the peer holds the same head. Present: the proof to fetch, then complete_gossip().
  std::optional<ConsistencyRequest> request;
};

class Verifier {
 public:
  Verifier() = default;
  // Errc::invalid_argument for a policy no head can meet (a threshold above the number of
  // distinct witness keys, a witness key that is not 32 bytes).
  static Result<Verifier> create(VerifierPolicy policy);
  // Errc::invalid_value (and the codec's errors) for state that does not decode.
  static Result<Verifier> restore(BytesView state, VerifierPolicy policy = {});
  Bytes save() const;

  const std::optional<SignedTreeHead>& head() const { return head_; }
  const VerifierPolicy& policy() const { return policy_; }
  // The log size to send with a request, so that the proof comes with a consistency proof.
  uint64_t known_log_size() const { return head_ ? head_->log_size : 0; }

  // The newest value of `label`; Errc::not_found when the proof shows the label has none.
  // `now`: seconds since the Unix epoch, for the policy's head age.
  Result<VerifiedValue> verify_lookup(BytesView label, const LookupProof& proof,
                                      const DirectoryKeys& keys, uint64_t now);
  // Every version of `label`, oldest first (empty when it has none).
  Result<std::vector<VerifiedValue>> verify_history(BytesView label, const HistoryProof& proof,
                                                    const DirectoryKeys& keys, uint64_t now);
  // The same without a clock: Errc::invalid_argument when the policy limits head age.
  Result<VerifiedValue> verify_lookup(BytesView label, const LookupProof& proof,
                                      const DirectoryKeys& keys);
  Result<VerifiedValue> verify_lookup(BytesView label, const LookupProof& proof,
                                      BytesView vrf_public_key, BytesView signing_public_key);
  Result<std::vector<VerifiedValue>> verify_history(BytesView label, const HistoryProof& proof,
                                                    const DirectoryKeys& keys);

  // The owner's check of its own label: success when the newest value is `expected`;
  // Errc::unexpected_value when it is anything else or absent (the alert: someone published
  // keys for this account); the errors of verify_lookup otherwise.
  Result<VerifiedValue> monitor(BytesView own_label, BytesView expected_value,
                                const LookupProof& proof, const DirectoryKeys& keys, uint64_t now);
  Result<VerifiedValue> monitor(BytesView own_label, BytesView expected_value,
                                const LookupProof& proof, const DirectoryKeys& keys);

  // Compares a head another client holds. Both heads must be signed; same epoch must mean the
  // same head; different epochs need `consistency`, the log consistency proof from the
  // smaller log to the larger. Errc::split_view when the two cannot both be honest. Does not
  // change the state.
  Result<void> compare_heads(const SignedTreeHead& peer, std::span<const Bytes> consistency,
                             BytesView signing_public_key) const;

  // Moves to a newer head on its own, with a consistency proof.
  Result<void> advance(const SignedTreeHead& head, std::span<const Bytes> consistency,
                       BytesView signing_public_key);

  // ---- gossip ----
  // The held head as gossip; Errc::not_found before the first verified proof.
  Result<Bytes> gossip() const;
  // A peer's gossip: the decoding's errors, Errc::bad_signature for a head the directory did
  // not sign (the peer's fault, no evidence against the directory), Errc::not_found when this
  // client holds no head yet, Errc::split_view for another head of the held epoch.
  Result<GossipCheck> receive_gossip(BytesView peer_gossip, BytesView signing_public_key);
  // The consistency proof that receive_gossip() asked for: a newer peer head becomes the held
  // one; an older one the held log extends is accepted as it is; Errc::split_view otherwise.
  Result<void> complete_gossip(const SignedTreeHead& peer, std::span<const Bytes> consistency,
                               BytesView signing_public_key);
  // The first split view found (by gossip), kept in the saved state.
  const std::optional<SplitViewEvidence>& split_view_evidence() const { return evidence_; }

  // Labels whose VRF output this verifier holds (repeat lookups of them verify no VRF proof).
  size_t cached_vrf_outputs() const { return vrf_cache_.size(); }

 private:
  struct CachedVrf {
    Bytes proof;
    std::array<uint8_t, 64> output{};
  };
  static constexpr size_t kMaxCachedVrfs = 4096;

  // Checks `head` against the policy and the held one (signature, cosignatures, age, no
  // rollback, consistency), without changing anything but the caches.
  Result<void> check_head(const SignedTreeHead& head, std::span<const Cosignature> cosignatures,
                          std::span<const Bytes> consistency, BytesView signing_public_key,
                          std::optional<uint64_t> now);
  Result<void> check_signatures(const SignedTreeHead& head,
                                std::span<const Cosignature> cosignatures,
                                BytesView signing_public_key);
  Result<void> check_against_held(const SignedTreeHead& head,
                                  std::span<const Bytes> consistency) const;
  // The label's VRF output, from the cache or by verifying `proof`.
  Result<std::array<uint8_t, 64>> label_vrf(BytesView label, BytesView proof,
                                            BytesView vrf_public_key);
  // Log inclusion of the head's epoch entry.
  static Result<Hash> check_epoch_entry(const SignedTreeHead& head,
                                        std::span<const Bytes> log_inclusion);
  static Result<VerifiedValue> check_version(BytesView label, BytesView vrf_output,
                                             const VersionProof& proof, const Hash& prefix_root);
  static Result<void> check_absence(BytesView vrf_output, uint32_t version,
                                    const PrefixProof& absence, const Hash& prefix_root);
  Result<VerifiedValue> lookup(BytesView label, const LookupProof& proof, const DirectoryKeys& keys,
                               std::optional<uint64_t> now);
  Result<std::vector<VerifiedValue>> history(BytesView label, const HistoryProof& proof,
                                             const DirectoryKeys& keys,
                                             std::optional<uint64_t> now);
  void record_split_view(const SignedTreeHead& theirs);

  VerifierPolicy policy_;
  std::optional<SignedTreeHead> head_;
  std::optional<SplitViewEvidence> evidence_;
  // Caches, not state: the last head whose signatures passed under the policy, and verified
  // VRF outputs per label (for the VRF key in vrf_cache_key_).
  std::optional<SignedTreeHead> vetted_;
  Bytes vetted_signing_key_;
  Bytes vrf_cache_key_;
  std::map<Bytes, CachedVrf> vrf_cache_;
};

// The persisted form of a Verifier. Format 1 held the head only; format 2 adds the evidence
// of a split view.
struct VerifierState {
  uint8_t format = 2;
  std::optional<SignedTreeHead> head;
  std::optional<SplitViewEvidence> split_view;
  SOTTO_TLS_FIELDS(format, head, split_view)
};

}  // namespace sotto::kt
