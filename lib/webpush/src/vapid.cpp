// RFC 8292 VAPID: a JWT (RFC 7519) signed with ES256 (RFC 7515, RFC 7518 section 3.4) that
// names the push service's origin, so that the push service can tie the subscription to the
// application server key it was created with.
#include <string>

#include "sotto/core/encoding.h"
#include "sotto/webpush/webpush.h"

namespace sotto::webpush {
namespace {

constexpr std::string_view kJwtHeader = R"({"typ":"JWT","alg":"ES256"})";

// A JSON string literal. Claims come from configuration and URLs, so quotes, backslashes and
// control characters are escaped rather than trusted.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

Result<std::string> decode_text(std::string_view part, std::string_view what) {
  auto bytes = from_base64url(part);
  if (!bytes.ok()) return std::move(bytes).error().with_context(what);
  return std::string(bytes->begin(), bytes->end());
}

}  // namespace

Result<std::string> vapid_jwt(const P256KeyPair& key, const VapidClaims& claims) {
  if (claims.audience.empty()) return Error(Errc::invalid_argument, "VAPID: no audience");
  if (claims.subject.empty()) return Error(Errc::invalid_argument, "VAPID: no subject");
  std::string body = "{\"aud\":" + json_string(claims.audience) +
                     ",\"exp\":" + std::to_string(claims.expires_at) +
                     ",\"sub\":" + json_string(claims.subject) + "}";
  std::string signing_input =
      to_base64url(as_bytes(kJwtHeader)) + "." + to_base64url(as_bytes(body));
  SOTTO_TRY_ASSIGN(Bytes signature, es256_sign(key, as_bytes(signing_input)));
  return signing_input + "." + to_base64url(signature);
}

Result<std::string> vapid_authorization(const P256KeyPair& key, std::string_view endpoint,
                                        std::string_view subject,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::seconds lifetime) {
  if (lifetime <= std::chrono::seconds(0) || lifetime > kMaxVapidLifetime) {
    return Error(Errc::invalid_argument, "VAPID: a token lives at most 24 hours (RFC 8292)");
  }
  SOTTO_TRY_ASSIGN(EndpointUrl url, parse_endpoint(endpoint));
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  if (seconds.count() < 0) return Error(Errc::invalid_argument, "VAPID: a time before 1970");
  VapidClaims claims{url.origin(), static_cast<uint64_t>((seconds + lifetime).count()),
                     std::string(subject)};
  SOTTO_TRY_ASSIGN(std::string jwt, vapid_jwt(key, claims));
  return "vapid t=" + jwt + ", k=" + to_base64url(key.public_key());
}

Result<VapidCredentials> parse_vapid_authorization(std::string_view header) {
  constexpr std::string_view kScheme = "vapid ";
  if (header.size() < kScheme.size() || header.substr(0, kScheme.size()) != kScheme) {
    return Error(Errc::invalid_value, "VAPID: the Authorization scheme is not vapid");
  }
  VapidCredentials out;
  bool have_key = false;
  std::string_view rest = header.substr(kScheme.size());
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view param = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!param.empty() && param.front() == ' ') param.remove_prefix(1);
    while (!param.empty() && param.back() == ' ') param.remove_suffix(1);
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) {
      return Error(Errc::invalid_value, "VAPID: a parameter without '='");
    }
    std::string_view name = param.substr(0, eq);
    std::string_view value = param.substr(eq + 1);
    if (name == "t" && out.jwt.empty()) {
      out.jwt = std::string(value);
    } else if (name == "k" && !have_key) {
      auto key = from_base64url(value);
      if (!key.ok()) return std::move(key).error().with_context("VAPID: k");
      out.public_key = std::move(key).value();
      have_key = true;
    } else {
      return Error(Errc::invalid_value, "VAPID: an unknown or repeated parameter");
    }
  }
  if (out.jwt.empty() || !have_key) {
    return Error(Errc::invalid_value, "VAPID: t and k are both required");
  }
  SOTTO_TRY_CTX(check_public_key(out.public_key), "VAPID: k");
  return out;
}

Result<VerifiedJwt> verify_vapid_jwt(std::string_view jwt, BytesView public_key) {
  size_t first = jwt.find('.');
  size_t second = first == std::string_view::npos ? first : jwt.find('.', first + 1);
  if (second == std::string_view::npos || jwt.find('.', second + 1) != std::string_view::npos) {
    return Error(Errc::invalid_value, "VAPID: a JWT has three parts");
  }
  auto signature = from_base64url(jwt.substr(second + 1));
  if (!signature.ok()) return std::move(signature).error().with_context("VAPID: signature");
  if (!es256_verify(public_key, as_bytes(jwt.substr(0, second)), *signature)) {
    return Error(Errc::bad_signature, "VAPID: the JWT signature does not verify");
  }
  VerifiedJwt out;
  SOTTO_TRY_ASSIGN(out.header_json, decode_text(jwt.substr(0, first), "VAPID: header"));
  SOTTO_TRY_ASSIGN(out.claims_json,
                   decode_text(jwt.substr(first + 1, second - first - 1), "VAPID: claims"));
  return out;
}

}  // namespace sotto::webpush
