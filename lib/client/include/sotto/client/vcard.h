// Reading an address book exported as vCards (RFC 6350, and the 3.0 and 2.1 files that phones
// still write) to find the people in it who are on Sotto. The file is read on the device
// and never uploaded: a card names its Sotto account explicitly, as
//
//   IMPP:sotto:USERNAME        (RFC 6350's instant-messaging URI property)
//   X-SOTTO:USERNAME
//   URL:https://HOST/invite#...   (an invite link, see invite_link.h)
//
// and only those usernames are ever looked up. E-mail addresses and phone numbers are read for
// display and matching on this device only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sotto/client/invite_link.h"
#include "sotto/core/result.h"

namespace sotto::client {

// Limits that keep a hostile file from costing much: refused above them, not cut.
inline constexpr size_t kMaxVCardFileBytes = 8 * 1024 * 1024;
inline constexpr size_t kMaxVCards = 20000;

struct VCard {
  std::string name;                     // FN, else N assembled, else NICKNAME
  std::vector<std::string> emails;      // as written
  std::vector<std::string> phones;      // as written
  std::vector<std::string> usernames;   // from IMPP:sotto: and X-SOTTO, folded to lower case
  std::vector<InviteLink> invite_links; // from URL properties that parse as invite links
};

// Every BEGIN:VCARD ... END:VCARD block of `text`, in order. Lines may end in CRLF or LF and
// be folded (a line starting with a space or a tab continues the one before; in 2.1 files a
// quoted-printable value ending in '=' continues on the next line); property names and
// parameters are case-insensitive; values are unescaped (\n \, \; \\) or decoded from
// quoted-printable. Properties this reader does not need (photos, addresses) are skipped.
// Names are made safe to print: control characters become spaces.
// Errc::invalid_value with the line number for a file that is not vCards (a card not closed,
// a line without ':', END without BEGIN, text that is not UTF-8) or is over the limits.
Result<std::vector<VCard>> parse_vcards(std::string_view text);

}  // namespace sotto::client
