#include "server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>
#include <vector>

#include "beast.h"
#include "listener.h"
#include "server_state.h"

namespace sotto::server {

namespace {
constexpr auto kShutdownGrace = std::chrono::seconds(3);
constexpr auto kShutdownPoll = std::chrono::milliseconds(20);
}  // namespace

struct Server::Impl {
  explicit Impl(Config c)
      : config(std::move(c)),
        ioc(static_cast<int>(config.threads)),
        tls(ssl::context::tls_server),
        state(std::make_shared<ServerState>(config.limits)),
        signals(ioc, SIGTERM, SIGINT),
        shutdown_timer(ioc) {}

  void begin_shutdown(int signal_number) {
    spdlog::info("received signal {}: closing {} session(s)", signal_number,
                 state->session_count());
    listener->stop();
    state->begin_shutdown();
    deadline = std::chrono::steady_clock::now() + kShutdownGrace;
    wait_for_sessions();
  }

  // Polls until every session is gone; after the grace period the io_context is stopped and
  // whatever is left is dropped with it.
  void wait_for_sessions() {
    if (state->session_count() == 0 && state->metrics().connections.load() == 0) {
      ioc.stop();
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      spdlog::warn("shutdown: {} session(s) did not close in time", state->session_count());
      ioc.stop();
      return;
    }
    shutdown_timer.expires_after(kShutdownPoll);
    shutdown_timer.async_wait([this](beast::error_code ec) {
      if (!ec) wait_for_sessions();
    });
  }

  Config config;
  asio::io_context ioc;
  ssl::context tls;
  std::shared_ptr<ServerState> state;
  asio::signal_set signals;
  asio::steady_timer shutdown_timer;
  std::chrono::steady_clock::time_point deadline;
  std::shared_ptr<Listener> listener;
  TlsIdentity identity;
  tcp::endpoint bound;
};

Server::Server(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Server::~Server() = default;

Result<void> Server::open() {
  SOTTO_TRY_ASSIGN(impl_->identity, load_or_create_identity(impl_->config));
  SOTTO_TRY(configure_server_context(impl_->tls, impl_->identity));
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->config.listen_host, ec);
  if (ec) {
    // A name such as "localhost": resolve it once, take the first address.
    tcp::resolver resolver(impl_->ioc);
    auto results =
        resolver.resolve(impl_->config.listen_host, std::to_string(impl_->config.listen_port), ec);
    if (ec || results.empty()) {
      return Error(Errc::invalid_argument,
                   "cannot resolve the listen host \"" + impl_->config.listen_host + "\"");
    }
    address = results.begin()->endpoint().address();
  }
  impl_->listener = std::make_shared<Listener>(impl_->ioc, impl_->tls, impl_->state);
  SOTTO_TRY(impl_->listener->open(tcp::endpoint(address, impl_->config.listen_port)));
  impl_->bound = impl_->listener->local_endpoint();
  return success();
}

const TlsIdentity& Server::identity() const {
  return impl_->identity;
}

std::string Server::bound_host() const {
  return impl_->config.listen_host;
}

uint16_t Server::bound_port() const {
  return impl_->bound.port();
}

void Server::run() {
  impl_->signals.async_wait([this](beast::error_code ec, int signal_number) {
    if (!ec) impl_->begin_shutdown(signal_number);
  });
  impl_->listener->run();
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < impl_->config.threads; ++i) {
    threads.emplace_back([this] { impl_->ioc.run(); });
  }
  impl_->ioc.run();
  for (auto& t : threads) t.join();
}

}  // namespace sotto::server
