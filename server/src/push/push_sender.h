// Web Push wake-ups for devices that are offline when a message is queued for them.
//
// The push carries no content: the body is {"t":"sotto"} encrypted for the subscription
// (RFC 8291), so the push service learns only that this device has something waiting, and
// the device fetches over its own connection. Each push is an HTTP POST to the subscription's
// endpoint (RFC 8030) with a VAPID Authorization header (RFC 8292).
//
// Per device at most one push is in flight (further notifications meanwhile are dropped: the
// one in flight already says "you have messages") and at most push.max_per_device_per_minute
// are started. A push that meets a network error, 429 or 5xx is retried with exponential
// backoff a few times; 404 or 410 means the subscription is gone and it is deleted.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "beast.h"
#include "config.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/webpush/webpush.h"

namespace sotto::server {

class ServerState;

struct PushSenderOptions {
  unsigned max_attempts = 4;                      // the first try included
  std::chrono::milliseconds first_backoff{2000};  // doubled after each failed try
  std::chrono::milliseconds max_backoff{60000};   // also caps a push service's Retry-After
  std::chrono::seconds request_timeout{15};       // connect, TLS, write and read together
  std::chrono::seconds ttl{24 * 3600};            // how long the push service may hold it
  std::chrono::seconds vapid_lifetime{12 * 3600};
};

// Where sottod will POST pushes to: an https URL of at most 2048 bytes, or (with
// push.allow_http_endpoints, for tests) an http URL on a loopback address. When sending,
// the endpoint's host must also resolve to public addresses only, so that a client cannot
// aim sottod at its own network; push.allow_http_endpoints lifts that check too.
Result<webpush::EndpointUrl> check_push_endpoint(std::string_view endpoint,
                                                 const PushSettings& settings);

// The server's VAPID key, kept as PEM in `data_dir`/push/vapid.pem (mode 0600); made on
// first start. Browsers bind a subscription to this key, so it must survive restarts.
Result<webpush::P256KeyPair> load_or_create_vapid_key(const std::filesystem::path& data_dir);

// Make it with std::make_shared: deliveries in progress keep it alive.
class PushSender : public std::enable_shared_from_this<PushSender> {
 public:
  PushSender(asio::io_context& io, ServerState& state, webpush::P256KeyPair vapid_key,
             PushSenderOptions options = {});
  PushSender(const PushSender&) = delete;
  PushSender& operator=(const PushSender&) = delete;

  // Wakes the device if it has a push subscription. Cheap and callable from any thread: the
  // lookup and the request happen on the io_context.
  void notify(const Bytes& device_id);

  const Bytes& vapid_public_key() const { return vapid_key_.public_key(); }

 private:
  class Delivery;
  using Clock = std::chrono::steady_clock;

  struct DeviceState {
    bool in_flight = false;
    std::vector<Clock::time_point> started;  // pushes started in the last minute
  };

  // Called by a Delivery when it has finished, whatever the outcome.
  void finished(const Bytes& device_id);
  void forget_idle_devices(Clock::time_point now);

  asio::io_context& io_;
  ServerState& state_;
  const webpush::P256KeyPair vapid_key_;
  const PushSenderOptions options_;
  ssl::context& client_tls();
  std::once_flag tls_once_;
  std::optional<ssl::context> tls_;  // client_tls()
  std::mutex mutex_;
  std::map<Bytes, DeviceState> devices_;
  Clock::time_point last_sweep_{};
};

}  // namespace sotto::server
