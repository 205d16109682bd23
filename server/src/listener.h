// Accepts TCP connections and starts an HttpSession, on its own strand, for each: over TLS,
// or plain when the listener has no TLS context (behind a TLS-terminating proxy).
#pragma once

#include <memory>

#include "beast.h"
#include "server_state.h"
#include "sotto/core/result.h"

namespace sotto::server {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // `tls` null: a plain listener.
  Listener(asio::io_context& ioc, ssl::context* tls, std::shared_ptr<ServerState> state);

  Result<void> open(const tcp::endpoint& endpoint);
  tcp::endpoint local_endpoint() const;
  void run();
  // Stops accepting; may be called from any thread.
  void stop();

 private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);

  asio::io_context& ioc_;
  ssl::context* tls_;
  std::shared_ptr<ServerState> state_;
  tcp::acceptor acceptor_;
};

}  // namespace sotto::server
