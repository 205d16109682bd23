// Encryption of data at rest: what a device keeps on its own disk (the client store), sealed
// under a key that only the user's passphrase or key file unlocks. XChaCha20-Poly1305 takes a
// random 192-bit nonce per value, so that no counter has to survive restarts and crashes;
// Argon2id turns a passphrase into a key at a cost that makes guessing expensive.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::crypto {

// ---- XChaCha20-Poly1305 with a random nonce --------------------------------------------

inline constexpr size_t kAtRestKeySize = 32;
inline constexpr size_t kAtRestNonceSize = 24;
inline constexpr size_t kAtRestTagSize = 16;
inline constexpr size_t kAtRestOverhead = kAtRestNonceSize + kAtRestTagSize;

// nonce || ciphertext || tag, under a fresh random nonce. `aad` names what the value is and
// where it belongs, so that a sealed value moved elsewhere no longer opens.
Result<Bytes> seal_at_rest(BytesView key, BytesView aad, BytesView plaintext);
// Errc::authentication_failed when `sealed` was not made by seal_at_rest under this key and
// this aad (a changed byte, another row's value, a wrong key); nothing is returned then.
Result<SecureBytes> open_at_rest(BytesView key, BytesView aad, BytesView sealed);

// ---- Argon2id (v1.3) -------------------------------------------------------------------

inline constexpr size_t kPassphraseSaltSize = 16;

struct PassphraseKdfParams {
  uint64_t ops_limit = 0;  // passes over memory
  uint64_t mem_limit = 0;  // bytes
  friend bool operator==(const PassphraseKdfParams&, const PassphraseKdfParams&) = default;
};

// libsodium's "moderate" Argon2id cost (3 passes, 256 MiB): about a second on a desktop, for
// keys that protect data at rest.
PassphraseKdfParams passphrase_kdf_moderate();
// The least Argon2id allows (1 pass, 8 KiB): for tests only.
PassphraseKdfParams passphrase_kdf_minimum();
// The most a stored parameter set may ask for (a damaged or hostile file must not make the
// device allocate gigabytes or spin for minutes).
PassphraseKdfParams passphrase_kdf_maximum();

// A key of `size` bytes from `passphrase`, `salt` (kPassphraseSaltSize random bytes, kept
// beside the data) and `params`. Errc::invalid_argument for parameters outside
// [minimum, maximum] or a wrong salt size; Errc::crypto_failure when the memory cannot be had.
Result<SecureBytes> derive_key_from_passphrase(BytesView passphrase, BytesView salt,
                                               const PassphraseKdfParams& params,
                                               size_t size = kAtRestKeySize);

}  // namespace sotto::crypto
