// One sottod: the TLS context, the listener and the io_context run by `threads` threads,
// with graceful shutdown on SIGTERM and SIGINT.
#pragma once

#include <memory>

#include "config.h"
#include "sotto/core/result.h"
#include "tls.h"

namespace sotto::server {

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads (or makes) the TLS identity and binds the listening socket.
  Result<void> open();
  const TlsIdentity& identity() const;
  std::string bound_host() const;
  uint16_t bound_port() const;

  // Serves until SIGTERM or SIGINT, then closes every session (WebSockets with 1001 going
  // away) and returns once they are gone or after a grace period.
  void run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sotto::server
