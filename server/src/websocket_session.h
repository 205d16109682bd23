// One WebSocket connection (wss://HOST/v1/ws, subprotocol sotto.v1). Everything runs on the
// connection's strand; send() may be called from any thread. A queue keeps one write in
// flight; a client that lets more than max_send_queue_bytes pile up is disconnected.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "beast.h"
#include "server_state.h"

namespace sotto::server {

class WebSocketSession : public Session, public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(TlsStream&& stream, ConnectionSlot slot);
  ~WebSocketSession() override;

  // Completes the upgrade that `request` asked for.
  void run(http::request<http::string_body> request);

  // Queues one binary message for the client; dropped if the session is not (or no longer)
  // open, since a closing peer will not read it.
  void send(std::shared_ptr<const std::string> message);

  void shutdown() override;

 private:
  void on_accept(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void on_message();
  void enqueue(std::shared_ptr<const std::string> message);
  void do_write();
  void on_write(beast::error_code ec, std::size_t bytes);
  void close(websocket::close_code code);
  void on_close(beast::error_code ec);

  websocket::stream<TlsStream> ws_;
  ConnectionSlot slot_;
  beast::flat_buffer buffer_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool accepted_ = false;
  bool closing_ = false;  // a close frame is sent or waits for the write in flight
  websocket::close_code pending_close_ = websocket::close_code::normal;
  bool close_pending_ = false;
};

}  // namespace sotto::server
