#include "sotto/kt/witness.h"

#include <algorithm>
#include <string>

#include "sotto/crypto/primitives.h"

namespace sotto::kt {

namespace {

constexpr char kCosignatureContext[] = "sotto kt witness cosignature v1";

bool contains(std::span<const Bytes> keys, BytesView key) {
  for (const Bytes& k : keys) {
    if (std::equal(k.begin(), k.end(), key.begin(), key.end())) return true;
  }
  return false;
}

}  // namespace

Bytes cosignature_tbs(const SignedTreeHead& head) {
  tls::Writer w;
  w.opaque(as_bytes(kCosignatureContext));
  w.opaque(tree_head_tbs(head));
  return w.take();
}

Result<size_t> verify_cosignatures(const SignedTreeHead& head,
                                   std::span<const Cosignature> cosignatures,
                                   std::span<const Bytes> witness_keys, size_t threshold) {
  std::vector<Bytes> trusted;  // distinct keys: a key listed twice is still one witness
  for (const Bytes& key : witness_keys) {
    if (!contains(trusted, key)) trusted.push_back(key);
  }
  if (threshold == 0 || threshold > trusted.size()) {
    return Error(Errc::invalid_argument, "a cosignature threshold of " + std::to_string(threshold) +
                                             " with " + std::to_string(trusted.size()) +
                                             " distinct witness keys");
  }
  const Bytes tbs = cosignature_tbs(head);
  std::vector<Bytes> counted;
  for (const Cosignature& cosignature : cosignatures) {
    if (!contains(trusted, cosignature.witness_public_key)) continue;
    if (contains(counted, cosignature.witness_public_key)) continue;
    if (!crypto::ed25519_verify(cosignature.witness_public_key, tbs, cosignature.signature)) {
      continue;
    }
    counted.push_back(cosignature.witness_public_key);
  }
  if (counted.size() < threshold) {
    return Error(Errc::bad_signature,
                 "the head of epoch " + std::to_string(head.epoch) +
                     " has valid cosignatures from " + std::to_string(counted.size()) +
                     " of the trusted witnesses, " + std::to_string(threshold) + " needed");
  }
  return counted.size();
}

}  // namespace sotto::kt
