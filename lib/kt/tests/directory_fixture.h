// Shared by the directory tests: a directory with fixed keys, deterministic openings, and
// device-key lists as values.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "sotto/core/bytes.h"
#include "sotto/crypto/primitives.h"
#include "sotto/crypto/vrf.h"
#include "sotto/kt/directory.h"
#include "sotto/kt/directory_store.h"
#include "sotto/kt/log_store.h"
#include "sotto/kt/verifier.h"

namespace sotto::kt::testing {

inline Bytes seed(uint8_t fill) {
  return Bytes(32, fill);
}

// A directory and its log store, kept together (the directory points into the store).
struct TestDirectory {
  std::unique_ptr<MemoryLogStore> store = std::make_unique<MemoryLogStore>();
  std::unique_ptr<MemoryDirectoryStore> records = std::make_unique<MemoryDirectoryStore>();
  std::unique_ptr<Directory> dir;
  std::mt19937_64 rng;
  uint64_t clock = 1'700'000'000;

  explicit TestDirectory(uint8_t signing_seed = 1, uint8_t vrf_seed = 2, uint64_t rng_seed = 5)
      : rng(rng_seed) {
    auto signing = crypto::Ed25519SigningKey::from_seed(seed(signing_seed)).value();
    auto vrf = crypto::VrfKeyPair::from_seed(seed(vrf_seed)).value();
    dir = std::make_unique<Directory>(
        Directory::open(std::move(signing), std::move(vrf), *store, *records).value());
  }

  DirectoryKeys keys() const { return {dir->vrf_public_key(), dir->signing_public_key()}; }

  SecureBytes opening() {
    SecureBytes o(kOpeningSize);
    for (size_t i = 0; i < o.size(); ++i) o[i] = static_cast<uint8_t>(rng());
    return o;
  }

  void stage(const std::string& label, const Bytes& value) {
    ASSERT_TRUE(dir->stage(as_bytes(label), value, opening()).ok());
  }

  PublishedEpoch publish() {
    auto published = dir->publish(clock += 60);
    EXPECT_TRUE(published.ok()) << published.error().to_string();
    return std::move(published).value();
  }

  LookupProof lookup(const std::string& label, uint64_t known_log_size = 0) {
    auto proof = dir->lookup(as_bytes(label), known_log_size);
    EXPECT_TRUE(proof.ok()) << proof.error().to_string();
    return std::move(proof).value();
  }
};

// A value as the directory stores it: a serialised list of device signature keys.
inline Bytes device_keys(const std::string& who, int generation) {
  std::vector<Bytes> keys;
  for (int d = 0; d < 2; ++d) {
    keys.push_back(
        crypto::sha256(as_bytes(who + "/" + std::to_string(generation) + "/" + std::to_string(d))));
  }
  return tls::encode(keys);
}

}  // namespace sotto::kt::testing
