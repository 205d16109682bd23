#include "sotto/crypto/primitives.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <mutex>

#ifndef __EMSCRIPTEN__
#include <openssl/evp.h>
#endif

namespace sotto::crypto {

namespace {

// libsodium declares the HMAC key non-null even when its length is 0 (an empty salt in HKDF,
// an empty key in a malformed test vector); an empty vector's data() may be null.
const unsigned char* key_pointer(BytesView key) {
  static const unsigned char kNoKey[1] = {0};
  return key.empty() ? kNoKey : key.data();
}

// sodium_init() is idempotent and thread-safe after its first return; the call_once keeps
// the cost to one atomic load per primitive.
void ensure_sodium() {
#ifdef __EMSCRIPTEN__
  static bool done = false;
  if (!done) {
    if (sodium_init() < 0) __builtin_trap();
    done = true;
  }
#else
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) __builtin_trap();  // no usable randomness: nothing is safe
  });
#endif
}

static_assert(sizeof(crypto_hash_sha256_state) <= 128, "Sha256 state buffer too small");

Error bad_size(const char* what, size_t want, size_t have) {
  return Error(Errc::invalid_argument, std::string(what) + " must be " + std::to_string(want) +
                                           " bytes, not " + std::to_string(have));
}

#ifndef __EMSCRIPTEN__
struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

Result<Bytes> aes128gcm_seal(BytesView key, BytesView nonce, BytesView aad, BytesView pt) {
  CipherCtx c;
  int len = 0;
  Bytes out(pt.size() + kAeadTagSize);
  if (c.ctx == nullptr ||
      EVP_EncryptInit_ex(c.ctx, EVP_aes_128_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(c.ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(c.ctx, out.data(), &len, pt.data(), static_cast<int>(pt.size())) != 1 ||
      EVP_EncryptFinal_ex(c.ctx, out.data() + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, kAeadTagSize,
                          out.data() + pt.size()) != 1) {
    return Error(Errc::crypto_failure, "AES-128-GCM encryption failed");
  }
  return out;
}

Result<SecureBytes> aes128gcm_open(BytesView key, BytesView nonce, BytesView aad, BytesView ct) {
  const size_t pt_size = ct.size() - kAeadTagSize;
  CipherCtx c;
  int len = 0;
  SecureBytes out(pt_size);
  uint8_t tag[kAeadTagSize];
  std::memcpy(tag, ct.data() + pt_size, kAeadTagSize);
  if (c.ctx == nullptr ||
      EVP_DecryptInit_ex(c.ctx, EVP_aes_128_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(c.ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      EVP_DecryptUpdate(c.ctx, out.data(), &len, ct.data(), static_cast<int>(pt_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, kAeadTagSize, tag) != 1) {
    return Error(Errc::crypto_failure, "AES-128-GCM decryption failed");
  }
  // EVP_DecryptFinal_ex compares the tag in constant time.
  if (EVP_DecryptFinal_ex(c.ctx, out.data() + len, &len) != 1) {
    return Error(Errc::authentication_failed, "AES-128-GCM tag does not verify");
  }
  return out;
}
#endif

}  // namespace

// ---- randomness ------------------------------------------------------------------------

void random_fill(std::span<uint8_t> out) {
  if (out.empty()) return;  // libsodium takes no null buffer, and an empty span may have one
  ensure_sodium();
  randombytes_buf(out.data(), out.size());
}

Bytes random_bytes(size_t n) {
  Bytes out(n);
  random_fill(out);
  return out;
}

SecureBytes random_secret(size_t n) {
  SecureBytes out(n);
  random_fill({out.data(), out.size()});
  return out;
}

// ---- hashes and MACs -------------------------------------------------------------------

Bytes sha256(BytesView data) {
  ensure_sodium();
  Bytes out(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

Bytes sha512(BytesView data) {
  ensure_sodium();
  Bytes out(crypto_hash_sha512_BYTES);
  crypto_hash_sha512(out.data(), data.data(), data.size());
  return out;
}

SecureBytes hmac_sha256(BytesView key, BytesView data) {
  ensure_sodium();
  crypto_auth_hmacsha256_state state;
  SecureBytes out(crypto_auth_hmacsha256_BYTES);
  crypto_auth_hmacsha256_init(&state, key_pointer(key), key.size());
  crypto_auth_hmacsha256_update(&state, data.data(), data.size());
  crypto_auth_hmacsha256_final(&state, out.data());
  sodium_memzero(&state, sizeof state);
  return out;
}

bool hmac_sha256_verify(BytesView key, BytesView data, BytesView tag) {
  const SecureBytes expected = hmac_sha256(key, data);
  return tag.size() == expected.size() &&
         sodium_memcmp(expected.data(), tag.data(), tag.size()) == 0;
}

Sha256::Sha256() {
  ensure_sodium();
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_));
}

Sha256::~Sha256() { sodium_memzero(state_, sizeof state_); }

void Sha256::update(BytesView data) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_), data.data(),
                            data.size());
}

Bytes Sha256::finish() {
  Bytes out(crypto_hash_sha256_BYTES);
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_), out.data());
  return out;
}

// ---- HKDF ----------------------------------------------------------------------------

SecureBytes hkdf_extract(BytesView salt, BytesView ikm) {
  // RFC 5869: an absent salt is HashLen zero bytes, which HMAC pads to the same key.
  static const uint8_t zeros[kSha256Size] = {};
  return hmac_sha256(salt.empty() ? BytesView(zeros, sizeof zeros) : salt, ikm);
}

Result<SecureBytes> hkdf_expand(BytesView prk, BytesView info, size_t length) {
  if (length > 255 * kSha256Size) {
    return Error(Errc::invalid_argument, "HKDF-Expand length over 255 * HashLen");
  }
  ensure_sodium();
  SecureBytes out(length);
  SecureBytes block;
  size_t done = 0;
  for (uint8_t counter = 1; done < length; ++counter) {
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, key_pointer(prk), prk.size());
    crypto_auth_hmacsha256_update(&state, block.data(), block.size());
    crypto_auth_hmacsha256_update(&state, info.data(), info.size());
    crypto_auth_hmacsha256_update(&state, &counter, 1);
    block.resize(kSha256Size);
    crypto_auth_hmacsha256_final(&state, block.data());
    sodium_memzero(&state, sizeof state);
    const size_t take = std::min(kSha256Size, length - done);
    std::memcpy(out.data() + done, block.data(), take);
    done += take;
  }
  return out;
}

// ---- AEAD ------------------------------------------------------------------------------

size_t aead_key_size(Aead aead) { return aead == Aead::aes128gcm ? 16 : 32; }

bool aead_available(Aead aead) {
#ifdef __EMSCRIPTEN__
  return aead != Aead::aes128gcm;
#else
  (void)aead;
  return true;
#endif
}

Result<Bytes> aead_seal(Aead aead, BytesView key, BytesView nonce, BytesView aad,
                        BytesView plaintext) {
  if (key.size() != aead_key_size(aead)) return bad_size("AEAD key", aead_key_size(aead), key.size());
  if (nonce.size() != kAeadNonceSize) return bad_size("AEAD nonce", kAeadNonceSize, nonce.size());
  if (aead == Aead::chacha20poly1305) {
    ensure_sodium();
    Bytes out(plaintext.size() + kAeadTagSize);
    unsigned long long out_len = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &out_len, plaintext.data(),
                                              plaintext.size(), aad.data(), aad.size(), nullptr,
                                              nonce.data(), key.data());
    return out;
  }
#ifdef __EMSCRIPTEN__
  return Error(Errc::unsupported, "AES-128-GCM is not available in the browser build");
#else
  return aes128gcm_seal(key, nonce, aad, plaintext);
#endif
}

Result<SecureBytes> aead_open(Aead aead, BytesView key, BytesView nonce, BytesView aad,
                              BytesView ciphertext) {
  if (key.size() != aead_key_size(aead)) return bad_size("AEAD key", aead_key_size(aead), key.size());
  if (nonce.size() != kAeadNonceSize) return bad_size("AEAD nonce", kAeadNonceSize, nonce.size());
  if (ciphertext.size() < kAeadTagSize) {
    return Error(Errc::authentication_failed, "AEAD ciphertext shorter than its tag");
  }
  if (aead == Aead::chacha20poly1305) {
    ensure_sodium();
    SecureBytes out(ciphertext.size() - kAeadTagSize);
    unsigned long long out_len = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &out_len, nullptr,
                                                  ciphertext.data(), ciphertext.size(),
                                                  aad.data(), aad.size(), nonce.data(),
                                                  key.data()) != 0) {
      return Error(Errc::authentication_failed, "ChaCha20-Poly1305 tag does not verify");
    }
    return out;
  }
#ifdef __EMSCRIPTEN__
  return Error(Errc::unsupported, "AES-128-GCM is not available in the browser build");
#else
  return aes128gcm_open(key, nonce, aad, ciphertext);
#endif
}

// ---- X25519 ----------------------------------------------------------------------------

Result<Bytes> x25519_public_key(BytesView private_key) {
  if (private_key.size() != kX25519Size) return bad_size("X25519 private key", kX25519Size, private_key.size());
  ensure_sodium();
  Bytes out(kX25519Size);
  if (crypto_scalarmult_base(out.data(), private_key.data()) != 0) {
    return Error(Errc::crypto_failure, "X25519 public key derivation failed");
  }
  return out;
}

Result<SecureBytes> x25519(BytesView private_key, BytesView public_key) {
  if (private_key.size() != kX25519Size) return bad_size("X25519 private key", kX25519Size, private_key.size());
  if (public_key.size() != kX25519Size) return bad_size("X25519 public key", kX25519Size, public_key.size());
  ensure_sodium();
  SecureBytes out(kX25519Size);
  // libsodium returns -1 when the result is all zeros (a low-order point).
  if (crypto_scalarmult(out.data(), private_key.data(), public_key.data()) != 0) {
    return Error(Errc::crypto_failure, "X25519 with a low-order public key");
  }
  return out;
}

// ---- Ed25519 ---------------------------------------------------------------------------

Result<Ed25519SigningKey> Ed25519SigningKey::from_seed(BytesView seed) {
  if (seed.size() != kEd25519SeedSize) return bad_size("Ed25519 seed", kEd25519SeedSize, seed.size());
  ensure_sodium();
  Ed25519SigningKey key;
  key.secret_ = SecureBytes(crypto_sign_SECRETKEYBYTES);
  key.public_key_.resize(crypto_sign_PUBLICKEYBYTES);
  crypto_sign_seed_keypair(key.public_key_.data(), key.secret_.data(), seed.data());
  return key;
}

Ed25519SigningKey Ed25519SigningKey::generate() {
  const SecureBytes seed = random_secret(kEd25519SeedSize);
  return std::move(from_seed(seed).value());
}

SecureBytes Ed25519SigningKey::seed() const {
  return SecureBytes(secret_.view().subspan(0, kEd25519SeedSize));
}

Bytes Ed25519SigningKey::sign(BytesView message) const {
  Bytes sig(crypto_sign_BYTES);
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_.data());
  return sig;
}

bool ed25519_verify(BytesView public_key, BytesView message, BytesView signature) {
  if (public_key.size() != kEd25519PublicKeySize || signature.size() != kEd25519SignatureSize) {
    return false;
  }
  ensure_sodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

}  // namespace sotto::crypto
