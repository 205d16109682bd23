#include "server_state.h"

#include <sstream>
#include <vector>

#include "services/delivery_internal.h"
#include "services/directory.h"
#include "sotto/store/store.h"
#include "web_root.h"

namespace sotto::server {

void RequestMetrics::record(std::string_view request, std::string_view outcome,
                            std::chrono::steady_clock::duration latency) {
  double seconds = std::chrono::duration<double>(latency).count();
  std::lock_guard lock(mutex_);
  ++counts_[{std::string(request), std::string(outcome)}];
  auto& l = latency_[std::string(request)];
  ++l.count;
  l.sum += seconds;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++l.buckets[i];
      break;
    }
  }
}

void RequestMetrics::append_prometheus(std::string& text) const {
  std::ostringstream out;
  std::lock_guard lock(mutex_);
  out << "# HELP sottod_requests_total Protocol requests, by type and outcome (ok or the error "
         "code's name).\n# TYPE sottod_requests_total counter\n";
  for (const auto& [key, n] : counts_) {
    out << "sottod_requests_total{request=\"" << key.first << "\",outcome=\"" << key.second
        << "\"} " << n << '\n';
  }
  out << "# HELP sottod_request_duration_seconds Time from decoding a request to its encoded "
         "answer.\n# TYPE sottod_request_duration_seconds histogram\n";
  for (const auto& [request, l] : latency_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += l.buckets[i];
      out << "sottod_request_duration_seconds_bucket{request=\"" << request << "\",le=\""
          << kBuckets[i] << "\"} " << cumulative << '\n';
    }
    out << "sottod_request_duration_seconds_bucket{request=\"" << request << "\",le=\"+Inf\"} "
        << l.count << '\n';
    out << "sottod_request_duration_seconds_sum{request=\"" << request << "\"} " << l.sum << '\n';
    out << "sottod_request_duration_seconds_count{request=\"" << request << "\"} " << l.count
        << '\n';
  }
  text += out.str();
}

std::string Metrics::to_prometheus() const {
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value,
                    const char* labels = nullptr) {
    if (help) {
      out << "# HELP " << name << ' ' << help << '\n' << "# TYPE " << name << ' ' << type << '\n';
    }
    out << name;
    if (labels) out << '{' << labels << '}';
    out << ' ' << value << '\n';
  };
  metric("sottod_connections", "gauge", "Open client connections (HTTPS and WebSocket).",
         connections.load());
  metric("sottod_websocket_sessions", "gauge", "Open WebSocket sessions.",
         websocket_sessions.load());
  metric("sottod_connections_rejected_total", "counter",
         "Connections refused because max_connections was reached.", connections_rejected.load());
  metric("sottod_http_requests_total", "counter", "HTTP requests read, upgrades included.",
         http_requests.load());
  metric("sottod_websocket_messages_total", "counter", "WebSocket messages, by direction.",
         websocket_messages_in.load(), "direction=\"in\"");
  metric("sottod_websocket_messages_total", "counter", nullptr, websocket_messages_out.load(),
         "direction=\"out\"");
  metric("sottod_websocket_slow_consumer_closes_total", "counter",
         "WebSocket sessions closed because their send queue overflowed.",
         websocket_slow_consumer_closes.load());
  metric("sottod_bad_frames_total", "counter", "Client frames that did not decode.",
         bad_frames.load());
  metric("sottod_pushes_total", "counter", "Web Push wake-ups, by outcome.", pushes_sent.load(),
         "outcome=\"sent\"");
  metric("sottod_pushes_total", "counter", nullptr, pushes_failed.load(), "outcome=\"failed\"");
  metric("sottod_pushes_total", "counter", nullptr, pushes_gone.load(), "outcome=\"gone\"");
  std::string text = out.str();
  requests.append_prometheus(text);
  text += delivery::metrics().to_prometheus();
  return text;
}

ServerState::ServerState(Limits limits)
    : limits_(limits), rate_limiter_(config_.rate_limits), mailer_(make_log_mailer()) {
  config_.limits = limits;
}

ServerState::ServerState(Config config, store::Store* store)
    : limits_(config.limits),
      config_(std::move(config)),
      store_(store),
      rate_limiter_(config_.rate_limits),
      mailer_(make_mailer(config_.smtp)) {}

ServerState::ServerState(Config config, std::unique_ptr<store::Store> store)
    : limits_(config.limits),
      config_(std::move(config)),
      owned_store_(std::move(store)),
      store_(owned_store_.get()),
      rate_limiter_(config_.rate_limits),
      mailer_(make_mailer(config_.smtp)) {}

ServerState::~ServerState() {
  // Finish the slow work first: its completions use the store and the directory.
  slow_pool_.join();
}

void ServerState::set_directory(std::unique_ptr<KeyDirectory> directory) {
  directory_ = std::move(directory);
}

void ServerState::set_web_root(std::unique_ptr<const WebRoot> web_root) {
  web_root_ = std::move(web_root);
}

void ServerState::add(Session* raw, std::weak_ptr<Session> session) {
  {
    std::lock_guard lock(mutex_);
    if (!shutting_down_.load()) {
      sessions_.emplace(raw, std::move(session));
      return;
    }
  }
  if (auto s = session.lock()) s->shutdown();
}

void ServerState::remove(Session* raw) {
  std::lock_guard lock(mutex_);
  sessions_.erase(raw);
}

std::size_t ServerState::session_count() {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void ServerState::begin_shutdown() {
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(mutex_);
    shutting_down_.store(true);
    for (auto& [raw, weak] : sessions_) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) s->shutdown();
}

}  // namespace sotto::server
