#include "sotto/kt/directory_proofs.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "sotto/crypto/primitives.h"
#include "sotto/kt/log_tree.h"

namespace sotto::kt {

namespace {

constexpr std::string_view kCommitmentLabel = "sotto kt commitment v1";
constexpr std::string_view kVrfLabel = "sotto kt vrf v2";
constexpr std::string_view kIndexLabel = "sotto kt index v1";
constexpr std::string_view kEpochLabel = "sotto kt epoch v1";
constexpr std::string_view kTreeHeadLabel = "sotto kt tree head v1";

}  // namespace

Hash commit(BytesView opening, BytesView label, BytesView value) {
  tls::Writer w;
  w.opaque(as_bytes(kCommitmentLabel));  // length-prefixed: a varint, then the label
  w.opaque(label);
  w.opaque(value);
  const SecureBytes mac = crypto::hmac_sha256(opening, w.bytes());
  Hash h;
  std::memcpy(h.data(), mac.data(), kHashSize);
  return h;
}

Bytes vrf_input(BytesView label) {
  tls::Writer w;
  w.opaque(as_bytes(kVrfLabel));  // length-prefixed: a varint, then the label
  w.opaque(label);
  return w.take();
}

PrefixIndex version_index(BytesView vrf_output, uint32_t version) {
  tls::Writer w;
  w.opaque(as_bytes(kIndexLabel));
  w.opaque(vrf_output);
  w.u32(version);
  const Bytes digest = crypto::sha256(w.bytes());
  PrefixIndex index{};
  std::memcpy(index.data(), digest.data(), kIndexSize);
  return index;
}

Bytes log_entry(uint64_t epoch, const Hash& prefix_root) {
  tls::Writer w;
  w.opaque(as_bytes(kEpochLabel));  // length-prefixed: a varint, then the label
  w.u64(epoch);
  w.opaque(prefix_root);
  return w.take();
}

Bytes tree_head_tbs(const SignedTreeHead& head) {
  tls::Writer w;
  w.opaque(as_bytes(kTreeHeadLabel));  // length-prefixed: a varint, then the label
  w.u64(head.epoch);
  w.u64(head.log_size);
  w.opaque(head.log_root);
  w.opaque(head.prefix_root);
  w.u64(head.timestamp);
  return w.take();
}

Result<void> verify_tree_head(const SignedTreeHead& head, BytesView signing_public_key) {
  if (head.log_root.size() != kHashSize || head.prefix_root.size() != kHashSize) {
    return Error(Errc::bad_proof, "a tree head root is not 32 bytes");
  }
  if (head.epoch == 0 || head.log_size != head.epoch) {
    return Error(Errc::bad_proof, "a tree head whose log size (" + std::to_string(head.log_size) +
                                      ") is not its epoch (" + std::to_string(head.epoch) + ")");
  }
  if (!crypto::ed25519_verify(signing_public_key, tree_head_tbs(head), head.signature)) {
    return Error(Errc::bad_signature, "the tree head of epoch " + std::to_string(head.epoch) +
                                          " is not signed by the directory's key");
  }
  return success();
}

// ---- gossip ------------------------------------------------------------------------------

namespace {

constexpr size_t kSignatureSize = 64;

void put_u64(Bytes& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Result<Bytes> encode_gossip(const SignedTreeHead& head) {
  if (head.log_root.size() != kHashSize || head.prefix_root.size() != kHashSize ||
      head.signature.size() != kSignatureSize) {
    return Error(Errc::invalid_argument, "a head with roots or a signature of the wrong size");
  }
  Bytes out;
  out.reserve(kGossipSize);
  out.push_back(kGossipFormat);
  put_u64(out, head.epoch);
  put_u64(out, head.timestamp);
  out.insert(out.end(), head.log_root.begin(), head.log_root.end());
  out.insert(out.end(), head.prefix_root.begin(), head.prefix_root.end());
  out.insert(out.end(), head.signature.begin(), head.signature.end());
  return out;
}

Result<SignedTreeHead> decode_gossip(BytesView gossip) {
  if (gossip.empty()) return Error(Errc::invalid_value, "empty head gossip");
  if (gossip[0] != kGossipFormat) {
    return Error(Errc::unsupported_version,
                 "head gossip of format " + std::to_string(gossip[0]) + ", this client reads 1");
  }
  if (gossip.size() != kGossipSize) {
    return Error(Errc::invalid_value, "head gossip of " + std::to_string(gossip.size()) +
                                          " bytes, not " + std::to_string(kGossipSize));
  }
  const uint8_t* p = gossip.data() + 1;
  SignedTreeHead head;
  head.epoch = get_u64(p);
  head.log_size = head.epoch;
  head.timestamp = get_u64(p + 8);
  p += 16;
  head.log_root.assign(p, p + kHashSize);
  head.prefix_root.assign(p + kHashSize, p + 2 * kHashSize);
  head.signature.assign(p + 2 * kHashSize, p + 2 * kHashSize + kSignatureSize);
  return head;
}

// ---- epoch audit -----------------------------------------------------------------------

Result<size_t> verify_epoch_audit(const EpochAudit& audit, BytesView signing_public_key) {
  const SignedTreeHead& next = audit.new_head;
  SOTTO_TRY_CTX(verify_tree_head(next, signing_public_key), "new head");
  Hash old_root = prefix_empty_hash();
  if (audit.old_head) {
    const SignedTreeHead& prev = *audit.old_head;
    SOTTO_TRY_CTX(verify_tree_head(prev, signing_public_key), "old head");
    if (next.epoch != prev.epoch + 1) {
      return Error(Errc::bad_proof, "an audit must span one epoch");
    }
    if (!verify_consistency(prev.log_size, next.log_size, audit.log_consistency, prev.log_root,
                            next.log_root)
             .ok()) {
      return Error(Errc::split_view, "the log of epoch " + std::to_string(next.epoch) +
                                         " does not extend the log of epoch " +
                                         std::to_string(prev.epoch));
    }
    SOTTO_TRY_ASSIGN(old_root, to_hash(prev.prefix_root));
  } else if (next.epoch != 1 || !audit.log_consistency.empty()) {
    return Error(Errc::bad_proof, "only the audit of epoch 1 has no old head");
  }
  SOTTO_TRY_ASSIGN(const Hash new_root, to_hash(next.prefix_root));
  const Hash entry = leaf_hash(log_entry(next.epoch, new_root));
  if (!verify_inclusion(entry, next.epoch - 1, next.log_size, audit.log_inclusion, next.log_root)
           .ok()) {
    return Error(Errc::bad_proof, "the log does not hold the new epoch's prefix root");
  }

  if (audit.changes.size() != audit.old_paths.size()) {
    return Error(Errc::bad_proof, "an audit needs one old path per change");
  }
  std::vector<PrefixIndex> indices;
  std::vector<Hash> commitments;
  indices.reserve(audit.changes.size());
  commitments.reserve(audit.changes.size());
  for (size_t i = 0; i < audit.changes.size(); ++i) {
    SOTTO_TRY_ASSIGN(const PrefixIndex index, to_prefix_index(audit.changes[i].index));
    SOTTO_TRY_ASSIGN(const Hash commitment, to_hash(audit.changes[i].commitment));
    if (!indices.empty() && !(indices.back() < index)) {
      return Error(Errc::bad_proof, "audit changes are not in strictly ascending index order");
    }
    if (!verify_prefix_non_inclusion(old_root, index, audit.old_paths[i]).ok()) {
      return Error(Errc::bad_proof, "epoch " + std::to_string(next.epoch) +
                                        " rewrites a leaf, or its old path does not verify");
    }
    indices.push_back(index);
    commitments.push_back(commitment);
  }
  SOTTO_TRY_ASSIGN(PrefixTree partial, PrefixTree::from_proofs(indices, audit.old_paths, old_root));
  for (size_t i = 0; i < indices.size(); ++i) {
    SOTTO_TRY_ASSIGN(const bool replaced, partial.insert(indices[i], commitments[i]));
    if (replaced) return Error(Errc::bad_proof, "an audit change appears twice");
  }
  if (partial.root() != new_root) {
    return Error(Errc::bad_proof,
                 "the old prefix root with the audited changes is not the "
                 "new prefix root: the epoch changed more than it shows");
  }
  return indices.size();
}

}  // namespace sotto::kt
