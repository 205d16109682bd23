// SMTP without a network: replies cut from bytes however they arrive, the refusals, EHLO
// extensions, dot-stuffing, addresses, and what a negative reply means for the sender.
#include "sotto/mail/smtp.h"

#include <gtest/gtest.h>

#include <string>

#include "sotto/mail/sasl.h"

namespace sotto::mail::smtp {
namespace {

TEST(SmtpReply, MultilineRepliesByteByByte) {
  std::string bytes =
      "220 mail.sotto.test ESMTP sotto-test\r\n"
      "250-mail.sotto.test\r\n250-PIPELINING\r\n250-SIZE 104857600\r\n250-STARTTLS\r\n"
      "250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
      "354\r\n";
  ReplyParser parser;
  std::vector<Reply> replies;
  for (char c : bytes) {
    parser.feed(std::string(1, c));
    auto r = parser.next();
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    if (r.value()) replies.push_back(*r.value());
  }
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].code, 220);
  EXPECT_EQ(replies[0].lines, std::vector<std::string>{"mail.sotto.test ESMTP sotto-test"});
  EXPECT_EQ(replies[1].code, 250);
  EXPECT_EQ(replies[1].lines.size(), 6u);
  EXPECT_TRUE(replies[1].offers("starttls"));
  EXPECT_TRUE(replies[1].offers("AUTH", "plain"));
  EXPECT_TRUE(replies[1].offers("AUTH", "LOGIN"));
  EXPECT_FALSE(replies[1].offers("AUTH", "XOAUTH2"));
  EXPECT_FALSE(replies[1].offers("mail.sotto.test"));  // the greeting line is no extension
  EXPECT_FALSE(replies[1].offers("SMTPUTF8"));
  EXPECT_EQ(replies[2].code, 354);
  EXPECT_TRUE(replies[2].positive());
  EXPECT_EQ(parser.buffered(), 0u);
}

TEST(SmtpReply, MalformedRepliesAreRefusedForGood) {
  auto error_of = [](std::string bytes) {
    ReplyParser parser;
    parser.feed(bytes);
    auto r = parser.next();
    return r.ok() ? Errc::ok : r.error().code();
  };
  EXPECT_EQ(error_of("25 short\r\n"), Errc::invalid_value);
  EXPECT_EQ(error_of("abc text\r\n"), Errc::invalid_value);
  EXPECT_EQ(error_of("650 no such class\r\n"), Errc::invalid_value);
  EXPECT_EQ(error_of("250+odd\r\n"), Errc::invalid_value);
  EXPECT_EQ(error_of("250-a\r\n251 b\r\n"), Errc::invalid_value);
  EXPECT_EQ(error_of("250 a\nb\r\n"), Errc::invalid_value);
  EXPECT_EQ(error_of("250 " + std::string(3000, 'x')), Errc::length_limit);
  std::string many;
  for (int i = 0; i < 300; ++i) many += "250-x\r\n";
  EXPECT_EQ(error_of(many), Errc::length_limit);
  ReplyParser parser;
  parser.feed("xyz\r\n250 fine\r\n");
  EXPECT_FALSE(parser.next().ok());
  EXPECT_FALSE(parser.next().ok());  // final
}

TEST(SmtpData, DotStuffingAndTheEnd) {
  auto body = data_body("Subject: x\r\n\r\n.starts with a dot\r\n..two\r\n.\r\nlast");
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, "Subject: x\r\n\r\n..starts with a dot\r\n...two\r\n..\r\nlast\r\n.\r\n");
  EXPECT_EQ(*data_body("a\r\n"), "a\r\n.\r\n");
  EXPECT_EQ(*data_body(""), ".\r\n");
  EXPECT_FALSE(data_body("a\nb").ok());
  EXPECT_FALSE(data_body("a\rb").ok());
  EXPECT_FALSE(data_body("a\r").ok());
  EXPECT_FALSE(data_body(std::string("a\0b", 3)).ok());
}

TEST(SmtpAddress, OnlyWhatCannotBreakTheCommand) {
  EXPECT_TRUE(check_address("alice@sotto.test").ok());
  EXPECT_TRUE(check_address("a.b+tag@sub.example.org").ok());
  EXPECT_FALSE(check_address("").ok());
  EXPECT_FALSE(check_address("alice").ok());
  EXPECT_FALSE(check_address("@sotto.test").ok());
  EXPECT_FALSE(check_address("alice@").ok());
  EXPECT_FALSE(check_address("a>@x.org").ok());
  EXPECT_FALSE(check_address("a@x.org> RCPT TO:<b@y.org").ok());
  EXPECT_FALSE(check_address("a@x.org\r\nDATA").ok());
  EXPECT_FALSE(check_address(std::string(250, 'a') + "@x.org").ok());
}

TEST(SmtpReply, WhatARefusalMeans) {
  EXPECT_EQ(reply_error({421, {"shutting down"}}, "x").code(), Errc::unavailable);
  EXPECT_EQ(reply_error({451, {"try later"}}, "x").code(), Errc::unavailable);
  EXPECT_EQ(reply_error({535, {"5.7.8 auth failed"}}, "x").code(), Errc::unauthenticated);
  EXPECT_EQ(reply_error({552, {"too big"}}, "x").code(), Errc::too_large);
  auto e = reply_error({550, {"5.1.1 <nobody@sotto.test>: unknown", "\x01more"}}, "RCPT");
  EXPECT_EQ(e.code(), Errc::invalid_argument);
  EXPECT_EQ(e.message(), "RCPT: 550 5.1.1 <nobody@sotto.test>: unknown ?more");
}

TEST(SaslPlain, AuthorizationIdentityEmptyThenUserAndPassword) {
  // RFC 4616's example user and password.
  EXPECT_EQ(sasl_plain("tim", "tanstaaftanstaaf"), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
  EXPECT_EQ(sasl_plain("", ""), "AAA=");
}

}  // namespace
}  // namespace sotto::mail::smtp
