// Accepts TCP connections and starts an HttpSession, on its own strand, for each: over TLS,
// or plain when the listener has no TLS context (behind a TLS-terminating proxy). Out of file
// descriptors (or kernel memory), it pauses accepting for a moment rather than spin on a
// connection it cannot take, and says so in the log at most every ten seconds.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
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
  // A failed accept: logged (rate-limited); true when accepting should pause.
  bool on_accept_error(const beast::error_code& ec);

  asio::io_context& ioc_;
  ssl::context* tls_;
  std::shared_ptr<ServerState> state_;
  tcp::acceptor acceptor_;
  asio::steady_timer pause_;  // on the acceptor's strand
  std::chrono::steady_clock::time_point last_warning_{};
  uint64_t failures_unreported_ = 0;
};

}  // namespace sotto::server
