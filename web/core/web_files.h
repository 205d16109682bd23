// Attachments in the browser (docs/attachments.md). The page reads the file, talks HTTP and
// shows progress; these hold the file's key and do the cryptography, so the key never
// reaches JavaScript. A sealer encrypts a file the page feeds it in pieces and hashes the
// ciphertext as it goes; an opener checks a downloaded blob's length and hash before it
// decrypts a single byte, as the native client does.
//
// Neither throws: a failed step leaves error() non-empty and gives an empty Uint8Array.
#pragma once

#include <emscripten/val.h>

#include <memory>
#include <optional>
#include <string>

#include "sotto/client/app_message.h"
#include "sotto/core/result.h"
#include "sotto/crypto/attachment.h"
#include "sotto/crypto/primitives.h"

namespace sotto::web {

class FileSealer {
 public:
  // `size`: the plaintext's length, which the page must then feed exactly.
  explicit FileSealer(double size);

  std::string error() const { return error_; }
  // The Content-Length of the upload (0 after an error).
  double ciphertext_size() const { return static_cast<double>(ciphertext_size_); }
  // The ciphertext of the next piece of the file (Uint8Array).
  emscripten::val update(const emscripten::val& plaintext);
  // The rest of the ciphertext; the file must have been fed whole.
  emscripten::val finish();

  // What the file message carries once the blob was uploaded as `file_id` (the server's
  // base64url id): Errc::invalid_argument before finish(), for a malformed id, name or type.
  Result<client::FileContent> content(const std::string& file_id, const std::string& name,
                                      const std::string& media_type) const;

 private:
  emscripten::val fail(std::string why);

  std::optional<crypto::AttachmentEncryptor> encryptor_;
  std::unique_ptr<crypto::Sha256> hash_ = std::make_unique<crypto::Sha256>();
  SecureBytes key_;
  uint64_t size_ = 0;
  uint64_t fed_ = 0;
  uint64_t ciphertext_size_ = 0;
  Bytes digest_;  // once finished
  std::string error_;
};

class FileOpener {
 public:
  explicit FileOpener(const Error& error) : error_(error.message()) {}
  explicit FileOpener(const client::FileContent& file);

  std::string error() const { return error_; }
  // Where the blob is: "/v1/files/<id>".
  std::string url() const { return url_; }
  // The blob's length, which follows from the plaintext's.
  double ciphertext_size() const { return static_cast<double>(ciphertext_size_); }
  // Hashes the next piece of the downloaded blob.
  void hash(const emscripten::val& ciphertext);
  // Whether the blob had exactly the announced length and hash (compared in constant
  // time). Only then does decrypt() give anything.
  bool verify();
  // The plaintext of the next piece of the (verified) blob, fed again from the start.
  emscripten::val decrypt(const emscripten::val& ciphertext);
  // The last of the plaintext; an error unless the stream ended and the size is the one
  // announced.
  emscripten::val finish();

 private:
  emscripten::val fail(std::string why);

  std::optional<crypto::AttachmentDecryptor> decryptor_;
  std::unique_ptr<crypto::Sha256> hash_ = std::make_unique<crypto::Sha256>();
  Bytes expected_hash_;
  std::string url_;
  uint64_t size_ = 0;
  uint64_t ciphertext_size_ = 0;
  uint64_t hashed_ = 0;
  uint64_t produced_ = 0;
  bool verified_ = false;
  std::string error_;
};

}  // namespace sotto::web
