// sotto-demo: what the foundation does today, end to end, in one process. Alice seals a
// message to Bob's HPKE key under MLS cipher suite 3 and signs it; Bob checks and opens it.
#include <cstdio>
#include <string>

#include "sotto/core/encoding.h"
#include "sotto/crypto/cipher_suite.h"

using namespace sotto;

namespace {

int fail(const Error& error) {
  std::fprintf(stderr, "sotto-demo: %s\n", error.to_string().c_str());
  return 1;
}

std::string short_hex(BytesView bytes) {
  const std::string hex = to_hex(bytes);
  return hex.size() > 32 ? hex.substr(0, 32) + "..." : hex;
}

}  // namespace

int main() {
  auto suite = crypto::CipherSuite::create(0x0003);
  if (!suite.ok()) return fail(suite.error());
  std::printf("Sotto demo: MLS cipher suite 0x%04x (X25519, ChaCha20-Poly1305, SHA-256, Ed25519)\n",
              suite->id());

  const auto alice_signing = crypto::Ed25519SigningKey::generate();
  const auto bob_init = suite->hpke().generate_key_pair();
  std::printf("alice signature key  %s\n", short_hex(alice_signing.public_key()).c_str());
  std::printf("bob   HPKE init key  %s\n", short_hex(bob_init.public_key).c_str());

  const std::string text = "hello bob, this is sotto";
  const Bytes context = to_bytes("demo conversation");
  auto sealed = suite->encrypt_with_label(bob_init.public_key, "Demo", context, as_bytes(text));
  if (!sealed.ok()) return fail(sealed.error());
  const Bytes signature = suite->sign_with_label(alice_signing, "Demo", sealed->ciphertext);
  std::printf("alice -> bob         kem_output %s, %zu ciphertext bytes, signed\n",
              short_hex(sealed->kem_output).c_str(), sealed->ciphertext.size());

  if (!suite->verify_with_label(alice_signing.public_key(), "Demo", sealed->ciphertext, signature)) {
    return fail(Error(Errc::bad_signature, "alice's signature does not verify"));
  }
  auto opened =
      suite->decrypt_with_label(bob_init, "Demo", context, sealed->kem_output, sealed->ciphertext);
  if (!opened.ok()) return fail(opened.error());
  const Bytes plain = opened->reveal();
  std::printf("bob reads            \"%.*s\" (signature verified)\n", static_cast<int>(plain.size()),
              reinterpret_cast<const char*>(plain.data()));

  Bytes tampered = sealed->ciphertext;
  tampered[0] ^= 1;
  auto rejected = suite->decrypt_with_label(bob_init, "Demo", context, sealed->kem_output, tampered);
  std::printf("a flipped bit        %s\n",
              rejected.ok() ? "ACCEPTED (bug)" : rejected.error().to_string().c_str());
  return rejected.ok() ? 1 : 0;
}
