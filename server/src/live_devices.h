// Which devices have an authenticated WebSocket open on this sottod, so that a queued message
// reaches a live device at once. A device may have several connections (a reconnect racing
// the old one's close); each gets the frame.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sotto/core/bytes.h"

namespace sotto::server {

class WebSocketSession;

class LiveDevices {
 public:
  void add(const Bytes& device_id, const std::shared_ptr<WebSocketSession>& session);
  void remove(const Bytes& device_id, const WebSocketSession* session);

  // Queues `frame` on every open session of the device; false when it has none.
  bool send(const Bytes& device_id, const std::shared_ptr<const std::string>& frame);
  bool is_live(const Bytes& device_id);
  // The device's sessions (to end them when the device is revoked or its account erased).
  std::vector<std::shared_ptr<WebSocketSession>> sessions(const Bytes& device_id);

 private:
  std::mutex mutex_;
  std::map<Bytes, std::vector<std::weak_ptr<WebSocketSession>>> sessions_;
};

}  // namespace sotto::server
