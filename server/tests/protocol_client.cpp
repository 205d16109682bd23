#include "protocol_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <stdexcept>

namespace sotto::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct ProtocolClient::Impl {
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  websocket::stream<ssl::stream<tcp::socket>> ws{ioc, ctx};

  // One read with a deadline: the io_context runs until the read completes or time is up,
  // in which case the connection is torn down (the test failed anyway).
  Result<std::string> read(std::chrono::milliseconds timeout) {
    beast::flat_buffer buffer;
    std::optional<beast::error_code> result;
    ws.async_read(buffer, [&](beast::error_code ec, size_t) { result = ec; });
    ioc.restart();
    ioc.run_for(timeout);
    if (!result) {
      beast::get_lowest_layer(ws).close();
      ioc.restart();
      ioc.run();
      return Error(Errc::unavailable, "connection: timed out");
    }
    if (*result) return Error(Errc::unavailable, "connection: " + result->message());
    return beast::buffers_to_string(buffer.data());
  }
};

ProtocolClient::ProtocolClient(uint16_t port, const std::string& from)
    : impl_(std::make_unique<Impl>()) {
  impl_->ctx.set_verify_mode(ssl::verify_none);
  auto& ws = impl_->ws;
  auto& socket = beast::get_lowest_layer(ws);
  if (!from.empty()) {
    socket.open(tcp::v4());
    socket.bind(tcp::endpoint(asio::ip::make_address(from), 0));
  }
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  SSL_set_tlsext_host_name(ws.next_layer().native_handle(), "localhost");
  ws.next_layer().handshake(ssl::stream_base::client);
  ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
    req.set(beast::http::field::sec_websocket_protocol, "sotto.v1");
  }));
  ws.read_message_max(64 * 1024 * 1024);
  ws.handshake("localhost", "/v1/ws");
  ws.binary(true);
}

ProtocolClient::~ProtocolClient() {
  if (!closed_) {
    beast::error_code ignored;
    beast::get_lowest_layer(impl_->ws).close(ignored);
  }
}

proto::ResponseBody ProtocolClient::request(proto::Request request,
                                            std::chrono::milliseconds timeout) {
  return request_with_id(next_id_, std::move(request), timeout);
}

proto::ResponseBody ProtocolClient::request_with_id(uint64_t request_id, proto::Request request,
                                                    std::chrono::milliseconds timeout) {
  if (request_id >= next_id_) next_id_ = request_id + 1;
  proto::ClientFrame frame{proto::kVersion, request_id, std::move(request)};
  if (!send_raw(proto::encode(frame))) {
    return proto::ErrorResponse{static_cast<uint16_t>(Errc::unavailable),
                                "connection: send failed"};
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto f = read_frame(std::max(left, std::chrono::milliseconds(1)));
    if (!f)
      return proto::ErrorResponse{static_cast<uint16_t>(f.error().code()), f.error().message()};
    if (auto* r = std::get_if<proto::Response>(&f->content)) {
      if (r->request_id == request_id) return std::move(r->body);
      continue;  // an answer to an earlier raw frame
    }
    events_.push_back(std::get<proto::Event>(std::move(f->content)));
  }
}

std::optional<proto::Event> ProtocolClient::next_event(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (events_.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto f = read_frame(left);
    if (!f) return std::nullopt;
    if (auto* e = std::get_if<proto::Event>(&f->content)) events_.push_back(std::move(*e));
  }
  proto::Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

bool ProtocolClient::send_raw(BytesView bytes) {
  beast::error_code ec;
  impl_->ws.write(asio::buffer(bytes.data(), bytes.size()), ec);
  return !ec;
}

Result<proto::ServerFrame> ProtocolClient::read_frame(std::chrono::milliseconds timeout) {
  auto text = impl_->read(timeout);
  if (!text) {
    if (impl_->ws.reason().code != 0 ||
        text.error().message().find("closed") != std::string::npos) {
      closed_ = true;
      close_code_ = impl_->ws.reason().code;
    }
    return std::move(text).error();
  }
  Bytes bytes(text->begin(), text->end());
  return proto::decode_server_frame(bytes, 64 * 1024 * 1024);
}

bool ProtocolClient::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    auto f = read_frame(left);
    if (f) {
      if (auto* e = std::get_if<proto::Event>(&f->content)) events_.push_back(std::move(*e));
      continue;
    }
    if (!closed_) {
      // Any other end of the connection (reset, EOF) counts as closed too.
      closed_ = f.error().message().find("timed out") == std::string::npos;
      if (!closed_) return false;
    }
  }
  return true;
}

Errc error_code(const proto::ResponseBody& body) {
  if (auto* e = std::get_if<proto::ErrorResponse>(&body)) return static_cast<Errc>(e->code);
  return Errc::ok;
}

}  // namespace sotto::testing
