// SMTP submission through a real Postfix, delivered over LMTP to a real Dovecot and read back
// with the IMAP connection: STARTTLS and implicit TLS, several recipients, dot-stuffing and
// 8-bit text on the way through, and the refusals (a wrong password, an unknown recipient, an
// untrusted certificate).
#include "sotto/mail/smtp_submission.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "mail_suite.h"

namespace sotto::mail {
namespace {

using namespace std::chrono_literals;

class SmtpSubmissionTest : public MailSuite {
 protected:
  static std::string message(const std::string& id, const std::string& body) {
    return "From: alice@sotto.test\r\nTo: bob@sotto.test, carol@sotto.test\r\nSubject: " + id +
           "\r\nMessage-ID: <" + id +
           "@sotto.test>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
           body;
  }
};

TEST_F(SmtpSubmissionTest, StartTlsDeliversToEveryRecipientIntact) {
  std::string body = "first line\r\n.a line that starts with a dot\r\n.\r\n\xc3\xa9t\xc3\xa9\r\n";
  auto sent = submit(submission(), "alice@sotto.test", "secret",
                     {"alice@sotto.test", {"bob@sotto.test", "carol@sotto.test"}},
                     message("starttls-1", body));
  ASSERT_TRUE(sent.ok()) << sent.error().to_string() << "\n" << server_->logs();
  for (const char* user : {"bob", "carol"}) {
    auto got = inbox(user, 1);
    ASSERT_EQ(got.size(), 1u) << user;
    const std::string& text = *got[0].body;
    EXPECT_NE(text.find("Message-ID: <starttls-1@sotto.test>"), std::string::npos);
    // The body as it was written: dot-stuffing undone by the server, 8-bit bytes untouched.
    EXPECT_NE(text.find("\r\n\r\n" + body), std::string::npos) << text;
  }
}

TEST_F(SmtpSubmissionTest, ImplicitTlsOnTheSubmissionsPort) {
  MailServerEndpoint e = submission();
  e.port = server_->submissions_port();
  e.security = MailServerEndpoint::Security::implicit_tls;
  auto sent = submit(e, "dave@sotto.test", "secret", {"dave@sotto.test", {"dave@sotto.test"}},
                     message("implicit-1", "to myself\r\n"));
  ASSERT_TRUE(sent.ok()) << sent.error().to_string();
  auto got = inbox("dave", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].body->find("to myself"), std::string::npos);
}

TEST_F(SmtpSubmissionTest, RefusalsAreTypedAndSendNothing) {
  Envelope to_alice{"bob@sotto.test", {"alice@sotto.test"}};
  auto wrong = submit(submission(), "bob@sotto.test", "wrong", to_alice, message("w", "x\r\n"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Errc::unauthenticated) << wrong.error().to_string();
  EXPECT_EQ(wrong.error().message().find("wrong"), std::string::npos);

  // One unknown recipient: nobody gets the mail, so that a retry cannot deliver twice.
  Envelope mixed{"bob@sotto.test", {"alice@sotto.test", "nobody@sotto.test"}};
  auto unknown = submit(submission(), "bob@sotto.test", "secret", mixed, message("u", "x\r\n"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), Errc::invalid_argument) << unknown.error().to_string();
  EXPECT_NE(unknown.error().message().find("nobody@sotto.test"), std::string::npos);

  MailServerEndpoint untrusted = submission();
  untrusted.ca_file.clear();
  auto refused = submit(untrusted, "bob@sotto.test", "secret", to_alice, message("t", "x\r\n"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::unavailable);

  Envelope bad_address{"bob@sotto.test", {"alice@sotto.test>\r\nDATA"}};
  EXPECT_EQ(submit(submission(), "bob@sotto.test", "secret", bad_address, "x\r\n").error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(submit(submission(), "bob@sotto.test", "secret", to_alice, "bare\nLF").error().code(),
            Errc::invalid_argument);

  // A last message that goes through shows that none of the above reached alice.
  ASSERT_TRUE(submit(submission(), "bob@sotto.test", "secret", to_alice,
                     message("last", "the only one\r\n"))
                  .ok());
  std::this_thread::sleep_for(500ms);
  auto got = inbox("alice", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].body->find("the only one"), std::string::npos);
}

}  // namespace
}  // namespace sotto::mail
