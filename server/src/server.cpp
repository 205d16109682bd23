#include "server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "beast.h"
#include "files/expiry_sweep.h"
#include "listener.h"
#include "push/push_sender.h"
#include "server_state.h"
#include "services/directory.h"
#include "sotto/store/store.h"
#include "web_root.h"

namespace sotto::server {

namespace {
constexpr auto kShutdownGrace = std::chrono::seconds(3);
constexpr auto kShutdownPoll = std::chrono::milliseconds(20);

// Publishes an empty key directory epoch whenever none was for kt.epoch_interval, so that a
// quiet server's heads do not grow older than clients accept (KeyDirectory::refresh). Runs on
// the io_context; the directory's lock keeps it apart from publishes. Stops rescheduling
// once the server shuts down.
struct HeadRefreshTimer : std::enable_shared_from_this<HeadRefreshTimer> {
  HeadRefreshTimer(asio::io_context& ioc, ServerState& s) : timer(ioc), state(s) {}

  void run() {
    if (state.shutting_down()) return;
    const std::chrono::seconds interval = state.config().kt.epoch_interval;
    std::chrono::milliseconds next = interval;
    auto refreshed = state.directory()->refresh(std::chrono::system_clock::now(), interval);
    if (!refreshed) {
      spdlog::warn("key directory: cannot publish an empty epoch: {}",
                   refreshed.error().to_string());
    } else {
      if (refreshed->published) {
        spdlog::debug("key directory: published empty epoch {}", *refreshed->published);
      }
      next = refreshed->next_due;
    }
    timer.expires_after(next);
    timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->run();
    });
  }

  asio::steady_timer timer;
  ServerState& state;
};

void start_head_refresh(asio::io_context& ioc, ServerState& state) {
  if (!state.directory()) return;
  auto refresher = std::make_shared<HeadRefreshTimer>(ioc, state);
  asio::post(ioc, [refresher] { refresher->run(); });
}
}  // namespace

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

Result<DataDirLock> DataDirLock::acquire(const std::filesystem::path& data_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(data_dir, ec)) {
    fs::create_directories(data_dir, ec);
    if (ec) {
      return Error(Errc::invalid_argument,
                   "cannot create the data directory " + data_dir.string() + ": " + ec.message());
    }
    fs::permissions(data_dir, fs::perms::owner_all, ec);
  }
  fs::path path = data_dir / "sottod.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error(Errc::invalid_argument,
                 "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Error(
        Errc::unavailable,
        "another sottod (or sottod admin) is using the data directory " + data_dir.string());
  }
  return DataDirLock(fd);
}

Result<std::unique_ptr<store::Store>> open_store(const Config& config) {
  store::SqliteOptions options;
  options.path = (config.data_dir / "sottod.db").string();
  options.limits.max_queue_messages = config.delivery.max_queue_messages;
  options.limits.max_queue_bytes = config.delivery.max_queue_bytes;
  auto opened = store::open_sqlite_store(options);
  if (!opened) return std::move(opened).error().with_context("cannot open " + options.path);
  return std::move(*opened);
}

struct Server::Impl {
  explicit Impl(Config c)
      : config(std::move(c)),
        ioc(static_cast<int>(config.threads)),
        tls(ssl::context::tls_server),
        signals(ioc, SIGTERM, SIGINT),
        shutdown_timer(ioc) {}

  void begin_shutdown(int signal_number) {
    spdlog::info("received signal {}: closing {} session(s)", signal_number,
                 state->session_count());
    listener->stop();
    if (plain_listener) plain_listener->stop();
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
  std::optional<DataDirLock> lock;
  asio::io_context ioc;
  ssl::context tls;
  std::shared_ptr<ServerState> state;
  asio::signal_set signals;
  asio::steady_timer shutdown_timer;
  std::chrono::steady_clock::time_point deadline;
  std::shared_ptr<Listener> listener;
  std::shared_ptr<Listener> plain_listener;  // none unless configured
  TlsIdentity identity;
  tcp::endpoint bound;
  tcp::endpoint plain_bound;
};

Server::Server(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Server::~Server() = default;

Result<void> Server::open() {
  // A configured certificate is checked before anything else, so that a bad configuration is
  // reported as such (exit 2) even when the data directory is busy; a self-signed one is
  // made in the data directory, under its lock.
  const bool configured_certificate = !impl_->config.tls_cert.empty();
  if (configured_certificate) {
    SOTTO_TRY_ASSIGN(impl_->identity, load_or_create_identity(impl_->config));
  }
  // Likewise the web root, read once: afterwards no request touches it.
  std::unique_ptr<const WebRoot> web_root;
  if (!impl_->config.web.root.empty()) {
    SOTTO_TRY_ASSIGN(auto loaded, WebRoot::load(impl_->config.web.root));
    spdlog::info("web client: {} files, {} bytes, from {}", loaded.file_count(),
                 loaded.total_bytes(), impl_->config.web.root);
    web_root = std::make_unique<const WebRoot>(std::move(loaded));
  }
  SOTTO_TRY_ASSIGN(auto lock, DataDirLock::acquire(impl_->config.data_dir));
  impl_->lock.emplace(std::move(lock));
  SOTTO_TRY_ASSIGN(auto store, open_store(impl_->config));
  impl_->state = std::make_shared<ServerState>(impl_->config, std::move(store));
  impl_->state->set_web_root(std::move(web_root));
  SOTTO_TRY_ASSIGN(auto directory,
                   KeyDirectory::open(impl_->config.data_dir, impl_->state->store()));
  impl_->state->set_directory(std::move(directory));
  // Offline devices are woken by Web Push; the sender lives as long as the state's callback.
  SOTTO_TRY_ASSIGN(auto vapid, load_or_create_vapid_key(impl_->config.data_dir));
  auto push = std::make_shared<PushSender>(impl_->ioc, *impl_->state, std::move(vapid));
  impl_->state->set_vapid_public_key(push->vapid_public_key());
  impl_->state->on_offline_delivery = [push](const Bytes& device_id) { push->notify(device_id); };
  if (!configured_certificate) {
    SOTTO_TRY_ASSIGN(impl_->identity, load_or_create_identity(impl_->config));
  }
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
  impl_->listener = std::make_shared<Listener>(impl_->ioc, &impl_->tls, impl_->state);
  SOTTO_TRY(impl_->listener->open(tcp::endpoint(address, impl_->config.listen_port)));
  impl_->bound = impl_->listener->local_endpoint();
  if (!impl_->config.plain_listen_host.empty()) {
    // The config accepts only loopback literals here, so no resolving.
    auto plain_address = asio::ip::make_address(impl_->config.plain_listen_host, ec);
    if (ec) return Error(Errc::invalid_argument, "bad plain_listen host");
    impl_->plain_listener = std::make_shared<Listener>(impl_->ioc, nullptr, impl_->state);
    SOTTO_TRY(
        impl_->plain_listener->open(tcp::endpoint(plain_address, impl_->config.plain_listen_port)));
    impl_->plain_bound = impl_->plain_listener->local_endpoint();
  }
  return success();
}

const TlsIdentity& Server::identity() const {
  return impl_->identity;
}

const KeyDirectory& Server::directory() const {
  return *impl_->state->directory();
}

std::string Server::bound_host() const {
  return impl_->config.listen_host;
}

uint16_t Server::bound_port() const {
  return impl_->bound.port();
}

std::string Server::bound_plain_host() const {
  return impl_->config.plain_listen_host;
}

std::optional<uint16_t> Server::bound_plain_port() const {
  if (!impl_->plain_listener) return std::nullopt;
  return impl_->plain_bound.port();
}

void Server::run() {
  impl_->signals.async_wait([this](beast::error_code ec, int signal_number) {
    if (!ec) impl_->begin_shutdown(signal_number);
  });
  impl_->listener->run();
  if (impl_->plain_listener) impl_->plain_listener->run();
  files::start_expiry_sweep(impl_->ioc, *impl_->state);
  start_head_refresh(impl_->ioc, *impl_->state);
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < impl_->config.threads; ++i) {
    threads.emplace_back([this] { impl_->ioc.run(); });
  }
  impl_->ioc.run();
  for (auto& t : threads) t.join();
}

}  // namespace sotto::server
