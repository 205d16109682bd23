#include "live_devices.h"

#include <algorithm>

#include "websocket_session.h"

namespace sotto::server {

void LiveDevices::add(const Bytes& device_id, const std::shared_ptr<WebSocketSession>& session) {
  std::lock_guard lock(mutex_);
  sessions_[device_id].push_back(session);
}

void LiveDevices::remove(const Bytes& device_id, const WebSocketSession* session) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(device_id);
  if (it == sessions_.end()) return;
  auto& list = it->second;
  list.erase(std::remove_if(list.begin(), list.end(),
                            [session](const std::weak_ptr<WebSocketSession>& w) {
                              auto s = w.lock();
                              return !s || s.get() == session;
                            }),
             list.end());
  if (list.empty()) sessions_.erase(it);
}

std::vector<std::shared_ptr<WebSocketSession>> LiveDevices::sessions(const Bytes& device_id) {
  std::vector<std::shared_ptr<WebSocketSession>> out;
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(device_id);
  if (it == sessions_.end()) return out;
  for (const auto& w : it->second) {
    if (auto s = w.lock()) out.push_back(std::move(s));
  }
  return out;
}

bool LiveDevices::send(const Bytes& device_id, const std::shared_ptr<const std::string>& frame) {
  auto list = sessions(device_id);
  for (const auto& s : list) s->send(frame);
  return !list.empty();
}

bool LiveDevices::is_live(const Bytes& device_id) {
  return !sessions(device_id).empty();
}

}  // namespace sotto::server
