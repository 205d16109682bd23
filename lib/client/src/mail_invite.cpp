#include "sotto/client/mail_invite.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "sotto/core/encoding.h"

namespace sotto::client {

namespace {

constexpr std::string_view kHttpsPrefix = "https://i.delta.chat/#";
constexpr std::string_view kOpenPgpPrefix = "OPENPGP4FPR:";
constexpr size_t kMaxLink = 4096;

bool unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<std::string> percent_decode(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '+') {
      out.push_back(' ');
    } else if (value[i] != '%') {
      out.push_back(value[i]);
    } else {
      const int hi = i + 2 < value.size() ? hex_digit_value(value[i + 1]) : -1;
      const int lo = i + 2 < value.size() ? hex_digit_value(value[i + 2]) : -1;
      if (hi < 0 || lo < 0) return Error(Errc::invalid_argument, "invite link: a bad % escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return out;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string format_fingerprint(BytesView fingerprint) {
  std::string hex = to_hex(fingerprint);
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return hex;
}

std::string format_mail_invite(const MailInvite& invite) {
  std::string link = std::string(kHttpsPrefix) + format_fingerprint(invite.fingerprint) +
                     "&a=" + percent_encode(invite.address) + "&n=" + percent_encode(invite.name) +
                     "&i=" + percent_encode(invite.invite_number) +
                     "&s=" + percent_encode(invite.auth) +
                     (invite.version > 0 ? "&v=" + std::to_string(invite.version) : "");
  if (!invite.group_id.empty()) {
    link += "&x=" + percent_encode(invite.group_id) + "&g=" + percent_encode(invite.group_name);
  }
  return link;
}

Result<MailInvite> parse_mail_invite(std::string_view link) {
  const Error not_invite(Errc::invalid_argument, "not an e-mail invite link");
  if (link.size() > kMaxLink) return not_invite;
  std::string_view rest;
  char after_fingerprint = '&';
  if (starts_with_nocase(link, kHttpsPrefix)) {
    rest = link.substr(kHttpsPrefix.size());
  } else if (starts_with_nocase(link, kOpenPgpPrefix)) {
    rest = link.substr(kOpenPgpPrefix.size());
    after_fingerprint = '#';
  } else {
    return not_invite;
  }
  const size_t end = rest.find(after_fingerprint);
  if (end == std::string_view::npos) return not_invite;
  const std::string_view hex = rest.substr(0, end);
  auto fingerprint = from_hex(hex);
  if (hex.size() != 40 || !fingerprint.ok()) {
    return Error(Errc::invalid_argument, "invite link: the fingerprint is not 40 hex digits");
  }
  MailInvite invite;
  invite.fingerprint = *std::move(fingerprint);
  bool has_group_id = false;
  std::string_view params = rest.substr(end + 1);
  while (!params.empty()) {
    const size_t amp = params.find('&');
    const std::string_view pair = params.substr(0, amp);
    params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = pair.substr(0, eq);
    SOTTO_TRY_ASSIGN(std::string value, percent_decode(pair.substr(eq + 1)));
    if (key == "a") {
      invite.address = std::move(value);
    } else if (key == "n") {
      invite.name = std::move(value);
    } else if (key == "i") {
      invite.invite_number = std::move(value);
    } else if (key == "s") {
      invite.auth = std::move(value);
    } else if (key == "v") {
      // A version this does not read (not a number) is no version: the classic handshake.
      unsigned v = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec == std::errc() && ptr == value.data() + value.size() && v < 1000) invite.version = v;
    } else if (key == "x") {
      invite.group_id = std::move(value);
      has_group_id = true;
    } else if (key == "g") {
      invite.group_name = std::move(value);
    } else if (key == "b") {
      return Error(Errc::unsupported, "invite link: channel invites are not supported");
    }
  }
  if (invite.address.empty() || invite.invite_number.empty() || invite.auth.empty()) {
    return Error(Errc::invalid_argument,
                 "invite link: the address, invite number or auth is missing");
  }
  // A group's id goes into a header: the characters Delta Chat's ids are made of.
  if (has_group_id &&
      (invite.group_id.empty() || invite.group_id.size() > 64 ||
       !std::all_of(invite.group_id.begin(), invite.group_id.end(), [](unsigned char c) {
         return std::isalnum(c) != 0 || c == '-' || c == '_';
       }))) {
    return Error(Errc::invalid_argument, "invite link: not a group id");
  }
  return invite;
}

}  // namespace sotto::client
