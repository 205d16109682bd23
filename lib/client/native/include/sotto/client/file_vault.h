// Files kept on this device, encrypted, in a directory beside the client's store: the files
// that came in mail (e-mail mode has no server to hold them), and copies of those sent.
//
// Each file is encrypted as an attachment is (docs/attachments.md) under a fresh key and
// named by a random id; the FileContent that keep() gives (id, key, the ciphertext's SHA-256,
// size, name, media type) goes into the store with its message, encrypted there. So the
// directory alone reveals the files' sizes and nothing else; save() checks length and hash
// before it decrypts, and writes the output only when the whole file decrypted.
#pragma once

#include <filesystem>
#include <string>

#include "sotto/client/app_message.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::client {

class FileVault {
 public:
  // The directory is made (owner only) by the first keep().
  explicit FileVault(std::filesystem::path dir) : dir_(std::move(dir)) {}

  const std::filesystem::path& dir() const { return dir_; }

  // Encrypts `data` under a fresh key into a new file, durable when this returns.
  // `name` is sanitised (sanitize_file_name); a media type that is not "type/subtype" becomes
  // application/octet-stream. Errors: Errc::too_large (over kMaxFileBytes), the file
  // system's.
  Result<FileContent> keep(BytesView data, std::string_view name,
                           std::string_view media_type) const;

  // Checks and decrypts `file` into `output`, which must not exist (Errc::already_exists).
  // Errors: Errc::not_found (no such file here), Errc::authentication_failed (its length,
  // hash or decryption does not match the message), the file system's.
  Result<void> save(const FileContent& file, const std::filesystem::path& output) const;

  // Deletes the file; one that is gone already is no error.
  Result<void> remove(const FileContent& file) const;

 private:
  std::filesystem::path path_of(const FileContent& file) const;
  std::filesystem::path dir_;
};

}  // namespace sotto::client
