// The web client over HTTPS: its files from the web root (web_root.h), GET /api/web-config
// (the key directory's public keys, which the page pins as the CLI does), the headers that
// confine the page, and the Origin check that keeps other sites from opening the protocol's
// WebSocket with a user's browser.
#pragma once

#include <string_view>
#include <variant>

#include "beast.h"
#include "server_state.h"

namespace sotto::server {

inline constexpr std::string_view kWebConfigPath = "/api/web-config";

// A file of the web root, sent from memory without a copy: the web root lives as long as the
// server state, which every session holds.
using StaticResponse = http::response<http::span_body<const char>>;
using WebResponse = std::variant<http::response<http::string_body>, StaticResponse>;

// A request that no route of the server's own took: /api/web-config, a file of the web root
// (/ is /index.html), or 404. GET and HEAD only. `over_tls`: the connection is TLS (not the
// plain listener behind a proxy), so Strict-Transport-Security is sent.
WebResponse web_route(const http::request<http::string_body>& request, ServerState& state,
                      bool over_tls);

// Whether a WebSocket upgrade's Origin ("https://host:port") names the authority the request
// was sent to (its Host header). The scheme must be https, or http for a loopback host; a
// default port (":443" for https, ":80" for http) is the same as none; host names compare
// without regard to case.
bool origin_matches_host(std::string_view origin, std::string_view host);

}  // namespace sotto::server
