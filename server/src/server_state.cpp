#include "server_state.h"

#include <sstream>
#include <vector>

namespace sotto::server {

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
  return out.str();
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
