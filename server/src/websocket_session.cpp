#include "websocket_session.h"

#include <spdlog/spdlog.h>

namespace sotto::server {

WebSocketSession::WebSocketSession(TlsStream&& stream, ConnectionSlot slot)
    : ws_(std::move(stream)), slot_(std::move(slot)) {
  slot_.state().metrics().websocket_sessions.fetch_add(1);
}

WebSocketSession::~WebSocketSession() {
  slot_.state().remove(this);
  slot_.state().metrics().websocket_sessions.fetch_sub(1);
}

void WebSocketSession::run(http::request<http::string_body> request) {
  const Limits& limits = slot_.state().limits();
  // The HTTP session's deadline no longer applies: the WebSocket timeouts take over, and
  // keep-alive pings tell a live idle client from a dead one.
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeout{};
  timeout.handshake_timeout = std::chrono::seconds(10);  // also bounds the closing handshake
  timeout.idle_timeout = limits.idle_timeout;
  timeout.keep_alive_pings = true;
  ws_.set_option(timeout);
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(http::field::server, kServerHeader);
    res.set(http::field::sec_websocket_protocol, kSubprotocol);
  }));
  ws_.read_message_max(limits.max_message_bytes);
  ws_.auto_fragment(false);
  ws_.binary(true);
  slot_.state().add(this, weak_from_this());
  ws_.async_accept(request,
                   beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
}

void WebSocketSession::on_accept(beast::error_code ec) {
  if (ec) {
    spdlog::debug("websocket: upgrade failed: {}", ec.message());
    return;
  }
  accepted_ = true;
  if (closing_) {
    // shutdown() arrived during the handshake.
    closing_ = false;
    close(websocket::close_code::going_away);
    return;
  }
  do_read();
}

void WebSocketSession::do_read() {
  ws_.async_read(buffer_,
                 beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this()));
}

void WebSocketSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    if (ec == websocket::error::message_too_big) {
      // Beast has already sent close 1009 (message too big) and torn the connection down.
      spdlog::info("websocket: closed a connection whose message exceeded {} bytes",
                   slot_.state().limits().max_message_bytes);
    } else if (is_ordinary_end(ec)) {
      spdlog::debug("websocket: connection ended: {}", ec.message());
    } else {
      spdlog::debug("websocket: read failed: {}", ec.message());
    }
    return;
  }
  if (!ws_.got_binary()) {
    // The protocol is binary; text frames are a client bug or a probe.
    buffer_.consume(buffer_.size());
    close(websocket::close_code::policy_error);
    // Keep reading so that the peer's close reply completes the closing handshake.
    do_read();
    return;
  }
  on_message();
  do_read();
}

// The transport test hook until lib/proto lands: a binary message comes back unchanged. The
// protocol dispatcher will replace this function.
void WebSocketSession::on_message() {
  slot_.state().metrics().websocket_messages_in.fetch_add(1);
  auto message = std::make_shared<const std::string>(beast::buffers_to_string(buffer_.data()));
  buffer_.consume(buffer_.size());
  enqueue(std::move(message));
}

void WebSocketSession::send(std::shared_ptr<const std::string> message) {
  asio::post(ws_.get_executor(), [self = shared_from_this(), m = std::move(message)]() mutable {
    self->enqueue(std::move(m));
  });
}

void WebSocketSession::enqueue(std::shared_ptr<const std::string> message) {
  if (closing_ || !accepted_) return;
  queued_bytes_ += message->size();
  queue_.push_back(std::move(message));
  if (queued_bytes_ > slot_.state().limits().max_send_queue_bytes) {
    // The client does not read fast enough. Queuing more would let one slow client hold the
    // server's memory; a close frame could not be sent behind the stuck write, so drop it.
    slot_.state().metrics().websocket_slow_consumer_closes.fetch_add(1);
    spdlog::info("websocket: closed a connection whose send queue exceeded {} bytes",
                 slot_.state().limits().max_send_queue_bytes);
    closing_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
    return;
  }
  if (!writing_) do_write();
}

void WebSocketSession::do_write() {
  writing_ = true;
  ws_.async_write(asio::buffer(*queue_.front()),
                  beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
}

void WebSocketSession::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (ec) {
    spdlog::debug("websocket: write failed: {}", ec.message());
    return;
  }
  slot_.state().metrics().websocket_messages_out.fetch_add(1);
  queued_bytes_ -= queue_.front()->size();
  queue_.pop_front();
  if (close_pending_) {
    close_pending_ = false;
    queue_.clear();
    queued_bytes_ = 0;
    ws_.async_close(pending_close_,
                    beast::bind_front_handler(&WebSocketSession::on_close, shared_from_this()));
    return;
  }
  if (!queue_.empty()) do_write();
}

void WebSocketSession::close(websocket::close_code code) {
  if (closing_) return;
  closing_ = true;
  if (writing_) {
    // One write at a time, and a close frame is a write: send it after the one in flight.
    close_pending_ = true;
    pending_close_ = code;
    return;
  }
  queue_.clear();
  queued_bytes_ = 0;
  ws_.async_close(code, beast::bind_front_handler(&WebSocketSession::on_close, shared_from_this()));
}

void WebSocketSession::on_close(beast::error_code ec) {
  if (ec && !is_ordinary_end(ec)) spdlog::debug("websocket: close failed: {}", ec.message());
}

void WebSocketSession::shutdown() {
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    if (!self->accepted_) {
      self->closing_ = true;  // on_accept closes once the handshake is done
      return;
    }
    self->close(websocket::close_code::going_away);
  });
}

}  // namespace sotto::server
