// One TLS connection before (or without) a WebSocket upgrade: the TLS handshake, then
// HTTP/1.1 requests with keep-alive. Routes: GET /healthz, GET /metrics, and the WebSocket
// upgrade at /v1/ws; anything else is 404.
#pragma once

#include <memory>
#include <optional>

#include "beast.h"
#include "server_state.h"

namespace sotto::server {

class HttpSession : public Session, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, ssl::context& tls, ConnectionSlot slot);
  ~HttpSession() override;

  void run();
  void shutdown() override;

 private:
  void on_handshake(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void upgrade(http::request<http::string_body> request);
  void respond(http::response<http::string_body> response);
  void on_write(bool keep_alive, beast::error_code ec, std::size_t bytes);
  void do_close();

  asio::any_io_executor executor_;  // the connection's strand; outlives a moved-out stream_
  TlsStream stream_;
  std::optional<ConnectionSlot> slot_;  // empty once handed to a WebSocket session
  ServerState& state_;
  std::shared_ptr<ServerState> state_owner_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<void> response_;  // the response being written
};

// The response to a request that is not a WebSocket upgrade.
http::response<http::string_body> route(const http::request<http::string_body>& request,
                                        ServerState& state);

}  // namespace sotto::server
