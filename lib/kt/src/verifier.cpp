#include "sotto/kt/verifier.h"

#include <algorithm>
#include <string>
#include <utility>

#include "sotto/crypto/vrf.h"
#include "sotto/kt/log_tree.h"
#include "sotto/kt/witness.h"

namespace sotto::kt {

namespace {

std::string epoch_text(uint64_t epoch) {
  return "epoch " + std::to_string(epoch);
}

// The state of format 1, before the split-view evidence.
struct VerifierStateV1 {
  uint8_t format = 1;
  std::optional<SignedTreeHead> head;
  SOTTO_TLS_FIELDS(format, head)
};

Result<void> check_policy(const VerifierPolicy& policy) {
  std::vector<Bytes> distinct;
  for (const Bytes& key : policy.witness_keys) {
    if (key.size() != 32) {
      return Error(Errc::invalid_argument,
                   "a witness public key is 32 bytes, not " + std::to_string(key.size()));
    }
    if (std::find(distinct.begin(), distinct.end(), key) == distinct.end()) {
      distinct.push_back(key);
    }
  }
  if (policy.witness_threshold > distinct.size()) {
    return Error(Errc::invalid_argument,
                 "a policy asking for " + std::to_string(policy.witness_threshold) +
                     " witness cosignatures with " + std::to_string(distinct.size()) +
                     " distinct witness keys");
  }
  return success();
}

}  // namespace

Result<Verifier> Verifier::create(VerifierPolicy policy) {
  SOTTO_TRY(check_policy(policy));
  Verifier v;
  v.policy_ = std::move(policy);
  return v;
}

Result<Verifier> Verifier::restore(BytesView state, VerifierPolicy policy) {
  SOTTO_TRY_ASSIGN(Verifier v, create(std::move(policy)));
  if (!state.empty() && state[0] == 1) {
    SOTTO_TRY_ASSIGN(VerifierStateV1 old, tls::decode<VerifierStateV1>(state));
    v.head_ = std::move(old.head);
    return v;
  }
  SOTTO_TRY_ASSIGN(VerifierState decoded, tls::decode<VerifierState>(state));
  if (decoded.format != 2) {
    return Error(Errc::invalid_value,
                 "unknown verifier state format " + std::to_string(decoded.format));
  }
  v.head_ = std::move(decoded.head);
  v.evidence_ = std::move(decoded.split_view);
  return v;
}

Bytes Verifier::save() const {
  VerifierState state;
  state.head = head_;
  state.split_view = evidence_;
  return tls::encode(state);
}

// ---- heads -------------------------------------------------------------------------------

Result<void> Verifier::check_signatures(const SignedTreeHead& head,
                                        std::span<const Cosignature> cosignatures,
                                        BytesView signing_public_key) {
  // A head already checked under this policy and key costs no signature verification again.
  if (vetted_ && *vetted_ == head &&
      std::equal(vetted_signing_key_.begin(), vetted_signing_key_.end(), signing_public_key.begin(),
                 signing_public_key.end())) {
    return success();
  }
  SOTTO_TRY(verify_tree_head(head, signing_public_key));
  if (policy_.witness_threshold != 0) {
    auto counted =
        verify_cosignatures(head, cosignatures, policy_.witness_keys, policy_.witness_threshold);
    if (!counted.ok()) {
      return std::move(counted).error().with_context("the head of " + epoch_text(head.epoch) +
                                                     " lacks witness cosignatures");
    }
  }
  vetted_ = head;
  vetted_signing_key_ = to_bytes(signing_public_key);
  return success();
}

Result<void> Verifier::check_against_held(const SignedTreeHead& head,
                                          std::span<const Bytes> consistency) const {
  if (!head_) return success();  // the first head: trusted on its signatures alone
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

Result<void> Verifier::check_head(const SignedTreeHead& head,
                                  std::span<const Cosignature> cosignatures,
                                  std::span<const Bytes> consistency, BytesView signing_public_key,
                                  std::optional<uint64_t> now) {
  if (policy_.max_head_age != 0 && !now) {
    return Error(Errc::invalid_argument,
                 "this verifier's policy limits the age of heads: pass the current time");
  }
  SOTTO_TRY(check_signatures(head, cosignatures, signing_public_key));
  if (now && policy_.max_head_age != 0) {
    if (head.timestamp > *now && head.timestamp - *now > policy_.max_clock_skew) {
      return Error(Errc::bad_proof, "the head of " + epoch_text(head.epoch) + " is dated " +
                                        std::to_string(head.timestamp - *now) +
                                        " s after this device's clock (at most " +
                                        std::to_string(policy_.max_clock_skew) +
                                        " s allowed): a clock is wrong");
    }
    if (*now > head.timestamp && *now - head.timestamp > policy_.max_head_age) {
      return Error(Errc::stale, "the newest head the server gives (" + epoch_text(head.epoch) +
                                    ") is " + std::to_string(*now - head.timestamp) +
                                    " s old, more than the " +
                                    std::to_string(policy_.max_head_age) +
                                    " s allowed: the server may be hiding newer epochs");
    }
  }
  return check_against_held(head, consistency);
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

// ---- labels ------------------------------------------------------------------------------

Result<std::array<uint8_t, 64>> Verifier::label_vrf(BytesView label, BytesView proof,
                                                    BytesView vrf_public_key) {
  if (!std::equal(vrf_cache_key_.begin(), vrf_cache_key_.end(), vrf_public_key.begin(),
                  vrf_public_key.end())) {
    vrf_cache_.clear();
    vrf_cache_key_ = to_bytes(vrf_public_key);
  }
  Bytes key = to_bytes(label);
  // The same proof of the same label under the same key verified before: its output is known.
  // Another proof is verified afresh (a valid one gives the same output: the VRF is unique).
  if (auto it = vrf_cache_.find(key); it != vrf_cache_.end()) {
    if (std::equal(it->second.proof.begin(), it->second.proof.end(), proof.begin(), proof.end())) {
      return it->second.output;
    }
  }
  auto beta = crypto::vrf_verify(vrf_public_key, vrf_input(label), proof);
  if (!beta.ok()) {
    return Error(Errc::bad_proof,
                 "the VRF proof of the label does not verify: " + beta.error().message());
  }
  CachedVrf cached;
  cached.proof = to_bytes(proof);
  std::copy(beta->begin(), beta->end(), cached.output.begin());
  if (vrf_cache_.size() >= kMaxCachedVrfs) vrf_cache_.clear();  // bounded: start over
  const auto output = cached.output;
  vrf_cache_.insert_or_assign(std::move(key), std::move(cached));
  return output;
}

Result<VerifiedValue> Verifier::check_version(BytesView label, BytesView vrf_output,
                                              const VersionProof& proof, const Hash& prefix_root) {
  const PrefixIndex index = version_index(vrf_output, proof.version);
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

Result<void> Verifier::check_absence(BytesView vrf_output, uint32_t version,
                                     const PrefixProof& absence, const Hash& prefix_root) {
  auto absent =
      verify_prefix_non_inclusion(prefix_root, version_index(vrf_output, version), absence);
  if (!absent.ok()) {
    return Error(Errc::bad_proof,
                 "version " + std::to_string(version) +
                     " is not shown to be the first absent one: " + absent.error().message());
  }
  return success();
}

Result<VerifiedValue> Verifier::lookup(BytesView label, const LookupProof& proof,
                                       const DirectoryKeys& keys, std::optional<uint64_t> now) {
  SOTTO_TRY(check_head(proof.head, proof.cosignatures, proof.log_consistency,
                       keys.signing_public_key, now));
  SOTTO_TRY_ASSIGN(const Hash prefix_root, check_epoch_entry(proof.head, proof.log_inclusion));
  SOTTO_TRY_ASSIGN(const auto output, label_vrf(label, proof.vrf_proof, keys.vrf_public_key));
  std::optional<VerifiedValue> found;
  uint32_t next = 0;
  if (proof.latest) {
    SOTTO_TRY_ASSIGN(found, check_version(label, output, *proof.latest, prefix_root));
    if (proof.latest->version == 0xffffffffu) {
      return Error(Errc::bad_proof, "a version number at its limit");
    }
    next = proof.latest->version + 1;
  }
  SOTTO_TRY(check_absence(output, next, proof.next_absence, prefix_root));
  head_ = proof.head;
  if (!found) return Error(Errc::not_found, "the directory has no keys for this label");
  found->epoch = proof.head.epoch;
  return std::move(*found);
}

Result<std::vector<VerifiedValue>> Verifier::history(BytesView label, const HistoryProof& proof,
                                                     const DirectoryKeys& keys,
                                                     std::optional<uint64_t> now) {
  SOTTO_TRY(check_head(proof.head, proof.cosignatures, proof.log_consistency,
                       keys.signing_public_key, now));
  SOTTO_TRY_ASSIGN(const Hash prefix_root, check_epoch_entry(proof.head, proof.log_inclusion));
  SOTTO_TRY_ASSIGN(const auto output, label_vrf(label, proof.vrf_proof, keys.vrf_public_key));
  std::vector<VerifiedValue> values;
  values.reserve(proof.versions.size());
  for (size_t i = 0; i < proof.versions.size(); ++i) {
    if (proof.versions[i].version != i) {
      return Error(Errc::bad_proof, "a history must list versions 0, 1, 2, ... in order");
    }
    SOTTO_TRY_ASSIGN(VerifiedValue v, check_version(label, output, proof.versions[i], prefix_root));
    v.epoch = proof.head.epoch;
    values.push_back(std::move(v));
  }
  if (proof.versions.size() >= 0xffffffffu) return Error(Errc::bad_proof, "too many versions");
  SOTTO_TRY(check_absence(output, static_cast<uint32_t>(proof.versions.size()), proof.next_absence,
                          prefix_root));
  head_ = proof.head;
  return values;
}

Result<VerifiedValue> Verifier::verify_lookup(BytesView label, const LookupProof& proof,
                                              const DirectoryKeys& keys, uint64_t now) {
  return lookup(label, proof, keys, now);
}

Result<VerifiedValue> Verifier::verify_lookup(BytesView label, const LookupProof& proof,
                                              const DirectoryKeys& keys) {
  return lookup(label, proof, keys, std::nullopt);
}

Result<VerifiedValue> Verifier::verify_lookup(BytesView label, const LookupProof& proof,
                                              BytesView vrf_public_key,
                                              BytesView signing_public_key) {
  return lookup(label, proof, DirectoryKeys{to_bytes(vrf_public_key), to_bytes(signing_public_key)},
                std::nullopt);
}

Result<std::vector<VerifiedValue>> Verifier::verify_history(BytesView label,
                                                            const HistoryProof& proof,
                                                            const DirectoryKeys& keys,
                                                            uint64_t now) {
  return history(label, proof, keys, now);
}

Result<std::vector<VerifiedValue>> Verifier::verify_history(BytesView label,
                                                            const HistoryProof& proof,
                                                            const DirectoryKeys& keys) {
  return history(label, proof, keys, std::nullopt);
}

namespace {

Result<VerifiedValue> expect_value(Result<VerifiedValue> found, BytesView expected_value) {
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

}  // namespace

Result<VerifiedValue> Verifier::monitor(BytesView own_label, BytesView expected_value,
                                        const LookupProof& proof, const DirectoryKeys& keys,
                                        uint64_t now) {
  return expect_value(lookup(own_label, proof, keys, now), expected_value);
}

Result<VerifiedValue> Verifier::monitor(BytesView own_label, BytesView expected_value,
                                        const LookupProof& proof, const DirectoryKeys& keys) {
  return expect_value(lookup(own_label, proof, keys, std::nullopt), expected_value);
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
  SOTTO_TRY(verify_tree_head(head, signing_public_key));
  SOTTO_TRY(check_against_held(head, consistency));
  head_ = head;
  return success();
}

// ---- gossip ------------------------------------------------------------------------------

Result<Bytes> Verifier::gossip() const {
  if (!head_) return Error(Errc::not_found, "this client has seen no head yet");
  return encode_gossip(*head_);
}

void Verifier::record_split_view(const SignedTreeHead& theirs) {
  if (!evidence_) evidence_ = SplitViewEvidence{*head_, theirs};
}

Result<GossipCheck> Verifier::receive_gossip(BytesView peer_gossip, BytesView signing_public_key) {
  SOTTO_TRY_ASSIGN(SignedTreeHead peer, decode_gossip(peer_gossip));
  GossipCheck check;
  // The common case, a peer with the same head, costs no signature check: ours was checked.
  if (head_ && peer == *head_) {
    check.peer = std::move(peer);
    return check;
  }
  SOTTO_TRY_CTX(verify_tree_head(peer, signing_public_key), "a peer's gossip");
  if (!head_) return Error(Errc::not_found, "this client holds no head to compare with");
  if (peer.epoch == head_->epoch) {
    if (tree_head_tbs(peer) != tree_head_tbs(*head_)) {
      record_split_view(peer);
      return Error(Errc::split_view, "a peer holds another signed head for " +
                                         epoch_text(peer.epoch) + ": the directory forked its log");
    }
  } else {
    check.request = ConsistencyRequest{std::min(peer.log_size, head_->log_size),
                                       std::max(peer.log_size, head_->log_size)};
  }
  check.peer = std::move(peer);
  return check;
}

Result<void> Verifier::complete_gossip(const SignedTreeHead& peer,
                                       std::span<const Bytes> consistency,
                                       BytesView signing_public_key) {
  SOTTO_TRY_CTX(verify_tree_head(peer, signing_public_key), "a peer's gossip");
  if (!head_) return Error(Errc::not_found, "this client holds no head to compare with");
  auto compared = compare_heads(peer, consistency, signing_public_key);
  if (!compared.ok()) {
    if (compared.error().code() == Errc::split_view) record_split_view(peer);
    return compared;
  }
  if (peer.epoch > head_->epoch) head_ = peer;
  return success();
}

}  // namespace sotto::kt
