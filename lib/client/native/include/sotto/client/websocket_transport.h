// The native Transport: sotto.v1 over a WebSocket over TLS (Boost.Beast), driven by the
// caller's io_context on the caller's thread, the same thread that runs the engine. Writes
// are queued with one in flight; every server message is handed to the listener as it is.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "sotto/client/tls_endpoint.h"
#include "sotto/client/transport.h"

namespace boost::asio {
class io_context;
}

namespace sotto::client {

// The server and what is trusted there (tls_endpoint.h), and the WebSocket's own settings.
struct WebSocketOptions : TlsEndpoint {
  std::string path = "/v1/ws";
  size_t max_frame_bytes = 16 * 1024 * 1024;
};

class WebSocketTransport final : public Transport {
 public:
  WebSocketTransport(boost::asio::io_context& ioc, WebSocketOptions options);
  ~WebSocketTransport() override;
  WebSocketTransport(const WebSocketTransport&) = delete;
  WebSocketTransport& operator=(const WebSocketTransport&) = delete;

  // Who hears about the connection; must outlive the transport or be reset to nullptr.
  void set_listener(TransportListener* listener);
  // Starts connecting; the listener hears on_connected() or on_disconnected() later.
  void connect();
  // Closes the connection (if any); the listener hears on_disconnected().
  void close();
  bool connected() const;

  void send(Bytes frame) override;

 private:
  class Connection;
  boost::asio::io_context& ioc_;
  WebSocketOptions options_;
  TransportListener* listener_ = nullptr;
  std::shared_ptr<Connection> connection_;
};

}  // namespace sotto::client
