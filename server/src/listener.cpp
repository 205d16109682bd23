#include "listener.h"

#include <spdlog/spdlog.h>

#include <cerrno>

#include "http_session.h"

namespace sotto::server {
namespace {

// While the process (or the system) is out of descriptors, a pending connection makes every
// accept fail at once: accepting again straight away would spin. Closing sessions frees some.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// At most one warning this often, however long descriptors stay short.
constexpr auto kAcceptWarningInterval = std::chrono::seconds(10);

bool out_of_resources(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec == beast::error_code(ENFILE, beast::system_category());
}

}  // namespace

Listener::Listener(asio::io_context& ioc, ssl::context* tls, std::shared_ptr<ServerState> state)
    : ioc_(ioc),
      tls_(tls),
      state_(std::move(state)),
      acceptor_(asio::make_strand(ioc)),
      pause_(acceptor_.get_executor()) {}

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
    self->pause_.cancel();
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
    if (on_accept_error(ec)) {
      pause_.expires_after(kAcceptPause);
      pause_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec && self->acceptor_.is_open()) self->do_accept();
      });
      return;
    }
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

bool Listener::on_accept_error(const beast::error_code& ec) {
  const bool pause = out_of_resources(ec);
  ++failures_unreported_;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_warning_ >= kAcceptWarningInterval) {
    spdlog::warn("accept failed: {}{} ({} failure(s) since the last such warning)", ec.message(),
                 pause ? "; pausing new connections until some close" : "", failures_unreported_);
    last_warning_ = now;
    failures_unreported_ = 0;
  }
  return pause;
}

}  // namespace sotto::server
