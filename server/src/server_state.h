// What every session of one sottod shares: configuration, storage, the key directory, rate
// limits, the mailer, the pool that runs slow work (password hashing) off the io threads,
// metrics, and the registry of open sessions that graceful shutdown walks.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config.h"
#include "live_devices.h"
#include "services/device_links.h"
#include "services/mailer.h"
#include "services/rate_limit.h"

namespace sotto::store {
class Store;
}

namespace sotto::server {

class KeyDirectory;
class WebRoot;

// Requests by type and outcome, and how long they took (from decoding to the encoded answer).
class RequestMetrics {
 public:
  // Upper bounds of the latency histogram's buckets, in seconds.
  static constexpr std::array<double, 10> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,  0.1,    0.25,  0.5,  1.0};

  void record(std::string_view request, std::string_view outcome,
              std::chrono::steady_clock::duration latency);
  void append_prometheus(std::string& out) const;

 private:
  struct Latency {
    std::array<uint64_t, kBuckets.size()> buckets{};  // not cumulative; summed when printed
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, uint64_t> counts_;
  std::map<std::string, Latency> latency_;
};

struct Metrics {
  std::atomic<int64_t> connections{0};         // gauge: TLS connections open
  std::atomic<int64_t> websocket_sessions{0};  // gauge
  std::atomic<uint64_t> connections_rejected{0};
  std::atomic<uint64_t> http_requests{0};
  std::atomic<uint64_t> websocket_messages_in{0};
  std::atomic<uint64_t> websocket_messages_out{0};
  std::atomic<uint64_t> websocket_slow_consumer_closes{0};
  std::atomic<uint64_t> bad_frames{0};  // client frames that did not decode
  // Web Push wake-ups (push/push_sender.cpp), by outcome.
  std::atomic<uint64_t> pushes_sent{0};    // accepted by the push service (2xx)
  std::atomic<uint64_t> pushes_failed{0};  // refused, or given up on after the retries
  std::atomic<uint64_t> pushes_gone{0};    // 404/410: the subscription was deleted
  RequestMetrics requests;

  // The Prometheus text exposition format, version 0.0.4.
  std::string to_prometheus() const;
};

// A session that graceful shutdown can ask to close. shutdown() may be called from any thread.
class Session {
 public:
  virtual ~Session() = default;
  virtual void shutdown() = 0;
};

class ServerState {
 public:
  // Tests of single services: a store the caller keeps alive, no key directory.
  explicit ServerState(Limits limits);
  ServerState(Config config, store::Store* store);
  // sottod: the state owns its store.
  ServerState(Config config, std::unique_ptr<store::Store> store);
  ~ServerState();
  ServerState(const ServerState&) = delete;
  ServerState& operator=(const ServerState&) = delete;

  const Limits& limits() const { return limits_; }
  const Config& config() const { return config_; }
  Metrics& metrics() { return metrics_; }
  // The server's storage; outlives every session.
  store::Store& store() { return *store_; }
  bool has_store() const { return store_ != nullptr; }
  LiveDevices& live() { return live_; }
  // Called when a message was queued for a device with no live connection (Web Push).
  std::function<void(const Bytes& device_id)> on_offline_delivery;

  // The key directory; null until set (tests of single services run without one).
  KeyDirectory* directory() { return directory_.get(); }
  void set_directory(std::unique_ptr<KeyDirectory> directory);
  // The web client's files; null when web.root is not set.
  const WebRoot* web_root() const { return web_root_.get(); }
  void set_web_root(std::unique_ptr<const WebRoot> web_root);
  RateLimiter& rate_limiter() { return rate_limiter_; }
  LinkSlots& link_slots() { return link_slots_; }
  Mailer& mailer() { return *mailer_; }
  void set_mailer(std::unique_ptr<Mailer> mailer) { mailer_ = std::move(mailer); }
  // Two threads for CPU-heavy work (Argon2id takes tens of milliseconds and 64 MiB): an io
  // thread that hashed a password would stall every connection it serves.
  boost::asio::thread_pool& slow_pool() { return slow_pool_; }
  // The VAPID public key clients subscribe with (empty when push is not set up).
  const Bytes& vapid_public_key() const { return vapid_public_key_; }
  void set_vapid_public_key(Bytes key) { vapid_public_key_ = std::move(key); }

  // Sessions register when they start and unregister in their destructor. A session that
  // registers after shutdown began is asked to shut down at once.
  void add(Session* raw, std::weak_ptr<Session> session);
  void remove(Session* raw);
  std::size_t session_count();

  // Stops new sessions and asks every open one to close (a going-away close for WebSockets).
  void begin_shutdown();
  bool shutting_down() const { return shutting_down_.load(); }

 private:
  Limits limits_;
  Config config_;
  std::unique_ptr<store::Store> owned_store_;
  store::Store* store_ = nullptr;
  std::unique_ptr<KeyDirectory> directory_;
  std::unique_ptr<const WebRoot> web_root_;
  RateLimiter rate_limiter_;
  LinkSlots link_slots_;
  std::unique_ptr<Mailer> mailer_;
  Bytes vapid_public_key_;
  LiveDevices live_;
  Metrics metrics_;
  std::mutex mutex_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
  std::atomic<bool> shutting_down_{false};
  // Last: its threads are joined first, while everything they use still exists.
  boost::asio::thread_pool slow_pool_{2};
};

// One open connection, counted in the connections gauge for as long as it lives; it moves
// from the HTTP session to the WebSocket session on upgrade.
class ConnectionSlot {
 public:
  explicit ConnectionSlot(std::shared_ptr<ServerState> state) : state_(std::move(state)) {
    state_->metrics().connections.fetch_add(1);
  }
  ~ConnectionSlot() {
    if (state_) state_->metrics().connections.fetch_sub(1);
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept = default;
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

  ServerState& state() const { return *state_; }
  const std::shared_ptr<ServerState>& shared_state() const { return state_; }

 private:
  std::shared_ptr<ServerState> state_;
};

}  // namespace sotto::server
