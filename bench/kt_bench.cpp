// The key-transparency log at the scale of a directory: append rate, and inclusion and
// consistency proofs (generation and verification) in a log of a million leaves, with the
// proof sizes as counters; and the VRF that will key the directory.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "sotto/crypto/vrf.h"
#include "sotto/kt/log_tree.h"

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

}  // namespace
}  // namespace sotto::kt
