#include "client_address.h"

#include <algorithm>

namespace sotto::server {
namespace {

// Longer than any IPv6 address in brackets; what is longer is not one.
constexpr std::size_t kMaxEntry = 64;

beast::string_view trimmed(beast::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string address_text(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

}  // namespace

std::string peer_address(const tcp::socket& socket) {
  beast::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  return ec ? std::string() : address_text(peer.address());
}

std::optional<std::string> last_forwarded_for(const http::fields& headers) {
  std::optional<beast::string_view> last_field;
  for (auto [it, end] = headers.equal_range("X-Forwarded-For"); it != end; ++it) {
    last_field = it->value();
  }
  if (!last_field) return std::nullopt;
  beast::string_view entry = *last_field;
  if (auto comma = entry.rfind(','); comma != beast::string_view::npos) {
    entry.remove_prefix(comma + 1);
  }
  entry = trimmed(entry);
  if (entry.size() > 2 && entry.front() == '[' && entry.back() == ']') {
    entry = entry.substr(1, entry.size() - 2);
  }
  if (entry.empty() || entry.size() > kMaxEntry) return std::nullopt;
  beast::error_code ec;
  auto address = asio::ip::make_address(std::string(entry), ec);
  if (ec) return std::nullopt;
  return address_text(address);
}

std::string per_ip_key(const std::string& address) {
  beast::error_code ec;
  auto parsed = asio::ip::make_address_v6(address, ec);
  if (ec) return address;
  auto bytes = parsed.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace sotto::server
