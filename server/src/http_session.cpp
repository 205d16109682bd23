#include "http_session.h"

#include <spdlog/spdlog.h>

#include "websocket_session.h"

namespace sotto::server {
namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);

http::response<http::string_body> text_response(
    http::status status, unsigned version, std::string body,
    const char* content_type = "text/plain; charset=utf-8") {
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, kServerHeader);
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// Whether the comma-separated Sec-WebSocket-Protocol list offers `wanted`.
bool offers_subprotocol(beast::string_view header, beast::string_view wanted) {
  while (!header.empty()) {
    auto comma = header.find(',');
    auto token = header.substr(0, comma);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (token == wanted) return true;
    if (comma == beast::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

http::response<http::string_body> route(const http::request<http::string_body>& req,
                                        ServerState& state) {
  beast::string_view target = req.target();
  auto query = target.find('?');
  beast::string_view path = target.substr(0, query);
  bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  http::response<http::string_body> res;
  if (path == "/healthz") {
    res = get ? text_response(http::status::ok, req.version(), "ok\n")
              : text_response(http::status::method_not_allowed, req.version(), "use GET\n");
  } else if (path == "/metrics") {
    res = get ? text_response(http::status::ok, req.version(), state.metrics().to_prometheus(),
                              "text/plain; version=0.0.4; charset=utf-8")
              : text_response(http::status::method_not_allowed, req.version(), "use GET\n");
  } else if (path == kWebSocketPath) {
    res = text_response(http::status::upgrade_required, req.version(),
                        "this endpoint is a WebSocket: upgrade with subprotocol sotto.v1\n");
    res.set(http::field::upgrade, "websocket");
  } else {
    res = text_response(http::status::not_found, req.version(), "not found\n");
  }
  if (req.method() == http::verb::head) {
    res.body().clear();
    res.prepare_payload();
  }
  if (res.result() == http::status::method_not_allowed) res.set(http::field::allow, "GET, HEAD");
  res.keep_alive(req.keep_alive());
  return res;
}

HttpSession::HttpSession(tcp::socket&& socket, ssl::context& tls, ConnectionSlot slot)
    : executor_(socket.get_executor()),
      stream_(std::move(socket), tls),
      slot_(std::move(slot)),
      state_(slot_->state()),
      state_owner_(slot_->shared_state()) {}

HttpSession::~HttpSession() {
  state_.remove(this);
}

void HttpSession::run() {
  state_.add(this, weak_from_this());
  // On the connection's strand, like every later operation.
  asio::dispatch(executor_, [self = shared_from_this()] {
    beast::get_lowest_layer(self->stream_).expires_after(kHandshakeTimeout);
    self->stream_.async_handshake(ssl::stream_base::server,
                                  beast::bind_front_handler(&HttpSession::on_handshake, self));
  });
}

void HttpSession::on_handshake(beast::error_code ec) {
  if (ec) {
    // Scanners, plain HTTP on the TLS port, old TLS versions: all end here.
    spdlog::debug("http: TLS handshake failed: {}", ec.message());
    return;
  }
  do_read();
}

void HttpSession::do_read() {
  parser_.emplace();
  parser_->body_limit(state_.limits().max_request_body_bytes);
  parser_->header_limit(16 * 1024);
  beast::get_lowest_layer(stream_).expires_after(state_.limits().idle_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream) return do_close();
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
    state_.metrics().http_requests.fetch_add(1);
    auto res = text_response(http::status::payload_too_large, 11, "request too large\n");
    res.keep_alive(false);
    return respond(std::move(res));
  }
  if (ec) {
    if (is_ordinary_end(ec)) {
      spdlog::debug("http: connection ended: {}", ec.message());
    } else {
      spdlog::debug("http: read failed: {}", ec.message());
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::partial_message && !state_.shutting_down()) {
        auto res = text_response(http::status::bad_request, 11, "malformed request\n");
        res.keep_alive(false);
        return respond(std::move(res));
      }
    }
    return;
  }
  state_.metrics().http_requests.fetch_add(1);
  http::request<http::string_body> req = parser_->release();
  if (websocket::is_upgrade(req)) return upgrade(std::move(req));
  respond(route(req, state_));
}

void HttpSession::upgrade(http::request<http::string_body> req) {
  beast::string_view target = req.target();
  if (target.substr(0, target.find('?')) != kWebSocketPath) {
    auto res = text_response(http::status::not_found, req.version(), "not found\n");
    res.keep_alive(false);
    return respond(std::move(res));
  }
  if (!offers_subprotocol(req[http::field::sec_websocket_protocol], kSubprotocol)) {
    auto res = text_response(http::status::bad_request, req.version(),
                             "WebSocket subprotocol required: send "
                             "\"Sec-WebSocket-Protocol: sotto.v1\"\n");
    res.keep_alive(false);
    return respond(std::move(res));
  }
  if (state_.shutting_down()) {
    auto res = text_response(http::status::service_unavailable, req.version(), "shutting down\n");
    res.keep_alive(false);
    return respond(std::move(res));
  }
  std::make_shared<WebSocketSession>(std::move(stream_), std::move(*slot_))->run(std::move(req));
  slot_.reset();
}

void HttpSession::respond(http::response<http::string_body> response) {
  bool keep_alive = response.keep_alive() && !state_.shutting_down();
  response.keep_alive(keep_alive);
  auto owned = std::make_shared<http::response<http::string_body>>(std::move(response));
  response_ = owned;
  beast::get_lowest_layer(stream_).expires_after(state_.limits().idle_timeout);
  http::async_write(
      stream_, *owned,
      beast::bind_front_handler(&HttpSession::on_write, shared_from_this(), keep_alive));
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec) {
    spdlog::debug("http: write failed: {}", ec.message());
    return;
  }
  if (!keep_alive) return do_close();
  do_read();
}

void HttpSession::do_close() {
  beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
  stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
}

void HttpSession::shutdown() {
  asio::post(executor_, [self = shared_from_this()] {
    if (!self->slot_) return;  // handed over to a WebSocket session, which shuts down itself
    // Waiting for a request, or mid-handshake: cancel. A response being written finishes and
    // then closes, since respond() turns keep-alive off during shutdown.
    if (!self->response_) beast::get_lowest_layer(self->stream_).cancel();
  });
}

}  // namespace sotto::server
