// Push endpoint URLs. A subscription's endpoint comes from a client and is later fetched by
// the server, so the parser accepts only the narrow shape a push service hands out; anything
// unusual (user info, fragments, spaces, percent signs in the host) is refused rather than
// interpreted.
#include <algorithm>
#include <cctype>
#include <string>

#include "sotto/webpush/webpush.h"

namespace sotto::webpush {
namespace {

Error bad_url(const std::string& why) {
  return Error(Errc::invalid_argument, "endpoint: " + why);
}

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
}

// Path and query: RFC 3986 pchar, '/', '?' and '%' escapes; no '#'.
bool is_target_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("-._~!$&'()*+,;=:@/?%").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

Result<EndpointUrl> parse_endpoint(std::string_view url) {
  if (url.size() > kMaxEndpointSize) {
    return bad_url("longer than " + std::to_string(kMaxEndpointSize) + " bytes");
  }
  size_t colon = url.find("://");
  if (colon == std::string_view::npos) return bad_url("not an absolute URL");
  EndpointUrl out;
  out.scheme = lower(url.substr(0, colon));
  if (out.scheme != "https" && out.scheme != "http") return bad_url("the scheme must be https");
  std::string_view rest = url.substr(colon + 3);
  size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return bad_url("user info is not allowed");

  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad_url("an unclosed IPv6 literal");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url("junk after the IPv6 literal");
      port = after.substr(1);
      if (port.empty()) return bad_url("an empty port");
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        })) {
      return bad_url("a bad IPv6 literal");
    }
  } else {
    size_t pc = authority.rfind(':');
    host = authority.substr(0, pc);
    if (pc != std::string_view::npos) {
      port = authority.substr(pc + 1);
      if (port.empty()) return bad_url("an empty port");
    }
    if (host.empty()) return bad_url("no host");
    if (!std::all_of(host.begin(), host.end(), is_host_char) || host.front() == '.' ||
        host.front() == '-' || host.find("..") != std::string_view::npos) {
      return bad_url("a bad host name");
    }
  }
  out.host = lower(host);

  if (port.empty()) {
    out.port = out.https() ? 443 : 80;
  } else {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return bad_url("a bad port");
    }
    unsigned long value = std::stoul(std::string(port));
    if (value == 0 || value > 65535) return bad_url("a port outside 1..65535");
    out.port = static_cast<uint16_t>(value);
  }

  if (!target.empty() && target.front() == '#') return bad_url("a fragment is not allowed");
  if (!std::all_of(target.begin(), target.end(), is_target_char)) {
    return bad_url("the path has a character that is not allowed (space, '#', control, ...)");
  }
  out.target = target.empty() ? "/" : std::string(target);
  if (out.target.front() == '?') out.target.insert(0, "/");
  return out;
}

std::string EndpointUrl::origin() const {
  return scheme + "://" + host_header();
}

std::string EndpointUrl::host_header() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (https() ? 443 : 80)) out += ":" + std::to_string(port);
  return out;
}

bool EndpointUrl::loopback() const {
  // "127.x.example" is a name anyone can point anywhere: only a dotted-quad counts.
  bool ipv4_literal = std::all_of(host.begin(), host.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  });
  return host == "localhost" || host == "::1" || (ipv4_literal && host.rfind("127.", 0) == 0);
}

}  // namespace sotto::webpush
