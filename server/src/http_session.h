// One connection before (or without) a WebSocket upgrade: the TLS handshake (none on the
// plain listener), then HTTP/1.1 requests with keep-alive. Routes: GET /healthz, GET /metrics, the
// file API under /v1/files (files/http_files.h), the web client's session cookie at
// /v1/web-session (web_session.h), and the WebSocket upgrade at /v1/ws; anything else
// is the web client's (http_web.h): its files, its config, or 404.
//
// A request's header is read first; an upload (POST /v1/files) then streams its body to disk
// chunk by chunk under the file limit, every other request reads its body whole under the
// request-body limit.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "beast.h"
#include "http_web.h"
#include "server_state.h"

namespace sotto::server {

namespace files {
struct Upload;
}

// Stream: TlsStream or PlainStream (both instantiated in http_session.cpp).
template <class Stream>
class HttpSession : public Session, public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(Stream&& stream, ConnectionSlot slot);
  ~HttpSession() override;

  void run();
  void shutdown() override;

 private:
  std::shared_ptr<HttpSession> shared() { return this->shared_from_this(); }
  void on_handshake(beast::error_code ec);
  void do_read();
  void on_header(beast::error_code ec, std::size_t bytes);
  // Answers a failed read where an answer helps (too large, malformed), else just ends.
  void on_read_error(beast::error_code ec);
  void on_read(beast::error_code ec, std::size_t bytes);
  void start_upload();
  void read_upload_chunk();
  void on_upload_chunk(beast::error_code ec, std::size_t bytes);
  void upgrade(http::request<http::string_body> request);
  template <class Body>
  void respond(http::response<Body> response);
  // Writes piece by piece so that the idle timeout bounds each piece, not a whole download.
  template <class Body>
  void write_some(std::shared_ptr<http::response<Body>> response,
                  std::shared_ptr<http::response_serializer<Body>> serializer, bool keep_alive);
  void on_write(bool keep_alive, beast::error_code ec, std::size_t bytes);
  void do_close();

  asio::any_io_executor executor_;  // the connection's strand; outlives a moved-out stream_
  Stream stream_;
  std::optional<ConnectionSlot> slot_;  // empty once handed to a WebSocket session
  ServerState& state_;
  std::shared_ptr<ServerState> state_owner_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::request_parser<http::buffer_body>> upload_parser_;
  std::unique_ptr<files::Upload> upload_;
  std::vector<uint8_t> upload_buffer_;
  std::shared_ptr<void> response_;  // the response being written
};

// A plain answer (Cache-Control: no-store), with its Content-Length.
http::response<http::string_body> text_response(
    http::status status, unsigned version, std::string body,
    const char* content_type = "text/plain; charset=utf-8");

// The response to a request that is neither a WebSocket upgrade nor for the file API: the
// server's own routes, then the web client's. `over_tls` as for web_route.
WebResponse route(const http::request<http::string_body>& request, ServerState& state,
                  bool over_tls);

}  // namespace sotto::server
