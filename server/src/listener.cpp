#include "listener.h"

#include <spdlog/spdlog.h>

#include "http_session.h"

namespace sotto::server {

Listener::Listener(asio::io_context& ioc, ssl::context* tls, std::shared_ptr<ServerState> state)
    : ioc_(ioc), tls_(tls), state_(std::move(state)), acceptor_(asio::make_strand(ioc)) {}

Result<void> Listener::open(const tcp::endpoint& endpoint) {
  beast::error_code ec;
  auto fail = [&](const char* what) {
    return Error(Errc::internal, std::string("cannot ") + what + " " +
                                     endpoint.address().to_string() + ":" +
                                     std::to_string(endpoint.port()) + ": " + ec.message());
  };
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR on");
  acceptor_.bind(endpoint, ec);
  if (ec) return fail("listen on");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  return success();
}

tcp::endpoint Listener::local_endpoint() const {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Listener::run() {
  asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void Listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

void Listener::do_accept() {
  // Each connection gets its own strand.
  acceptor_.async_accept(asio::make_strand(ioc_),
                         beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;  // stopped
  if (ec) {
    // Out of file descriptors and the like: log, and keep accepting.
    spdlog::warn("accept failed: {}", ec.message());
  } else if (static_cast<std::size_t>(state_->metrics().connections.load()) >=
             state_->limits().max_connections) {
    state_->metrics().connections_rejected.fetch_add(1);
    spdlog::debug("refused a connection: max_connections ({}) reached",
                  state_->limits().max_connections);
    beast::error_code ignored;
    socket.close(ignored);
  } else {
    if (spdlog::should_log(spdlog::level::debug)) {
      beast::error_code peer_ec;
      auto peer = socket.remote_endpoint(peer_ec);
      if (!peer_ec) {
        spdlog::debug("accepted a connection from {}:{}", peer.address().to_string(), peer.port());
      }
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (std::size_t bytes = state_->limits().socket_send_buffer_bytes; bytes > 0) {
      // Fixing it turns the kernel's autotuning off for this socket: what a client leaves
      // unread then piles up in the session's send queue, where max_send_queue_bytes sees it.
      socket.set_option(asio::socket_base::send_buffer_size(static_cast<int>(bytes)), ec);
    }
    if (tls_) {
      std::make_shared<HttpSession<TlsStream>>(TlsStream(std::move(socket), *tls_),
                                               ConnectionSlot(state_))
          ->run();
    } else {
      std::make_shared<HttpSession<PlainStream>>(PlainStream(std::move(socket)),
                                                 ConnectionSlot(state_))
          ->run();
    }
  }
  do_accept();
}

}  // namespace sotto::server
