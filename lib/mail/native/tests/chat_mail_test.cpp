// Chat messages as mails through a real Postfix and Dovecot: Alice seals a group message with
// a 5 MiB attachment to Bob and Carol and submits it; each recipient fetches it over IMAP and
// opens it with a valid signature, byte for byte; Alice's own copy (encrypted to herself)
// opens too; Dave, who was not a recipient, has nothing. What the servers stored shows none of
// the message in the clear.
#include <gtest/gtest.h>

#include <string>

#include "mail_suite.h"
#include "sotto/mail/mime.h"
#include "sotto/mail/smtp_submission.h"
#include "sotto/openpgp/cert.h"

namespace sotto::mail {
namespace {


constexpr uint32_t kNow = 1'790'000'000;

class ChatMailTest : public MailSuite {};

openpgp::SecretCert key_for(const std::string& addr) {
  auto cert = openpgp::generate_cert("<" + addr + ">", kNow - 60);
  EXPECT_TRUE(cert.ok());
  return *std::move(cert);
}

TEST_F(ChatMailTest, AGroupMessageWithAFileReachesEachMemberSealed) {
  auto alice = key_for("alice@sotto.test");
  auto bob = key_for("bob@sotto.test");
  auto carol = key_for("carol@sotto.test");
  auto dave = key_for("dave@sotto.test");

  ChatMail m;
  m.from_addr = "alice@sotto.test";
  m.from_name = "Alice";
  m.to = {"bob@sotto.test", "carol@sotto.test"};
  m.subject = "Pläne";
  m.message_id = "Mr.group1.x7@sotto.test";
  m.date = kNow;
  m.chat_headers = {
      {"Chat-Version", "1.0"}, {"Chat-Group-ID", "kq2XJcp5yTR"}, {"Chat-Group-Name", "Hütte"}};
  m.text = "The map for Saturday, all of it.";
  Bytes map(5 << 20);
  for (size_t i = 0; i < map.size(); ++i) map[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  m.attachments.push_back({"map.png", "image/png", map});
  m.gossip = {{"bob@sotto.test", false, bob.cert.encode()},
              {"carol@sotto.test", false, carol.cert.encode()}};

  auto raw = seal(m, alice, {bob.cert, carol.cert}, SealOptions{kNow});
  ASSERT_TRUE(raw.ok()) << raw.error().to_string();
  // The envelope names the recipients and Alice herself (her other devices read her copy).
  auto sent = submit(
      submission(), "alice@sotto.test", "secret",
      Envelope{"alice@sotto.test", {"bob@sotto.test", "carol@sotto.test", "alice@sotto.test"}},
      *raw);
  ASSERT_TRUE(sent.ok()) << sent.error().to_string();

  struct Reader {
    std::string user;
    const openpgp::SecretCert* key;
  };
  for (const Reader& r : {Reader{"bob", &bob}, Reader{"carol", &carol}, Reader{"alice", &alice}}) {
    auto mails = inbox(r.user, 1);
    ASSERT_EQ(mails.size(), 1u) << r.user;
    ASSERT_TRUE(mails[0].body.has_value());
    const std::string& stored = *mails[0].body;
    for (std::string clear : {"Saturday", "Hütte", "H=C3=BCtte", "map.png", "kq2XJcp5yTR"}) {
      EXPECT_EQ(stored.find(clear), std::string::npos) << clear << " is in " << r.user << "'s mail";
    }
    auto outer = read_outer(stored);
    ASSERT_TRUE(outer.ok()) << outer.error().to_string();
    ASSERT_TRUE(outer->autocrypt.has_value());
    EXPECT_EQ(outer->autocrypt->keydata, alice.cert.encode());

    auto opened = open(stored, {*r.key}, {alice.cert}, kNow + 60);
    ASSERT_TRUE(opened.ok()) << r.user << ": " << opened.error().to_string();
    EXPECT_EQ(opened->signature, openpgp::SignatureStatus::valid);
    EXPECT_EQ(opened->mail.message_id, m.message_id);
    EXPECT_EQ(opened->mail.text, m.text);
    EXPECT_EQ(opened->mail.to, m.to);
    ASSERT_NE(opened->mail.chat_header("Chat-Group-Name"), nullptr);
    EXPECT_EQ(*opened->mail.chat_header("Chat-Group-Name"), "Hütte");
    ASSERT_EQ(opened->mail.attachments.size(), 1u);
    EXPECT_EQ(opened->mail.attachments[0].data, map);
    EXPECT_EQ(opened->mail.gossip.size(), 2u);
  }
  EXPECT_TRUE(server_->mails("dave").empty());
  // Dave's key cannot open Bob's copy either.
  auto bobs = inbox("bob", 1);
  ASSERT_EQ(bobs.size(), 1u);
  EXPECT_FALSE(open(*bobs[0].body, {dave}, {alice.cert}, kNow + 60).ok());
}

}  // namespace
}  // namespace sotto::mail
