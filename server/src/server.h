// One sottod: the data directory (locked), the store, the key directory, the TLS context,
// the listener and the io_context run by `threads` threads, with graceful shutdown on SIGTERM
// and SIGINT.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "config.h"
#include "sotto/core/result.h"
#include "tls.h"

namespace sotto::store {
class Store;
}

namespace sotto::server {

class KeyDirectory;

// An exclusive flock on DATA_DIR/sottod.lock, held for the object's lifetime, so that two
// servers (or a server and `sottod admin`) never write one data directory at once.
class DataDirLock {
 public:
  // Creates the directory (mode 0700) if needed. Errc::unavailable when another process
  // holds the lock.
  static Result<DataDirLock> acquire(const std::filesystem::path& data_dir);
  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&&) = delete;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// The server's database in `data_dir` (sottod.db), opened with the configured queue limits.
Result<std::unique_ptr<store::Store>> open_store(const Config& config);

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Locks the data directory, opens the store and the key directory, loads (or makes) the
  // TLS identity and binds the listening socket.
  Result<void> open();
  const TlsIdentity& identity() const;
  // What clients pin besides the certificate: the key directory's public keys.
  const KeyDirectory& directory() const;
  std::string bound_host() const;
  uint16_t bound_port() const;
  // The plain (non-TLS) listener's port, when one is configured.
  std::optional<uint16_t> bound_plain_port() const;
  std::string bound_plain_host() const;

  // Serves until SIGTERM or SIGINT, then closes every session (WebSockets with 1001 going
  // away) and returns once they are gone or after a grace period.
  void run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sotto::server
