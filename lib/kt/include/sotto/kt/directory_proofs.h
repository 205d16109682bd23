// The wire structs and the stateless checks of the key directory: commitments, the VRF
// input, the log entry of an epoch, signed tree heads, lookup / history proofs and epoch
// audits. See directory.h for how they fit together.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"
#include "sotto/kt/log_store.h"
#include "sotto/kt/prefix_tree.h"

namespace sotto::kt {

inline constexpr size_t kOpeningSize = 16;

// commitment = HMAC-SHA256(key = opening, opaque "sotto kt commitment v1" || opaque label ||
// opaque value) (opaque: TLS varint length-prefixed), so that no two (label, value) pairs
// share a message. HMAC keyed with 16 random bytes hides the value (it is a PRF) and
// binds it (a second opening of the same commitment is an HMAC collision).
Hash commit(BytesView opening, BytesView label, BytesView value);

// The VRF input of `label`: opaque "sotto kt vrf v2" || opaque label. One VRF per label, not
// per version: see version_index() for how versions get their own indices.
Bytes vrf_input(BytesView label);

// The prefix-tree index of version `version` of a label whose VRF output is `vrf_output`:
// SHA-256(opaque "sotto kt index v1" || opaque vrf_output || u32 version).
PrefixIndex version_index(BytesView vrf_output, uint32_t version);

// The log leaf of an epoch: opaque "sotto kt epoch v1" || u64 epoch || opaque prefix_root.
Bytes log_entry(uint64_t epoch, const Hash& prefix_root);

struct SignedTreeHead {
  uint64_t epoch = 0;
  uint64_t log_size = 0;
  Bytes log_root;
  Bytes prefix_root;
  uint64_t timestamp = 0;  // seconds since the Unix epoch, as the server's clock said
  Bytes signature;         // Ed25519 over tree_head_tbs()
  SOTTO_TLS_FIELDS(epoch, log_size, log_root, prefix_root, timestamp, signature)
  friend bool operator==(const SignedTreeHead&, const SignedTreeHead&) = default;
};

// opaque "sotto kt tree head v1" || the head's fields but the signature.
Bytes tree_head_tbs(const SignedTreeHead& head);
// Checks the shape (32-byte roots, log_size == epoch >= 1) and the signature: Errc::bad_proof
// for a malformed head, Errc::bad_signature for a signature that does not verify.
Result<void> verify_tree_head(const SignedTreeHead& head, BytesView signing_public_key);

// One witness's signature on a head, named by the witness's public key (see witness.h).
struct Cosignature {
  Bytes witness_public_key;  // Ed25519, 32 bytes
  Bytes signature;           // Ed25519 over cosignature_tbs(head)
  SOTTO_TLS_FIELDS(witness_public_key, signature)
  friend bool operator==(const Cosignature&, const Cosignature&) = default;
};

// One version of a label with everything needed to check it, given the label's VRF output.
struct VersionProof {
  uint32_t version = 0;
  PrefixProof inclusion;  // of version_index(vrf output, version), under the head's prefix root
  Bytes opening;          // kOpeningSize bytes
  Bytes value;
  SOTTO_TLS_FIELDS(version, inclusion, opening, value)
};

struct LookupProof {
  SignedTreeHead head;
  std::vector<Cosignature> cosignatures;  // witnesses' cosignatures on head; may be empty
  std::vector<Bytes> log_consistency;     // from the log size the client asked about; may be empty
  std::vector<Bytes> log_inclusion;       // of log_entry(head.epoch, prefix root), leaf epoch - 1
  Bytes vrf_proof;                        // pi of vrf_input(label)
  std::optional<VersionProof> latest;     // absent when the label has no version
  PrefixProof next_absence;               // non-inclusion of version latest + 1 (0 when absent)
  SOTTO_TLS_FIELDS(head, cosignatures, log_consistency, log_inclusion, vrf_proof, latest,
                   next_absence)
};

struct HistoryProof {
  SignedTreeHead head;
  std::vector<Cosignature> cosignatures;
  std::vector<Bytes> log_consistency;
  std::vector<Bytes> log_inclusion;
  Bytes vrf_proof;                     // pi of vrf_input(label)
  std::vector<VersionProof> versions;  // 0, 1, ..., n in order
  PrefixProof next_absence;            // of version n + 1
  SOTTO_TLS_FIELDS(head, cosignatures, log_consistency, log_inclusion, vrf_proof, versions,
                   next_absence)
};

// What epoch new_head.epoch changed, for auditors: each new leaf, with the search path of its
// index in the old tree (a non-inclusion proof), from which the new root is recomputed.
struct EpochAudit {
  std::optional<SignedTreeHead> old_head;  // absent for epoch 1 (the old tree is empty)
  SignedTreeHead new_head;
  std::vector<Bytes> log_consistency;  // old_head.log_size -> new_head.log_size
  std::vector<Bytes> log_inclusion;    // of the new epoch's entry in the new log
  std::vector<PrefixLeaf> changes;     // in ascending index order
  std::vector<PrefixProof> old_paths;  // old_paths[i]: changes[i].index in the old tree
  SOTTO_TLS_FIELDS(old_head, new_head, log_consistency, log_inclusion, changes, old_paths)
};

// Checks an audit: both heads, epoch succession, log consistency and inclusion, that every
// change is a new index (nothing rewritten, nothing removed) and that the old root with the
// changes gives the new root. Returns the number of leaves added.
Result<size_t> verify_epoch_audit(const EpochAudit& audit, BytesView signing_public_key);

// ---- head gossip -------------------------------------------------------------------------
//
// The newest head a client has seen, compact enough to ride in every end-to-end encrypted
// message, so that two clients shown different logs find out from each other. Fixed size:
//
//   u8 format (1) || u64 epoch || u64 timestamp || log_root[32] || prefix_root[32] ||
//   signature[64]
//
// The log size is not sent: a head's log size is its epoch (verify_tree_head checks it).
inline constexpr uint8_t kGossipFormat = 1;
inline constexpr size_t kGossipSize = 1 + 8 + 8 + 32 + 32 + 64;

// Errc::invalid_argument for a head whose fields do not have the sizes above.
Result<Bytes> encode_gossip(const SignedTreeHead& head);
// The head, signature not checked. Errc::unsupported_version for another format,
// Errc::invalid_value for any other size than kGossipSize.
Result<SignedTreeHead> decode_gossip(BytesView gossip);

}  // namespace sotto::kt
