#include "http_web.h"

#include <boost/asio/ip/address.hpp>

#include "http_session.h"
#include "services/directory.h"
#include "sotto/core/encoding.h"
#include "web_root.h"

namespace sotto::server {
namespace {

// Only what the page needs: its own scripts (and WebAssembly, compiled from them), styles,
// images, and connections back to this server (wss:// to the same host is 'self').
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void set_page_headers(http::fields& fields, bool over_tls) {
  fields.set("Content-Security-Policy", kContentSecurityPolicy);
  fields.set("X-Content-Type-Options", "nosniff");
  fields.set("Referrer-Policy", "no-referrer");
  fields.set("X-Frame-Options", "DENY");
  fields.set("Cross-Origin-Opener-Policy", "same-origin");
  fields.set("Cross-Origin-Resource-Policy", "same-origin");
  fields.set("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
  if (over_tls) fields.set(http::field::strict_transport_security, "max-age=31536000");
}

// If-None-Match: "*", or a list of tags, compared weakly (RFC 9110 13.1.2).
bool none_match(beast::string_view header, beast::string_view etag) {
  return any_list_item(header, [&](beast::string_view tag) {
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    return tag == "*" || tag == etag;
  });
}

StaticResponse file_response(const http::request<http::string_body>& req, const WebFile& file) {
  StaticResponse res{http::status::ok, req.version()};
  res.set(http::field::server, kServerHeader);
  res.set(http::field::etag, file.etag);
  // Hashed names never change content; everything else is checked with its ETag each time.
  res.set(http::field::cache_control,
          file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  auto if_none_match = req.find(http::field::if_none_match);
  if (if_none_match != req.end() && none_match(if_none_match->value(), file.etag)) {
    // No Content-Length: a 304's would have to be the file's, and it has no body.
    res.result(http::status::not_modified);
    return res;
  }
  res.set(http::field::content_type, file.content_type);
  if (req.method() == http::verb::head) {
    res.content_length(file.content.size());
  } else {
    res.body() = {file.content.data(), file.content.size()};
    res.prepare_payload();
  }
  return res;
}

// What the page pins, as `sotto init --directory-key ... --vrf-key ...` does: the key
// directory's public keys in hex, as sottod prints them at start.
http::response<http::string_body> web_config(const http::request<http::string_body>& req,
                                             ServerState& state) {
  if (!state.directory()) {
    return text_response(http::status::service_unavailable, req.version(),
                         "this server has no key directory\n");
  }
  std::string json = "{\"directory_key\":\"" + to_hex(state.directory()->signing_public_key()) +
                     "\",\"vrf_key\":\"" + to_hex(state.directory()->vrf_public_key()) + "\"}";
  return text_response(http::status::ok, req.version(), std::move(json), "application/json");
}

}  // namespace

WebResponse web_route(const http::request<http::string_body>& req, ServerState& state,
                      bool over_tls) {
  beast::string_view target = req.target();
  beast::string_view path = target.substr(0, target.find('?'));
  const WebRoot* root = state.web_root();
  // The raw path, never percent-decoded, is looked up among the clean names the web root
  // holds: "..", "%2e", "%2f", "\\" and "//" match none of them.
  const WebFile* file = root ? root->find(path == "/" ? "/index.html" : path) : nullptr;
  WebResponse out;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = text_response(http::status::method_not_allowed, req.version(), "use GET\n");
    res.set(http::field::allow, "GET, HEAD");
    out = std::move(res);
  } else if (path == kWebConfigPath) {
    out = web_config(req, state);
  } else if (file) {
    out = file_response(req, *file);
  } else if (!root && path == "/") {
    out = text_response(http::status::not_found, req.version(),
                        "no web client is configured on this server (web.root)\n");
  } else {
    out = text_response(http::status::not_found, req.version(), "not found\n");
  }
  std::visit(
      [&](auto& res) {
        set_page_headers(res, over_tls);
        res.keep_alive(req.keep_alive());
      },
      out);
  if (auto* text = std::get_if<http::response<http::string_body>>(&out);
      text && req.method() == http::verb::head) {
    text->body().clear();
    text->prepare_payload();
  }
  return out;
}

namespace {

// "localhost", 127.0.0.0/8 or [::1], with or without a port.
bool is_loopback_authority(std::string_view authority) {
  std::string_view name = authority.substr(0, authority.rfind(':'));
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    name = authority.substr(1, close - 1);
  }
  if (beast::iequals(name, "localhost")) return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(name, ec);
  return !ec && address.is_loopback();
}

}  // namespace

bool origin_matches_host(std::string_view origin, std::string_view host) {
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return false;  // "null", or not an origin at all
  std::string_view scheme = origin.substr(0, scheme_end);
  std::string_view authority = origin.substr(scheme_end + 3);
  if (authority.empty() || host.empty() || authority.find('/') != std::string_view::npos) {
    return false;
  }
  // The page is served over TLS, directly or by a proxy. A page over plain http is another
  // origin (one a network attacker can make up), except on loopback, where browsers treat
  // http as a secure context and a developer may reach the plain listener itself.
  const bool https = beast::iequals(scheme, "https");
  if (!https && !(beast::iequals(scheme, "http") && is_loopback_authority(authority))) {
    return false;
  }
  std::string_view default_port = https ? ":443" : ":80";
  auto without_default_port = [&](std::string_view a) {
    bool has =
        a.size() > default_port.size() && a.substr(a.size() - default_port.size()) == default_port;
    return has ? a.substr(0, a.size() - default_port.size()) : a;
  };
  return beast::iequals(without_default_port(authority), without_default_port(host));
}

}  // namespace sotto::server
