// Writes the seed corpus of mls_group_fuzz and prints the state it fuzzes against.
// Usage: mls_group_seeds <directory>
//
// Alice creates a suite 3 group and adds Bob; Bob joins (epoch 1). The seeds are Bob's
// serialized state (for Group::deserialize) and what Alice sends in that epoch: an application
// message, an Update proposal, a self-update commit, an Add commit and its Welcome. A commit's
// HPKE encryptions take fresh randomness inside lib/crypto, so a run cannot be repeated: Bob's
// state is printed as hex, to be pasted into kBobState of mls_group_fuzz.cpp together with the
// seeds of the same run.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/group.h"

namespace {

using namespace sotto;
using namespace sotto::mls;

constexpr uint64_t kNow = 1'700'000'000;
constexpr Lifetime kLifetime{0, ~uint64_t{0}};
constexpr auto kSuite = crypto::SuiteId::x25519_chacha20poly1305_sha256_ed25519;

// A counter hashed, so that the keys (not the HPKE encryptions) repeat between runs.
Random counter_rng() {
  auto state = std::make_shared<uint64_t>(0);
  return [state](std::span<uint8_t> out) {
    for (size_t i = 0; i < out.size(); i += 32) {
      uint8_t in[8];
      const uint64_t n = (*state)++;
      std::memcpy(in, &n, sizeof n);
      const Bytes h = crypto::sha256(BytesView(in, sizeof in));
      for (size_t j = 0; j < 32 && i + j < out.size(); ++j) out[i + j] = h[j];
    }
  };
}

SecureBytes seed(const Random& rng) {
  SecureBytes s(32);
  rng(std::span<uint8_t>(s.data(), s.size()));
  return s;
}

Credential basic(const char* name) {
  return Credential{BasicCredential{to_bytes(name)}};
}

[[noreturn]] void fail(const char* what, const Error& error) {
  std::fprintf(stderr, "mls_group_seeds: %s: %s\n", what, error.to_string().c_str());
  std::exit(1);
}

template <class T>
T take(Result<T> r, const char* what) {
  if (!r.ok()) fail(what, r.error());
  return std::move(r).value();
}

void write_file(const std::string& path, BytesView bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  const bool ok = f != nullptr && std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (f == nullptr || std::fclose(f) != 0 || !ok) {
    std::fprintf(stderr, "mls_group_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mls_group_seeds <directory>\n");
    return 2;
  }
  const std::string dir = argv[1];
  const Random rng = counter_rng();

  Group alice =
      take(Group::create(kSuite, to_bytes("fuzz group"), basic("alice"), seed(rng), rng), "create");
  auto bob_kp = take(create_key_package(kSuite, basic("bob"), seed(rng), kLifetime, rng), "kp");
  auto added =
      take(alice.commit({take(alice.propose_add(bob_kp.key_package, kNow), "add")}, rng, kNow),
           "commit");
  alice = std::move(added.next);
  const Group bob =
      take(Group::join(*added.output.welcome, bob_kp.key_package, bob_kp.private_keys), "join");

  const Bytes bob_state = bob.serialize();
  write_file(dir + "/state_bob", bob_state);

  write_file(
      dir + "/application",
      tls::encode(take(alice.protect(to_bytes("hello bob"), rng, to_bytes("ad")), "protect")));

  auto update = take(alice.propose_update(rng), "propose_update");
  write_file(dir + "/proposal_update", tls::encode(update.message));

  write_file(dir + "/commit_self_update",
             tls::encode(take(alice.commit({}, rng, kNow), "self").output.commit));

  auto carol_kp = take(create_key_package(kSuite, basic("carol"), seed(rng), kLifetime, rng), "kp");
  auto add_carol =
      take(alice.commit({take(alice.propose_add(carol_kp.key_package, kNow), "add")}, rng, kNow),
           "commit carol");
  write_file(dir + "/commit_add", tls::encode(add_carol.output.commit));
  write_file(dir + "/welcome", tls::encode(*add_carol.output.welcome));

  // Check the seeds against Bob before printing his state.
  Group bob_copy = bob;
  if (!bob_copy.unprotect(take(alice.protect(to_bytes("x"), rng), "protect")).ok() ||
      !bob.process(add_carol.output.commit).ok() || !bob.process(update.message).ok()) {
    std::fprintf(stderr, "mls_group_seeds: bob does not accept alice's messages\n");
    return 1;
  }
  std::printf("%s\n", to_hex(bob_state).c_str());
  return 0;
}
