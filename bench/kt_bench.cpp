// The key-transparency log at the scale of a directory: append rate, and inclusion and
// consistency proofs (generation and verification) in a log of a million leaves, with the
// proof sizes as counters; the VRF that keys the directory; the prefix tree at a million
// leaves (batch inserts, proofs); and the directory (publishing, lookup proofs, verifying).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "sotto/core/tls.h"
#include "sotto/crypto/vrf.h"
#include "sotto/kt/directory.h"
#include "sotto/kt/log_tree.h"
#include "sotto/kt/prefix_tree.h"
#include "sotto/kt/verifier.h"

namespace sotto::kt {
namespace {

constexpr uint64_t kMillion = 1'000'000;

Bytes leaf_data(uint64_t i) {
  Bytes b(64, 0x5a);
  for (int j = 0; j < 8; ++j) b[j] = static_cast<uint8_t>(i >> (8 * j));
  return b;
}

// Deterministic indexes, so that runs compare.
struct Lcg {
  uint64_t state = 0x9e3779b97f4a7c15u;
  uint64_t below(uint64_t bound) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return (state >> 17) % bound;
  }
};

// One million-leaf log, built on first use and shared by the proof benchmarks.
struct MillionLeafLog {
  MemoryLogStore store;
  LogTree tree = LogTree::open(store).value();
  MillionLeafLog() {
    for (uint64_t i = 0; i < kMillion; ++i) {
      if (!tree.append(leaf_data(i)).ok()) std::abort();
    }
  }
};

const MillionLeafLog& million_leaf_log() {
  static const MillionLeafLog* log = new MillionLeafLog();  // lives for the whole run
  return *log;
}

// Appends to one growing log: the amortised cost of an append (leaf hash, the subtrees it
// completes, the store write).
void BM_LogAppend(benchmark::State& state) {
  MemoryLogStore store;
  auto tree = LogTree::open(store).value();
  const Bytes data = leaf_data(1);
  for (auto _ : state) {
    auto index = tree.append(data);
    benchmark::DoNotOptimize(index);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["final_size"] = static_cast<double>(tree.size());
}
BENCHMARK(BM_LogAppend);

// A million appends from empty, and the root at the end.
void BM_LogBuildMillion(benchmark::State& state) {
  for (auto _ : state) {
    MemoryLogStore store;
    auto tree = LogTree::open(store).value();
    for (uint64_t i = 0; i < kMillion; ++i) {
      if (!tree.append(leaf_data(i)).ok()) state.SkipWithError("append failed");
    }
    benchmark::DoNotOptimize(tree.root());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kMillion));
}
BENCHMARK(BM_LogBuildMillion)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_InclusionProve(benchmark::State& state) {
  const LogTree& tree = million_leaf_log().tree;
  Lcg rng;
  size_t hashes = 0;
  for (auto _ : state) {
    auto proof = tree.inclusion_proof(rng.below(kMillion), kMillion);
    hashes = proof->size();
    benchmark::DoNotOptimize(proof);
  }
  state.counters["proof_hashes"] = static_cast<double>(hashes);
  state.counters["proof_bytes"] = static_cast<double>(hashes * kHashSize);
}
BENCHMARK(BM_InclusionProve);

void BM_InclusionVerify(benchmark::State& state) {
  const LogTree& tree = million_leaf_log().tree;
  const Hash root = tree.root();
  Lcg rng;
  constexpr int kProofs = 256;
  std::vector<std::pair<uint64_t, Proof>> proofs;
  for (int i = 0; i < kProofs; ++i) {
    const uint64_t index = rng.below(kMillion);
    proofs.emplace_back(index, tree.inclusion_proof(index, kMillion).value());
  }
  size_t i = 0;
  for (auto _ : state) {
    const auto& [index, proof] = proofs[i++ % kProofs];
    auto ok = verify_inclusion(leaf_hash(leaf_data(index)), index, kMillion, proof, root);
    if (!ok.ok()) state.SkipWithError("inclusion proof did not verify");
  }
  state.counters["proof_hashes"] = static_cast<double>(proofs[0].second.size());
}
BENCHMARK(BM_InclusionVerify);

void BM_ConsistencyProve(benchmark::State& state) {
  const LogTree& tree = million_leaf_log().tree;
  Lcg rng;
  double hashes = 0;
  int64_t n = 0;
  for (auto _ : state) {
    auto proof = tree.consistency_proof(1 + rng.below(kMillion - 1), kMillion);
    hashes += static_cast<double>(proof->size());
    ++n;
    benchmark::DoNotOptimize(proof);
  }
  state.counters["mean_proof_hashes"] = hashes / static_cast<double>(n);
}
BENCHMARK(BM_ConsistencyProve);

void BM_ConsistencyVerify(benchmark::State& state) {
  const LogTree& tree = million_leaf_log().tree;
  const Hash root = tree.root();
  Lcg rng;
  constexpr int kProofs = 256;
  struct Case {
    uint64_t size1;
    Hash root1;
    Proof proof;
  };
  std::vector<Case> cases;
  double hashes = 0;
  for (int i = 0; i < kProofs; ++i) {
    const uint64_t size1 = 1 + rng.below(kMillion - 1);
    cases.push_back(
        {size1, tree.root(size1).value(), tree.consistency_proof(size1, kMillion).value()});
    hashes += static_cast<double>(cases.back().proof.size());
  }
  size_t i = 0;
  for (auto _ : state) {
    const Case& c = cases[i++ % kProofs];
    auto ok = verify_consistency(c.size1, kMillion, c.proof, c.root1, root);
    if (!ok.ok()) state.SkipWithError("consistency proof did not verify");
  }
  state.counters["mean_proof_hashes"] = hashes / kProofs;
  state.counters["mean_proof_bytes"] = hashes * kHashSize / kProofs;
}
BENCHMARK(BM_ConsistencyVerify);

// The root of an earlier size (a monitor asking for an old tree head).
void BM_RootOfEarlierSize(benchmark::State& state) {
  const LogTree& tree = million_leaf_log().tree;
  Lcg rng;
  for (auto _ : state) {
    auto root = tree.root(1 + rng.below(kMillion - 1));
    benchmark::DoNotOptimize(root);
  }
}
BENCHMARK(BM_RootOfEarlierSize);

// ---- ECVRF-EDWARDS25519-SHA512-TAI -----------------------------------------------------

void BM_VrfProve(benchmark::State& state) {
  const auto key = crypto::VrfKeyPair::generate();
  const Bytes alpha(32, 0x42);
  for (auto _ : state) {
    auto pi = key.prove(alpha);
    benchmark::DoNotOptimize(pi);
  }
}
BENCHMARK(BM_VrfProve);

void BM_VrfVerify(benchmark::State& state) {
  const auto key = crypto::VrfKeyPair::generate();
  const Bytes alpha(32, 0x42);
  const Bytes pi = key.prove(alpha).value();
  for (auto _ : state) {
    auto beta = crypto::vrf_verify(key.public_key(), alpha, pi);
    if (!beta.ok()) state.SkipWithError("VRF proof did not verify");
    benchmark::DoNotOptimize(beta);
  }
}
BENCHMARK(BM_VrfVerify);

// ---- the prefix tree -------------------------------------------------------------------

PrefixIndex random_index(Lcg& rng) {
  PrefixIndex index;
  for (size_t i = 0; i < kIndexSize; i += 4) {
    const uint64_t r = rng.below(uint64_t{1} << 32);
    for (size_t j = 0; j < 4; ++j) index[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  return index;
}

Hash commitment_for(uint64_t i) {
  Hash h{};
  for (int j = 0; j < 8; ++j) h[j] = static_cast<uint8_t>(i >> (8 * j));
  return h;
}

// A million random leaves, hashed, built on first use.
struct MillionLeafPrefixTree {
  PrefixTree tree;
  std::vector<PrefixIndex> present;
  Lcg rng{0x1234567u};
  MillionLeafPrefixTree() {
    present.reserve(kMillion);
    for (uint64_t i = 0; i < kMillion; ++i) {
      present.push_back(random_index(rng));
      if (!tree.insert(present.back(), commitment_for(i)).ok()) std::abort();
    }
    benchmark::DoNotOptimize(tree.root());
  }
};

MillionLeafPrefixTree& million_leaf_prefix_tree() {
  static auto* tree = new MillionLeafPrefixTree();  // lives for the whole run
  return *tree;
}

void BM_PrefixBuildMillion(benchmark::State& state) {
  for (auto _ : state) {
    PrefixTree tree;
    Lcg rng;
    for (uint64_t i = 0; i < kMillion; ++i) {
      if (!tree.insert(random_index(rng), commitment_for(i)).ok()) std::abort();
    }
    benchmark::DoNotOptimize(tree.root());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kMillion));
}
BENCHMARK(BM_PrefixBuildMillion)->Unit(benchmark::kMillisecond)->Iterations(1);

// An epoch's worth of prefix-tree work: 10,000 new leaves into a tree of (about) a million,
// with their old paths for the audit, and the new root. The tree grows by 10,000 per run.
void BM_PrefixBatch10kIntoMillion(benchmark::State& state) {
  MillionLeafPrefixTree& m = million_leaf_prefix_tree();
  constexpr int kBatch = 10'000;
  size_t audit_bytes = 0;
  for (auto _ : state) {
    std::vector<PrefixIndex> batch;
    for (int i = 0; i < kBatch; ++i) batch.push_back(random_index(m.rng));
    audit_bytes = 0;
    for (const auto& index : batch) {
      auto path = m.tree.prove(index);
      audit_bytes += tls::encode(*path).size();
    }
    for (int i = 0; i < kBatch; ++i) {
      if (!m.tree.insert(batch[i], commitment_for(static_cast<uint64_t>(i))).ok()) std::abort();
    }
    benchmark::DoNotOptimize(m.tree.root());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["audit_paths_bytes"] = static_cast<double>(audit_bytes);
}
BENCHMARK(BM_PrefixBatch10kIntoMillion)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_PrefixProveMillion(benchmark::State& state) {
  MillionLeafPrefixTree& m = million_leaf_prefix_tree();
  Lcg rng;
  double bytes = 0;
  int64_t n = 0;
  for (auto _ : state) {
    auto proof = m.tree.prove(m.present[rng.below(m.present.size())]);
    bytes += static_cast<double>(tls::encode(*proof).size());
    ++n;
  }
  state.counters["mean_proof_bytes"] = bytes / static_cast<double>(n);
}
BENCHMARK(BM_PrefixProveMillion);

void BM_PrefixVerifyMillion(benchmark::State& state) {
  MillionLeafPrefixTree& m = million_leaf_prefix_tree();
  const Hash root = m.tree.root();
  Lcg rng;
  constexpr int kProofs = 256;
  std::vector<std::pair<PrefixIndex, PrefixProof>> proofs;
  double siblings = 0;
  for (int i = 0; i < kProofs; ++i) {
    const PrefixIndex index = m.present[rng.below(m.present.size())];
    proofs.emplace_back(index, m.tree.prove(index).value());
    siblings += static_cast<double>(proofs.back().second.siblings.size());
  }
  size_t i = 0;
  for (auto _ : state) {
    const auto& [index, proof] = proofs[i++ % kProofs];
    auto ok = verify_prefix_inclusion(root, index, proof);
    if (!ok.ok()) state.SkipWithError("prefix proof did not verify");
  }
  state.counters["mean_siblings"] = siblings / kProofs;
}
BENCHMARK(BM_PrefixVerifyMillion);

// ---- the directory ---------------------------------------------------------------------

SecureBytes bench_opening(uint64_t i) {
  SecureBytes o(kOpeningSize);
  for (size_t j = 0; j < o.size(); ++j) o[j] = static_cast<uint8_t>(i >> (8 * (j % 8)));
  return o;
}

// A value the size of two devices' keys.
Bytes bench_value(uint64_t i) {
  return Bytes(2 * 34, static_cast<uint8_t>(i));
}

// A directory of `labels` labels, published as one epoch.
struct BenchDirectory {
  MemoryLogStore store;
  MemoryDirectoryStore records;
  Directory dir;
  explicit BenchDirectory(uint64_t labels)
      : dir(Directory::open(crypto::Ed25519SigningKey::from_seed(Bytes(32, 1)).value(),
                            crypto::VrfKeyPair::from_seed(Bytes(32, 2)).value(), store, records)
                .value()) {
    for (uint64_t i = 0; i < labels; ++i) {
      if (!dir.stage(as_bytes("user" + std::to_string(i)), bench_value(i), bench_opening(i)).ok()) {
        std::abort();
      }
    }
    if (!dir.publish(1).ok()) std::abort();
  }
};

// Publishing an epoch of 10,000 updates (VRF proofs, commitments, prefix tree, audit paths,
// log append, signature) on a directory of 10,000 labels.
void BM_DirectoryPublish10k(benchmark::State& state) {
  BenchDirectory d(10'000);
  uint64_t round = 0;
  for (auto _ : state) {
    ++round;
    for (uint64_t i = 0; i < 10'000; ++i) {
      if (!d.dir
               .stage(as_bytes("user" + std::to_string(i)), bench_value(i + round),
                      bench_opening(i + round))
               .ok()) {
        std::abort();
      }
    }
    auto published = d.dir.publish(1 + round);
    if (!published.ok()) state.SkipWithError("publish failed");
  }
  state.SetItemsProcessed(state.iterations() * 10'000);
}
BENCHMARK(BM_DirectoryPublish10k)->Unit(benchmark::kMillisecond)->Iterations(2);

BenchDirectory& bench_directory() {
  static auto* d = new BenchDirectory(10'000);  // lives for the whole run
  return *d;
}

void BM_LookupProve(benchmark::State& state) {
  BenchDirectory& d = bench_directory();
  Lcg rng;
  size_t bytes = 0;
  for (auto _ : state) {
    auto proof = d.dir.lookup(as_bytes("user" + std::to_string(rng.below(10'000))), 0);
    bytes = tls::encode(*proof).size();
  }
  state.counters["proof_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_LookupProve);

// A client's whole check of a lookup: head signature, log inclusion, two VRF proofs, prefix
// inclusion and non-inclusion, the commitment opening.
void BM_LookupVerify(benchmark::State& state) {
  BenchDirectory& d = bench_directory();
  const DirectoryKeys keys{d.dir.vrf_public_key(), d.dir.signing_public_key()};
  constexpr int kProofs = 64;
  std::vector<std::pair<std::string, LookupProof>> proofs;
  Lcg rng;
  for (int i = 0; i < kProofs; ++i) {
    std::string label = "user" + std::to_string(rng.below(10'000));
    auto proof = d.dir.lookup(as_bytes(label), 0).value();
    proofs.emplace_back(std::move(label), std::move(proof));
  }
  Verifier client;
  size_t i = 0;
  for (auto _ : state) {
    const auto& [label, proof] = proofs[i++ % kProofs];
    auto value = client.verify_lookup(as_bytes(label), proof, keys);
    if (!value.ok()) state.SkipWithError("lookup did not verify");
  }
  state.counters["proof_bytes"] = static_cast<double>(tls::encode(proofs[0].second).size());
}
BENCHMARK(BM_LookupVerify);

}  // namespace
}  // namespace sotto::kt
