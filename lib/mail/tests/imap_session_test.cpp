// The IMAP session without a network: tags, argument encoding, literals that wait for the
// server's continuation or go at once with LITERAL+, capabilities.
#include "sotto/mail/imap_session.h"

#include <gtest/gtest.h>

#include <string>

namespace sotto::mail::imap {
namespace {

std::optional<Response> next(Session& s) {
  auto r = s.next();
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? std::move(r).value() : std::nullopt;
}

TEST(ImapSession, TagsAndArgumentEncoding) {
  Session s;
  auto a = s.start(Command("SELECT").astring("INBOX"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "S1");
  auto b = s.start(Command("LOGIN").astring("al ice").astring("p\"w\\d"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "S2");
  EXPECT_EQ(s.take_output(), "S1 SELECT INBOX\r\nS2 LOGIN \"al ice\" \"p\\\"w\\\\d\"\r\n");
  EXPECT_EQ(s.take_output(), "");
  // An empty name and names with wildcards are quoted; 8-bit ones go as literals.
  ASSERT_TRUE(s.start(Command("LIST").astring("").astring("*")).ok());
  EXPECT_EQ(s.take_output(), "S3 LIST \"\" \"*\"\r\n");
  ASSERT_TRUE(s.start(Command("UID FETCH").raw("5:*").raw("(UID FLAGS BODY.PEEK[])")).ok());
  EXPECT_EQ(s.take_output(), "S4 UID FETCH 5:* (UID FLAGS BODY.PEEK[])\r\n");
}

TEST(ImapSession, ControlBytesInRawArgumentsAreRefused) {
  Session s;
  auto r = s.start(Command("SELECT").raw("INBOX\r\nS9 DELETE INBOX"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::invalid_argument);
  EXPECT_FALSE(s.send_line("DONE\r\nS9 LOGOUT").ok());
  EXPECT_EQ(s.take_output(), "");
  // An astring with CR LF is sent as a literal: it cannot end the command early.
  ASSERT_TRUE(s.start(Command("SELECT").astring("a\r\nS9 DELETE b")).ok());
  EXPECT_EQ(s.take_output(), "S1 SELECT {14}\r\n");
}

TEST(ImapSession, ASynchronizingLiteralWaitsForTheContinuation) {
  Session s;
  std::string message = "Subject: hi\r\n\r\nhello\r\n";
  auto tag = s.start(Command("APPEND").astring("INBOX").raw("(\\Seen)").literal(message));
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(s.take_output(),
            "S1 APPEND INBOX (\\Seen) {" + std::to_string(message.size()) + "}\r\n");
  // A second command cannot start before the first has sent its literal.
  EXPECT_FALSE(s.start(Command("NOOP")).ok());
  s.receive("+ OK\r\n");
  EXPECT_FALSE(next(s));  // the continuation was the literal's, not the caller's
  EXPECT_EQ(s.take_output(), message + "\r\n");
  s.receive("S1 OK [APPENDUID 1700000000 7] Append completed.\r\n");
  auto done = next(s);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->tag, "S1");
  EXPECT_EQ(done->status.code, "APPENDUID");
  EXPECT_EQ(done->status.code_args[1].number, 7u);
  EXPECT_TRUE(s.start(Command("NOOP")).ok());
}

TEST(ImapSession, TwoLiteralsInOneCommand) {
  Session s;
  ASSERT_TRUE(s.start(Command("LOGIN").literal("us\xc3\xa9r").literal("p\xc3\xa4ss")).ok());
  EXPECT_EQ(s.take_output(), "S1 LOGIN {5}\r\n");
  s.receive("+ \r\n");
  EXPECT_FALSE(next(s));
  EXPECT_EQ(s.take_output(), "us\xc3\xa9r {5}\r\n");
  s.receive("+ \r\n");
  EXPECT_FALSE(next(s));
  EXPECT_EQ(s.take_output(), "p\xc3\xa4ss\r\n");
}

TEST(ImapSession, ARefusedLiteralIsDropped) {
  Session s;
  ASSERT_TRUE(s.start(Command("APPEND").astring("INBOX").literal(std::string(100, 'x'))).ok());
  s.take_output();
  s.receive("S1 NO [OVERQUOTA] Quota exceeded\r\n");
  auto r = next(s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.status, Status::no);
  ASSERT_TRUE(s.start(Command("NOOP")).ok());
  EXPECT_EQ(s.take_output(), "S2 NOOP\r\n");
}

TEST(ImapSession, LiteralPlusSendsEverythingAtOnce) {
  Session s;
  s.receive("* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] ready\r\n");
  auto greeting = next(s);
  ASSERT_TRUE(greeting);
  EXPECT_TRUE(s.has("literal+"));
  EXPECT_TRUE(s.has("IDLE"));
  EXPECT_FALSE(s.has("STARTTLS"));
  ASSERT_TRUE(s.start(Command("APPEND").astring("INBOX").literal("abc")).ok());
  EXPECT_EQ(s.take_output(), "S1 APPEND INBOX {3+}\r\nabc\r\n");
  // A CAPABILITY response replaces what was known.
  s.receive("* CAPABILITY IMAP4rev1 LITERAL- STARTTLS\r\n");
  ASSERT_TRUE(next(s));
  EXPECT_FALSE(s.has("LITERAL+"));
  EXPECT_TRUE(s.has("STARTTLS"));
  // LITERAL- covers literals up to 4096 bytes.
  ASSERT_TRUE(s.start(Command("APPEND").astring("INBOX").literal(std::string(4096, 'a'))).ok());
  EXPECT_EQ(s.take_output().substr(0, 25), "S2 APPEND INBOX {4096+}\r\n");
  ASSERT_TRUE(s.start(Command("APPEND").astring("INBOX").literal(std::string(4097, 'a'))).ok());
  EXPECT_EQ(s.take_output(), "S3 APPEND INBOX {4097}\r\n");
  s.forget_capabilities();
  EXPECT_TRUE(s.capabilities().empty());
}

TEST(ImapSession, ParserErrorsReachTheCaller) {
  Session s;
  s.receive("* OK fine\r\n* garbage (\r\n");
  ASSERT_TRUE(next(s));
  auto r = s.next();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::invalid_value);
}

}  // namespace
}  // namespace sotto::mail::imap
