// A synchronous sotto.v1 client for tests: TLS (no pinning: tests compare fingerprints
// themselves), the WebSocket upgrade with the subprotocol, request/response with increasing
// request ids, events, and raw frames of any bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/proto/protocol.h"

namespace sotto::testing {

class ProtocolClient {
 public:
  // Connects to 127.0.0.1:port and upgrades; throws on failure (a test setup error). With
  // `from`, the connection comes from that local address (another of 127.0.0.0/8, to look
  // like another client to per-IP limits).
  explicit ProtocolClient(uint16_t port, const std::string& from = "");
  ~ProtocolClient();
  ProtocolClient(const ProtocolClient&) = delete;
  ProtocolClient& operator=(const ProtocolClient&) = delete;

  // Sends the request with the next request id and waits for its response (events that
  // arrive first are kept for next_event). An ErrorResponse{code = Errc::unavailable,
  // "connection: ..."} when the connection fails or the timeout passes.
  proto::ResponseBody request(proto::Request request,
                              std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // As request() with an explicit request id (to test replays).
  proto::ResponseBody request_with_id(uint64_t request_id, proto::Request request,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(20));

  // The next event (queued or read within `timeout`).
  std::optional<proto::Event> next_event(std::chrono::milliseconds timeout);

  // Raw frames: any bytes as one binary message, and the next server frame.
  bool send_raw(BytesView bytes);
  Result<proto::ServerFrame> read_frame(std::chrono::milliseconds timeout);
  // True once the server closed the connection; the close code (0 if none was read).
  bool closed() const { return closed_; }
  uint16_t close_code() const { return close_code_; }
  // Reads until the server closes (or the timeout); true when it did.
  bool wait_closed(std::chrono::milliseconds timeout);

  uint64_t last_request_id() const { return next_id_ - 1; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::deque<proto::Event> events_;
  uint64_t next_id_ = 1;
  bool closed_ = false;
  uint16_t close_code_ = 0;
};

// The error code of a response, Errc::ok for a success.
Errc error_code(const proto::ResponseBody& body);
// The alternative T of a response, or nullptr.
template <class T>
const T* as(const proto::ResponseBody& body) {
  return std::get_if<T>(&body);
}

}  // namespace sotto::testing
