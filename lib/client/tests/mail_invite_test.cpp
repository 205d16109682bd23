#include "sotto/client/mail_invite.h"

#include <gtest/gtest.h>

namespace sotto::client {
namespace {

MailInvite sample() {
  MailInvite invite;
  invite.fingerprint = Bytes(20, 0xab);
  invite.fingerprint[0] = 0x01;
  invite.address = "alice@example.org";
  invite.name = "Alice & Bob's café";
  invite.invite_number = "Fy3-x_9";
  invite.auth = "sQ8+/=z";
  return invite;
}

TEST(MailInvite, ALinkGoesThereAndBack) {
  const std::string link = format_mail_invite(sample());
  EXPECT_EQ(link.rfind("https://i.delta.chat/#01ABABAB", 0), 0u) << link;
  EXPECT_NE(link.find("&a=alice%40example.org"), std::string::npos) << link;
  EXPECT_EQ(link.find(' '), std::string::npos);
  auto back = parse_mail_invite(link);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->fingerprint, sample().fingerprint);
  EXPECT_EQ(back->address, sample().address);
  EXPECT_EQ(back->name, sample().name);
  EXPECT_EQ(back->invite_number, sample().invite_number);
  EXPECT_EQ(back->auth, sample().auth);
  EXPECT_EQ(back->version, 0u);
  // A v3 link says so, and is read back as one.
  MailInvite v3 = sample();
  v3.version = 3;
  const std::string v3_link = format_mail_invite(v3);
  EXPECT_NE(v3_link.find("&v=3"), std::string::npos) << v3_link;
  EXPECT_EQ(parse_mail_invite(v3_link)->version, 3u);
}

// As Delta Chat writes them: v=3 and the parameters in another order; and the older QR form.
TEST(MailInvite, DeltaChatsFormsRead) {
  auto link = parse_mail_invite(
      "https://i.delta.chat/#0123456789abcdef0123456789ABCDEF01234567&v=3&i=inv1&s=auth1"
      "&a=bob%40sotto.test&n=Bob");
  ASSERT_TRUE(link.ok()) << link.error().to_string();
  EXPECT_EQ(link->address, "bob@sotto.test");
  EXPECT_EQ(link->invite_number, "inv1");
  EXPECT_EQ(link->version, 3u);
  // A version that is not a number is none: the classic handshake.
  EXPECT_EQ(parse_mail_invite("https://i.delta.chat/#0123456789abcdef0123456789ABCDEF01234567"
                              "&v=3x&i=inv1&s=auth1&a=bob%40sotto.test")
                ->version,
            0u);
  EXPECT_EQ(link->auth, "auth1");
  EXPECT_EQ(link->fingerprint.size(), 20u);
  auto qr = parse_mail_invite(
      "OPENPGP4FPR:0123456789ABCDEF0123456789ABCDEF01234567#a=bob%40sotto.test&n=Bob&i=I&s=S");
  ASSERT_TRUE(qr.ok()) << qr.error().to_string();
  EXPECT_EQ(qr->address, "bob@sotto.test");
}

TEST(MailInvite, WhatIsNotAnInviteIsRefused) {
  const std::string fpr = "0123456789ABCDEF0123456789ABCDEF01234567";
  for (const std::string& bad :
       {std::string("https://example.org/#") + fpr + "&a=x%40y&i=1&s=2",
        std::string("https://i.delta.chat/#0123&a=x%40y&i=1&s=2"),             // short fingerprint
        "https://i.delta.chat/#" + std::string(40, 'g') + "&a=x%40y&i=1&s=2",  // not hex
        "https://i.delta.chat/#" + fpr + "&a=x%40y&i=1",                       // no auth
        "https://i.delta.chat/#" + fpr + "&i=1&s=2",                           // no address
        "https://i.delta.chat/#" + fpr + "&a=x%4&i=1&s=2",                     // bad escape
        "https://i.delta.chat/#" + fpr, std::string()}) {
    auto r = parse_mail_invite(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Errc::invalid_argument) << bad;
  }
  for (const std::string& bad_group :
       {std::string("&x="), std::string("&x=a%20b"), std::string("&x=a%0d%0aBcc:%20x"),
        "&x=" + std::string(65, 'a')}) {
    auto r = parse_mail_invite("https://i.delta.chat/#" + fpr + "&a=x%40y&i=1&s=2" + bad_group);
    ASSERT_FALSE(r.ok()) << bad_group;
    EXPECT_EQ(r.error().code(), Errc::invalid_argument) << bad_group;
  }
  auto channel = parse_mail_invite("https://i.delta.chat/#" + fpr + "&a=x%40y&b=C&x=id&i=1&s=2");
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.error().code(), Errc::unsupported);
}

// A group's invite, as Delta Chat writes it (its name form-encoded), and as Sotto does.
TEST(MailInvite, AGroupsInviteNamesTheGroup) {
  auto link = parse_mail_invite(
      "https://i.delta.chat/#9EFE89622BA270BBA9BB2F92BE9981DDEC0B5855&v=3"
      "&x=DLjVnOZFsWMhWB8YAXw3IgE3&i=j80Ppd1IVvOX28tKjTpCazh4&s=ljbniWrxUjuy65XB_kv28XZm"
      "&a=carol%40sotto.test&n=&g=Hiking+club");
  ASSERT_TRUE(link.ok()) << link.error().to_string();
  EXPECT_EQ(link->group_id, "DLjVnOZFsWMhWB8YAXw3IgE3");
  EXPECT_EQ(link->group_name, "Hiking club");
  EXPECT_EQ(link->version, 3u);
  EXPECT_EQ(link->address, "carol@sotto.test");
  // A contact's invite names no group.
  EXPECT_TRUE(parse_mail_invite(format_mail_invite(sample()))->group_id.empty());

  MailInvite group = sample();
  group.version = 3;
  group.group_id = "Gr-1_x";
  group.group_name = "Wandern & Grillen 🔥";
  auto back = parse_mail_invite(format_mail_invite(group));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->group_id, group.group_id);
  EXPECT_EQ(back->group_name, group.group_name);
  EXPECT_EQ(back->auth, group.auth);
}

}  // namespace
}  // namespace sotto::client
