// What every session of one sottod shares: limits, metrics, and the registry of open
// sessions that graceful shutdown walks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <functional>

#include "config.h"
#include "live_devices.h"

namespace sotto::store {
class Store;
}

namespace sotto::server {

struct Metrics {
  std::atomic<int64_t> connections{0};         // gauge: TLS connections open
  std::atomic<int64_t> websocket_sessions{0};  // gauge
  std::atomic<uint64_t> connections_rejected{0};
  std::atomic<uint64_t> http_requests{0};
  std::atomic<uint64_t> websocket_messages_in{0};
  std::atomic<uint64_t> websocket_messages_out{0};
  std::atomic<uint64_t> websocket_slow_consumer_closes{0};

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
  explicit ServerState(Limits limits) : limits_(limits) { config_.limits = limits; }
  ServerState(Config config, store::Store* store)
      : limits_(config.limits), config_(std::move(config)), store_(store) {}

  const Limits& limits() const { return limits_; }
  const Config& config() const { return config_; }
  Metrics& metrics() { return metrics_; }
  // The server's storage; outlives every session.
  store::Store& store() { return *store_; }
  LiveDevices& live() { return live_; }
  // Called when a message was queued for a device with no live connection (Web Push).
  std::function<void(const Bytes& device_id)> on_offline_delivery;

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
  store::Store* store_ = nullptr;
  LiveDevices live_;
  Metrics metrics_;
  std::mutex mutex_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
  std::atomic<bool> shutting_down_{false};
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
