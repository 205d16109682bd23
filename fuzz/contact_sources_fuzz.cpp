// Arbitrary bytes as a vCard file (an address book from anywhere) and as an invite link, of
// a server or of an e-mail account's SecureJoin (strings anyone can send). Parsing must never
// crash; a card's name and addresses must come out as UTF-8 without control characters (they
// are printed on terminals and written to JSON); a link that parses must format back to a link
// that parses to the same values.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sotto/client/invite_link.h"
#include "sotto/client/mail_invite.h"
#include "sotto/client/vcard.h"
#include "sotto/proto/protocol.h"

namespace {

using namespace sotto;

void require_printable(std::string_view text) {
  bool ok = proto::is_valid_utf8(text);
  for (unsigned char c : text) ok = ok && c >= 0x20 && c != 0x7f;
  if (!ok) {
    std::fprintf(stderr, "a vCard field that is not printable UTF-8 came out\n");
    std::abort();
  }
}

void check_link(std::string_view text) {
  auto link = client::parse_invite_link(text);
  if (!link) return;
  auto again = client::format_invite_link(*link);
  if (!again || !(client::parse_invite_link(*again).value() == *link)) {
    std::fprintf(stderr, "an invite link that parsed does not format back to itself\n");
    std::abort();
  }
}

void check_mail_invite(std::string_view text) {
  auto invite = client::parse_mail_invite(text);
  if (!invite) return;
  auto again = client::parse_mail_invite(client::format_mail_invite(*invite));
  if (!again || again->fingerprint != invite->fingerprint || again->address != invite->address ||
      again->name != invite->name || again->invite_number != invite->invite_number ||
      again->auth != invite->auth) {
    std::fprintf(stderr, "an e-mail invite link that parsed does not format back to itself\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_link(text);
  check_mail_invite(text);
  auto cards = client::parse_vcards(text);
  if (!cards) return 0;
  for (const auto& card : *cards) {
    require_printable(card.name);
    for (const auto& email : card.emails) require_printable(email);
    for (const auto& phone : card.phones) require_printable(phone);
    for (const auto& link : card.invite_links) check_link(*client::format_invite_link(link));
  }
  return 0;
}
