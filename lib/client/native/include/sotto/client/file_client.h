// The native client's side of the file API (docs/protocol.md, "Files"; the encryption is in
// docs/attachments.md): HTTPS to the same server and with the same pinning as the WebSocket
// transport, authenticated with the device's session token.
//
// An upload reads the file in pieces, encrypts each under a fresh key as it goes and streams
// the ciphertext with its Content-Length computed in advance, hashing what it sends; it gives
// the FileContent that a file message carries. A download streams the ciphertext to a
// temporary file next to the output, checks its length and SHA-256 against the message, only
// then decrypts into a second temporary file, and moves that into place; any failure deletes
// both and leaves no output.
//
// Blocking, one connection per transfer, each step bounded by a timeout: run it on a thread of
// its own when an event loop must keep turning meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "sotto/client/app_message.h"
#include "sotto/client/tls_endpoint.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::client {

// Bytes done of bytes in all (ciphertext bytes sent or received).
using TransferProgress = std::function<void(uint64_t done, uint64_t total)>;

class FileClient {
 public:
  // `session_token` is the raw token of a SessionResponse.
  FileClient(TlsEndpoint endpoint, SecureBytes session_token,
             std::chrono::seconds step_timeout = std::chrono::seconds(60));

  // Encrypts and uploads the regular file at `path`. The FileContent names it by its
  // sanitised last path component, with `media_type`; the caller adds a caption.
  // Errors: Errc::not_found (no such file), Errc::invalid_argument (not a regular file, one
  // that cannot be opened, or a bad media type), Errc::internal (reading failed midway, or the
  // file changed size meanwhile), Errc::too_large (over the server's limit, before anything is
  // sent), the server's refusals (unauthenticated, quota_exceeded, rate_limited, ...) and
  // Errc::unavailable when the server cannot be reached or the connection breaks.
  Result<FileContent> upload(const std::filesystem::path& path, const std::string& media_type,
                             const TransferProgress& progress = {});

  // Downloads, verifies and decrypts `file` into `output`, which must not exist yet
  // (Errc::already_exists), in a directory that exists (else Errc::invalid_argument).
  // Errors: Errc::not_found (the server no longer has the file),
  // Errc::authentication_failed (a length, hash or decryption that does not match: the file
  // was changed), and the upload's connection errors. The output is only ever complete.
  Result<void> download(const FileContent& file, const std::filesystem::path& output,
                        const TransferProgress& progress = {});

 private:
  class Connection;
  TlsEndpoint endpoint_;
  SecureBytes token_;
  std::chrono::seconds step_timeout_;
};

// The size of the regular file at `path` when it can be uploaded; upload()'s errors for a
// missing, irregular or too large file otherwise. (upload() checks again what it opens.)
Result<uint64_t> check_uploadable(const std::filesystem::path& path);

// A media type guessed from a file name's extension (application/octet-stream when unknown).
std::string media_type_for(const std::filesystem::path& path);

}  // namespace sotto::client
