// The client side of the key directory: checks lookup and history proofs against the newest
// signed tree head it has seen, and keeps that head (its only state) so that the server can
// neither roll a client back nor move it to a log that does not extend the one it saw.
//
//   * A head older than the one held: Errc::stale.
//   * A head of the same epoch that differs from the held one, or a newer head whose log
//     does not extend the held one by a valid consistency proof: Errc::split_view.
//   * A newer head without any consistency proof: Errc::bad_proof.
//   * A proof that does not verify (VRF, prefix tree, log inclusion, commitment):
//     Errc::bad_proof; a head not signed by the directory: Errc::bad_signature.
//   * monitor(): the owner's label holding another value: Errc::unexpected_value.
//
// The state changes only when a whole proof verifies. Sans-IO: the caller fetches proofs,
// passes them in, and persists save() where it keeps its state.
#pragma once

#include <cstdint>
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

class Verifier {
 public:
  Verifier() = default;
  // Errc::invalid_value (and the codec's errors) for state that does not decode.
  static Result<Verifier> restore(BytesView state);
  Bytes save() const;

  const std::optional<SignedTreeHead>& head() const { return head_; }
  // The log size to send with a request, so that the proof comes with a consistency proof.
  uint64_t known_log_size() const { return head_ ? head_->log_size : 0; }

  // The newest value of `label`; Errc::not_found when the proof shows the label has none.
  Result<VerifiedValue> verify_lookup(BytesView label, const LookupProof& proof,
                                      BytesView vrf_public_key, BytesView signing_public_key);
  Result<VerifiedValue> verify_lookup(BytesView label, const LookupProof& proof,
                                      const DirectoryKeys& keys) {
    return verify_lookup(label, proof, keys.vrf_public_key, keys.signing_public_key);
  }
  // Every version of `label`, oldest first (empty when it has none).
  Result<std::vector<VerifiedValue>> verify_history(BytesView label, const HistoryProof& proof,
                                                    const DirectoryKeys& keys);

  // The owner's check of its own label: success when the newest value is `expected`;
  // Errc::unexpected_value when it is anything else or absent (the alert: someone published
  // keys for this account); the errors of verify_lookup otherwise.
  Result<VerifiedValue> monitor(BytesView own_label, BytesView expected_value,
                                const LookupProof& proof, const DirectoryKeys& keys);

  // Gossip: a head another client holds. Both heads must be signed; same epoch must mean the
  // same head; different epochs need `consistency`, the log consistency proof from the
  // smaller log to the larger. Errc::split_view when the two cannot both be honest. Does not
  // change the state.
  Result<void> compare_heads(const SignedTreeHead& peer, std::span<const Bytes> consistency,
                             BytesView signing_public_key) const;

  // Moves to a newer head on its own (e.g. one from gossip), with a consistency proof.
  Result<void> advance(const SignedTreeHead& head, std::span<const Bytes> consistency,
                       BytesView signing_public_key);

 private:
  // Checks `head` against the held one (signature, no rollback, consistency), without
  // changing anything.
  Result<void> check_head(const SignedTreeHead& head, std::span<const Bytes> consistency,
                          BytesView signing_public_key) const;
  // Log inclusion of the head's epoch entry.
  static Result<Hash> check_epoch_entry(const SignedTreeHead& head,
                                        std::span<const Bytes> log_inclusion);
  static Result<VerifiedValue> check_version(BytesView label, const VersionProof& proof,
                                             const Hash& prefix_root, BytesView vrf_public_key);
  static Result<void> check_absence(BytesView label, uint32_t version, BytesView vrf_proof,
                                    const PrefixProof& absence, const Hash& prefix_root,
                                    BytesView vrf_public_key);

  std::optional<SignedTreeHead> head_;
};

// The persisted form of a Verifier.
struct VerifierState {
  uint8_t format = 1;
  std::optional<SignedTreeHead> head;
  SOTTO_TLS_FIELDS(format, head)
};

}  // namespace sotto::kt
