#include "sotto/crypto/primitives.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <utility>

#ifndef __EMSCRIPTEN__
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
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
// What OpenSSL allocates here only fails without memory; nothing can go on safely then.
void check_openssl(bool ok) {
  if (!ok) __builtin_trap();
}

const EVP_MD* sha256_digest() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  check_openssl(md != nullptr);
  return md;
}

// HMAC contexts: naming the digest costs more than an HMAC, so each thread keeps one spare
// context with SHA-256 already set. A context goes back to the spare slot rekeyed with a
// constant key, which overwrites the key, its pads and the last hash state.
struct SpareMacContext {
  EVP_MAC_CTX* ctx = nullptr;
  ~SpareMacContext() { EVP_MAC_CTX_free(ctx); }
};
thread_local SpareMacContext spare_mac_context;

EVP_MAC_CTX* take_mac_context() {
  if (EVP_MAC_CTX* ctx = std::exchange(spare_mac_context.ctx, nullptr)) return ctx;
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  check_openssl(hmac != nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  check_openssl(ctx != nullptr && EVP_MAC_CTX_set_params(ctx, params) == 1);
  return ctx;
}

void return_mac_context(EVP_MAC_CTX* ctx) {
  static const unsigned char kScrubKey[1] = {0};
  if (spare_mac_context.ctx == nullptr &&
      EVP_MAC_init(ctx, kScrubKey, sizeof kScrubKey, nullptr) == 1) {
    spare_mac_context.ctx = ctx;
  } else {
    EVP_MAC_CTX_free(ctx);  // cleanses
  }
}
#endif

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
  Bytes out(kSha256Size);
#ifdef __EMSCRIPTEN__
  ensure_sodium();
  crypto_hash_sha256(out.data(), data.data(), data.size());
#else
  unsigned int size = 0;
  check_openssl(EVP_Digest(data.data(), data.size(), out.data(), &size, sha256_digest(),
                           nullptr) == 1 &&
                size == kSha256Size);
#endif
  return out;
}

Bytes sha512(BytesView data) {
  ensure_sodium();
  Bytes out(crypto_hash_sha512_BYTES);
  crypto_hash_sha512(out.data(), data.data(), data.size());
  return out;
}

// ---- HMAC-SHA256 ---------------------------------------------------------------------

#ifdef __EMSCRIPTEN__
namespace {
crypto_auth_hmacsha256_state& keyed_state(uint8_t* storage) {
  return *std::launder(reinterpret_cast<crypto_auth_hmacsha256_state*>(storage));
}

// One HMAC under the prepared key over the concatenation of `parts`.
template <size_t N>
void hmac_parts(const uint8_t* storage, const BytesView (&parts)[N], uint8_t* out) {
  crypto_auth_hmacsha256_state state =
      *std::launder(reinterpret_cast<const crypto_auth_hmacsha256_state*>(storage));
  for (const BytesView part : parts) {
    crypto_auth_hmacsha256_update(&state, part.data(), part.size());
  }
  crypto_auth_hmacsha256_final(&state, out);
  sodium_memzero(&state, sizeof state);
}
}  // namespace

HmacSha256Key::HmacSha256Key(BytesView key) {
  static_assert(sizeof(crypto_auth_hmacsha256_state) <= sizeof state_);
  ensure_sodium();
  crypto_auth_hmacsha256_init(new (state_) crypto_auth_hmacsha256_state, key_pointer(key),
                              key.size());
}

HmacSha256Key::~HmacSha256Key() { sodium_memzero(&keyed_state(state_), sizeof state_); }
#else
namespace {
EVP_MAC_CTX* keyed_context(const uint8_t* storage) {
  EVP_MAC_CTX* ctx = nullptr;
  std::memcpy(&ctx, storage, sizeof ctx);
  return ctx;
}

template <size_t N>
void hmac_parts(const uint8_t* storage, const BytesView (&parts)[N], uint8_t* out) {
  EVP_MAC_CTX* ctx = keyed_context(storage);
  // A null key restarts the MAC under the key already set.
  bool ok = EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1;
  for (const BytesView part : parts) {
    if (!part.empty()) ok = ok && EVP_MAC_update(ctx, part.data(), part.size()) == 1;
  }
  size_t size = 0;
  check_openssl(ok && EVP_MAC_final(ctx, out, &size, kSha256Size) == 1 && size == kSha256Size);
}
}  // namespace

HmacSha256Key::HmacSha256Key(BytesView key) {
  EVP_MAC_CTX* ctx = take_mac_context();
  std::memcpy(state_, &ctx, sizeof ctx);
  check_openssl(EVP_MAC_init(ctx, key_pointer(key), key.size(), nullptr) == 1);
}

HmacSha256Key::~HmacSha256Key() { return_mac_context(keyed_context(state_)); }
#endif

SecureBytes HmacSha256Key::mac(BytesView data) const {
  SecureBytes out(kSha256Size);
  const BytesView parts[] = {data};
  hmac_parts(state_, parts, out.data());
  return out;
}

Result<SecureBytes> HmacSha256Key::expand(BytesView info, size_t length) const {
  if (length > 255 * kSha256Size) {
    return Error(Errc::invalid_argument, "HKDF-Expand length over 255 * HashLen");
  }
  SecureBytes out(length);
  uint8_t block[kSha256Size];  // T(i)
  size_t previous = 0;         // T(0) is empty
  size_t done = 0;
  for (uint8_t counter = 1; done < length; ++counter) {
    const BytesView parts[] = {BytesView(block, previous), info, BytesView(&counter, 1)};
    hmac_parts(state_, parts, block);
    previous = kSha256Size;
    const size_t take = std::min(kSha256Size, length - done);
    std::memcpy(out.data() + done, block, take);
    done += take;
  }
  sodium_memzero(block, sizeof block);
  return out;
}

SecureBytes hmac_sha256(BytesView key, BytesView data) { return HmacSha256Key(key).mac(data); }

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
  return HmacSha256Key(prk).expand(info, length);
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
