// The crypto costs that matter for messaging, timed the same way in the native and the wasm
// build (Google Benchmark does not build with emscripten), so the two can be set side by side:
//   build/native/bench/bench_portable_crypto   and   node build/wasm/bench/bench_portable_crypto.js
#include <chrono>
#include <cstdio>
#include <functional>

#include "sotto/crypto/cipher_suite.h"

using namespace sotto;

namespace {

// Runs `op` in growing batches until ~0.3 s has passed; prints nanoseconds per operation.
void measure(const char* name, const std::function<void()>& op) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < 10; ++i) op();  // warm-up
  long iterations = 0;
  long batch = 1;
  const auto start = Clock::now();
  double elapsed = 0;
  while (elapsed < 0.3) {
    for (long i = 0; i < batch; ++i) op();
    iterations += batch;
    batch *= 2;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  std::printf("%-40s %12.0f ns/op  (%ld iterations)\n", name, elapsed * 1e9 / iterations,
              iterations);
}

}  // namespace

int main() {
#ifdef __EMSCRIPTEN__
  std::printf("build: wasm (emscripten)\n");
#else
  std::printf("build: native\n");
#endif
  const Bytes kib = crypto::random_bytes(1024);
  const Bytes key32 = crypto::random_bytes(32);
  const Bytes nonce = crypto::random_bytes(12);
  const auto signer = crypto::Ed25519SigningKey::generate();
  const Bytes signature = signer.sign(kib);

  measure("sha256 1 KiB", [&] { (void)crypto::sha256(kib); });
  measure("ed25519 sign 1 KiB", [&] { (void)signer.sign(kib); });
  measure("ed25519 verify 1 KiB", [&] { (void)crypto::ed25519_verify(signer.public_key(), kib, signature); });
  const Bytes sealed = crypto::aead_seal(crypto::Aead::chacha20poly1305, key32, nonce, {}, kib).value();
  measure("chacha20poly1305 seal 1 KiB", [&] {
    (void)crypto::aead_seal(crypto::Aead::chacha20poly1305, key32, nonce, {}, kib);
  });
  measure("chacha20poly1305 open 1 KiB", [&] {
    (void)crypto::aead_open(crypto::Aead::chacha20poly1305, key32, nonce, {}, sealed);
  });
  const auto suite = crypto::CipherSuite::create(0x0003).value();
  const auto recipient = suite.hpke().generate_key_pair();
  const auto hpke_sealed =
      suite.hpke().seal(crypto::HpkeMode::base, recipient.public_key, {}, {}, kib).value();
  measure("hpke seal 1 KiB (x25519, chacha20)", [&] {
    (void)suite.hpke().seal(crypto::HpkeMode::base, recipient.public_key, {}, {}, kib);
  });
  measure("hpke open 1 KiB (x25519, chacha20)", [&] {
    (void)suite.hpke().open(crypto::HpkeMode::base, hpke_sealed.enc, recipient, {}, {},
                            hpke_sealed.ciphertext);
  });
  return 0;
}
