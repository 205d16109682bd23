// AES modes and SHA-1 for OpenPGP (RFC 9580), natively only: the browser build has no OpenSSL,
// and every function here returns Errc::unsupported there. Nothing else in Sotto should need
// them: CFB and SHA-1 exist for OpenPGP's SEIPD v1 (with its modification detection code) and
// v4 fingerprints, OCB for SEIPD v2, key wrap for the ECDH session-key encryption.
#pragma once

#include <cstddef>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::crypto {

inline constexpr size_t kAesBlockSize = 16;
inline constexpr size_t kOcbTagSize = 16;
inline constexpr size_t kSha1Size = 20;

// False in the browser build.
bool aes_available();

// AES-128/192/256 (by the key's size: 16, 24 or 32 bytes) in full-block CFB mode (CFB128,
// NIST SP 800-38A), with any input length: OpenPGP's CFB with a zero IV and no resync.
Result<Bytes> aes_cfb_encrypt(BytesView key, BytesView iv, BytesView plaintext);
Result<SecureBytes> aes_cfb_decrypt(BytesView key, BytesView iv, BytesView ciphertext);

// AES-OCB (RFC 7253) with a 16-byte tag and a nonce of 1 to 15 bytes (OpenPGP uses 15).
// The sealed form is ciphertext || tag. Errc::authentication_failed when the tag does not
// verify (compared in constant time); nothing is returned then.
Result<Bytes> aes_ocb_seal(BytesView key, BytesView nonce, BytesView aad, BytesView plaintext);
Result<SecureBytes> aes_ocb_open(BytesView key, BytesView nonce, BytesView aad,
                                 BytesView ciphertext);

// AES key wrap (RFC 3394) with the default IV. The key to wrap is a multiple of 8 bytes, at
// least 16. Errc::authentication_failed when the unwrapped integrity check fails.
Result<Bytes> aes_key_wrap(BytesView kek, BytesView key);
Result<SecureBytes> aes_key_unwrap(BytesView kek, BytesView wrapped);

// SHA-1: for v4 fingerprints and the SEIPD v1 modification detection code only; it is not a
// collision-resistant hash and nothing new should rely on it.
Result<Bytes> sha1(BytesView data);

}  // namespace sotto::crypto
