#include "https_client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>

namespace sotto::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

tcp::endpoint loopback(uint16_t port) {
  return tcp::endpoint(asio::ip::make_address("127.0.0.1"), port);
}

template <class Stream>
HttpResponse exchange(Stream& stream, HttpRequest request) {
  if (request.find(http::field::host) == request.end()) request.set(http::field::host, "localhost");
  request.prepare_payload();
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.skip(request.method() == http::verb::head);
  http::read(stream, buffer, parser);
  return parser.release();
}

}  // namespace

HttpResponse https_request(uint16_t port, HttpRequest request) {
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);
  ssl::stream<tcp::socket> stream(ioc, ctx);
  stream.next_layer().connect(loopback(port));
  SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
  stream.handshake(ssl::stream_base::client);
  HttpResponse response = exchange(stream, std::move(request));
  beast::error_code ignored;
  stream.shutdown(ignored);
  return response;
}

HttpResponse plain_http_request(uint16_t port, HttpRequest request) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(loopback(port));
  HttpResponse response = exchange(socket, std::move(request));
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  return response;
}

}  // namespace sotto::testing
