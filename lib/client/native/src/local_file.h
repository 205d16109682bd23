// Local file handling shared by the file client (downloads) and the file vault (files kept
// encrypted beside the store): descriptors closed when they go, temporary files that become
// their target only when whole, and the decryption of a checked ciphertext into place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "sotto/client/app_message.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::client::local {

// A local file that cannot be opened or created is the caller's path at fault
// (Errc::invalid_argument); one that fails while it is read or written is not
// (Errc::internal). Both say what the system said (errno).
Error path_error(const std::string& what);
Error io_error(const std::string& what);

// A file descriptor closed when it goes.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1);

 private:
  int fd_;
};

// A temporary file in a directory, deleted when it goes unless linked into place.
class TempFile {
 public:
  static Result<TempFile> create(const std::filesystem::path& dir);
  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile();
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  Result<void> write(BytesView data);
  // Makes the file's content durable and links it at `target`, which must not exist
  // (Errc::already_exists); the temporary name goes away.
  Result<void> link_to(const std::filesystem::path& target);

 private:
  TempFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

// Reads up to `size` bytes (0 at the end), retrying on EINTR.
Result<size_t> read_some(int fd, uint8_t* data, size_t size, const std::string& what);

// What saving `file` at `output` needs first: a valid FileContent (else
// Errc::invalid_argument) and no file at `output` (else Errc::already_exists). Gives the
// ciphertext's length.
Result<uint64_t> check_output(const FileContent& file, const std::filesystem::path& output);

// Decrypts the ciphertext that `sealed_fd` reads from its start (its length and hash checked
// by the caller) with `file`'s key into a temporary file in `output`'s directory, which
// becomes `output` only when the whole file decrypted to the announced size. Errors:
// Errc::authentication_failed (it does not decrypt, or not to file.size bytes),
// Errc::already_exists, and the file system's.
Result<void> decrypt_into(int sealed_fd, const std::string& what, const FileContent& file,
                          const std::filesystem::path& output);

}  // namespace sotto::client::local
