// The witness's file I/O, kept at the edge: whole-file reads, and atomic replacement of the
// state file (a temporary file beside it, fsync, rename, fsync of the directory), so that a
// crash leaves either the old state or the new one, never a torn file.
#pragma once

#include <string>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::witness {

// An exclusive lock on a state file (on FILE.lock beside it), held while it lives, so that two
// processes cannot both cosign from the same state: each could cosign a different fork of the
// head it holds, and the witness would have vouched for both.
class StateLock {
 public:
  // Errc::invalid_argument when another process holds the lock; Errc::internal on I/O errors.
  static Result<StateLock> acquire(const std::string& state_path);
  StateLock(StateLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  StateLock& operator=(StateLock&&) = delete;
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  ~StateLock();

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_;
};

// True when something exists at `path` (a file init must not replace).
bool file_exists(const std::string& path);

// Errc::not_found when the file does not exist; Errc::internal for other I/O failures.
Result<Bytes> read_file(const std::string& path);

// Replaces (or creates) `path` with `contents`, readable by the owner only.
Result<void> write_file_atomic(const std::string& path, BytesView contents);

}  // namespace sotto::witness
