// One HTTP request to a sottod on 127.0.0.1, for tests, each on a fresh connection: over TLS
// (no certificate check: tests compare fingerprints themselves), or in plain text to the plain
// listener.
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>

namespace sotto::testing {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Sets "Host: localhost" unless the request names a host, and the Content-Length; reads the
// response (a HEAD's without a body). Throws on a connection error.
HttpResponse https_request(uint16_t port, HttpRequest request);
HttpResponse plain_http_request(uint16_t port, HttpRequest request);

}  // namespace sotto::testing
