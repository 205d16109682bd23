#include "web_session.h"

#include <algorithm>
#include <string>

#include "files/http_files.h"
#include "http_web.h"
#include "sotto/core/encoding.h"

namespace sotto::server {
namespace {

// Secure: never sent over plain HTTP. HttpOnly: no script reads it back. SameSite=Strict: no
// request that another site starts carries it. No Domain: this host alone. No Max-Age: a cookie
// of the browser's session, so that no copy of the token outlives it on disk; the page sets it
// again when it authenticates, and the server ends it sooner with its session.
constexpr std::string_view kCookieAttributes = "; Path=/v1/; Secure; HttpOnly; SameSite=Strict";

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 6265 cookie-octet: printable US-ASCII but for white space, '"', ',', ';' and '\'.
bool is_cookie_octet(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

http::response<http::string_body> cookie_response(unsigned version, const std::string& cookie) {
  http::response<http::string_body> res{http::status::no_content, version};
  res.set(http::field::server, kServerHeader);
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::set_cookie, cookie);
  return res;
}

}  // namespace

std::optional<std::vector<std::string_view>> cookie_values(std::string_view header,
                                                           std::string_view name) {
  std::vector<std::string_view> values;
  while (true) {
    auto semicolon = header.find(';');
    std::string_view pair = trim(header.substr(0, semicolon));
    auto equals = pair.find('=');
    if (equals == std::string_view::npos || equals == 0) return std::nullopt;
    std::string_view key = pair.substr(0, equals);
    std::string_view value = pair.substr(equals + 1);
    std::string_view octets = value;
    if (octets.size() >= 2 && octets.front() == '"' && octets.back() == '"') {
      octets = octets.substr(1, octets.size() - 2);
    }
    if (!std::all_of(key.begin(), key.end(), is_token_char) ||
        !std::all_of(octets.begin(), octets.end(), is_cookie_octet)) {
      return std::nullopt;
    }
    if (key == name) values.push_back(value);
    if (semicolon == std::string_view::npos) return values;
    header.remove_prefix(semicolon + 1);
  }
}

std::optional<std::string_view> session_cookie(const http::fields& fields) {
  std::optional<std::string_view> found;
  for (auto [it, end] = fields.equal_range(http::field::cookie); it != end; ++it) {
    auto values = cookie_values(it->value(), kSessionCookie);
    if (!values || values->size() > 1 || (found && !values->empty())) return std::nullopt;
    if (!values->empty()) found = values->front();
  }
  return found;
}

Result<void> check_origin(const http::request_header<>& req, bool required) {
  auto origin = req.find(http::field::origin);
  if (origin == req.end()) {
    if (!required) return success();
    return Error(Errc::forbidden,
                 "this request must carry the Origin header of this server's page");
  }
  if (!origin_matches_host(origin->value(), req[http::field::host])) {
    return Error(Errc::forbidden, "requests from another origin are refused");
  }
  return success();
}

Result<void> check_cookie_request(const http::request_header<>& req) {
  if (auto site = req.find("Sec-Fetch-Site"); site != req.end() && site->value() != "same-origin") {
    return Error(Errc::forbidden, "the session cookie is taken only from this server's own page");
  }
  bool safe = req.method() == http::verb::get || req.method() == http::verb::head;
  return check_origin(req, !safe);
}

http::response<http::string_body> handle_web_session(ServerState& state,
                                                     const http::request_header<>& req) {
  unsigned version = req.version();
  auto method = req.method();
  if (method != http::verb::post && method != http::verb::delete_) {
    return files::method_not_allowed(version, "POST, DELETE");
  }
  if (auto own = check_origin(req, false); !own) return files::error_response(own.error(), version);
  std::string cookie(kSessionCookie);
  if (method == http::verb::delete_) {
    return cookie_response(version, cookie + "=" + std::string(kCookieAttributes) + "; Max-Age=0");
  }
  if (!state.has_store()) {
    return files::error_response(Error(Errc::unavailable, "the server has no storage"), version);
  }
  // As the file API checks it: a token the server knows, of a session that has not ended.
  auto token = files::bearer_token(req);
  if (!token) return files::error_response(token.error(), version);
  if (auto session = files::session_of(state, *token, files::now_ms()); !session) {
    return files::error_response(session.error(), version);
  }
  return cookie_response(version,
                         cookie + "=" + to_base64url(*token) + std::string(kCookieAttributes));
}

}  // namespace sotto::server
