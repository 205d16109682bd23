// What MLS costs per message and per membership change, beside the primitives a message
// pays for and beside libolm's Megolm, the group ratchet Matrix uses.
//
//   application message  Group::protect on alice + Group::unprotect on bob, 1 KiB, per message
//   its primitives       one Ed25519 sign + verify and two AEAD seal + open of 1 KiB
//   Megolm               olm_group_encrypt + olm_group_decrypt of 1 KiB (signs and verifies too)
//   commit               alice commits one Add (create), bob processes it (process), or both,
//                        in a group of N members
//   welcome              the added member joins from the Welcome, in a group of N members
//
// The groups are built in two steps. Alice adds the N-1 KeyPackages (made in a loop first) in
// one commit. That leaves a tree whose parent nodes are blank but for alice's path, so a
// commit would encrypt to about N-1 leaves, which is the cost right after such a bulk add
// and not that of a group in use. Then one member in each subtree on alice's copath (leaves
// 2^k, largest subtree first) joins and commits an empty commit, so that every node of
// alice's copath holds a key: a commit by alice encrypts to log N nodes, as in a group whose
// members commit now and then.
#include <benchmark/benchmark.h>
#include <olm/inbound_group_session.h>
#include <olm/olm.h>
#include <olm/outbound_group_session.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sotto/crypto/cipher_suite.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/group.h"

namespace sotto::mls {
namespace {

constexpr size_t kMessageSize = 1024;
constexpr uint64_t kNow = 1'700'000'000;
constexpr Lifetime kLifetime{kNow - 3600, kNow + 365 * 24 * 3600};
// The largest group is built only if building it stays under this much CPU time (of this
// process, so that a machine shared with other work does not make it give up early).
// Building the 10,000-member group takes over a minute, most of it the Welcome of the bulk add:
// each of its N-1 EncryptWithLabel calls hashes the whole encrypted GroupInfo (the ratchet
// tree, about 2 MB) again as HPKE info.
constexpr double kMaxSetupCpuSeconds = 150;

constexpr auto kSuite1 = crypto::SuiteId::x25519_aes128gcm_sha256_ed25519;
constexpr auto kSuite3 = crypto::SuiteId::x25519_chacha20poly1305_sha256_ed25519;

const Random& rng() {
  static const Random r = [](std::span<uint8_t> out) { crypto::random_fill(out); };
  return r;
}

Credential basic(const std::string& name) {
  return Credential{BasicCredential{to_bytes(name)}};
}

Result<KeyPackageBundle> key_package(crypto::SuiteId suite, const std::string& name) {
  const SecureBytes seed = crypto::random_secret(crypto::kEd25519SeedSize);
  return create_key_package(suite, basic(name), seed, kLifetime, rng());
}

// ---- the fixture: alice and bob in a group of `size` members ---------------------------

struct Fixture {
  Group alice;
  Group bob;
  double setup_seconds = 0;
};

double cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

Result<void> check_deadline(double start) {
  if (cpu_seconds() - start > kMaxSetupCpuSeconds) {
    return Error(Errc::unsupported, "building the group took longer than kMaxSetupCpuSeconds");
  }
  return success();
}

// See the top of the file: one bulk add, then a commit from each subtree of alice's copath.
// Bob is leaf 1; the other members act only while the group is built. size >= 2.
Result<Fixture> build_fixture(crypto::SuiteId suite, size_t size) {
  const double start = cpu_seconds();
  std::vector<KeyPackageBundle> bundles;
  bundles.reserve(size);
  for (size_t i = 1; i < size; ++i) {
    SOTTO_TRY_ASSIGN(auto kp, key_package(suite, "member " + std::to_string(i)));
    bundles.push_back(std::move(kp));
    if (i % 256 == 0) SOTTO_TRY(check_deadline(start));
  }
  SOTTO_TRY_ASSIGN(Group alice,
                   Group::create(suite, to_bytes("sotto bench"), basic("alice"),
                                 crypto::random_secret(crypto::kEd25519SeedSize), rng()));
  // commit() checks every KeyPackage, so the proposals are made directly, not by
  // propose_add, which would check each a second time.
  std::vector<Proposal> adds;
  adds.reserve(bundles.size());
  for (const auto& b : bundles) adds.push_back(Proposal{Add{b.key_package}});
  SOTTO_TRY_ASSIGN(auto added, alice.commit(adds, rng(), kNow));
  alice = std::move(added.next);
  const MlsMessage welcome = std::move(*added.output.welcome);
  SOTTO_TRY(check_deadline(start));
  auto join = [&](size_t leaf) -> Result<Group> {
    const KeyPackageBundle& b = bundles[leaf - 1];
    return Group::join(welcome, b.key_package, b.private_keys);
  };
  SOTTO_TRY_ASSIGN(Group bob, join(1));

  // Committers at leaves 2^k < size, largest subtree first: each one's own copath then
  // already holds the keys of the larger subtrees, so its commit encrypts to fewer leaves.
  std::vector<size_t> committers;
  for (size_t leaf = 2; leaf < size; leaf *= 2) committers.insert(committers.begin(), leaf);
  std::vector<Group> waiting;
  for (const size_t leaf : committers) {
    SOTTO_TRY_ASSIGN(Group g, join(leaf));
    waiting.push_back(std::move(g));
    SOTTO_TRY(check_deadline(start));
  }
  while (!waiting.empty()) {
    SOTTO_TRY_ASSIGN(auto committed, waiting.front().commit({}, rng(), kNow));
    const MlsMessage& commit = committed.output.commit;
    SOTTO_TRY_ASSIGN(alice, alice.process(commit));
    SOTTO_TRY_ASSIGN(bob, bob.process(commit));
    for (size_t i = 1; i < waiting.size(); ++i) {
      SOTTO_TRY_ASSIGN(waiting[i], waiting[i].process(commit));
    }
    waiting.erase(waiting.begin());
    SOTTO_TRY(check_deadline(start));
  }
  return Fixture{std::move(alice), std::move(bob), cpu_seconds() - start};
}

// One fixture per (suite, size), built on first use and kept for the benchmarks after it.
Fixture* fixture_or_skip(benchmark::State& state, crypto::SuiteId suite, size_t size) {
  static std::map<std::pair<crypto::SuiteId, size_t>, std::unique_ptr<Fixture>> cache;
  if (!crypto::CipherSuite::supported(static_cast<uint16_t>(suite))) {
    state.SkipWithError("suite not available in this build");
    return nullptr;
  }
  auto& slot = cache[{suite, size}];
  if (!slot) {
    auto built = build_fixture(suite, size);
    if (!built.ok()) {
      state.SkipWithError(built.error().to_string().c_str());
      return nullptr;
    }
    slot = std::make_unique<Fixture>(std::move(built).value());
    std::fprintf(stderr, "group of %zu (suite %u): built in %.1f s of CPU time\n", size,
                 static_cast<unsigned>(suite), slot->setup_seconds);
  }
  return slot.get();
}

// ---- application messages ----------------------------------------------------------

// Each iteration protects a fresh message on alice and unprotects it on bob, so bob never
// sees a replay; the per-iteration time is the per-message cost of both ends.
void BM_MlsProtectUnprotect(benchmark::State& state, crypto::SuiteId suite) {
  Fixture* f = fixture_or_skip(state, suite, 2);
  if (f == nullptr) return;
  const Bytes plaintext = crypto::random_bytes(kMessageSize);
  for (auto _ : state) {
    auto message = f->alice.protect(plaintext, rng());
    if (!message.ok()) {
      state.SkipWithError(message.error().to_string().c_str());
      break;
    }
    auto opened = f->bob.unprotect(*message);
    if (!opened.ok() || opened->data.size() != kMessageSize) {
      state.SkipWithError(opened.ok() ? "wrong size" : opened.error().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(opened);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kMessageSize));
}

// The sending half alone; the receiving half is the difference.
void BM_MlsProtect(benchmark::State& state, crypto::SuiteId suite) {
  Fixture* f = fixture_or_skip(state, suite, 2);
  if (f == nullptr) return;
  Group alice = f->alice;  // leaves the fixture's ratchet where it was
  const Bytes plaintext = crypto::random_bytes(kMessageSize);
  for (auto _ : state) {
    auto message = alice.protect(plaintext, rng());
    if (!message.ok()) {
      state.SkipWithError(message.error().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(message);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// What an application message pays for in primitives: the sender signs, the receiver
// verifies, and each AEAD (sender data and content) is sealed and opened. Both AEADs are
// 1 KiB here, an upper bound: the sender data is 12 bytes.
void BM_MessagePrimitives(benchmark::State& state, crypto::Aead aead) {
  if (!crypto::aead_available(aead)) {
    state.SkipWithError("AEAD not available in this build");
    return;
  }
  const auto signer = crypto::Ed25519SigningKey::generate();
  const Bytes key = crypto::random_bytes(crypto::aead_key_size(aead));
  const Bytes nonce = crypto::random_bytes(crypto::kAeadNonceSize);
  const Bytes plaintext = crypto::random_bytes(kMessageSize);
  for (auto _ : state) {
    const Bytes signature = signer.sign(plaintext);
    if (!crypto::ed25519_verify(signer.public_key(), plaintext, signature)) {
      state.SkipWithError("signature did not verify");
      break;
    }
    for (int i = 0; i < 2; ++i) {
      auto sealed = crypto::aead_seal(aead, key, nonce, {}, plaintext);
      if (!sealed.ok()) {
        state.SkipWithError(sealed.error().to_string().c_str());
        break;
      }
      auto opened = crypto::aead_open(aead, key, nonce, {}, *sealed);
      if (!opened.ok()) {
        state.SkipWithError(opened.error().to_string().c_str());
        break;
      }
      benchmark::DoNotOptimize(opened);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Megolm: encrypt (AES-256-CBC + HMAC-SHA-256, Ed25519 signature, base64) and decrypt on an
// inbound session made from the outbound session's key, one fresh message per iteration.
void BM_MegolmEncryptDecrypt(benchmark::State& state) {
  std::vector<uint8_t> out_memory(olm_outbound_group_session_size());
  OlmOutboundGroupSession* out = olm_outbound_group_session(out_memory.data());
  Bytes random = crypto::random_bytes(olm_init_outbound_group_session_random_length(out));
  if (olm_init_outbound_group_session(out, random.data(), random.size()) == olm_error()) {
    state.SkipWithError(olm_outbound_group_session_last_error(out));
    return;
  }
  std::vector<uint8_t> session_key(olm_outbound_group_session_key_length(out));
  if (olm_outbound_group_session_key(out, session_key.data(), session_key.size()) == olm_error()) {
    state.SkipWithError(olm_outbound_group_session_last_error(out));
    return;
  }
  std::vector<uint8_t> in_memory(olm_inbound_group_session_size());
  OlmInboundGroupSession* in = olm_inbound_group_session(in_memory.data());
  if (olm_init_inbound_group_session(in, session_key.data(), session_key.size()) == olm_error()) {
    state.SkipWithError(olm_inbound_group_session_last_error(in));
    return;
  }

  const Bytes plaintext = crypto::random_bytes(kMessageSize);
  // The length grows with the message index (a varint): room for any index.
  std::vector<uint8_t> message(olm_group_encrypt_message_length(out, plaintext.size()) + 16);
  std::vector<uint8_t> decrypted(message.size());
  for (auto _ : state) {
    const size_t length =
        olm_group_encrypt(out, plaintext.data(), plaintext.size(), message.data(),
                          olm_group_encrypt_message_length(out, plaintext.size()));
    if (length == olm_error()) {
      state.SkipWithError(
          (std::string("encrypt: ") + olm_outbound_group_session_last_error(out)).c_str());
      break;
    }
    uint32_t index = 0;
    // Decrypting base64-decodes the message in place.
    const size_t opened =
        olm_group_decrypt(in, message.data(), length, decrypted.data(), decrypted.size(), &index);
    if (opened != kMessageSize) {
      state.SkipWithError(
          (std::string("decrypt: ") + olm_inbound_group_session_last_error(in)).c_str());
      break;
    }
    benchmark::DoNotOptimize(decrypted.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kMessageSize));
  olm_clear_outbound_group_session(out);
  olm_clear_inbound_group_session(in);
}

BENCHMARK_CAPTURE(BM_MlsProtectUnprotect, suite1, kSuite1);
BENCHMARK_CAPTURE(BM_MlsProtectUnprotect, suite3, kSuite3);
BENCHMARK_CAPTURE(BM_MlsProtect, suite1, kSuite1);
BENCHMARK_CAPTURE(BM_MlsProtect, suite3, kSuite3);
BENCHMARK_CAPTURE(BM_MessagePrimitives, aes128gcm, crypto::Aead::aes128gcm);
BENCHMARK_CAPTURE(BM_MessagePrimitives, chacha20poly1305, crypto::Aead::chacha20poly1305);
BENCHMARK(BM_MegolmEncryptDecrypt);

// ---- membership ------------------------------------------------------------------------

enum class CommitPart { create, process, create_and_process };

// Group states are values and commit() and process() are const, so every iteration commits
// (or processes) the same Add from the same state: nothing accumulates between iterations.
void BM_CommitAddOne(benchmark::State& state, crypto::SuiteId suite, CommitPart part) {
  const auto size = static_cast<size_t>(state.range(0));
  Fixture* f = fixture_or_skip(state, suite, size);
  if (f == nullptr) return;
  auto kp = key_package(suite, "newcomer");
  if (!kp.ok()) {
    state.SkipWithError(kp.error().to_string().c_str());
    return;
  }
  const std::vector<Proposal> add{Proposal{Add{kp->key_package}}};
  std::optional<MlsMessage> commit;  // made once when only processing is timed
  if (part == CommitPart::process) {
    auto committed = f->alice.commit(add, rng(), kNow);
    if (!committed.ok()) {
      state.SkipWithError(committed.error().to_string().c_str());
      return;
    }
    commit = std::move(committed->output.commit);
  }
  for (auto _ : state) {
    if (part != CommitPart::process) {
      auto committed = f->alice.commit(add, rng(), kNow);
      if (!committed.ok()) {
        state.SkipWithError(committed.error().to_string().c_str());
        break;
      }
      benchmark::DoNotOptimize(committed);
      if (part == CommitPart::create) continue;
      commit = std::move(committed->output.commit);
    }
    auto processed = f->bob.process(*commit);
    if (!processed.ok()) {
      state.SkipWithError(processed.error().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(processed);
  }
  state.counters["members"] = static_cast<double>(size);
}

void BM_WelcomeJoin(benchmark::State& state, crypto::SuiteId suite) {
  const auto size = static_cast<size_t>(state.range(0));
  Fixture* f = fixture_or_skip(state, suite, size);
  if (f == nullptr) return;
  auto kp = key_package(suite, "newcomer");
  if (!kp.ok()) {
    state.SkipWithError(kp.error().to_string().c_str());
    return;
  }
  auto committed = f->alice.commit({Proposal{Add{kp->key_package}}}, rng(), kNow);
  if (!committed.ok()) {
    state.SkipWithError(committed.error().to_string().c_str());
    return;
  }
  const MlsMessage welcome = *committed->output.welcome;
  for (auto _ : state) {
    auto joined = Group::join(welcome, kp->key_package, kp->private_keys);
    if (!joined.ok()) {
      state.SkipWithError(joined.error().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(joined);
  }
  state.counters["members"] = static_cast<double>(size);
}

// The 10,000-member group is skipped when building it takes longer than kMaxSetupCpuSeconds.
BENCHMARK_CAPTURE(BM_CommitAddOne, create_suite3, kSuite3, CommitPart::create)
    ->ArgName("members")
    ->Arg(2)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CommitAddOne, process_suite3, kSuite3, CommitPart::process)
    ->ArgName("members")
    ->Arg(2)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CommitAddOne, create_and_process_suite3, kSuite3,
                  CommitPart::create_and_process)
    ->ArgName("members")
    ->Arg(2)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_WelcomeJoin, suite3, kSuite3)
    ->ArgName("members")
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sotto::mls
