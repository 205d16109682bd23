#include "sotto/client/invite_link.h"

#include <charconv>

#include "sotto/core/encoding.h"

namespace sotto::client {
namespace {

constexpr std::string_view kScheme = "https://";
constexpr std::string_view kPath = "/invite#";

Error bad(std::string what) { return Error(Errc::invalid_value, "invite link: " + what); }

// Letters, digits, '.' and '-' (a DNS name or an IPv4 address).
bool is_plain_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_ipv6_host(std::string_view host) {
  if (host.size() < 2 || host.size() > 45) return false;
  for (char c : host) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                    c == ':' || c == '.';
    if (!ok) return false;
  }
  return host.find(':') != std::string_view::npos;
}

}  // namespace

bool is_valid_username(std::string_view name) {
  if (name.size() < 3 || name.size() > 32 || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == '-';
    if (!ok) return false;
  }
  return true;
}

bool looks_like_invite_link(std::string_view text) {
  return text.starts_with(kScheme) && text.find("/invite") != std::string_view::npos;
}

Result<std::string> format_invite_link(const InviteLink& link) {
  const bool v6 = link.host.find(':') != std::string::npos;
  if (v6 ? !is_ipv6_host(link.host) : !is_plain_host(link.host)) {
    return Error(Errc::invalid_argument, "not a host name an invite link can carry");
  }
  if (link.port == 0) return Error(Errc::invalid_argument, "port 0");
  if (!is_valid_username(link.username)) return Error(Errc::invalid_argument, "not a username");
  if (link.certificate_sha256.size() != kInvitePinSize ||
      link.directory_key.size() != kInvitePinSize || link.vrf_key.size() != kInvitePinSize) {
    return Error(Errc::invalid_argument, "a pin of the wrong size");
  }
  std::string out(kScheme);
  out += v6 ? "[" + link.host + "]" : link.host;
  if (link.port != 443) out += ":" + std::to_string(link.port);
  Bytes pins = link.certificate_sha256;
  pins.insert(pins.end(), link.directory_key.begin(), link.directory_key.end());
  pins.insert(pins.end(), link.vrf_key.begin(), link.vrf_key.end());
  out += kPath;
  out += "u=" + link.username + "&k=" + to_base64url(pins);
  return out;
}

Result<InviteLink> parse_invite_link(std::string_view text) {
  if (text.size() > kMaxInviteLinkBytes) return bad("too long");
  if (!text.starts_with(kScheme)) return bad("does not start with https://");
  text.remove_prefix(kScheme.size());
  const size_t path = text.find(kPath);
  if (path == std::string_view::npos) return bad("no /invite# after the server");
  std::string_view authority = text.substr(0, path);
  std::string_view fragment = text.substr(path + kPath.size());

  InviteLink link;
  std::string_view port_text;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address without ']'");
    link.host = std::string(authority.substr(1, close - 1));
    if (!is_ipv6_host(link.host)) return bad("not an IPv6 address");
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(":")) return bad("text after the IPv6 address");
      port_text = rest.substr(1);
      if (port_text.empty()) return bad("an empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    link.host = std::string(authority.substr(0, colon));
    if (!is_plain_host(link.host)) return bad("not a host name");
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("an empty port");
    }
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535 || port_text[0] == '0') {
      return bad("not a port number");
    }
    link.port = static_cast<uint16_t>(port);
  }

  bool have_user = false, have_pins = false;
  while (!fragment.empty()) {
    const size_t amp = fragment.find('&');
    std::string_view field = fragment.substr(0, amp);
    fragment = amp == std::string_view::npos ? std::string_view{} : fragment.substr(amp + 1);
    if (amp != std::string_view::npos && fragment.empty()) return bad("a trailing '&'");
    if (field.starts_with("u=") && !have_user) {
      link.username = std::string(field.substr(2));
      if (!is_valid_username(link.username)) return bad("not a username");
      have_user = true;
    } else if (field.starts_with("k=") && !have_pins) {
      auto pins = from_base64url(field.substr(2));
      if (!pins || pins->size() != 3 * kInvitePinSize) return bad("the pins are not 96 bytes");
      const auto at = [&](size_t i) { return pins->begin() + static_cast<std::ptrdiff_t>(i); };
      link.certificate_sha256.assign(at(0), at(kInvitePinSize));
      link.directory_key.assign(at(kInvitePinSize), at(2 * kInvitePinSize));
      link.vrf_key.assign(at(2 * kInvitePinSize), pins->end());
      have_pins = true;
    } else {
      return bad("an unknown or repeated field");
    }
  }
  if (!have_user || !have_pins) return bad("the username or the pins are missing");
  return link;
}

}  // namespace sotto::client
