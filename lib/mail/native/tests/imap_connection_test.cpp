// The IMAP connection against a real Dovecot on loopback (scripts/mailserver.sh, which needs
// root): implicit TLS and STARTTLS with the server's self-signed certificate, logins, SELECT,
// APPEND and UID FETCH across reconnects, IDLE woken by another connection's mail, and the
// refusals: an untrusted certificate, a wrong password, a closed port, a missing mailbox.
#include "sotto/mail/imap_connection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "mail_server.h"
#include "sotto/mail/mailbox_name.h"

namespace sotto::mail {
namespace {

using namespace std::chrono_literals;
using testing::MailServer;

class ImapConnectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ =
        new MailServer("sotto.test", {"alice:secret", "bob:secret", "carol:secret", "dave:secret",
                                      "erin:secret", "frank:secret", "gina:secret", "hana:secret"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->started()) << "the mail server did not start:\n" << server_->output();
  }

  MailServerEndpoint implicit_tls() const {
    MailServerEndpoint e;
    e.host = "127.0.0.1";
    e.port = server_->imaps_port();
    e.ca_file = server_->certificate().string();
    e.step_timeout = 10s;
    return e;
  }

  MailServerEndpoint starttls() const {
    MailServerEndpoint e = implicit_tls();
    e.port = server_->imap_port();
    e.security = MailServerEndpoint::Security::starttls;
    return e;
  }

  std::unique_ptr<ImapConnection> logged_in(const std::string& user) {
    auto c = ImapConnection::connect(implicit_tls());
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    if (!c.ok()) return nullptr;
    auto login = (*c)->login(user + "@sotto.test", "secret");
    EXPECT_TRUE(login.ok()) << login.error().to_string();
    return std::move(c).value();
  }

  static std::string mail(const std::string& subject, const std::string& body) {
    return "From: alice@sotto.test\r\nTo: bob@sotto.test\r\nSubject: " + subject +
           "\r\nMessage-ID: <" + subject + "@sotto.test>\r\n\r\n" + body + "\r\n";
  }

  static MailServer* server_;
};
MailServer* ImapConnectionTest::server_ = nullptr;

TEST_F(ImapConnectionTest, ImplicitTlsAppendAndFetchAcrossReconnects) {
  auto c = logged_in("alice");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->encrypted());
  EXPECT_TRUE(c->has("IDLE"));
  auto state = c->select("INBOX");
  ASSERT_TRUE(state.ok()) << state.error().to_string();
  EXPECT_NE(state->uid_validity, 0u);
  EXPECT_EQ(state->exists, 0u);
  // Bodies with bytes that need care: a line that looks like a literal, parentheses, quotes,
  // 8-bit text.
  std::string first = mail("one", "a line ending in {5}\r\n) \"( \xc3\xa9t\xc3\xa9");
  std::string second = mail("two", "second");
  auto uid1 = c->append("INBOX", first);
  ASSERT_TRUE(uid1.ok()) << uid1.error().to_string();
  auto uid2 = c->append("INBOX", second, "\\Seen");
  ASSERT_TRUE(uid2.ok()) << uid2.error().to_string();
  EXPECT_GT(*uid2, *uid1);
  auto all = c->fetch_from(1);
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].uid, *uid1);
  EXPECT_EQ((*all)[0].body, first);
  EXPECT_EQ((*all)[1].body, second);
  auto has_flag = [](const imap::FetchedMessage& m, const std::string& flag) {
    return m.flags && std::find(m.flags->begin(), m.flags->end(), flag) != m.flags->end();
  };
  EXPECT_TRUE(has_flag((*all)[1], "\\Seen"));
  EXPECT_FALSE(has_flag((*all)[0], "\\Seen"));
  // Nothing past the last UID ("N:*" would otherwise name the last message).
  auto none = c->fetch_from(*uid2 + 1);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  c->logout();

  // A new connection sees the same UIDVALIDITY and fetches only what is new.
  auto again = logged_in("alice");
  ASSERT_TRUE(again);
  auto state2 = again->select("INBOX");
  ASSERT_TRUE(state2.ok());
  EXPECT_EQ(state2->uid_validity, state->uid_validity);
  EXPECT_EQ(state2->exists, 2u);
  EXPECT_EQ(state2->uid_next, *uid2 + 1);
  auto uid3 = again->append("INBOX", mail("three", "third"));
  ASSERT_TRUE(uid3.ok());
  auto fresh = again->fetch_from(*uid2 + 1);
  ASSERT_TRUE(fresh.ok());
  ASSERT_EQ(fresh->size(), 1u);
  EXPECT_EQ((*fresh)[0].uid, *uid3);
  // A PEEK does not mark mail as read.
  EXPECT_FALSE(has_flag(fresh->front(), "\\Seen"));
}

TEST_F(ImapConnectionTest, ACursorTakesEachMessageOnceAcrossReconnectsAndRenumbering) {
  auto c = logged_in("hana");
  ASSERT_TRUE(c);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(c->append("INBOX", mail("m" + std::to_string(i), "text")).ok());
  }
  auto subject_of = [](const imap::FetchedMessage& m) {
    size_t at = m.body->find("Subject: ");
    return at == std::string::npos ? std::string()
                                   : m.body->substr(at + 9, m.body->find('\r', at) - at - 9);
  };
  // Two at a time: 2, 2 and 1, each batch saying whether more wait.
  MailboxCursor cursor;
  std::vector<std::string> taken;
  for (int round = 0; round < 3; ++round) {
    auto batch = c->fetch_new("INBOX", cursor, 2);
    ASSERT_TRUE(batch.ok()) << batch.error().to_string();
    EXPECT_EQ(batch->more, round < 2);
    EXPECT_FALSE(batch->restarted);
    for (const auto& m : batch->messages) taken.push_back(subject_of(m));
    cursor = batch->cursor;
  }
  EXPECT_EQ(taken, (std::vector<std::string>{"m1", "m2", "m3", "m4", "m5"}));
  c->logout();

  // A restart: a new connection with the cursor as it was kept, in text.
  auto kept = decode_cursor(encode(cursor));
  ASSERT_TRUE(kept.ok());
  auto again = logged_in("hana");
  ASSERT_TRUE(again);
  auto nothing = again->fetch_new("INBOX", *kept);
  ASSERT_TRUE(nothing.ok()) << nothing.error().to_string();
  EXPECT_TRUE(nothing->messages.empty());
  EXPECT_FALSE(nothing->more);
  EXPECT_EQ(nothing->cursor, *kept);
  ASSERT_TRUE(again->append("INBOX", mail("m6", "text")).ok());
  auto sixth = again->fetch_new("INBOX", *kept);
  ASSERT_TRUE(sixth.ok());
  ASSERT_EQ(sixth->messages.size(), 1u);
  EXPECT_EQ(subject_of(sixth->messages[0]), "m6");
  EXPECT_EQ(sixth->cursor.next_uid, uint64_t{*sixth->messages[0].uid} + 1);

  // A mailbox deleted and made again is renumbered (a new UIDVALIDITY): its old cursor reads
  // it from the start and says so.
  ASSERT_TRUE(again->run(imap::Command("CREATE").astring("Chats")).ok());
  ASSERT_TRUE(again->append("Chats", mail("c1", "text")).ok());
  auto chats = again->fetch_new("Chats", MailboxCursor{});
  ASSERT_TRUE(chats.ok());
  ASSERT_EQ(chats->messages.size(), 1u);
  ASSERT_TRUE(again->run(imap::Command("SELECT").astring("INBOX")).ok());
  ASSERT_TRUE(again->run(imap::Command("DELETE").astring("Chats")).ok());
  ASSERT_TRUE(again->run(imap::Command("CREATE").astring("Chats")).ok());
  ASSERT_TRUE(again->append("Chats", mail("c2", "text")).ok());
  auto renumbered = again->fetch_new("Chats", chats->cursor);
  ASSERT_TRUE(renumbered.ok()) << renumbered.error().to_string();
  EXPECT_TRUE(renumbered->restarted);
  EXPECT_NE(renumbered->cursor.uid_validity, chats->cursor.uid_validity);
  ASSERT_EQ(renumbered->messages.size(), 1u);
  EXPECT_EQ(subject_of(renumbered->messages[0]), "c2");

  // A mailbox that is not there is a typed error, not an empty batch.
  auto missing = again->fetch_new("Nowhere", MailboxCursor{});
  ASSERT_FALSE(missing.ok());
}

TEST_F(ImapConnectionTest, MailboxNamesBeyondAsciiGoThereAndBack) {
  auto c = logged_in("hana");
  ASSERT_TRUE(c);
  const std::string names[] = {"Entw\xc3\xbcrfe",
                               "\xd0\x9a\xd0\xbe\xd1\x80\xd0\xb7\xd0\xb8\xd0\xbd\xd0\xb0",
                               "Tom & Jerry \xf0\x9f\x98\x80"};
  for (const auto& name : names) {
    auto wire = encode_mailbox_name(name);
    ASSERT_TRUE(wire.ok());
    auto created = c->run(imap::Command("CREATE").astring(*wire));
    ASSERT_TRUE(created.ok()) << created.error().to_string();
    ASSERT_TRUE(c->append(*wire, mail("in-" + std::to_string(name.size()), "text")).ok());
  }
  std::vector<imap::Response> listed;
  ASSERT_TRUE(c->run(imap::Command("LIST").astring("").astring("*"), &listed).ok());
  std::vector<std::string> found;
  for (const auto& r : listed) {
    if (r.kind != imap::Response::Kind::data || r.name != "LIST" || r.values.size() != 3) continue;
    auto wire = r.values[2].as_astring();
    ASSERT_TRUE(wire.has_value());
    auto name = decode_mailbox_name(*wire);
    ASSERT_TRUE(name.ok()) << *wire << ": " << name.error().to_string();
    found.push_back(*name);
  }
  for (const auto& name : names) {
    EXPECT_NE(std::find(found.begin(), found.end(), name), found.end()) << name;
    auto wire = encode_mailbox_name(name);
    auto batch = c->fetch_new(*wire, MailboxCursor{});
    ASSERT_TRUE(batch.ok()) << batch.error().to_string();
    EXPECT_EQ(batch->messages.size(), 1u);
  }
}

TEST_F(ImapConnectionTest, StartTlsOnThePlainPort) {
  auto c = ImapConnection::connect(starttls());
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_TRUE((*c)->encrypted());
  ASSERT_TRUE((*c)->login("bob@sotto.test", "secret").ok());
  auto state = (*c)->select("INBOX");
  ASSERT_TRUE(state.ok()) << state.error().to_string();
}

TEST_F(ImapConnectionTest, AnUntrustedCertificateIsRefusedUnlessTheUserAccepts) {
  MailServerEndpoint e = implicit_tls();
  e.ca_file.clear();  // the system's CAs, which do not know the test server's certificate
  auto refused = ImapConnection::connect(e);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::unavailable);
  EXPECT_NE(refused.error().message().find("certificate"), std::string::npos)
      << refused.error().message();
  MailServerEndpoint starttls_e = starttls();
  starttls_e.ca_file.clear();
  EXPECT_FALSE(ImapConnection::connect(starttls_e).ok());
  // The name must match too: the certificate is for localhost, 127.0.0.1 and mail.sotto.test.
  MailServerEndpoint other_name = implicit_tls();
  other_name.host = "127.0.0.2";
  EXPECT_FALSE(ImapConnection::connect(other_name).ok());
  e.accept_any_certificate = true;
  auto accepted = ImapConnection::connect(e);
  ASSERT_TRUE(accepted.ok()) << accepted.error().to_string();
  EXPECT_TRUE((*accepted)->login("carol@sotto.test", "secret").ok());
}

TEST_F(ImapConnectionTest, AWrongPasswordIsUnauthenticatedAndTheConnectionGoesOn) {
  auto c = ImapConnection::connect(implicit_tls());
  ASSERT_TRUE(c.ok());
  auto wrong = (*c)->login("dave@sotto.test", "not the password");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Errc::unauthenticated);
  EXPECT_EQ(wrong.error().message().find("not the password"), std::string::npos);
  auto right = (*c)->login("dave@sotto.test", "secret");
  EXPECT_TRUE(right.ok()) << right.error().to_string();
}

TEST_F(ImapConnectionTest, RefusalsAreTyped) {
  auto closed_port = testing::free_ports(1);
  ASSERT_EQ(closed_port.size(), 1u);
  MailServerEndpoint nowhere = implicit_tls();
  nowhere.port = closed_port[0];
  auto r = ImapConnection::connect(nowhere);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::unavailable);
  // Implicit TLS spoken to the STARTTLS port: the handshake fails, nothing hangs.
  MailServerEndpoint wrong_mode = implicit_tls();
  wrong_mode.port = server_->imap_port();
  wrong_mode.step_timeout = 3s;
  EXPECT_FALSE(ImapConnection::connect(wrong_mode).ok());

  auto c = logged_in("erin");
  ASSERT_TRUE(c);
  auto missing = c->select("No Such Box");
  ASSERT_FALSE(missing.ok());
  // Dovecot answers NO without the [NONEXISTENT] code that would make it not_found.
  EXPECT_TRUE(missing.error().code() == Errc::not_found ||
              missing.error().code() == Errc::invalid_argument)
      << missing.error().to_string();
  EXPECT_NE(missing.error().message().find("No Such Box"), std::string::npos);
  // The connection goes on after a refusal.
  EXPECT_TRUE(c->select("INBOX").ok());
}

TEST_F(ImapConnectionTest, IdleWakesWhenMailArrives) {
  auto idler = logged_in("frank");
  auto sender = logged_in("frank");
  ASSERT_TRUE(idler && sender);
  auto state = idler->select("INBOX");
  ASSERT_TRUE(state.ok());
  // Nothing happens: IDLE ends after its time with nothing reported.
  auto quiet = idler->idle(300ms);
  ASSERT_TRUE(quiet.ok()) << quiet.error().to_string();
  EXPECT_TRUE(quiet->empty());

  std::atomic<bool> appended = false;
  std::thread other([&] {
    std::this_thread::sleep_for(500ms);
    appended = sender->append("INBOX", mail("idle", "wake up")).ok();
  });
  auto start = std::chrono::steady_clock::now();
  auto woken = idler->idle(20s);
  auto took = std::chrono::steady_clock::now() - start;
  other.join();
  ASSERT_TRUE(appended);
  ASSERT_TRUE(woken.ok()) << woken.error().to_string();
  bool exists = false;
  for (const auto& r : *woken) exists = exists || (r.name == "EXISTS" && r.number == 1);
  EXPECT_TRUE(exists);
  EXPECT_LT(took, 10s);  // woken by the mail, not by the end of the wait
  auto fetched = idler->fetch_from(state->uid_next);
  ASSERT_TRUE(fetched.ok());
  ASSERT_EQ(fetched->size(), 1u);
  EXPECT_NE(fetched->front().body->find("wake up"), std::string::npos);
}

TEST_F(ImapConnectionTest, WaitingForMailIdlesWhenTheServerCan) {
  auto c = logged_in("frank");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->polls());
  ASSERT_TRUE(c->select("INBOX").ok());
  // Nothing happens: it returns empty once the wait is over.
  auto start = std::chrono::steady_clock::now();
  auto quiet = c->wait_for_change(300ms);
  ASSERT_TRUE(quiet.ok()) << quiet.error().to_string();
  EXPECT_TRUE(quiet->empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
}

// A server without IDLE: the client polls with NOOP and still learns of new mail.
TEST(ImapWithoutIdle, WaitingForMailPollsAndWakesWhenMailArrives) {
  MailServer server("sotto.test", {"ivan:secret"}, /*idle=*/false);
  ASSERT_TRUE(server.started()) << server.output();
  MailServerEndpoint e;
  e.host = "127.0.0.1";
  e.port = server.imaps_port();
  e.ca_file = server.certificate().string();
  e.step_timeout = 10s;
  auto connect = [&] {
    auto c = ImapConnection::connect(e);
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    EXPECT_TRUE(c.ok() && (*c)->login("ivan@sotto.test", "secret").ok());
    return c.ok() ? std::move(c).value() : nullptr;
  };
  auto waiter = connect();
  auto sender = connect();
  ASSERT_TRUE(waiter && sender);
  EXPECT_TRUE(waiter->polls());
  EXPECT_EQ(waiter->idle(100ms).error().code(), Errc::unsupported);
  ASSERT_TRUE(waiter->select("INBOX").ok());

  std::atomic<bool> appended = false;
  std::thread later([&] {
    std::this_thread::sleep_for(700ms);
    appended = sender->append("INBOX", "Subject: poll\r\n\r\nwake up\r\n").ok();
  });
  auto start = std::chrono::steady_clock::now();
  auto changed = waiter->wait_for_change(20s, 250ms);
  auto waited = std::chrono::steady_clock::now() - start;
  later.join();
  ASSERT_TRUE(appended);
  ASSERT_TRUE(changed.ok()) << changed.error().to_string();
  bool exists = std::any_of(changed->begin(), changed->end(), [](const imap::Response& r) {
    return r.kind == imap::Response::Kind::numbered && r.name == "EXISTS" && r.number == 1;
  });
  EXPECT_TRUE(exists) << changed->size() << " responses, none \"* 1 EXISTS\"";
  // Woken by a poll soon after the mail came, not at the end of the wait.
  EXPECT_LT(waited, 10s);
  auto batch = waiter->fetch_new("INBOX", MailboxCursor{});
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->messages.size(), 1u);
}

TEST_F(ImapConnectionTest, AFiveMebibyteMessageRoundTrips) {
  auto c = logged_in("gina");
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->select("INBOX").ok());
  std::string body;
  body.reserve(5u << 20);
  for (size_t i = 0; body.size() < (5u << 20); ++i) {
    body += "line " + std::to_string(i) + " of a large attachment, base64-like: QUJDREVGR0g=\r\n";
  }
  std::string message = mail("large", body);
  auto uid = c->append("INBOX", message);
  ASSERT_TRUE(uid.ok()) << uid.error().to_string();
  auto fetched = c->fetch_from(*uid);
  ASSERT_TRUE(fetched.ok()) << fetched.error().to_string();
  ASSERT_EQ(fetched->size(), 1u);
  EXPECT_TRUE(fetched->front().body == message);
}

}  // namespace
}  // namespace sotto::mail
