// Encryption of file attachments, sans-IO and streaming: the caller feeds the file in pieces
// of any size and gets ciphertext (or plaintext) back in pieces, so that a file never has to
// sit in memory whole. Built on libsodium's crypto_secretstream_xchacha20poly1305 with a
// fresh 32-byte key per file (docs/attachments.md):
//
//   ciphertext = header (24 bytes) || chunk_1 || ... || chunk_n
//   chunk_i    = secretstream push of kAttachmentChunkSize plaintext bytes (tag MESSAGE),
//                the last one of 0 to kAttachmentChunkSize - 1 bytes (tag FINAL)
//
// so n = floor(size / kAttachmentChunkSize) + 1 and the ciphertext's length follows from the
// plaintext's (attachment_ciphertext_size). The stream's nonces chain from chunk to chunk:
// a reordered, repeated, dropped or changed chunk fails to authenticate, a stream cut short
// has no FINAL chunk, and bytes after the FINAL chunk are refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::crypto {

inline constexpr size_t kAttachmentKeySize = 32;
inline constexpr size_t kAttachmentHeaderSize = 24;
inline constexpr size_t kAttachmentChunkSize = 64 * 1024;  // plaintext bytes per full chunk
inline constexpr size_t kAttachmentChunkOverhead = 17;     // tag byte and Poly1305 MAC

// The ciphertext's length for `plaintext_size` bytes; nullopt when it would overflow.
std::optional<uint64_t> attachment_ciphertext_size(uint64_t plaintext_size);
// The plaintext's length for a well-formed ciphertext of `ciphertext_size` bytes; nullopt
// when no plaintext encrypts to that length.
std::optional<uint64_t> attachment_plaintext_size(uint64_t ciphertext_size);

// A fresh random key for one file.
SecureBytes new_attachment_key();

class AttachmentEncryptor {
 public:
  // Errc::invalid_argument for a key that is not kAttachmentKeySize bytes.
  static Result<AttachmentEncryptor> create(BytesView key);
  ~AttachmentEncryptor();
  AttachmentEncryptor(AttachmentEncryptor&& other) noexcept;
  AttachmentEncryptor& operator=(AttachmentEncryptor&&) = delete;
  AttachmentEncryptor(const AttachmentEncryptor&) = delete;
  AttachmentEncryptor& operator=(const AttachmentEncryptor&) = delete;

  // Appends to `out` the ciphertext of what `plaintext` completes (the header first, on the
  // first call); keeps less than one chunk of plaintext until the next call.
  // Errc::invalid_argument after finish().
  Result<void> update(BytesView plaintext, Bytes& out);
  // Appends the rest: the final chunk (and the header, for an empty file).
  Result<void> finish(Bytes& out);

 private:
  AttachmentEncryptor() = default;
  void emit_header(Bytes& out);
  void push(BytesView chunk, bool final, Bytes& out);

  alignas(16) uint8_t state_[64] = {};
  uint8_t header_[kAttachmentHeaderSize] = {};
  bool header_sent_ = false;
  bool finished_ = false;
  SecureBytes pending_;  // plaintext of the chunk being filled
};

class AttachmentDecryptor {
 public:
  // Errc::invalid_argument for a key that is not kAttachmentKeySize bytes.
  static Result<AttachmentDecryptor> create(BytesView key);
  ~AttachmentDecryptor();
  AttachmentDecryptor(AttachmentDecryptor&& other) noexcept;
  AttachmentDecryptor& operator=(AttachmentDecryptor&&) = delete;
  AttachmentDecryptor(const AttachmentDecryptor&) = delete;
  AttachmentDecryptor& operator=(const AttachmentDecryptor&) = delete;

  // Appends to `out` the plaintext of every full chunk `ciphertext` completes.
  // Errc::authentication_failed for a chunk that does not open: a wrong key, a changed,
  // reordered or repeated chunk, or bytes after the final chunk (which make it too long).
  // After an error the decryptor refuses everything, and what it gave before must be thrown
  // away by the caller.
  Result<void> update(BytesView ciphertext, Bytes& out);
  // The input has ended: appends the final (short) chunk's plaintext. Errc::truncated when
  // the stream stops before its final chunk, or the errors of update().
  Result<void> finish(Bytes& out);

 private:
  AttachmentDecryptor() = default;
  Result<void> open_chunk(BytesView chunk, Bytes& out);

  alignas(16) uint8_t state_[64] = {};
  SecureBytes key_;
  bool started_ = false;  // the header was read
  bool final_seen_ = false;
  bool failed_ = false;
  Bytes pending_;  // ciphertext of the header or chunk being filled
};

}  // namespace sotto::crypto
