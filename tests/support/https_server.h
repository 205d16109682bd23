// A small HTTPS server for tests (native only): serves fixed bodies by path on a free loopback
// port with a given certificate, one connection at a time, on a thread of its own; stops when
// the object goes. It records the request targets it was asked for.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sotto::testing {

class HttpsServer {
 public:
  // `bodies`: path (without the query) -> the body of a 200 answer; others get 404.
  HttpsServer(const std::filesystem::path& certificate, const std::filesystem::path& key,
              std::map<std::string, std::string> bodies);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  uint16_t port() const { return port_; }
  // Each request's target (path and query), in order.
  std::vector<std::string> requests() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace sotto::testing
