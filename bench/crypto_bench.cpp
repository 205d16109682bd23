// The cost of the primitives one message pays for: HPKE for Welcome and path secrets,
// Ed25519 for every signed message, the AEAD for every application message.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <utility>

#include "sotto/crypto/hpke.h"
#include "sotto/crypto/primitives.h"

namespace sotto::crypto {
namespace {

constexpr size_t kMessageSize = 1024;

// ---- HPKE (RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256) ---------------

// The suite, or nullopt after marking the benchmark skipped (AES-GCM in a build without it).
std::optional<Hpke> hpke_or_skip(benchmark::State& state, HpkeAead aead) {
  auto hpke = Hpke::create(HpkeKem::x25519_sha256, HpkeKdf::hkdf_sha256, aead);
  if (!hpke.ok()) {
    state.SkipWithError(hpke.error().to_string().c_str());
    return std::nullopt;
  }
  return std::move(hpke).value();
}

void BM_HpkeSeal(benchmark::State& state, HpkeAead aead) {
  const auto hpke = hpke_or_skip(state, aead);
  if (!hpke) return;
  const HpkeKeyPair recipient = hpke->generate_key_pair();
  const Bytes info = to_bytes("sotto bench");
  const Bytes plaintext = random_bytes(kMessageSize);
  for (auto _ : state) {
    auto sealed = hpke->seal(HpkeMode::base, recipient.public_key, info, {}, plaintext);
    if (!sealed.ok()) {
      state.SkipWithError(sealed.error().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(sealed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kMessageSize));
}

void BM_HpkeOpen(benchmark::State& state, HpkeAead aead) {
  const auto hpke = hpke_or_skip(state, aead);
  if (!hpke) return;
  const HpkeKeyPair recipient = hpke->generate_key_pair();
  const Bytes info = to_bytes("sotto bench");
  const Bytes plaintext = random_bytes(kMessageSize);
  auto sealed = hpke->seal(HpkeMode::base, recipient.public_key, info, {}, plaintext);
  if (!sealed.ok()) {
    state.SkipWithError(sealed.error().to_string().c_str());
    return;
  }
  for (auto _ : state) {
    auto opened = hpke->open(HpkeMode::base, sealed->enc, recipient, info, {}, sealed->ciphertext);
    if (!opened.ok()) {
      state.SkipWithError(opened.error().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(opened);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kMessageSize));
}

BENCHMARK_CAPTURE(BM_HpkeSeal, chacha20poly1305, HpkeAead::chacha20poly1305);
BENCHMARK_CAPTURE(BM_HpkeSeal, aes128gcm, HpkeAead::aes128gcm);
BENCHMARK_CAPTURE(BM_HpkeOpen, chacha20poly1305, HpkeAead::chacha20poly1305);
BENCHMARK_CAPTURE(BM_HpkeOpen, aes128gcm, HpkeAead::aes128gcm);

// ---- Ed25519 -------------------------------------------------------------------------

void BM_Ed25519Sign(benchmark::State& state) {
  const auto key = Ed25519SigningKey::generate();
  const Bytes message = random_bytes(kMessageSize);
  for (auto _ : state) {
    Bytes signature = key.sign(message);
    benchmark::DoNotOptimize(signature);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Ed25519Verify(benchmark::State& state) {
  const auto key = Ed25519SigningKey::generate();
  const Bytes message = random_bytes(kMessageSize);
  const Bytes signature = key.sign(message);
  for (auto _ : state) {
    const bool ok = ed25519_verify(key.public_key(), message, signature);
    if (!ok) {
      state.SkipWithError("signature did not verify");
      break;
    }
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_Ed25519Sign);
BENCHMARK(BM_Ed25519Verify);

// ---- AEAD ----------------------------------------------------------------------------

// The key, or empty after marking the benchmark skipped.
Bytes aead_key_or_skip(benchmark::State& state, Aead aead) {
  if (!aead_available(aead)) {
    state.SkipWithError("AEAD not available in this build");
    return {};
  }
  return random_bytes(aead_key_size(aead));
}

void BM_AeadSeal(benchmark::State& state, Aead aead) {
  const Bytes key = aead_key_or_skip(state, aead);
  if (key.empty()) return;
  const Bytes nonce = random_bytes(kAeadNonceSize);
  const Bytes plaintext = random_bytes(kMessageSize);
  for (auto _ : state) {
    auto sealed = aead_seal(aead, key, nonce, {}, plaintext);
    if (!sealed.ok()) {
      state.SkipWithError(sealed.error().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(sealed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kMessageSize));
}

void BM_AeadOpen(benchmark::State& state, Aead aead) {
  const Bytes key = aead_key_or_skip(state, aead);
  if (key.empty()) return;
  const Bytes nonce = random_bytes(kAeadNonceSize);
  const Bytes plaintext = random_bytes(kMessageSize);
  auto sealed = aead_seal(aead, key, nonce, {}, plaintext);
  if (!sealed.ok()) {
    state.SkipWithError(sealed.error().to_string().c_str());
    return;
  }
  for (auto _ : state) {
    auto opened = aead_open(aead, key, nonce, {}, *sealed);
    if (!opened.ok()) {
      state.SkipWithError(opened.error().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(opened);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kMessageSize));
}

BENCHMARK_CAPTURE(BM_AeadSeal, chacha20poly1305, Aead::chacha20poly1305);
BENCHMARK_CAPTURE(BM_AeadSeal, aes128gcm, Aead::aes128gcm);
BENCHMARK_CAPTURE(BM_AeadOpen, chacha20poly1305, Aead::chacha20poly1305);
BENCHMARK_CAPTURE(BM_AeadOpen, aes128gcm, Aead::aes128gcm);

// ---- hashing and key derivation ------------------------------------------------------

void BM_Sha256(benchmark::State& state) {
  const Bytes data = random_bytes(kMessageSize);
  for (auto _ : state) {
    Bytes digest = sha256(data);
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kMessageSize));
}

void BM_HkdfExpand(benchmark::State& state) {
  const SecureBytes prk = hkdf_extract({}, random_bytes(32));
  const Bytes info = to_bytes("MLS 1.0 bench");
  for (auto _ : state) {
    auto okm = hkdf_expand(prk, info, 32);
    if (!okm.ok()) {
      state.SkipWithError(okm.error().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(okm);
  }
}

BENCHMARK(BM_Sha256);
BENCHMARK(BM_HkdfExpand);

}  // namespace
}  // namespace sotto::crypto
