// One WebSocket connection (wss://HOST/v1/ws, subprotocol sotto.v1; or ws:// on the plain
// listener behind a TLS-terminating proxy). Everything runs on the connection's strand;
// send() may be called from any thread. A queue keeps one write in
// flight; a client that lets more than max_send_queue_bytes pile up is disconnected.
//
// Each binary message is one ClientFrame: the session decodes it, checks the request id and
// authentication, and hands the request to its service's handler with a Caller and a Reply;
// the answer comes back to the strand, is encoded as a ServerFrame and queued.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "beast.h"
#include "send_queue.h"
#include "server_state.h"
#include "services/accounts.h"
#include "services/service.h"

namespace sotto::server {

// The protocol side of a connection. The byte stream under the WebSocket (TLS or plain TCP)
// is the subclass's; make_websocket_session() picks it.
class WebSocketSession : public Session, public std::enable_shared_from_this<WebSocketSession> {
 public:
  ~WebSocketSession() override;

  // Completes the upgrade that `request` asked for.
  virtual void run(http::request<http::string_body> request) = 0;

  // Queues one binary message for the client; dropped if the session is not (or no longer)
  // open, since a closing peer will not read it.
  void send(std::shared_ptr<const std::string> message);

  void shutdown() override;

  // Ends the connection's authenticated session (device revoked, account recovered or
  // erased): sends SessionEndedEvent{reason}, then closes. Any thread.
  void end_session(Errc reason);

 protected:
  WebSocketSession(asio::any_io_executor executor, ConnectionSlot slot, std::string peer_ip);

  // The stream's operations; each completes into the handler named beside it.
  virtual void start_accept(http::request<http::string_body> request) = 0;  // on_accept
  virtual void start_read() = 0;                                            // on_read
  virtual bool got_binary() const = 0;
  virtual void start_write(const std::string& message) = 0;  // on_write
  virtual void start_close(websocket::close_code code) = 0;  // on_close
  virtual void drop_connection() = 0;                        // closes the socket at once

  void register_session();
  void on_accept(beast::error_code ec);
  void on_read(beast::error_code ec, std::size_t bytes);
  void on_write(beast::error_code ec, std::size_t bytes);
  void on_close(beast::error_code ec);

  const Limits& limits() const { return slot_.state().limits(); }
  beast::flat_buffer buffer_;

 private:
  void do_read();
  void on_message();
  void dispatch(proto::ClientFrame frame);
  // Completes one request on the strand: authentication effects, metrics, the answer.
  void finish(uint64_t request_id, proto::RequestType type, std::string_view name,
              std::chrono::steady_clock::time_point start, Result<proto::ResponseBody> result);
  void answer(uint64_t request_id, proto::ResponseBody body);
  void authenticate(const proto::SessionResponse& session);
  void deauthenticate();
  void enqueue(std::shared_ptr<const std::string> message);
  void do_write();
  void close(websocket::close_code code);

  asio::any_io_executor executor_;  // the connection's strand
  ConnectionSlot slot_;
  SendQueue queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool accepted_ = false;
  bool closing_ = false;  // a close frame is sent or waits for the write in flight
  websocket::close_code pending_close_ = websocket::close_code::normal;
  bool close_pending_ = false;

  // Protocol state.
  Caller caller_;
  uint64_t last_request_id_ = 0;
  unsigned bad_frames_ = 0;
  ChallengeState challenges_;
  Bytes token_hash_;         // the authenticated session's, for logout
  uint64_t expires_at_ = 0;  // seconds since the Unix epoch
};

// Takes over a connection whose HTTP upgrade request has been read; per-IP limits count it
// under `client_ip` (per_ip_key() of its address, client_address.h).
std::shared_ptr<WebSocketSession> make_websocket_session(TlsStream&& stream, ConnectionSlot slot,
                                                         std::string client_ip);
std::shared_ptr<WebSocketSession> make_websocket_session(PlainStream&& stream, ConnectionSlot slot,
                                                         std::string client_ip);

}  // namespace sotto::server
