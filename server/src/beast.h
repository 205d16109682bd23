// The Boost.Beast types sottod's sessions share.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "tls_stream.h"

namespace sotto::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// Asio's TLS stream, for sottod's own connections out (Web Push) and for tests.
using AsioTlsStream = beast::ssl_stream<beast::tcp_stream>;
// The TLS listener's stream is TlsStream (tls_stream.h); the plain listener's, for a
// TLS-terminating proxy on the same host.
using PlainStream = beast::tcp_stream;

// The WebSocket subprotocol of the client-server protocol, version 1.
inline constexpr const char* kSubprotocol = "sotto.v1";
inline constexpr const char* kWebSocketPath = "/v1/ws";
inline constexpr const char* kServerHeader = "sottod";

// Whether an item of a comma-separated header list (white space around items ignored)
// satisfies `matches`.
template <class Predicate>
bool any_list_item(beast::string_view list, Predicate matches) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (matches(item)) return true;
    if (comma == beast::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Errors that end a connection in the ordinary way (peer left, shutdown, timeout): not worth
// more than a debug line.
inline bool is_ordinary_end(const beast::error_code& ec) {
  return ec == asio::error::operation_aborted || ec == beast::error::timeout ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::not_connected ||
         ec == websocket::error::closed || ec == http::error::end_of_stream ||
         ec == ssl::error::stream_truncated;
}

}  // namespace sotto::server
