#include "sotto/crypto/aes.h"

#include <string>

#ifndef __EMSCRIPTEN__
#include <openssl/evp.h>
#endif

namespace sotto::crypto {

#ifdef __EMSCRIPTEN__

namespace {
Error unavailable() {
  return Error(Errc::unsupported, "AES-CFB, AES-OCB, AES key wrap and SHA-1 are not available "
                                  "in the browser build");
}
}  // namespace

bool aes_available() { return false; }
Result<Bytes> aes_cfb_encrypt(BytesView, BytesView, BytesView) { return unavailable(); }
Result<SecureBytes> aes_cfb_decrypt(BytesView, BytesView, BytesView) { return unavailable(); }
Result<Bytes> aes_ocb_seal(BytesView, BytesView, BytesView, BytesView) { return unavailable(); }
Result<SecureBytes> aes_ocb_open(BytesView, BytesView, BytesView, BytesView) {
  return unavailable();
}
Result<Bytes> aes_key_wrap(BytesView, BytesView) { return unavailable(); }
Result<SecureBytes> aes_key_unwrap(BytesView, BytesView) { return unavailable(); }
Result<Bytes> sha1(BytesView) { return unavailable(); }

#else

namespace {

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
  CipherCtx() = default;
  CipherCtx(const CipherCtx&) = delete;
  CipherCtx& operator=(const CipherCtx&) = delete;
};

enum class Mode { cfb, ocb, wrap };

// The cipher for a mode and a key size, or an error naming the size.
Result<const EVP_CIPHER*> cipher_for(Mode mode, size_t key_size) {
  const EVP_CIPHER* c = nullptr;
  switch (key_size) {
    case 16:
      c = mode == Mode::cfb ? EVP_aes_128_cfb128() : mode == Mode::ocb ? EVP_aes_128_ocb()
                                                                       : EVP_aes_128_wrap();
      break;
    case 24:
      c = mode == Mode::cfb ? EVP_aes_192_cfb128() : mode == Mode::ocb ? EVP_aes_192_ocb()
                                                                       : EVP_aes_192_wrap();
      break;
    case 32:
      c = mode == Mode::cfb ? EVP_aes_256_cfb128() : mode == Mode::ocb ? EVP_aes_256_ocb()
                                                                       : EVP_aes_256_wrap();
      break;
    default:
      return Error(Errc::invalid_argument,
                   "an AES key must be 16, 24 or 32 bytes, not " + std::to_string(key_size));
  }
  if (c == nullptr) return Error(Errc::unsupported, "this OpenSSL lacks the AES mode");
  return c;
}

int as_int(size_t n) { return static_cast<int>(n); }

// Inputs over INT_MAX do not fit OpenSSL's length type; nothing in OpenPGP needs them.
Result<void> check_length(size_t n) {
  if (n > (1u << 30)) return Error(Errc::invalid_argument, "AES input over 1 GiB");
  return success();
}

template <class Out>
Result<Out> cfb(bool encrypt, BytesView key, BytesView iv, BytesView in) {
  SOTTO_TRY_ASSIGN(const EVP_CIPHER* cipher, cipher_for(Mode::cfb, key.size()));
  if (iv.size() != kAesBlockSize) {
    return Error(Errc::invalid_argument, "an AES-CFB IV must be 16 bytes");
  }
  SOTTO_TRY(check_length(in.size()));
  CipherCtx c;
  Out out(in.size());
  int len = 0;
  int final_len = 0;
  if (c.ctx == nullptr ||
      EVP_CipherInit_ex(c.ctx, cipher, nullptr, key.data(), iv.data(), encrypt ? 1 : 0) != 1 ||
      (!in.empty() &&
       EVP_CipherUpdate(c.ctx, out.data(), &len, in.data(), as_int(in.size())) != 1) ||
      EVP_CipherFinal_ex(c.ctx, out.data() + len, &final_len) != 1 ||
      static_cast<size_t>(len + final_len) != in.size()) {
    return Error(Errc::crypto_failure, "AES-CFB failed");
  }
  return out;
}

Result<void> check_ocb_nonce(BytesView nonce) {
  if (nonce.empty() || nonce.size() > 15) {
    return Error(Errc::invalid_argument, "an AES-OCB nonce must be 1 to 15 bytes, not " +
                                             std::to_string(nonce.size()));
  }
  return success();
}

// Sets cipher, nonce length and key: the common start of sealing and opening.
bool ocb_init(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* cipher, bool encrypt, BytesView key,
              BytesView nonce) {
  return EVP_CipherInit_ex(ctx, cipher, nullptr, nullptr, nullptr, encrypt ? 1 : 0) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, as_int(nonce.size()), nullptr) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kOcbTagSize, nullptr) == 1 &&
         EVP_CipherInit_ex(ctx, nullptr, nullptr, key.data(), nonce.data(), encrypt ? 1 : 0) == 1;
}

}  // namespace

bool aes_available() { return true; }

Result<Bytes> aes_cfb_encrypt(BytesView key, BytesView iv, BytesView plaintext) {
  return cfb<Bytes>(true, key, iv, plaintext);
}

Result<SecureBytes> aes_cfb_decrypt(BytesView key, BytesView iv, BytesView ciphertext) {
  return cfb<SecureBytes>(false, key, iv, ciphertext);
}

Result<Bytes> aes_ocb_seal(BytesView key, BytesView nonce, BytesView aad, BytesView plaintext) {
  SOTTO_TRY_ASSIGN(const EVP_CIPHER* cipher, cipher_for(Mode::ocb, key.size()));
  SOTTO_TRY(check_ocb_nonce(nonce));
  SOTTO_TRY(check_length(plaintext.size()));
  SOTTO_TRY(check_length(aad.size()));
  CipherCtx c;
  Bytes out(plaintext.size() + kOcbTagSize);
  int len = 0;
  size_t done = 0;
  bool ok = c.ctx != nullptr && ocb_init(c.ctx, cipher, true, key, nonce);
  ok = ok && (aad.empty() ||
              EVP_EncryptUpdate(c.ctx, nullptr, &len, aad.data(), as_int(aad.size())) == 1);
  if (ok && !plaintext.empty()) {
    ok = EVP_EncryptUpdate(c.ctx, out.data(), &len, plaintext.data(),
                           as_int(plaintext.size())) == 1;
    done += static_cast<size_t>(len);
  }
  ok = ok && EVP_EncryptFinal_ex(c.ctx, out.data() + done, &len) == 1;
  done += static_cast<size_t>(ok ? len : 0);
  ok = ok && done == plaintext.size() &&
       EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_AEAD_GET_TAG, kOcbTagSize, out.data() + done) == 1;
  if (!ok) return Error(Errc::crypto_failure, "AES-OCB encryption failed");
  return out;
}

Result<SecureBytes> aes_ocb_open(BytesView key, BytesView nonce, BytesView aad,
                                 BytesView ciphertext) {
  SOTTO_TRY_ASSIGN(const EVP_CIPHER* cipher, cipher_for(Mode::ocb, key.size()));
  SOTTO_TRY(check_ocb_nonce(nonce));
  SOTTO_TRY(check_length(ciphertext.size()));
  SOTTO_TRY(check_length(aad.size()));
  if (ciphertext.size() < kOcbTagSize) {
    return Error(Errc::authentication_failed, "AES-OCB ciphertext shorter than its tag");
  }
  const size_t pt_size = ciphertext.size() - kOcbTagSize;
  CipherCtx c;
  SecureBytes out(pt_size);
  Bytes tag(ciphertext.begin() + static_cast<std::ptrdiff_t>(pt_size), ciphertext.end());
  int len = 0;
  size_t done = 0;
  bool ok = c.ctx != nullptr && ocb_init(c.ctx, cipher, false, key, nonce) &&
            EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_AEAD_SET_TAG, kOcbTagSize, tag.data()) == 1;
  ok = ok && (aad.empty() ||
              EVP_DecryptUpdate(c.ctx, nullptr, &len, aad.data(), as_int(aad.size())) == 1);
  if (ok && pt_size > 0) {
    ok = EVP_DecryptUpdate(c.ctx, out.data(), &len, ciphertext.data(), as_int(pt_size)) == 1;
    done += static_cast<size_t>(len);
  }
  if (!ok) return Error(Errc::crypto_failure, "AES-OCB decryption failed");
  // The final step compares the tag (CRYPTO_memcmp: constant time).
  if (EVP_DecryptFinal_ex(c.ctx, out.data() + done, &len) != 1 ||
      done + static_cast<size_t>(len) != pt_size) {
    return Error(Errc::authentication_failed, "AES-OCB tag does not verify");
  }
  return out;
}

Result<Bytes> aes_key_wrap(BytesView kek, BytesView key) {
  SOTTO_TRY_ASSIGN(const EVP_CIPHER* cipher, cipher_for(Mode::wrap, kek.size()));
  if (key.size() < 16 || key.size() % 8 != 0 || key.size() > 4096) {
    return Error(Errc::invalid_argument, "AES key wrap takes 16 to 4096 bytes in steps of 8");
  }
  CipherCtx c;
  Bytes out(key.size() + 8);
  int len = 0;
  if (c.ctx == nullptr) return Error(Errc::crypto_failure, "AES key wrap failed");
  EVP_CIPHER_CTX_set_flags(c.ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_EncryptInit_ex(c.ctx, cipher, nullptr, kek.data(), nullptr) != 1 ||
      EVP_EncryptUpdate(c.ctx, out.data(), &len, key.data(), as_int(key.size())) != 1 ||
      static_cast<size_t>(len) != out.size()) {
    return Error(Errc::crypto_failure, "AES key wrap failed");
  }
  return out;
}

Result<SecureBytes> aes_key_unwrap(BytesView kek, BytesView wrapped) {
  SOTTO_TRY_ASSIGN(const EVP_CIPHER* cipher, cipher_for(Mode::wrap, kek.size()));
  if (wrapped.size() < 24 || wrapped.size() % 8 != 0 || wrapped.size() > 4104) {
    return Error(Errc::invalid_argument,
                 "wrapped keys are 24 to 4104 bytes in steps of 8, not " +
                     std::to_string(wrapped.size()));
  }
  CipherCtx c;
  SecureBytes out(wrapped.size() - 8);
  int len = 0;
  if (c.ctx == nullptr) return Error(Errc::crypto_failure, "AES key unwrap failed");
  EVP_CIPHER_CTX_set_flags(c.ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_DecryptInit_ex(c.ctx, cipher, nullptr, kek.data(), nullptr) != 1) {
    return Error(Errc::crypto_failure, "AES key unwrap failed");
  }
  // OpenSSL checks the integrity value with CRYPTO_memcmp (constant time).
  if (EVP_DecryptUpdate(c.ctx, out.data(), &len, wrapped.data(), as_int(wrapped.size())) != 1 ||
      static_cast<size_t>(len) != out.size()) {
    return Error(Errc::authentication_failed, "AES key unwrap: the integrity check failed");
  }
  return out;
}

Result<Bytes> sha1(BytesView data) {
  Bytes out(kSha1Size);
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha1(), nullptr) != 1 ||
      size != kSha1Size) {
    return Error(Errc::crypto_failure, "SHA-1 failed");
  }
  return out;
}

#endif

}  // namespace sotto::crypto
