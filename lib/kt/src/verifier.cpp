#include "sotto/kt/verifier.h"

#include <string>
#include <utility>

#include "sotto/crypto/vrf.h"
#include "sotto/kt/log_tree.h"

namespace sotto::kt {

namespace {

std::string epoch_text(uint64_t epoch) {
  return "epoch " + std::to_string(epoch);
}

Result<PrefixIndex> vrf_index(BytesView vrf_public_key, BytesView label, uint32_t version,
                              BytesView pi) {
  auto beta = crypto::vrf_verify(vrf_public_key, vrf_input(label, version), pi);
  if (!beta.ok()) {
    return Error(Errc::bad_proof, "the VRF proof of version " + std::to_string(version) +
                                      " does not verify: " + beta.error().message());
  }
  return index_from_vrf_output(*beta);
}

}  // namespace

Result<Verifier> Verifier::restore(BytesView state) {
  SOTTO_TRY_ASSIGN(VerifierState decoded, tls::decode<VerifierState>(state));
  if (decoded.format != 1) {
    return Error(Errc::invalid_value,
                 "unknown verifier state format " + std::to_string(decoded.format));
  }
  Verifier v;
  v.head_ = std::move(decoded.head);
  return v;
}

Bytes Verifier::save() const {
  VerifierState state;
  state.head = head_;
  return tls::encode(state);
}

Result<void> Verifier::check_head(const SignedTreeHead& head, std::span<const Bytes> consistency,
                                  BytesView signing_public_key) const {
  SOTTO_TRY(verify_tree_head(head, signing_public_key));
  if (!head_) return success();  // the first head: trusted on its signature alone
  const SignedTreeHead& held = *head_;
  if (head.epoch < held.epoch) {
    return Error(Errc::stale, "the server sent the head of " + epoch_text(head.epoch) +
                                  ", older than the " + epoch_text(held.epoch) +
                                  " this client has seen (a rollback)");
  }
  if (head.epoch == held.epoch) {
    if (tree_head_tbs(head) != tree_head_tbs(held)) {
      return Error(Errc::split_view, "two different signed heads for " + epoch_text(head.epoch));
    }
    return success();
  }
  if (consistency.empty()) {
    return Error(Errc::bad_proof,
                 "a newer head needs a log consistency proof from " + epoch_text(held.epoch));
  }
  auto consistent =
      verify_consistency(held.log_size, head.log_size, consistency, held.log_root, head.log_root);
  if (!consistent.ok()) {
    return Error(Errc::split_view, "the log of " + epoch_text(head.epoch) +
                                       " does not extend the log of " + epoch_text(held.epoch) +
                                       ": " + consistent.error().message());
  }
  return success();
}

Result<Hash> Verifier::check_epoch_entry(const SignedTreeHead& head,
                                         std::span<const Bytes> log_inclusion) {
  SOTTO_TRY_ASSIGN(const Hash prefix_root, to_hash(head.prefix_root));
  const Hash entry = leaf_hash(log_entry(head.epoch, prefix_root));
  auto included =
      verify_inclusion(entry, head.epoch - 1, head.log_size, log_inclusion, head.log_root);
  if (!included.ok()) {
    return Error(Errc::bad_proof, "the log does not hold the prefix root of " +
                                      epoch_text(head.epoch) + ": " + included.error().message());
  }
  return prefix_root;
}

Result<VerifiedValue> Verifier::check_version(BytesView label, const VersionProof& proof,
                                              const Hash& prefix_root, BytesView vrf_public_key) {
  SOTTO_TRY_ASSIGN(const PrefixIndex index,
                   vrf_index(vrf_public_key, label, proof.version, proof.vrf_proof));
  auto commitment = verify_prefix_inclusion(prefix_root, index, proof.inclusion);
  if (!commitment.ok()) {
    return Error(Errc::bad_proof,
                 "version " + std::to_string(proof.version) +
                     " is not in the signed prefix tree: " + commitment.error().message());
  }
  if (proof.opening.size() != kOpeningSize) {
    return Error(Errc::bad_proof, "a commitment opening is not 16 bytes");
  }
  const Hash expected = commit(proof.opening, label, proof.value);
  if (!constant_time_equal(expected, *commitment)) {
    return Error(Errc::bad_proof, "the value of version " + std::to_string(proof.version) +
                                      " does not match its commitment in the tree");
  }
  return VerifiedValue{proof.version, proof.value, 0};
}

Result<void> Verifier::check_absence(BytesView label, uint32_t version, BytesView vrf_proof,
                                     const PrefixProof& absence, const Hash& prefix_root,
                                     BytesView vrf_public_key) {
  SOTTO_TRY_ASSIGN(const PrefixIndex index, vrf_index(vrf_public_key, label, version, vrf_proof));
  auto absent = verify_prefix_non_inclusion(prefix_root, index, absence);
  if (!absent.ok()) {
    return Error(Errc::bad_proof,
                 "version " + std::to_string(version) +
                     " is not shown to be the first absent one: " + absent.error().message());
  }
  return success();
}

Result<VerifiedValue> Verifier::verify_lookup(BytesView label, const LookupProof& proof,
                                              BytesView vrf_public_key,
                                              BytesView signing_public_key) {
  SOTTO_TRY(check_head(proof.head, proof.log_consistency, signing_public_key));
  SOTTO_TRY_ASSIGN(const Hash prefix_root, check_epoch_entry(proof.head, proof.log_inclusion));
  std::optional<VerifiedValue> found;
  uint32_t next = 0;
  if (proof.latest) {
    SOTTO_TRY_ASSIGN(found, check_version(label, *proof.latest, prefix_root, vrf_public_key));
    if (proof.latest->version == 0xffffffffu) {
      return Error(Errc::bad_proof, "a version number at its limit");
    }
    next = proof.latest->version + 1;
  }
  SOTTO_TRY(check_absence(label, next, proof.next_vrf_proof, proof.next_absence, prefix_root,
                          vrf_public_key));
  head_ = proof.head;
  if (!found) return Error(Errc::not_found, "the directory has no keys for this label");
  found->epoch = proof.head.epoch;
  return std::move(*found);
}

Result<std::vector<VerifiedValue>> Verifier::verify_history(BytesView label,
                                                            const HistoryProof& proof,
                                                            const DirectoryKeys& keys) {
  SOTTO_TRY(check_head(proof.head, proof.log_consistency, keys.signing_public_key));
  SOTTO_TRY_ASSIGN(const Hash prefix_root, check_epoch_entry(proof.head, proof.log_inclusion));
  std::vector<VerifiedValue> values;
  values.reserve(proof.versions.size());
  for (size_t i = 0; i < proof.versions.size(); ++i) {
    if (proof.versions[i].version != i) {
      return Error(Errc::bad_proof, "a history must list versions 0, 1, 2, ... in order");
    }
    SOTTO_TRY_ASSIGN(VerifiedValue v,
                     check_version(label, proof.versions[i], prefix_root, keys.vrf_public_key));
    v.epoch = proof.head.epoch;
    values.push_back(std::move(v));
  }
  if (proof.versions.size() >= 0xffffffffu) return Error(Errc::bad_proof, "too many versions");
  SOTTO_TRY(check_absence(label, static_cast<uint32_t>(proof.versions.size()), proof.next_vrf_proof,
                          proof.next_absence, prefix_root, keys.vrf_public_key));
  head_ = proof.head;
  return values;
}

Result<VerifiedValue> Verifier::monitor(BytesView own_label, BytesView expected_value,
                                        const LookupProof& proof, const DirectoryKeys& keys) {
  auto found = verify_lookup(own_label, proof, keys);
  if (!found.ok()) {
    if (found.error().code() == Errc::not_found) {
      return Error(Errc::unexpected_value,
                   "the directory shows no keys for this account, which has published some");
    }
    return std::move(found).error();
  }
  if (!std::equal(found->value.begin(), found->value.end(), expected_value.begin(),
                  expected_value.end())) {
    return Error(Errc::unexpected_value, "the directory holds keys for this account (version " +
                                             std::to_string(found->version) + ", " +
                                             epoch_text(found->epoch) +
                                             ") that this device did not publish");
  }
  return found;
}

Result<void> Verifier::compare_heads(const SignedTreeHead& peer, std::span<const Bytes> consistency,
                                     BytesView signing_public_key) const {
  SOTTO_TRY_CTX(verify_tree_head(peer, signing_public_key), "peer head");
  if (!head_) return Error(Errc::invalid_argument, "this client holds no head to compare");
  const SignedTreeHead& mine = *head_;
  if (peer.epoch == mine.epoch) {
    if (tree_head_tbs(peer) != tree_head_tbs(mine)) {
      return Error(Errc::split_view, "a peer holds a different signed head for " +
                                         epoch_text(peer.epoch) + ": the server forked the log");
    }
    return success();
  }
  const SignedTreeHead& older = peer.epoch < mine.epoch ? peer : mine;
  const SignedTreeHead& newer = peer.epoch < mine.epoch ? mine : peer;
  auto consistent = verify_consistency(older.log_size, newer.log_size, consistency, older.log_root,
                                       newer.log_root);
  if (!consistent.ok()) {
    return Error(Errc::split_view, "the logs of " + epoch_text(older.epoch) + " and " +
                                       epoch_text(newer.epoch) +
                                       " are not consistent: " + consistent.error().message());
  }
  return success();
}

Result<void> Verifier::advance(const SignedTreeHead& head, std::span<const Bytes> consistency,
                               BytesView signing_public_key) {
  SOTTO_TRY(check_head(head, consistency, signing_public_key));
  head_ = head;
  return success();
}

}  // namespace sotto::kt
