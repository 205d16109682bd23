// The web client's session cookie. POST /v1/web-session, sent with "Authorization: Bearer
// <token>", answers with the cookie sotto_session=<the same token> (Path=/v1/, Secure,
// HttpOnly, SameSite=Strict, no Max-Age: it goes when the browser's session does); the file
// API then takes that cookie where a request has no Authorization header. DELETE
// /v1/web-session clears it. The cookie is the session token and nothing more, so the server
// keeps nothing for it, and logout, revocation, expiry and erasure end it with the session.
//
// A browser adds a cookie to requests that other sites' pages make too; a request that relies
// on the cookie must therefore show that it comes from this server's own page
// (check_cookie_request).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "beast.h"
#include "server_state.h"

namespace sotto::server {

inline constexpr std::string_view kWebSessionPath = "/v1/web-session";
inline constexpr std::string_view kSessionCookie = "sotto_session";

// The values of the cookies named `name` in one Cookie header, in order; nullopt when the
// header is not a cookie list as RFC 6265 (section 4.2.1) has user agents send it: pairs
// name=value (a token, then cookie-octets, optionally in double quotes) separated by ";" and
// optional white space.
std::optional<std::vector<std::string_view>> cookie_values(std::string_view header,
                                                           std::string_view name);

// The session cookie's value among a request's Cookie headers; nullopt when there is none, when
// there is more than one (another path or a parent domain may have planted one), or when a
// Cookie header is malformed.
std::optional<std::string_view> session_cookie(const http::fields& fields);

// An Origin header, when present or `required`, must name the host the request was sent to
// (origin_matches_host); Errc::forbidden otherwise.
Result<void> check_origin(const http::request_header<>& request, bool required);

// A request authenticated by the cookie must come from this server's own page: a
// Sec-Fetch-Site header, if sent, says same-origin; POST, DELETE and any other method that
// changes something carry a matching Origin; GET and HEAD may lack one, but one that is there
// must match. Errc::forbidden otherwise.
Result<void> check_cookie_request(const http::request_header<>& request);

// POST /v1/web-session (sets the cookie) and DELETE /v1/web-session (clears it); 405 for other
// methods. Errors are JSON, as the file API's.
http::response<http::string_body> handle_web_session(ServerState& state,
                                                     const http::request_header<>& request);

}  // namespace sotto::server
