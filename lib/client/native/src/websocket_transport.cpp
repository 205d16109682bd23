#include "sotto/client/websocket_transport.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <deque>

#include "sotto/proto/protocol.h"
#include "tls_client.h"

namespace sotto::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// One connection attempt and its life. Its handlers hold it alive; `owner_` is cleared when
// the transport lets go, so that late completions tell no one.
class WebSocketTransport::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& ioc, const WebSocketOptions& options, TransportListener* listener)
      : options_(options), listener_(listener), tls_(ssl::context::tls_client), resolver_(ioc) {
    configure_tls_client(tls_, options_);
    ws_.emplace(ioc, tls_);
  }

  void detach() { listener_ = nullptr; }
  bool open() const { return open_; }

  void start() {
    beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(30));
    resolver_.async_resolve(
        options_.host, std::to_string(options_.port),
        [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
          if (ec) return self->fail();
          beast::get_lowest_layer(*self->ws_)
              .async_connect(results, [self](beast::error_code ec2, const tcp::endpoint&) {
                if (ec2) return self->fail();
                self->on_tcp();
              });
        });
  }

  void send(Bytes frame) {
    if (!open_) return;
    writes_.push_back(std::move(frame));
    if (writes_.size() == 1) write_next();
  }

  // Once: a second close while the first waits for the server's answer would start a second
  // close operation, which the WebSocket stream does not allow.
  void close() {
    if (closed_ || closing_) return;
    closing_ = true;
    if (!open_) {
      beast::error_code ignored;
      beast::get_lowest_layer(*ws_).socket().close(ignored);
      return fail();
    }
    ws_->async_close(websocket::close_code::normal,
                     [self = shared_from_this()](beast::error_code) { self->fail(); });
  }

 private:
  void on_tcp() {
    if (!set_server_name(ws_->next_layer().native_handle(), options_)) return fail();
    ws_->next_layer().async_handshake(ssl::stream_base::client,
                                      [self = shared_from_this()](beast::error_code ec) {
                                        if (ec) return self->fail();
                                        self->on_tls();
                                      });
  }

  void on_tls() {
    // The WebSocket layer keeps its own timeouts from here on.
    beast::get_lowest_layer(*ws_).expires_never();
    ws_->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_->set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, std::string(proto::kSubprotocol));
    }));
    ws_->read_message_max(options_.max_frame_bytes);
    ws_->async_handshake(
        response_, options_.name(), options_.path,
        [self = shared_from_this()](beast::error_code ec) {
          if (ec) return self->fail();
          if (self->response_[beast::http::field::sec_websocket_protocol] != proto::kSubprotocol) {
            return self->fail();
          }
          self->ws_->binary(true);
          self->open_ = true;
          if (self->listener_) self->listener_->on_connected();
          self->read();
        });
  }

  void read() {
    ws_->async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->fail();
      if (!self->ws_->got_binary()) return self->fail();  // sotto.v1 has binary frames only
      const auto data = self->buffer_.cdata();
      Bytes frame(static_cast<const uint8_t*>(data.data()),
                  static_cast<const uint8_t*>(data.data()) + data.size());
      self->buffer_.consume(self->buffer_.size());
      if (self->listener_) self->listener_->on_frame(frame);
      if (!self->closed_) self->read();
    });
  }

  void write_next() {
    const Bytes& front = writes_.front();
    ws_->async_write(asio::buffer(front.data(), front.size()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->fail();
                       // A frame may carry a password or a session token.
                       Bytes& written = self->writes_.front();
                       secure_wipe(written.data(), written.capacity());
                       self->writes_.pop_front();
                       if (!self->writes_.empty()) self->write_next();
                     });
  }

  // The end of the connection, reported once; cancelled operations land here too.
  void fail() {
    if (closed_) return;
    closed_ = true;
    open_ = false;
    for (Bytes& frame : writes_) secure_wipe(frame.data(), frame.capacity());
    writes_.clear();
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
    if (listener_) listener_->on_disconnected();
  }

  WebSocketOptions options_;
  TransportListener* listener_;
  ssl::context tls_;
  tcp::resolver resolver_;
  std::optional<websocket::stream<ssl::stream<beast::tcp_stream>>> ws_;
  websocket::response_type response_;
  beast::flat_buffer buffer_;
  std::deque<Bytes> writes_;
  bool open_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

WebSocketTransport::WebSocketTransport(asio::io_context& ioc, WebSocketOptions options)
    : ioc_(ioc), options_(std::move(options)) {}

WebSocketTransport::~WebSocketTransport() {
  if (connection_) {
    connection_->detach();
    connection_->close();
  }
}

void WebSocketTransport::set_listener(TransportListener* listener) {
  listener_ = listener;
  if (connection_ && listener == nullptr) connection_->detach();
}

void WebSocketTransport::connect() {
  if (connection_) {
    connection_->detach();
    connection_->close();
  }
  connection_ = std::make_shared<Connection>(ioc_, options_, listener_);
  connection_->start();
}

void WebSocketTransport::close() {
  if (connection_) connection_->close();
}

bool WebSocketTransport::connected() const {
  return connection_ && connection_->open();
}

void WebSocketTransport::send(Bytes frame) {
  if (connection_) connection_->send(std::move(frame));
}

}  // namespace sotto::client
