#include "http_session.h"

#include <spdlog/spdlog.h>

#include <limits>
#include <type_traits>
#include <variant>

#include "client_address.h"
#include "files/http_files.h"
#include "http_web.h"
#include "web_session.h"
#include "websocket_session.h"

namespace sotto::server {
namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);

}  // namespace

http::response<http::string_body> text_response(http::status status, unsigned version,
                                                std::string body, const char* content_type) {
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, kServerHeader);
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

WebResponse route(const http::request<http::string_body>& req, ServerState& state, bool over_tls) {
  beast::string_view target = req.target();
  auto query = target.find('?');
  beast::string_view path = target.substr(0, query);
  if (path != "/healthz" && path != "/metrics" && path != kWebSocketPath &&
      path != kWebSessionPath) {
    return web_route(req, state, over_tls);
  }
  bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  http::response<http::string_body> res;
  if (path == kWebSessionPath) {
    res = handle_web_session(state, req);
  } else if (path == "/healthz") {
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
  }
  if (req.method() == http::verb::head) {
    res.body().clear();
    res.prepare_payload();
  }
  if (res.result() == http::status::method_not_allowed &&
      res.find(http::field::allow) == res.end()) {
    res.set(http::field::allow, "GET, HEAD");
  }
  res.keep_alive(req.keep_alive());
  return res;
}

template <class Stream>
HttpSession<Stream>::HttpSession(Stream&& stream, ConnectionSlot slot)
    : executor_(stream.get_executor()),
      stream_(std::move(stream)),
      slot_(std::move(slot)),
      state_(slot_->state()),
      state_owner_(slot_->shared_state()) {}

template <class Stream>
HttpSession<Stream>::~HttpSession() {
  state_.remove(this);
}

template <class Stream>
void HttpSession<Stream>::run() {
  state_.add(this, this->weak_from_this());
  // On the connection's strand, like every later operation.
  asio::dispatch(executor_, [self = shared()] {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(self->stream_).expires_after(kHandshakeTimeout);
      self->stream_.async_handshake(ssl::stream_base::server,
                                    beast::bind_front_handler(&HttpSession::on_handshake, self));
    } else {
      self->on_handshake({});
    }
  });
}

template <class Stream>
void HttpSession<Stream>::on_handshake(beast::error_code ec) {
  if (ec) {
    // Scanners, plain HTTP on the TLS port, old TLS versions: all end here.
    spdlog::debug("http: TLS handshake failed: {}", ec.message());
    return;
  }
  do_read();
}

template <class Stream>
template <class Body>
void HttpSession<Stream>::respond(http::response<Body> response) {
  bool keep_alive = response.keep_alive() && !state_.shutting_down();
  response.keep_alive(keep_alive);
  auto owned = std::make_shared<http::response<Body>>(std::move(response));
  auto serializer = std::make_shared<http::response_serializer<Body>>(*owned);
  response_ = owned;
  write_some(std::move(owned), std::move(serializer), keep_alive);
}

template <class Stream>
template <class Body>
void HttpSession<Stream>::write_some(std::shared_ptr<http::response<Body>> response,
                                     std::shared_ptr<http::response_serializer<Body>> serializer,
                                     bool keep_alive) {
  beast::get_lowest_layer(stream_).expires_after(state_.limits().idle_timeout);
  auto& sr = *serializer;
  http::async_write_some(
      stream_, sr,
      [self = shared(), response = std::move(response), serializer = std::move(serializer),
       keep_alive](beast::error_code ec, std::size_t bytes) mutable {
        if (ec || serializer->is_done()) return self->on_write(keep_alive, ec, bytes);
        self->write_some(std::move(response), std::move(serializer), keep_alive);
      });
}

template <class Stream>
void HttpSession<Stream>::do_read() {
  header_parser_.emplace();
  // The body limit depends on the route, known once the header is in (on_header). (Not
  // boost::none: Beast 1.74 compares a Content-Length against an empty limit as "over".)
  header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  header_parser_->header_limit(16 * 1024);
  beast::get_lowest_layer(stream_).expires_after(state_.limits().idle_timeout);
  http::async_read_header(stream_, buffer_, *header_parser_,
                          beast::bind_front_handler(&HttpSession::on_header, shared()));
}

template <class Stream>
void HttpSession<Stream>::on_read_error(beast::error_code ec) {
  if (ec == http::error::end_of_stream) return do_close();
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
    state_.metrics().http_requests.fetch_add(1);
    auto res = text_response(http::status::payload_too_large, 11, "request too large\n");
    res.keep_alive(false);
    return respond(std::move(res));
  }
  if (is_ordinary_end(ec)) {
    spdlog::debug("http: connection ended: {}", ec.message());
    return;
  }
  spdlog::debug("http: read failed: {}", ec.message());
  if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
      ec != http::error::partial_message && !state_.shutting_down()) {
    auto res = text_response(http::status::bad_request, 11, "malformed request\n");
    res.keep_alive(false);
    return respond(std::move(res));
  }
}

template <class Stream>
void HttpSession<Stream>::on_header(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  if (files::is_upload(header_parser_->get())) return start_upload();
  auto declared = header_parser_->content_length();
  if (declared && *declared > state_.limits().max_request_body_bytes) {
    return on_read_error(http::error::body_limit);
  }
  parser_.emplace(std::move(*header_parser_));
  header_parser_.reset();
  parser_->body_limit(state_.limits().max_request_body_bytes);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared()));
}

template <class Stream>
void HttpSession<Stream>::on_read(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  state_.metrics().http_requests.fetch_add(1);
  http::request<http::string_body> req = parser_->release();
  parser_.reset();
  if (websocket::is_upgrade(req)) return upgrade(std::move(req));
  beast::string_view target = req.target();
  if (files::is_file_path(target.substr(0, target.find('?')))) {
    bool keep_alive = req.keep_alive();
    return std::visit(
        [&](auto&& res) {
          res.keep_alive(keep_alive);
          respond(std::move(res));
        },
        files::handle_file_request(state_, req));
  }
  std::visit([&](auto&& res) { respond(std::move(res)); },
             route(req, state_, std::is_same_v<Stream, TlsStream>));
}

template <class Stream>
void HttpSession<Stream>::start_upload() {
  state_.metrics().http_requests.fetch_add(1);
  const auto& header = header_parser_->get();
  std::optional<uint64_t> declared;
  if (auto length = header_parser_->content_length()) declared = *length;
  auto upload = files::begin_upload(state_, header, declared);
  if (!upload) {
    // The body has not been read: the connection cannot carry another request.
    auto res = files::error_response(upload.error(), header.version());
    res.keep_alive(false);
    return respond(std::move(res));
  }
  upload_ = std::make_unique<files::Upload>(std::move(upload).value());
  bool expects_continue = beast::iequals(header[http::field::expect], "100-continue");
  upload_parser_.emplace(std::move(*header_parser_));
  header_parser_.reset();
  upload_parser_->body_limit(state_.config().files.max_file_bytes);
  upload_buffer_.resize(64 * 1024);
  if (!expects_continue) return read_upload_chunk();
  // The client waits for this before sending a large body.
  auto go_on = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
  beast::get_lowest_layer(stream_).expires_after(state_.limits().idle_timeout);
  http::async_write(stream_, *go_on, [self = shared(), go_on](beast::error_code ec, std::size_t) {
    if (ec) {
      self->upload_.reset();
      return;
    }
    self->read_upload_chunk();
  });
}

template <class Stream>
void HttpSession<Stream>::read_upload_chunk() {
  auto& body = upload_parser_->get().body();
  body.data = upload_buffer_.data();
  body.size = upload_buffer_.size();
  body.more = true;
  // Per chunk: a slow but steady upload may take longer than the idle timeout in total.
  beast::get_lowest_layer(stream_).expires_after(state_.limits().idle_timeout);
  http::async_read_some(stream_, buffer_, *upload_parser_,
                        beast::bind_front_handler(&HttpSession::on_upload_chunk, shared()));
}

template <class Stream>
void HttpSession<Stream>::on_upload_chunk(beast::error_code ec, std::size_t) {
  // need_buffer only says that the chunk buffer is full.
  if (ec == http::error::need_buffer) ec = {};
  size_t received = upload_buffer_.size() - upload_parser_->get().body().size;
  unsigned version = upload_parser_->get().version();
  auto fail = [&](const Error& error) {
    upload_.reset();
    upload_parser_.reset();
    auto res = files::error_response(error, version);
    res.keep_alive(false);
    respond(std::move(res));
  };
  if (received > 0 && !ec) {
    if (auto written = upload_->file.write(BytesView(upload_buffer_.data(), received)); !written) {
      if (written.error().code() == Errc::internal) {
        spdlog::error("files: {}", written.error().message());
      }
      return fail(written.error());
    }
  }
  if (ec == http::error::body_limit) {
    return fail(Error(Errc::too_large, "the file is larger than this server's limit of " +
                                           std::to_string(state_.config().files.max_file_bytes) +
                                           " bytes"));
  }
  if (ec) {
    // The client went away or timed out mid-upload: the temporary goes with upload_.
    upload_.reset();
    upload_parser_.reset();
    return on_read_error(ec);
  }
  if (!upload_parser_->is_done()) return read_upload_chunk();
  bool keep_alive = upload_parser_->get().keep_alive();
  auto res = files::finish_upload(state_, *upload_, version);
  upload_.reset();
  upload_parser_.reset();
  res.keep_alive(keep_alive);
  respond(std::move(res));
}

template <class Stream>
void HttpSession<Stream>::upgrade(http::request<http::string_body> req) {
  beast::string_view target = req.target();
  if (target.substr(0, target.find('?')) != kWebSocketPath) {
    auto res = text_response(http::status::not_found, req.version(), "not found\n");
    res.keep_alive(false);
    return respond(std::move(res));
  }
  // A browser names the page that opens the socket; another site's page must not use the
  // user's browser to reach this server. Native clients send no Origin.
  if (auto origin = req.find(http::field::origin);
      origin != req.end() && !origin_matches_host(origin->value(), req[http::field::host])) {
    auto res = text_response(http::status::forbidden, req.version(),
                             "WebSocket upgrades from another origin are refused\n");
    res.keep_alive(false);
    return respond(std::move(res));
  }
  if (!any_list_item(req[http::field::sec_websocket_protocol],
                     [](beast::string_view offered) { return offered == kSubprotocol; })) {
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
  std::string client_ip = peer_address(beast::get_lowest_layer(stream_).socket());
  if constexpr (std::is_same_v<Stream, PlainStream>) {
    if (state_.config().plain_forwarded_for) {
      if (auto forwarded = last_forwarded_for(req)) client_ip = std::move(*forwarded);
    }
  }
  make_websocket_session(std::move(stream_), std::move(*slot_), per_ip_key(client_ip))
      ->run(std::move(req));
  slot_.reset();
}

template <class Stream>
void HttpSession<Stream>::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec) {
    spdlog::debug("http: write failed: {}", ec.message());
    return;
  }
  if (!keep_alive) return do_close();
  do_read();
}

template <class Stream>
void HttpSession<Stream>::do_close() {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared()](beast::error_code) {});
  } else {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
}

template <class Stream>
void HttpSession<Stream>::shutdown() {
  asio::post(executor_, [self = shared()] {
    if (!self->slot_) return;  // handed over to a WebSocket session, which shuts down itself
    // Waiting for a request, or mid-handshake: cancel. A response being written finishes and
    // then closes, since respond() turns keep-alive off during shutdown.
    if (!self->response_) beast::get_lowest_layer(self->stream_).cancel();
  });
}

template class HttpSession<TlsStream>;
template class HttpSession<PlainStream>;

}  // namespace sotto::server
