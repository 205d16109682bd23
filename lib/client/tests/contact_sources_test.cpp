// Invite links and vCard files: the two ways a contact reaches a device without typing a
// username.
#include <gtest/gtest.h>

#include "sotto/client/invite_link.h"
#include "sotto/client/vcard.h"

namespace sotto::client {
namespace {

InviteLink sample_link() {
  InviteLink link;
  link.host = "chat.example.org";
  link.port = 8443;
  link.username = "alice";
  link.certificate_sha256 = Bytes(32, 0xab);
  link.directory_key = Bytes(32, 0x01);
  link.vrf_key = Bytes(32, 0x02);
  return link;
}

TEST(InviteLink, FormatsTheDocumentedShapeAndParsesBack) {
  const InviteLink link = sample_link();
  auto text = format_invite_link(link);
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_TRUE(text->starts_with("https://chat.example.org:8443/invite#u=alice&k=q6ur"));
  EXPECT_TRUE(looks_like_invite_link(*text));
  auto parsed = parse_invite_link(*text);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(*parsed, link);
}

TEST(InviteLink, LeavesOutPort443AndBracketsIpv6) {
  InviteLink link = sample_link();
  link.port = 443;
  EXPECT_TRUE(format_invite_link(link)->starts_with("https://chat.example.org/invite#"));
  link.host = "::1";
  link.port = 8443;
  auto text = format_invite_link(link);
  ASSERT_TRUE(text);
  EXPECT_TRUE(text->starts_with("https://[::1]:8443/invite#"));
  EXPECT_EQ(*parse_invite_link(*text), link);
}

TEST(InviteLink, FieldsMayComeInEitherOrder) {
  const std::string text = *format_invite_link(sample_link());
  const size_t hash = text.find('#');
  const std::string fragment = text.substr(hash + 1);
  const size_t amp = fragment.find('&');
  const std::string swapped =
      text.substr(0, hash + 1) + fragment.substr(amp + 1) + "&" + fragment.substr(0, amp);
  EXPECT_EQ(*parse_invite_link(swapped), sample_link());
}

TEST(InviteLink, RefusesEverythingElse) {
  const std::string good = *format_invite_link(sample_link());
  const std::string pins = good.substr(good.find("&k=") + 3);
  for (const std::string& bad : {
           std::string(""),
           std::string("http://chat.example.org/invite#u=alice&k=") + pins,
           std::string("https://chat.example.org/join#u=alice&k=") + pins,
           std::string("https://chat.example.org/invite#u=alice"),
           std::string("https://chat.example.org/invite#k=") + pins,
           std::string("https://chat.example.org/invite#u=alice&k=") + pins + "&x=1",
           std::string("https://chat.example.org/invite#u=alice&u=bob&k=") + pins,
           std::string("https://chat.example.org/invite#u=alice&k=") + pins + "&",
           std::string("https://chat.example.org/invite#u=Al!ce&k=") + pins,
           std::string("https://chat.example.org/invite#u=alice&k=") + pins.substr(4),
           std::string("https://chat.example.org/invite#u=alice&k=") + pins + "AAAA",
           std::string("https://chat.example.org:0/invite#u=alice&k=") + pins,
           std::string("https://chat.example.org:65536/invite#u=alice&k=") + pins,
           std::string("https://chat.example.org:/invite#u=alice&k=") + pins,
           std::string("https://chat.exa mple.org/invite#u=alice&k=") + pins,
           std::string("https://[::1/invite#u=alice&k=") + pins,
           std::string("https://user@chat.example.org/invite#u=alice&k=") + pins,
           std::string(2000, 'a'),
       }) {
    EXPECT_FALSE(parse_invite_link(bad)) << bad;
  }
}

TEST(InviteLink, FormatRefusesWhatALinkCannotCarry) {
  InviteLink link = sample_link();
  link.username = "Alice Smith";
  EXPECT_FALSE(format_invite_link(link));
  link = sample_link();
  link.vrf_key.pop_back();
  EXPECT_FALSE(format_invite_link(link));
  link = sample_link();
  link.host = "evil.org/x#";
  EXPECT_FALSE(format_invite_link(link));
}

TEST(VCard, ReadsNamesAddressesAndSottoAccounts) {
  const std::string link = *format_invite_link(sample_link());
  const std::string file =
      "BEGIN:VCARD\r\n"
      "VERSION:4.0\r\n"
      "FN:Bob Builder\r\n"
      "EMAIL;TYPE=work:bob@example.org\r\n"
      "TEL;VALUE=uri:tel:+1-555-0100\r\n"
      "IMPP;PREF=1:sotto:Bob\r\n"
      "item1.X-SOTTO:bob.b\r\n"
      "NOTE:a long note that is folded\r\n"
      "  over two lines\r\n"
      "END:VCARD\r\n"
      "\r\n"
      "begin:vcard\n"
      "version:3.0\n"
      "n:Smith;Alice;;Dr.;\n"
      "url:" + link + "\n"
      "end:vcard\n";
  auto cards = parse_vcards(file);
  ASSERT_TRUE(cards) << cards.error().message();
  ASSERT_EQ(cards->size(), 2u);
  const VCard& bob = (*cards)[0];
  EXPECT_EQ(bob.name, "Bob Builder");
  EXPECT_EQ(bob.emails, std::vector<std::string>{"bob@example.org"});
  EXPECT_EQ(bob.phones, std::vector<std::string>{"+1-555-0100"});
  EXPECT_EQ(bob.usernames, (std::vector<std::string>{"bob", "bob.b"}));
  EXPECT_TRUE(bob.invite_links.empty());
  const VCard& alice = (*cards)[1];
  EXPECT_EQ(alice.name, "Dr. Alice Smith");
  ASSERT_EQ(alice.invite_links.size(), 1u);
  EXPECT_EQ(alice.invite_links[0], sample_link());
  EXPECT_TRUE(alice.usernames.empty());
}

TEST(VCard, UnfoldsUnescapesAndDecodesQuotedPrintable) {
  const std::string file =
      "BEGIN:VCARD\n"
      "VERSION:2.1\n"
      "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=B6rg M=C3=BC=\n"
      "ller\n"
      "EMAIL;INTERNET:j\\,m@example.org\n"
      "X-SOTTO:jo\n"  // too short to be a username: ignored
      "IMPP:xmpp:jorg@example.org\n"
      "PHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQ\n"
      " SkZJRgABAQ==\n"
      "END:VCARD\n";
  auto cards = parse_vcards(file);
  ASSERT_TRUE(cards) << cards.error().message();
  ASSERT_EQ(cards->size(), 1u);
  EXPECT_EQ((*cards)[0].name, "J\xc3\xb6rg M\xc3\xbcller");
  EXPECT_EQ((*cards)[0].emails, std::vector<std::string>{"j,m@example.org"});
  EXPECT_TRUE((*cards)[0].usernames.empty());
}

TEST(VCard, NamesCannotCarryTerminalControls) {
  auto cards = parse_vcards("BEGIN:VCARD\nFN:Eve\\n\x1b[31mRed\nEND:VCARD\n");
  ASSERT_TRUE(cards) << cards.error().message();
  EXPECT_EQ((*cards)[0].name, "Eve [31mRed");
  auto latin1 = parse_vcards("BEGIN:VCARD\nFN;ENCODING=QUOTED-PRINTABLE:J=F6rg\nEND:VCARD\n");
  ASSERT_TRUE(latin1);
  EXPECT_EQ((*latin1)[0].name, "J?rg");
}

TEST(VCard, RefusesWhatIsNotAVCardFile) {
  for (const std::string& bad : {
           std::string("hello\n"),
           std::string("BEGIN:VCARD\nFN:x\n"),
           std::string("END:VCARD\n"),
           std::string("BEGIN:VCARD\nBEGIN:VCARD\nEND:VCARD\nEND:VCARD\n"),
           std::string("BEGIN:VCARD\nFN no colon\nEND:VCARD\n"),
           std::string("BEGIN:VCALENDAR\nEND:VCALENDAR\n"),
           std::string("BEGIN:VCARD\nFN:\xff\xfe\nEND:VCARD\n"),
       }) {
    auto cards = parse_vcards(bad);
    EXPECT_FALSE(cards) << bad;
    if (!cards) {
      EXPECT_EQ(cards.error().code(), Errc::invalid_value);
    }
  }
  EXPECT_FALSE(parse_vcards(std::string(kMaxVCardFileBytes + 1, ' ')));
  std::string many;
  for (size_t i = 0; i <= kMaxVCards; ++i) many += "BEGIN:VCARD\nEND:VCARD\n";
  EXPECT_FALSE(parse_vcards(many));
  EXPECT_TRUE(parse_vcards(""));
}

}  // namespace
}  // namespace sotto::client
