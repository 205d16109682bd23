// The address per-IP rate limits count a connection's client under: the peer's, or behind a
// proxy on the plain listener (plain_forwarded_for), the one the proxy put in X-Forwarded-For.
#pragma once

#include <optional>
#include <string>

#include "beast.h"

namespace sotto::server {

// The peer's address as text; empty when the socket has none (already reset).
std::string peer_address(const tcp::socket& socket);

// The last entry of the last X-Forwarded-For field: the address the nearest proxy appended
// (what the client wrote itself comes before it). Written as sottod writes addresses, an
// IPv4-mapped IPv6 address as IPv4. Nothing when there is no such field or its last entry is
// not an IP address (bare, or IPv6 in brackets).
std::optional<std::string> last_forwarded_for(const http::fields& headers);

// What per-IP limits count an address under: an IPv4 address itself, an IPv6 one by its /64
// ("2001:db8:1:2::/64"), since one host commonly holds a whole /64. Anything else unchanged.
std::string per_ip_key(const std::string& address);

}  // namespace sotto::server
