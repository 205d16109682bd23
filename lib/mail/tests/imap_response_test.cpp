// The IMAP response parser: the responses of RFC 9051's sample session and of Dovecot, fed
// whole and byte by byte, and the bytes it must refuse.
#include "sotto/mail/imap_response.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sotto::mail::imap {
namespace {

Response parse(std::string_view bytes) {
  auto r = parse_response(bytes);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string()) << " for " << bytes;
  return r.ok() ? std::move(r).value() : Response{};
}

Errc parse_error(std::string_view bytes, const ParserLimits& limits = {}) {
  auto r = parse_response(bytes, limits);
  return r.ok() ? Errc::ok : r.error().code();
}

// Every response in `bytes`, fed to one parser `step` bytes at a time.
std::vector<Response> feed_all(std::string_view bytes, size_t step) {
  ResponseParser parser;
  std::vector<Response> out;
  for (size_t i = 0; i < bytes.size(); i += step) {
    parser.feed(bytes.substr(i, step));
    for (;;) {
      auto r = parser.next();
      EXPECT_TRUE(r.ok()) << r.error().to_string();
      if (!r.ok() || !r.value()) break;
      out.push_back(std::move(*r.value()));
    }
  }
  EXPECT_EQ(parser.buffered(), 0u);
  return out;
}

TEST(ImapResponse, GreetingWithCapabilities) {
  auto r = parse(
      "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
      "AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.\r\n");
  EXPECT_EQ(r.kind, Response::Kind::status);
  EXPECT_EQ(r.status.status, Status::ok);
  EXPECT_EQ(r.status.code, "CAPABILITY");
  EXPECT_EQ(r.status.text, "Dovecot (Debian) ready.");
  auto caps = read_capabilities(r);
  ASSERT_TRUE(caps);
  ASSERT_EQ(caps->size(), 10u);
  EXPECT_EQ((*caps)[5], "IDLE");
  EXPECT_EQ((*caps)[8], "AUTH=PLAIN");
}

TEST(ImapResponse, SelectResponses) {
  std::string select =
      "* 172 EXISTS\r\n"
      "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
      "* OK [UIDNEXT 4392] Predicted next UID\r\n"
      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
      "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
      "* LIST () \"/\" INBOX\r\n"
      "A142 OK [READ-WRITE] SELECT completed\r\n";
  for (size_t step : {select.size(), size_t{1}, size_t{7}}) {
    auto rs = feed_all(select, step);
    ASSERT_EQ(rs.size(), 7u) << "step " << step;
    EXPECT_EQ(rs[0].kind, Response::Kind::numbered);
    EXPECT_EQ(rs[0].number, 172u);
    EXPECT_EQ(rs[0].name, "EXISTS");
    EXPECT_EQ(rs[1].status.code, "UIDVALIDITY");
    ASSERT_EQ(rs[1].status.code_args.size(), 1u);
    EXPECT_EQ(rs[1].status.code_args[0].as_uint32(), 3857529045u);
    EXPECT_EQ(rs[2].status.code_args[0].number, 4392u);
    EXPECT_EQ(rs[3].kind, Response::Kind::data);
    EXPECT_EQ(rs[3].name, "FLAGS");
    ASSERT_EQ(rs[3].values.size(), 1u);
    ASSERT_EQ(rs[3].values[0].list.size(), 5u);
    EXPECT_TRUE(rs[3].values[0].list[3].is_atom("\\seen"));
    ASSERT_EQ(rs[4].status.code_args.size(), 1u);
    EXPECT_TRUE(rs[4].status.code_args[0].list[2].is_atom("\\*"));
    ASSERT_EQ(rs[5].values.size(), 3u);
    EXPECT_EQ(rs[5].values[0].kind, Value::Kind::list);
    EXPECT_EQ(rs[5].values[1].as_astring(), "/");
    EXPECT_EQ(rs[5].values[2].as_astring(), "INBOX");
    EXPECT_EQ(rs[6].kind, Response::Kind::tagged);
    EXPECT_EQ(rs[6].tag, "A142");
    EXPECT_EQ(rs[6].status.code, "READ-WRITE");
    EXPECT_EQ(rs[6].status.text, "SELECT completed");
  }
}

TEST(ImapResponse, FetchWithALiteralBodyWholeAndByteByByte) {
  std::string body = "From: a@example.org\r\nSubject: {5}\r\n\r\n) \"(\r\n";
  std::string bytes = "* 12 FETCH (UID 4827313 RFC822.SIZE " + std::to_string(body.size()) +
                      " FLAGS (\\Seen $Label1) BODY[] {" + std::to_string(body.size()) + "}\r\n" +
                      body + ")\r\nA7 OK Fetch completed (0.001 + 0.000 secs).\r\n";
  for (size_t step : {bytes.size(), size_t{1}, size_t{3}}) {
    auto rs = feed_all(bytes, step);
    ASSERT_EQ(rs.size(), 2u);
    auto m = read_fetch(rs[0]);
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    EXPECT_EQ(m->sequence, 12u);
    EXPECT_EQ(m->uid, 4827313u);
    EXPECT_EQ(m->size, body.size());
    ASSERT_TRUE(m->flags);
    EXPECT_EQ(*m->flags, (std::vector<std::string>{"\\Seen", "$Label1"}));
    EXPECT_EQ(m->body, body);
    EXPECT_EQ(rs[1].status.text, "Fetch completed (0.001 + 0.000 secs).");
  }
}

TEST(ImapResponse, NestedListsNilAndSections) {
  auto r = parse(
      std::string(
          "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" ENVELOPE (\"Wed, "
          "17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" ((\"Terry "
          "Gray\" NIL \"gray\" \"cac.washington.edu\")) NIL NIL NIL "
          "\"<B27397-0100000@cac.washington."
          "edu>\") BODY[HEADER.FIELDS (FROM SUBJECT)]<0> {0}\r\n BINARY[1] ~{2}\r\n") +
      std::string("\x00\x01)\r\n", 5));
  ASSERT_EQ(r.values.size(), 1u);
  const auto& items = r.values[0].list;
  ASSERT_EQ(items.size(), 10u);
  const auto& envelope = items[5].list;
  ASSERT_EQ(envelope.size(), 7u);
  EXPECT_EQ(envelope[2].list[0].list[1].kind, Value::Kind::nil);
  EXPECT_EQ(envelope[2].list[0].list[0].text, "Terry Gray");
  EXPECT_TRUE(items[6].is_atom("BODY[HEADER.FIELDS (FROM SUBJECT)]<0>"));
  EXPECT_EQ(items[7].kind, Value::Kind::string);
  EXPECT_EQ(items[7].text, "");
  EXPECT_EQ(items[9].text, std::string("\x00\x01", 2));
  auto m = read_fetch(r);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->uid);
  EXPECT_FALSE(m->body);
}

TEST(ImapResponse, QuotedStringsAndContinuations) {
  auto r = parse("* LIST (\\HasNoChildren) \"/\" \"a \\\"quoted\\\" \\\\ name\"\r\n");
  EXPECT_EQ(r.values[2].text, "a \"quoted\" \\ name");
  EXPECT_EQ(parse("+ idling\r\n").text, "idling");
  EXPECT_EQ(parse("+ \r\n").kind, Response::Kind::continuation);
  EXPECT_EQ(parse("+\r\n").text, "");
  EXPECT_EQ(parse("+ dGVzdA==\r\n").text, "dGVzdA==");
  EXPECT_EQ(parse("* SEARCH\r\n").values.size(), 0u);
  EXPECT_EQ(parse("* SEARCH \r\n").values.size(), 0u);
  EXPECT_EQ(parse("* SEARCH 2 84 882\r\n").values.size(), 3u);
  EXPECT_EQ(parse("* 3 EXPUNGE\r\n").name, "EXPUNGE");
  EXPECT_EQ(parse("* BYE Logging out\r\n").status.status, Status::bye);
  EXPECT_EQ(parse("A1 NO\r\n").status.status, Status::no);
  // Free text in a response code is kept out of its arguments, not an error.
  auto alert = parse("* NO [ALERT] Mailbox is at 95% of quota [sic\r\n");
  EXPECT_EQ(alert.status.code, "ALERT");
  EXPECT_EQ(alert.status.text, "Mailbox is at 95% of quota [sic");
  auto odd = parse("a2 OK [X-FREE some \"text] done\r\n");
  EXPECT_EQ(odd.status.code, "X-FREE");
  EXPECT_TRUE(odd.status.code_args.empty());
}

TEST(ImapResponse, MalformedBytesAreRefused) {
  EXPECT_EQ(parse_error("* OK text\n"), Errc::invalid_value);      // bare LF
  EXPECT_EQ(parse_error("* OK te\rxt\r\n"), Errc::invalid_value);  // CR without LF
  EXPECT_EQ(parse_error("* LIST () \"/\" \"a\r\nb\"\r\n"), Errc::invalid_value);
  EXPECT_EQ(parse_error("A1 BYE no\r\n"), Errc::invalid_value);  // tagged BYE
  EXPECT_EQ(parse_error("A1 MAYBE\r\n"), Errc::invalid_value);
  EXPECT_EQ(parse_error("* 1 FETCH (BODY[] {x}\r\n)\r\n"), Errc::invalid_value);
  EXPECT_EQ(parse_error("* 1 FETCH (BODY[\r\n"), Errc::invalid_value);
  EXPECT_EQ(parse_error("* 99999999999999999999 EXISTS\r\n"), Errc::invalid_value);
  EXPECT_EQ(parse_error("* FLAGS (\\Seen  \\Draft)\r\n"), Errc::invalid_value);
  EXPECT_EQ(parse_error("* OK [] empty\r\n"), Errc::invalid_value);
  EXPECT_EQ(parse_error(std::string_view("+ a\0b\r\n", 7)), Errc::invalid_value);
  EXPECT_EQ(parse_error("* 3 EXISTS\r\n* 4 EXISTS\r\n"), Errc::trailing_bytes);
  EXPECT_EQ(parse_error("* 3 EXISTS\r"), Errc::truncated);
  // FETCH attributes of the wrong shape.
  auto fetch = [](std::string_view bytes) {
    auto r = parse_response(bytes);
    EXPECT_TRUE(r.ok());
    return r.ok() ? read_fetch(*r).ok() : true;
  };
  EXPECT_FALSE(fetch("* 1 FETCH (UID 0)\r\n"));
  EXPECT_FALSE(fetch("* 1 FETCH (UID 4294967296)\r\n"));
  EXPECT_FALSE(fetch("* 1 FETCH (UID)\r\n"));
  EXPECT_FALSE(fetch("* 1 FETCH (FLAGS \\Seen)\r\n"));
  EXPECT_FALSE(fetch("* 0 FETCH (UID 1)\r\n"));
  EXPECT_FALSE(fetch("* 1 EXISTS\r\n"));
  EXPECT_TRUE(fetch("* 1 FETCH (UID 1 BODY[] NIL)\r\n"));
}

TEST(ImapResponse, LimitsStopEndlessLinesLiteralsAndNesting) {
  ParserLimits limits;
  limits.max_line = 64;
  limits.max_literals = 100;
  limits.max_depth = 3;
  EXPECT_EQ(parse_error("* OK " + std::string(80, 'x') + "\r\n", limits), Errc::length_limit);
  // A line without an end fails once it passes the limit, not when it ends.
  ResponseParser parser(limits);
  parser.feed("* OK " + std::string(70, 'x'));
  auto r = parser.next();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::length_limit);
  // The failure is final.
  parser.feed("\r\n");
  EXPECT_FALSE(parser.next().ok());
  // A literal over the limit is refused when announced, before its bytes arrive.
  ResponseParser literal(limits);
  literal.feed("* 1 FETCH (BODY[] {101}\r\n");
  auto l = literal.next();
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code(), Errc::length_limit);
  // Literals count toward their own limit, not the line's.
  std::string sixty(60, 'b');
  EXPECT_EQ(parse_error("* 1 FETCH (BODY[] {60}\r\n" + sixty + " RFC822 {40}\r\n" +
                            std::string(40, 'c') + ")\r\n",
                        limits),
            Errc::ok);
  EXPECT_EQ(parse_error("* 1 FETCH (BODY[] {60}\r\n" + sixty + " RFC822 {41}\r\n" +
                            std::string(41, 'c') + ")\r\n",
                        limits),
            Errc::length_limit);
  EXPECT_EQ(parse_error("* X (((a)))\r\n", limits), Errc::ok);
  EXPECT_EQ(parse_error("* X ((((a))))\r\n", limits), Errc::length_limit);
  EXPECT_EQ(parse_error("* X {99999999999999999999}\r\n", limits), Errc::invalid_value);
}

TEST(ImapResponse, AnIncompleteLiteralWaitsForItsBytes) {
  ResponseParser parser;
  parser.feed("* 1 FETCH (BODY[] {10}\r\n01234");
  auto r = parser.next();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value());
  parser.feed("56789)\r\n* 2 EXISTS\r\n");
  auto a = parser.next();
  ASSERT_TRUE(a.ok() && a.value());
  EXPECT_EQ(read_fetch(*a.value())->body, "0123456789");
  auto b = parser.next();
  ASSERT_TRUE(b.ok() && b.value());
  EXPECT_EQ(b.value()->number, 2u);
  auto c = parser.next();
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c.value());
}

}  // namespace
}  // namespace sotto::mail::imap
