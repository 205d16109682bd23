// The key-transparency log at the scale of a directory: append rate, and inclusion and
// consistency proofs (generation and verification) in a log of a million leaves, with the
// proof sizes as counters; the VRF that keys the directory; the prefix tree at a million
// leaves (batch inserts, proofs); and the directory: publishing (updates and new labels, at
// a million labels), lookup proofs, and verifying them (first and repeat lookups, with and
// without witnesses), gossip.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sotto/core/tls.h"
#include "sotto/crypto/vrf.h"
#include "sotto/kt/directory.h"
#include "sotto/kt/log_tree.h"
#include "sotto/kt/prefix_tree.h"
#include "sotto/kt/verifier.h"
#include "sotto/kt/witness.h"

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

// Publishing an epoch of 10,000 updates of existing labels (no VRF: each label's is stored
// beside it) on a directory of 10,000 labels: commitments, indices, prefix tree, audit paths,
// log append, signature.
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

// A directory of a million labels, written straight into its stores as one epoch: computing a
// million ECVRF proofs (about 0.25 ms each) would take minutes, so the labels carry stand-in
// VRF outputs (SHA-512 of the label) and no proof. Publishing reads a label's stored output and
// never recomputes it, so the cost of updating them is the real one; they cannot be looked up
// (no proof), which is what the labels with real VRFs below are for.
struct MillionLabelDirectory {
  MemoryLogStore store;
  MemoryDirectoryStore records;
  std::optional<Directory> dir;
  std::vector<std::string> real_labels;  // published with real VRFs, for lookups

  static constexpr uint64_t kLabels = kMillion;

  MillionLabelDirectory() {
    const auto signing = crypto::Ed25519SigningKey::from_seed(Bytes(32, 1)).value();
    EpochRecord epoch;
    epoch.versions.reserve(kLabels);
    PrefixTree tree;
    for (uint64_t i = 0; i < kLabels; ++i) {
      VersionRecord v;
      v.label = to_bytes("user" + std::to_string(i));
      v.value = bench_value(i);
      v.opening = bench_opening(i);
      v.vrf_output = crypto::sha512(v.label);
      const PrefixIndex index = version_index(v.vrf_output, 0);
      v.index.assign(index.begin(), index.end());
      v.epoch = 1;
      if (!tree.insert(index, commit(v.opening, v.label, v.value)).ok()) std::abort();
      epoch.versions.push_back(std::move(v));
    }
    auto log = LogTree::open(store).value();
    const Hash root = tree.root();
    if (!log.append(log_entry(1, root)).ok()) std::abort();
    SignedTreeHead& head = epoch.head;
    head.epoch = 1;
    head.log_size = 1;
    const Hash log_root = log.root();
    head.log_root.assign(log_root.begin(), log_root.end());
    head.prefix_root.assign(root.begin(), root.end());
    head.timestamp = 1;
    head.signature = signing.sign(tree_head_tbs(head));
    epoch.audit.new_head = head;
    if (!records.append_epoch(epoch).ok()) std::abort();
    epoch = EpochRecord{};
    dir.emplace(Directory::open(signing, crypto::VrfKeyPair::from_seed(Bytes(32, 2)).value(), store,
                                records)
                    .value());
    for (int i = 0; i < 64; ++i) {
      real_labels.push_back("real" + std::to_string(i));
      if (!dir->stage(as_bytes(real_labels.back()), bench_value(i), bench_opening(i)).ok()) {
        std::abort();
      }
    }
    if (!dir->publish(2).ok()) std::abort();
  }
};

MillionLabelDirectory& million_label_directory() {
  static auto* d = new MillionLabelDirectory();  // lives for the whole run
  return *d;
}

// The target: an epoch of 10,000 updates of existing labels over a million labels.
void BM_DirectoryPublish10kIntoMillion(benchmark::State& state) {
  MillionLabelDirectory& m = million_label_directory();
  Lcg rng{0x5eed};
  uint64_t timestamp = 10;
  size_t audit_bytes = 0;
  for (auto _ : state) {
    for (int i = 0; i < 10'000; ++i) {
      const uint64_t k = rng.below(MillionLabelDirectory::kLabels);
      if (!m.dir
               ->stage(as_bytes("user" + std::to_string(k)), bench_value(k + timestamp),
                       bench_opening(k + timestamp))
               .ok()) {
        std::abort();
      }
    }
    auto published = m.dir->publish(++timestamp);
    if (!published.ok()) state.SkipWithError("publish failed");
    state.PauseTiming();
    audit_bytes = tls::encode(published->audit).size();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * 10'000);
  state.counters["labels"] = static_cast<double>(m.dir->label_count());
  state.counters["audit_bytes"] = static_cast<double>(audit_bytes);
}
BENCHMARK(BM_DirectoryPublish10kIntoMillion)->Unit(benchmark::kMillisecond)->Iterations(3);

// New labels: their VRFs (prepare_label) on `threads` threads, then stage and publish, over a
// million labels. Real time and the CPU time of all threads: the work is spread over threads.
void BM_DirectoryPublishNewLabels(benchmark::State& state) {
  MillionLabelDirectory& m = million_label_directory();
  const auto threads = static_cast<size_t>(state.range(0));
  constexpr size_t kNew = 2'000;
  static uint64_t next_label = 0;
  uint64_t timestamp = 1'000'000;
  for (auto _ : state) {
    std::vector<std::string> labels;
    for (size_t i = 0; i < kNew; ++i) labels.push_back("new" + std::to_string(next_label++));
    std::vector<std::optional<LabelVrf>> prepared(kNew);
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (size_t i = t; i < kNew; i += threads) {
          auto vrf = prepare_label(m.dir->vrf_key(), as_bytes(labels[i]));
          if (vrf.ok()) prepared[i] = std::move(vrf).value();
        }
      });
    }
    for (std::thread& t : pool) t.join();
    for (size_t i = 0; i < kNew; ++i) {
      if (!prepared[i] ||
          !m.dir->stage(as_bytes(labels[i]), bench_value(i), bench_opening(i), *prepared[i]).ok()) {
        std::abort();
      }
    }
    if (!m.dir->publish(++timestamp).ok()) state.SkipWithError("publish failed");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kNew));
}
BENCHMARK(BM_DirectoryPublishNewLabels)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

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

// Lookup proofs of `count` distinct labels of `dir`, with the mean encoded size and the mean
// number of prefix-tree siblings (its depth).
struct LookupSet {
  std::vector<std::pair<std::string, LookupProof>> proofs;
  double mean_bytes = 0;
  double mean_siblings = 0;
};

LookupSet lookups(const Directory& dir, const std::vector<std::string>& labels) {
  LookupSet set;
  for (const std::string& label : labels) {
    auto proof = dir.lookup(as_bytes(label), 0).value();
    set.mean_bytes += static_cast<double>(tls::encode(proof).size());
    set.mean_siblings += static_cast<double>(proof.latest->inclusion.siblings.size());
    set.proofs.emplace_back(label, std::move(proof));
  }
  set.mean_bytes /= static_cast<double>(labels.size());
  set.mean_siblings /= static_cast<double>(labels.size());
  return set;
}

std::vector<std::string> bench_labels(size_t count, uint64_t among) {
  std::vector<std::string> labels;
  Lcg rng;
  for (size_t i = 0; i < count; ++i) labels.push_back("user" + std::to_string(rng.below(among)));
  return labels;
}

void report_sizes(benchmark::State& state, const LookupSet& set) {
  state.counters["proof_bytes"] = set.mean_bytes;
  state.counters["prefix_siblings"] = set.mean_siblings;
}

// A client's first lookup: a verifier with no state, so the head's signature, the log
// inclusion, the label's VRF proof, prefix inclusion and non-inclusion, the opening.
void BM_LookupVerifyFirst(benchmark::State& state) {
  BenchDirectory& d = bench_directory();
  const DirectoryKeys keys{d.dir.vrf_public_key(), d.dir.signing_public_key()};
  const LookupSet set = lookups(d.dir, bench_labels(64, 10'000));
  size_t i = 0;
  for (auto _ : state) {
    Verifier client;
    const auto& [label, proof] = set.proofs[i++ % set.proofs.size()];
    if (!client.verify_lookup(as_bytes(label), proof, keys).ok()) {
      state.SkipWithError("lookup did not verify");
    }
  }
  report_sizes(state, set);
}
BENCHMARK(BM_LookupVerifyFirst);

// A lookup of a label the client has not looked up before, against the head it holds: the
// VRF proof and the hashes (the head's signature was checked when it first came).
void BM_LookupVerifyNewLabel(benchmark::State& state) {
  BenchDirectory& d = bench_directory();
  const DirectoryKeys keys{d.dir.vrf_public_key(), d.dir.signing_public_key()};
  std::vector<std::string> labels;
  for (int i = 0; i < 10'000; ++i) labels.push_back("user" + std::to_string(i));
  const LookupSet set = lookups(d.dir, labels);
  Verifier client;
  size_t i = 0;
  for (auto _ : state) {
    // Fresh labels each time: 10,000 of them, more than the verifier caches.
    const auto& [label, proof] = set.proofs[i++ % set.proofs.size()];
    if (!client.verify_lookup(as_bytes(label), proof, keys).ok()) {
      state.SkipWithError("lookup did not verify");
    }
  }
  report_sizes(state, set);
}
BENCHMARK(BM_LookupVerifyNewLabel);

// A repeat lookup (a contact's keys checked again): the verifier holds the label's VRF output
// and the head, so only hashes: log inclusion, prefix paths, the opening.
void BM_LookupVerifyRepeat(benchmark::State& state) {
  BenchDirectory& d = bench_directory();
  const DirectoryKeys keys{d.dir.vrf_public_key(), d.dir.signing_public_key()};
  const LookupSet set = lookups(d.dir, bench_labels(64, 10'000));
  Verifier client;
  for (const auto& [label, proof] : set.proofs) {
    if (!client.verify_lookup(as_bytes(label), proof, keys).ok()) std::abort();
  }
  size_t i = 0;
  for (auto _ : state) {
    const auto& [label, proof] = set.proofs[i++ % set.proofs.size()];
    if (!client.verify_lookup(as_bytes(label), proof, keys).ok()) {
      state.SkipWithError("lookup did not verify");
    }
  }
  report_sizes(state, set);
}
BENCHMARK(BM_LookupVerifyRepeat);

// A first lookup under a 2-of-3 witness policy: two cosignatures to verify as well.
void BM_LookupVerifyFirstWitnessed(benchmark::State& state) {
  BenchDirectory& d = bench_directory();
  const DirectoryKeys keys{d.dir.vrf_public_key(), d.dir.signing_public_key()};
  LookupSet set = lookups(d.dir, bench_labels(64, 10'000));
  VerifierPolicy policy;
  for (uint8_t w = 0; w < 3; ++w) {
    const auto witness = crypto::Ed25519SigningKey::from_seed(Bytes(32, 50 + w)).value();
    policy.witness_keys.push_back(witness.public_key());
    if (w == 0) continue;  // the first witness has not cosigned yet
    for (auto& [label, proof] : set.proofs) {
      proof.cosignatures.push_back(
          Cosignature{witness.public_key(), witness.sign(cosignature_tbs(proof.head))});
    }
  }
  policy.witness_threshold = 2;
  size_t i = 0;
  for (auto _ : state) {
    Verifier client = Verifier::create(policy).value();
    const auto& [label, proof] = set.proofs[i++ % set.proofs.size()];
    if (!client.verify_lookup(as_bytes(label), proof, keys).ok()) {
      state.SkipWithError("lookup did not verify");
    }
  }
  report_sizes(state, set);
}
BENCHMARK(BM_LookupVerifyFirstWitnessed);

// Proof sizes and verification in the million-label directory: one more level of the log
// and about log2(100) more prefix-tree levels than at 10,000 labels.
void BM_LookupVerifyRepeatMillion(benchmark::State& state) {
  MillionLabelDirectory& m = million_label_directory();
  const DirectoryKeys keys{m.dir->vrf_public_key(), m.dir->signing_public_key()};
  const LookupSet set = lookups(*m.dir, m.real_labels);
  Verifier client;
  for (const auto& [label, proof] : set.proofs) {
    if (!client.verify_lookup(as_bytes(label), proof, keys).ok()) std::abort();
  }
  size_t i = 0;
  for (auto _ : state) {
    const auto& [label, proof] = set.proofs[i++ % set.proofs.size()];
    if (!client.verify_lookup(as_bytes(label), proof, keys).ok()) {
      state.SkipWithError("lookup did not verify");
    }
  }
  report_sizes(state, set);
  state.counters["labels"] = static_cast<double>(m.dir->label_count());
}
BENCHMARK(BM_LookupVerifyRepeatMillion);

// The gossip a client sends with its messages, and the check of a peer's (same head).
void BM_GossipReceive(benchmark::State& state) {
  BenchDirectory& d = bench_directory();
  const DirectoryKeys keys{d.dir.vrf_public_key(), d.dir.signing_public_key()};
  Verifier client;
  const LookupProof proof = d.dir.lookup(as_bytes("user1"), 0).value();
  if (!client.verify_lookup(as_bytes("user1"), proof, keys).ok()) std::abort();
  const Bytes gossip = client.gossip().value();
  for (auto _ : state) {
    auto check = client.receive_gossip(gossip, keys.signing_public_key);
    if (!check.ok()) state.SkipWithError("gossip refused");
  }
  state.counters["gossip_bytes"] = static_cast<double>(gossip.size());
}
BENCHMARK(BM_GossipReceive);

}  // namespace
}  // namespace sotto::kt
