// Modified UTF-7 mailbox names (RFC 3501 section 5.1.3): the RFC's example, names mail
// programs make, and the encodings a strict reader refuses.
#include "sotto/mail/mailbox_name.h"

#include <gtest/gtest.h>

#include <utility>

namespace sotto::mail {
namespace {

TEST(MailboxName, EncodesAndDecodesBothWays) {
  const std::pair<const char*, const char*> cases[] = {
      {"INBOX", "INBOX"},
      // RFC 3501 section 5.1.3's example.
      {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
       "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
      {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
      {"\xd0\x9a\xd0\xbe\xd1\x80\xd0\xb7\xd0\xb8\xd0\xbd\xd0\xb0", "&BBoEPgRABDcEOAQ9BDA-"},
      {"\xe2\x98\xba!", "&Jjo-!"},
      {"Tom & Jerry", "Tom &- Jerry"},
      {"&", "&-"},
      {"\xf0\x9f\x98\x80", "&2D3eAA-"},  // a code point past U+FFFF: a surrogate pair
      {"", ""},
  };
  for (const auto& [utf8, wire] : cases) {
    auto encoded = encode_mailbox_name(utf8);
    ASSERT_TRUE(encoded.ok()) << utf8;
    EXPECT_EQ(*encoded, wire);
    auto decoded = decode_mailbox_name(wire);
    ASSERT_TRUE(decoded.ok()) << wire << ": " << decoded.error().to_string();
    EXPECT_EQ(*decoded, utf8);
  }
}

TEST(MailboxName, RefusesWhatHasAnotherEncodingOrNone) {
  for (const char* bad : {
           "&AGE-",        // "a" needs no shift
           "&U,A-&BTFw-",  // two shifted runs in a row are one
           "&U,BTFw",      // no closing "-"
           "&U,BTFx-",     // bits left over that are not zero
           "&U,BTFwA-",    // a sextet more than the code units need
           "&2D0-",        // a lone high surrogate
           "&3gA-",        // a lone low surrogate
           "&U/BTFw-",     // "/" is not modified base64
           "&U=-",         // nor is padding
           "caf\xc3\xa9",  // raw 8-bit bytes
           "tab\there",    // a control character
           "\x7f",
       }) {
    auto decoded = decode_mailbox_name(bad);
    EXPECT_FALSE(decoded.ok()) << "accepted \"" << bad << "\"";
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.error().code(), Errc::invalid_value);
    }
  }
  auto not_utf8 = encode_mailbox_name("caf\xe9");
  ASSERT_FALSE(not_utf8.ok());
  EXPECT_EQ(not_utf8.error().code(), Errc::invalid_value);
  // Control characters are not printable: they are shifted, not sent as they are.
  auto tab = encode_mailbox_name("a\tb");
  ASSERT_TRUE(tab.ok());
  EXPECT_EQ(*tab, "a&AAk-b");
}

}  // namespace
}  // namespace sotto::mail
