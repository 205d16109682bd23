// The fixed key directory that kt_proofs_fuzz checks fuzzed proofs against, and the genuine
// proofs it publishes (kt_proofs_seeds writes them as the seed corpus). Everything is
// deterministic: fixed keys, fixed openings, a fixed schedule of updates over three epochs,
// so the truth about every label at every epoch is known without trusting any proof.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/primitives.h"
#include "sotto/crypto/vrf.h"
#include "sotto/kt/directory.h"
#include "sotto/kt/directory_store.h"
#include "sotto/kt/log_store.h"
#include "sotto/kt/log_tree.h"
#include "sotto/kt/verifier.h"
#include "sotto/kt/witness.h"

namespace sotto::fuzz {

// Fuzzed inputs of the log verifiers, and gossip of a head, as wire structs of their own.
struct LogInclusionInput {
  uint64_t leaf_index = 0;
  uint64_t tree_size = 0;
  std::vector<Bytes> proof;
  SOTTO_TLS_FIELDS(leaf_index, tree_size, proof)
};

struct LogConsistencyInput {
  uint64_t size1 = 0;
  uint64_t size2 = 0;
  std::vector<Bytes> proof;
  SOTTO_TLS_FIELDS(size1, size2, proof)
};

struct GossipInput {
  kt::SignedTreeHead head;
  std::vector<Bytes> consistency;
  SOTTO_TLS_FIELDS(head, consistency)
};

struct Update {
  uint64_t epoch;
  const char* label;
};
// Each update publishes the next version of its label in its epoch.
inline constexpr Update kUpdates[] = {
    {1, "alice"}, {1, "bob"}, {2, "alice"}, {2, "carol"}, {3, "bob"},
};
inline constexpr uint64_t kEpochs = 3;
inline constexpr const char* kLabels[] = {"alice", "bob", "carol", "dave"};  // dave: never
inline constexpr uint64_t kLogLeaves = 13;  // of the separate log for the log verifiers

inline Bytes value_of(const std::string& label, uint32_t version) {
  return to_bytes(label + " device keys v" + std::to_string(version));
}

// (version, value) of every version of `label` published by `epoch`, oldest first.
inline std::vector<std::pair<uint32_t, Bytes>> truth(const std::string& label, uint64_t epoch) {
  std::vector<std::pair<uint32_t, Bytes>> out;
  for (const Update& u : kUpdates) {
    if (u.epoch > epoch || label != u.label) continue;
    const auto version = static_cast<uint32_t>(out.size());
    out.emplace_back(version, value_of(label, version));
  }
  return out;
}

inline size_t changes_in(uint64_t epoch) {
  size_t n = 0;
  for (const Update& u : kUpdates) n += u.epoch == epoch ? 1 : 0;
  return n;
}

struct KtFixture {
  kt::DirectoryKeys keys;
  std::vector<kt::SignedTreeHead> heads;             // heads[e - 1]: epoch e
  std::vector<kt::EpochAudit> audits;                // audits[e - 1]
  std::vector<std::pair<std::string, Bytes>> seeds;  // name, genuine encoding
  crypto::Ed25519SigningKey witness = crypto::Ed25519SigningKey::from_seed(Bytes(32, 7)).value();
  kt::Cosignature cosignature;  // the witness's, on the newest head
  // The directory's log consistency proofs between its heads: [old][new], 1 <= old < new.
  std::vector<std::vector<std::vector<Bytes>>> head_consistency;

  std::vector<Bytes> consistency(uint64_t old_size, uint64_t new_size) const {
    if (old_size < 1 || new_size <= old_size || new_size > kEpochs) std::abort();
    return head_consistency[old_size][new_size];
  }

  // The separate log: leaves "leaf 0" ... and its root at every size.
  std::vector<kt::Hash> leaves;
  std::vector<kt::Hash> roots;  // roots[s]: size s (roots[0] the empty root)
  std::unique_ptr<kt::MemoryLogStore> log_store = std::make_unique<kt::MemoryLogStore>();
  std::unique_ptr<kt::LogTree> log;

  KtFixture() {
    kt::MemoryLogStore store;
    kt::MemoryDirectoryStore records;
    auto dir =
        kt::Directory::open(crypto::Ed25519SigningKey::from_seed(Bytes(32, 1)).value(),
                            crypto::VrfKeyPair::from_seed(Bytes(32, 2)).value(), store, records)
            .value();
    keys = {dir.vrf_public_key(), dir.signing_public_key()};
    uint8_t opening = 0;
    for (uint64_t e = 1; e <= kEpochs; ++e) {
      for (const Update& u : kUpdates) {
        if (u.epoch != e) continue;
        const auto version = static_cast<uint32_t>(truth(u.label, e - 1).size());
        SecureBytes o(kt::kOpeningSize);
        for (size_t i = 0; i < o.size(); ++i) o[i] = static_cast<uint8_t>(++opening);
        if (!dir.stage(as_bytes(u.label), value_of(u.label, version), std::move(o)).ok()) {
          std::abort();
        }
      }
      auto published = dir.publish(1'700'000'000 + 60 * e).value();
      heads.push_back(published.head);
      audits.push_back(published.audit);
      const std::string at = "-e" + std::to_string(e);
      add("head" + at, published.head);
      add("audit" + at, published.audit);
      for (const char* label : kLabels) {
        // From no head, and from the previous epoch's (the no-head case only for alice, to
        // keep the corpus small).
        std::vector<uint64_t> known_sizes{e - 1};
        if (e > 1 && label == std::string("alice")) known_sizes.push_back(0);
        for (uint64_t known : known_sizes) {
          const std::string name = std::string(label) + at + "-k" + std::to_string(known);
          add("lookup-" + name, dir.lookup(as_bytes(label), known).value());
          add("history-" + name, dir.history(as_bytes(label), known).value());
        }
      }
      if (e > 1) {
        add("gossip" + at, GossipInput{published.head, dir.consistency(e - 1, e).value()});
      }
    }
    cosignature = {witness.public_key(), witness.sign(kt::cosignature_tbs(heads.back()))};
    add("cosignature", cosignature);
    head_consistency.assign(kEpochs + 1, std::vector<std::vector<Bytes>>(kEpochs + 1));
    for (uint64_t a = 1; a <= kEpochs; ++a) {
      for (uint64_t b = a + 1; b <= kEpochs; ++b) {
        head_consistency[a][b] = dir.consistency(a, b).value();
      }
    }
    // The newest epoch's proofs as a server with a witness serves them, and its head as gossip.
    if (!dir.add_cosignature(cosignature).ok()) std::abort();
    add("lookup-alice-cosigned", dir.lookup(as_bytes("alice"), kEpochs - 1).value());
    add("history-bob-cosigned", dir.history(as_bytes("bob"), kEpochs - 1).value());
    for (uint64_t e = 1; e <= kEpochs; ++e) {
      seeds.emplace_back("gossip-bytes-e" + std::to_string(e),
                         kt::encode_gossip(heads[e - 1]).value());
    }

    log = std::make_unique<kt::LogTree>(kt::LogTree::open(*log_store).value());
    roots.push_back(log->root());
    for (uint64_t i = 0; i < kLogLeaves; ++i) {
      const Bytes leaf = to_bytes("leaf " + std::to_string(i));
      leaves.push_back(kt::leaf_hash(leaf));
      (void)log->append(leaf).value();
      roots.push_back(log->root());
    }
    for (auto [index, size] : {std::pair<uint64_t, uint64_t>{0, 1}, {4, 13}, {12, 13}, {5, 8}}) {
      add("inclusion-" + std::to_string(index) + "-" + std::to_string(size),
          LogInclusionInput{index, size, log->inclusion_proof(index, size).value()});
    }
    for (auto [size1, size2] : {std::pair<uint64_t, uint64_t>{1, 13}, {4, 13}, {7, 13}, {6, 6}}) {
      add("consistency-" + std::to_string(size1) + "-" + std::to_string(size2),
          LogConsistencyInput{size1, size2, log->consistency_proof(size1, size2).value()});
    }
  }

  template <class T>
  void add(std::string name, const T& value) {
    seeds.emplace_back(std::move(name), tls::encode(value));
  }
};

}  // namespace sotto::fuzz
