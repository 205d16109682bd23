#include "sotto/crypto/at_rest.h"

#include <sodium.h>

#include <string>

#include "sotto/crypto/primitives.h"

namespace sotto::crypto {

namespace {

static_assert(kAtRestKeySize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kAtRestNonceSize == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kAtRestTagSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(kPassphraseSaltSize == crypto_pwhash_argon2id_SALTBYTES);

constexpr uint64_t kMaxOpsLimit = 16;
constexpr uint64_t kMaxMemLimit = uint64_t{1} << 30;  // 1 GiB

// sodium_init() is idempotent; it selects the fastest implementations on first use.
Result<void> ready() {
  if (sodium_init() < 0) return Error(Errc::crypto_failure, "libsodium could not start");
  return success();
}

}  // namespace

Result<Bytes> seal_at_rest(BytesView key, BytesView aad, BytesView plaintext) {
  if (key.size() != kAtRestKeySize) {
    return Error(Errc::invalid_argument, "at-rest key must be " + std::to_string(kAtRestKeySize) +
                                             " bytes, not " + std::to_string(key.size()));
  }
  SOTTO_TRY(ready());
  Bytes out(kAtRestOverhead + plaintext.size());
  random_fill(std::span<uint8_t>(out.data(), kAtRestNonceSize));
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kAtRestNonceSize, &written,
                                             plaintext.data(), plaintext.size(), aad.data(),
                                             aad.size(), nullptr, out.data(), key.data());
  return out;
}

Result<SecureBytes> open_at_rest(BytesView key, BytesView aad, BytesView sealed) {
  if (key.size() != kAtRestKeySize) {
    return Error(Errc::invalid_argument, "at-rest key must be " + std::to_string(kAtRestKeySize) +
                                             " bytes, not " + std::to_string(key.size()));
  }
  if (sealed.size() < kAtRestOverhead) {
    return Error(Errc::authentication_failed, "sealed value shorter than its nonce and tag");
  }
  SOTTO_TRY(ready());
  SecureBytes out(sealed.size() - kAtRestOverhead);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &written, nullptr,
                                                 sealed.data() + kAtRestNonceSize,
                                                 sealed.size() - kAtRestNonceSize, aad.data(),
                                                 aad.size(), sealed.data(), key.data()) != 0) {
    return Error(Errc::authentication_failed, "XChaCha20-Poly1305 tag does not verify");
  }
  return out;
}

PassphraseKdfParams passphrase_kdf_moderate() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MODERATE, crypto_pwhash_argon2id_MEMLIMIT_MODERATE};
}

PassphraseKdfParams passphrase_kdf_minimum() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

PassphraseKdfParams passphrase_kdf_maximum() {
  return {kMaxOpsLimit, kMaxMemLimit};
}

Result<SecureBytes> derive_key_from_passphrase(BytesView passphrase, BytesView salt,
                                               const PassphraseKdfParams& params, size_t size) {
  const PassphraseKdfParams least = passphrase_kdf_minimum();
  if (params.ops_limit < least.ops_limit || params.ops_limit > kMaxOpsLimit ||
      params.mem_limit < least.mem_limit || params.mem_limit > kMaxMemLimit) {
    return Error(Errc::invalid_argument,
                 "Argon2id parameters out of range: " + std::to_string(params.ops_limit) +
                     " passes, " + std::to_string(params.mem_limit) + " bytes of memory");
  }
  if (salt.size() != kPassphraseSaltSize) {
    return Error(Errc::invalid_argument,
                 "Argon2id salt must be " + std::to_string(kPassphraseSaltSize) + " bytes");
  }
  if (size < crypto_pwhash_argon2id_BYTES_MIN) {
    return Error(Errc::invalid_argument, "Argon2id output too short");
  }
  SOTTO_TRY(ready());
  SecureBytes key(size);
  // libsodium reads the password through a pointer even when it is empty.
  static const char kEmpty[1] = {0};
  const char* text = passphrase.empty() ? kEmpty : reinterpret_cast<const char*>(passphrase.data());
  if (crypto_pwhash(key.data(), key.size(), text, passphrase.size(), salt.data(), params.ops_limit,
                    static_cast<size_t>(params.mem_limit), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error(Errc::crypto_failure, "Argon2id failed (not enough memory?)");
  }
  return key;
}

}  // namespace sotto::crypto
