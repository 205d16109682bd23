// Invite links: one string that someone shares (a message, a QR code, a vCard's URL) so that
// another person can reach them on their Sotto server, or join that server in the first place.
//
//   https://HOST[:PORT]/invite#u=USERNAME&k=BASE64URL(certificate SHA-256 || directory key ||
//                                                     VRF key)
//
// Everything after '#' is a fragment: a browser that opens the link never sends it to the
// server. The pins come from the person who shares the link, not from the server, so a first
// contact through a link already knows which certificate and which key directory to trust.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::client {

inline constexpr size_t kInvitePinSize = 32;
// Far above any real link; a longer text is refused before it is looked at.
inline constexpr size_t kMaxInviteLinkBytes = 1024;

struct InviteLink {
  std::string host;  // a DNS name or an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 443;
  std::string username;
  Bytes certificate_sha256;  // kInvitePinSize
  Bytes directory_key;       // kInvitePinSize, the key directory's Ed25519 signing key
  Bytes vrf_key;             // kInvitePinSize
  friend bool operator==(const InviteLink&, const InviteLink&) = default;
};

// The server's username rules (docs/protocol.md): 3-32 of a-z 0-9 . _ -, a letter first.
bool is_valid_username(std::string_view name);

// Errc::invalid_argument when a field is not one a link can carry (an empty or odd host, a
// pin of another size, a username that is not one).
Result<std::string> format_invite_link(const InviteLink& link);
// Strict: the scheme, the "/invite" path, both fragment fields exactly once (in either order)
// and nothing else. Errc::invalid_value, with what is wrong, for anything else.
Result<InviteLink> parse_invite_link(std::string_view text);
// Whether `text` is meant as an invite link (starts with "https://" and names "/invite"), so
// that a command taking a username or a link can tell them apart before parsing.
bool looks_like_invite_link(std::string_view text);

}  // namespace sotto::client
