// One-time codes mailed by SMTP: the message itself, the settings that are refused at start,
// and a real sottod sending through a real Postfix + Dovecot (scripts/mailserver.sh) over
// STARTTLS and implicit TLS, with AUTH and the mail server's self-signed certificate trusted
// through smtp.ca_file. The mail server needs root; without it these tests fail.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config.h"
#include "mail_server.h"
#include "protocol_client.h"
#include "services/mailer.h"
#include "sotto/crypto/primitives.h"
#include "sottod_process.h"

namespace sotto::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using server::MailPurpose;

constexpr const char* kDomain = "sotto.test";
constexpr const char* kSender = "sotto@sotto.test";
// No spaces: the mail server script takes "user:password" pairs separated by spaces.
constexpr const char* kSmtpPassword = "submission-pass-42";
constexpr const char* kAccountPassword = "correct horse battery";

// ---- the message, without a network ----

std::chrono::system_clock::time_point at(std::time_t t) {
  return std::chrono::system_clock::from_time_t(t);
}

TEST(CodeMail, HeadersAndBodyAreWellFormed) {
  // 2026-11-22 19:41:21 UTC, a Sunday.
  auto now = at(1795376481);
  EXPECT_EQ(server::rfc5322_date(now), "Sun, 22 Nov 2026 19:41:21 +0000");
  EXPECT_EQ(server::rfc5322_date(at(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
  Bytes unique(16, 0xab);
  auto mail = server::compose_code_mail(kSender, "alice@sotto.test",
                                        MailPurpose::email_verification, "ABCD2345", now, unique);
  ASSERT_TRUE(mail.ok()) << mail.error().message();
  const std::string& m = *mail;
  // Every line ends in CRLF; no bare CR or LF anywhere.
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(m[i - 1], '\r') << "bare LF at " << i;
    }
    if (m[i] == '\r') {
      ASSERT_LT(i + 1, m.size());
      EXPECT_EQ(m[i + 1], '\n') << "bare CR at " << i;
    }
  }
  ASSERT_GE(m.size(), 2u);
  EXPECT_EQ(m.substr(m.size() - 2), "\r\n");
  auto blank = m.find("\r\n\r\n");
  ASSERT_NE(blank, std::string::npos);
  std::string headers = m.substr(0, blank + 2);
  std::string body = m.substr(blank + 4);
  EXPECT_NE(headers.find("Date: Sun, 22 Nov 2026 19:41:21 +0000\r\n"), std::string::npos);
  EXPECT_NE(headers.find("From: sotto@sotto.test\r\n"), std::string::npos);
  EXPECT_NE(headers.find("To: alice@sotto.test\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Subject: Your Sotto verification code\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Message-ID: <abababababababababababababababab@sotto.test>\r\n"),
            std::string::npos);
  EXPECT_NE(headers.find("Content-Type: text/plain; charset=us-ascii\r\n"), std::string::npos);
  EXPECT_NE(body.find("ABCD2345"), std::string::npos);
  EXPECT_NE(body.find("1 hour"), std::string::npos);
  EXPECT_NE(body.find("confirm this e-mail address"), std::string::npos);
  EXPECT_EQ(headers.find("ABCD2345"), std::string::npos);
  // Lines stay short (RFC 5322 recommends at most 78 characters).
  std::istringstream lines(m);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 79u) << line;

  auto recovery = server::compose_code_mail(kSender, "alice@sotto.test",
                                            MailPurpose::account_recovery, "ZZZZ9999", now, unique);
  ASSERT_TRUE(recovery.ok());
  EXPECT_NE(recovery->find("Subject: Your Sotto recovery code\r\n"), std::string::npos);
  EXPECT_NE(recovery->find("recover your Sotto account"), std::string::npos);
  EXPECT_NE(recovery->find("ZZZZ9999"), std::string::npos);
}

TEST(CodeMail, AddressesCannotInjectHeadersOrRecipients) {
  EXPECT_TRUE(server::is_plain_mail_address("alice@sotto.test"));
  EXPECT_TRUE(server::is_plain_mail_address("a.b+tag@sub.example.org"));
  for (const char* bad :
       {"", "alice", "@sotto.test", "alice@", "a@b@c", "alice@sotto.test\r\nBcc: eve@evil.test",
        "alice@sotto.test\nBcc: eve@evil.test", "alice@sotto.test\r", "alice @sotto.test",
        "alice@sotto.test,eve@evil.test", "Alice <alice@sotto.test>", "alice@sotto.test>",
        "\"a\"@sotto.test", "al\x01ice@sotto.test", "al\xc3\xa9@sotto.test",
        "alice@sotto.test;eve@evil.test"}) {
    EXPECT_FALSE(server::is_plain_mail_address(bad)) << bad;
    auto to = server::compose_code_mail(kSender, bad, MailPurpose::email_verification, "ABCD2345",
                                        at(0), Bytes(16, 1));
    EXPECT_FALSE(to.ok()) << bad;
    auto from = server::compose_code_mail(bad, "alice@sotto.test", MailPurpose::email_verification,
                                          "ABCD2345", at(0), Bytes(16, 1));
    EXPECT_FALSE(from.ok()) << bad;
  }
  EXPECT_FALSE(server::compose_code_mail(kSender, "alice@sotto.test", MailPurpose::account_recovery,
                                         "AB\r\nCD", at(0), Bytes(16, 1))
                   .ok());
}

TEST(CodeMail, UrlSaysHowTlsStarts) {
  server::SmtpSettings s;
  s.host = "mail.example.org";
  s.port = 587;
  EXPECT_EQ(server::smtp_url(s), "smtp://mail.example.org:587");
  s.starttls = false;
  s.port = 465;
  EXPECT_EQ(server::smtp_url(s), "smtps://mail.example.org:465");
  s.host = "::1";
  EXPECT_EQ(server::smtp_url(s), "smtps://[::1]:465");
}

Result<std::optional<server::Config>> load(std::vector<std::string> args) {
  std::vector<const char*> argv = {"sottod"};
  for (auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out;
  auto no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return server::load_config(static_cast<int>(argv.size()), argv.data(), no_env, out);
}

TEST(SmtpSettings, MistakesAreRefusedAtStart) {
  auto ok = load({"--smtp-host", "mail.example.org", "--smtp-from", "sotto@example.org",
                  "--smtp-username", "sotto", "--smtp-password", "pw"});
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_TRUE((*ok)->smtp.starttls);
  EXPECT_TRUE((*ok)->smtp.ca_file.empty());
  EXPECT_FALSE(
      load({"--smtp-host", "mail.example.org", "--smtp-from", "sotto@example.org\r\nBcc: x@y.z"})
          .ok());
  EXPECT_FALSE(
      load({"--smtp-host", "mail.example.org", "--smtp-from", "Sotto <sotto@example.org>"}).ok());
  EXPECT_FALSE(load({"--smtp-host", "mail.example.org", "--smtp-username", "sotto"}).ok());
  EXPECT_FALSE(load({"--smtp-host", "mail.example.org/x"}).ok());
  EXPECT_FALSE(
      load({"--smtp-host", "mail.example.org", "--smtp-ca-file", "/nonexistent/ca.pem"}).ok());
  // Without a host nothing is mailed, so nothing else is checked.
  EXPECT_TRUE(load({"--smtp-from", "not an address"}).ok());
  server::Config config;
  ASSERT_TRUE(
      server::apply_toml(config, "[smtp]\nca_file = \"ca.pem\"\nstarttls = false", "t").ok());
  EXPECT_EQ(config.smtp.ca_file, "ca.pem");
  EXPECT_FALSE(config.smtp.starttls);
}

// ---- a real mail server ----

// A parsed mail: its header fields (the first of each name) and its body.
struct Mail {
  std::map<std::string, std::string> headers;
  std::string body;
};

Mail parse_mail(const std::string& text) {
  Mail mail;
  std::istringstream in(text);
  std::string line;
  std::string last;
  bool in_body = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (in_body) {
      mail.body += line + "\n";
    } else if (line.empty()) {
      in_body = true;
    } else if ((line[0] == ' ' || line[0] == '\t') && !last.empty()) {
      mail.headers[last] += line;
    } else if (auto colon = line.find(':'); colon != std::string::npos) {
      last = line.substr(0, colon);
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      mail.headers.emplace(last, value);
    }
  }
  return mail;
}

// The code in a mail's body: the line that holds only 8 letters and digits.
std::string code_in(const Mail& mail) {
  static const std::regex line(R"((^|\n)\s*([A-Z0-9]{8})\s*(\n|$))");
  std::smatch m;
  return std::regex_search(mail.body, m, line) ? m[2].str() : "";
}

// Anything in `log` that looks like a one-time code (8 characters of the codes' alphabet,
// at least one a letter, standing alone).
bool log_has_code_like_token(const std::string& log) {
  static const std::regex token(
      R"((^|[^A-Za-z0-9])(?=[2-9]*[A-HJKMNP-Z])([A-HJKMNP-Z2-9]{8})([^A-Za-z0-9]|$))");
  return std::regex_search(log, token);
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// Waits until sottod's log holds `needle`.
bool log_shows(const SottodProcess& sottod, const std::string& needle,
               std::chrono::seconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (sottod.log().find(needle) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

std::string tag_of(const Bytes& account_id) {
  return server::account_log_tag(account_id);
}

proto::RegisterAccount registration(const std::string& user, const crypto::Ed25519SigningKey& key) {
  proto::RegisterAccount r;
  r.username = user;
  r.email = user + "@" + kDomain;
  r.password = kAccountPassword;
  r.device = proto::DeviceKey{key.public_key(), "laptop"};
  return r;
}

class MailTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mail_ = new MailServer(kDomain, {std::string("sotto:") + kSmtpPassword, "alice:secret",
                                     "bob:secret", "carol:secret", "dave:secret", "erin:secret"});
  }
  static void TearDownTestSuite() {
    delete mail_;
    mail_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(mail_->started()) << "the mail server did not start:\n" << mail_->output();
  }

  // sottod mailing through the test server; `extra` adds or overrides flags.
  std::unique_ptr<SottodProcess> start_sottod(const fs::path& data, std::vector<std::string> extra,
                                              std::string smtp_password = kSmtpPassword) {
    std::vector<std::string> args = {"--smtp-host",
                                     "127.0.0.1",
                                     "--smtp-from",
                                     kSender,
                                     "--smtp-username",
                                     kSender,
                                     "--rate-registration-burst",
                                     "100",
                                     "--rate-registration-per-minute",
                                     "100"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = std::make_unique<SottodProcess>(
        SottodProcess::args_for(data, args),
        std::map<std::string, std::string>{{"SOTTOD_SMTP_PASSWORD", smtp_password}});
    EXPECT_TRUE(p->wait_listening()) << p->line() << p->log();
    return p;
  }

  std::vector<std::string> starttls_flags() const {
    return {"--smtp-port",     std::to_string(mail_->submission_port()),
            "--smtp-starttls", "true",
            "--smtp-ca-file",  mail_->certificate().string()};
  }

  // Registers `user` with the address user@kDomain; the session, empty on failure.
  proto::SessionResponse register_user(ProtocolClient& client, const std::string& user) {
    auto key = crypto::Ed25519SigningKey::generate();
    auto r = client.request(registration(user, key));
    auto* s = as<proto::SessionResponse>(r);
    EXPECT_NE(s, nullptr) << "register " << user << ": " << errc_name(error_code(r));
    return s ? *s : proto::SessionResponse{};
  }

  static MailServer* mail_;
};
MailServer* MailTest::mail_ = nullptr;

void expect_code_mail(const Mail& mail, const std::string& to, const std::string& subject_word) {
  EXPECT_EQ(mail.headers.count("From") ? mail.headers.at("From") : "", kSender);
  EXPECT_EQ(mail.headers.count("To") ? mail.headers.at("To") : "", to);
  std::string subject = mail.headers.count("Subject") ? mail.headers.at("Subject") : "";
  EXPECT_NE(subject.find(subject_word), std::string::npos) << subject;
  EXPECT_TRUE(
      std::regex_match(mail.headers.count("Message-ID") ? mail.headers.at("Message-ID") : "",
                       std::regex(R"(<[0-9a-f]{32}@sotto\.test>)")));
  // The Date is now, give or take the time delivery took.
  std::string date = mail.headers.count("Date") ? mail.headers.at("Date") : "";
  bool recent = false;
  auto now = std::chrono::system_clock::now();
  for (int s = -120; s <= 5 && !recent; ++s) {
    recent = date == server::rfc5322_date(now + std::chrono::seconds(s));
  }
  EXPECT_TRUE(recent) << "Date: " << date;
  EXPECT_NE(mail.body.find("1 hour"), std::string::npos) << mail.body;
}

TEST_F(MailTest, VerificationAndRecoveryCodesArriveOverStartTls) {
  TempDir dir;
  auto sottod = start_sottod(dir.path() / "data", starttls_flags());
  ProtocolClient client(sottod->port());
  auto session = register_user(client, "alice");
  ASSERT_FALSE(session.account_id.empty());

  auto mails = mail_->wait_mails("alice", 1);
  ASSERT_EQ(mails.size(), 1u) << sottod->log() << mail_->logs();
  Mail verification = parse_mail(mails[0]);
  expect_code_mail(verification, "alice@sotto.test", "verification");
  std::string code = code_in(verification);
  ASSERT_EQ(code.size(), 8u) << mails[0];
  EXPECT_TRUE(log_shows(*sottod, "e-mail code sent for account " + tag_of(session.account_id)))
      << sottod->log();

  EXPECT_EQ(error_code(client.request(proto::VerifyEmail{code})), Errc::ok);
  auto profile = client.request(proto::GetProfile{});
  ASSERT_NE(as<proto::ProfileResponse>(profile), nullptr);
  EXPECT_EQ(as<proto::ProfileResponse>(profile)->email_verified, 1);

  // Recovery, by someone who no longer has a session.
  ProtocolClient stranger(sottod->port());
  EXPECT_EQ(error_code(stranger.request(proto::RequestRecovery{"alice"})), Errc::ok);
  mails = mail_->wait_mails("alice", 2);
  ASSERT_EQ(mails.size(), 2u) << sottod->log() << mail_->logs();
  Mail recovery = parse_mail(mails[1]);
  expect_code_mail(recovery, "alice@sotto.test", "recovery");
  EXPECT_NE(recovery.headers["Message-ID"], verification.headers["Message-ID"]);
  std::string recovery_code = code_in(recovery);
  ASSERT_EQ(recovery_code.size(), 8u) << mails[1];
  const std::string new_password = "a much better password";
  EXPECT_EQ(
      error_code(stranger.request(proto::RecoverAccount{"alice", recovery_code, new_password})),
      Errc::ok);
  ProtocolClient after(sottod->port());
  auto key = crypto::Ed25519SigningKey::generate();
  EXPECT_EQ(error_code(after.request(
                proto::Login{"alice", new_password, proto::DeviceKey{key.public_key(), "new"}})),
            Errc::ok);

  // The log names the account by its tag: no code, no address.
  std::string sent = "e-mail code sent for account " + tag_of(session.account_id);
  auto wait_for_second = std::chrono::steady_clock::now() + 10s;
  auto count_sent = [&] {
    std::string log = sottod->log();
    std::size_t n = 0;
    for (auto p = log.find(sent); p != std::string::npos; p = log.find(sent, p + 1)) ++n;
    return n;
  };
  while (count_sent() < 2 && std::chrono::steady_clock::now() < wait_for_second) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(count_sent(), 2u) << sottod->log();
  std::string log = sottod->log();
  EXPECT_EQ(log.find(code), std::string::npos);
  EXPECT_EQ(log.find(recovery_code), std::string::npos);
  EXPECT_EQ(log.find("alice@"), std::string::npos);
  EXPECT_EQ(log.find(kSmtpPassword), std::string::npos);
  EXPECT_FALSE(log_has_code_like_token(log)) << log;
}

TEST_F(MailTest, ImplicitTlsOnTheSubmissionsPort) {
  TempDir dir;
  auto sottod =
      start_sottod(dir.path() / "data",
                   {"--smtp-port", std::to_string(mail_->submissions_port()), "--smtp-starttls",
                    "false", "--smtp-ca-file", mail_->certificate().string()});
  ProtocolClient client(sottod->port());
  auto session = register_user(client, "carol");
  ASSERT_FALSE(session.account_id.empty());
  auto mails = mail_->wait_mails("carol", 1);
  ASSERT_EQ(mails.size(), 1u) << sottod->log() << mail_->logs();
  Mail mail = parse_mail(mails[0]);
  expect_code_mail(mail, "carol@sotto.test", "verification");
  std::string code = code_in(mail);
  ASSERT_EQ(code.size(), 8u);
  EXPECT_EQ(error_code(client.request(proto::VerifyEmail{code})), Errc::ok);
  EXPECT_TRUE(log_shows(*sottod, "e-mail code sent for account " + tag_of(session.account_id)))
      << sottod->log();
}

TEST_F(MailTest, AWrongSmtpPasswordIsWarnedAndNothingLeaks) {
  TempDir dir;
  auto sottod = start_sottod(dir.path() / "data", starttls_flags(), "not the password");
  ProtocolClient client(sottod->port());
  auto session = register_user(client, "bob");
  ASSERT_FALSE(session.account_id.empty());
  std::string warned =
      "smtp: e-mail code for account " + tag_of(session.account_id) + " not sent after ";
  std::string why = sottod->wait_log(warned, 30s);
  // A refused login is not tried again.
  EXPECT_NE(why.find("1 attempt(s)"), std::string::npos) << sottod->log();
  EXPECT_NE(why.find("Login denied"), std::string::npos) << sottod->log();

  ProtocolClient stranger(sottod->port());
  EXPECT_EQ(error_code(stranger.request(proto::RequestRecovery{"bob"})), Errc::ok);
  auto deadline = std::chrono::steady_clock::now() + 30s;
  auto warnings = [&] {
    std::string log = sottod->log();
    std::size_t n = 0;
    for (auto p = log.find(warned); p != std::string::npos; p = log.find(warned, p + 1)) ++n;
    return n;
  };
  while (warnings() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(warnings(), 2u) << sottod->log();

  // sottod carries on, and nothing was delivered or leaked.
  EXPECT_TRUE(sottod->alive());
  EXPECT_EQ(error_code(client.request(proto::GetProfile{})), Errc::ok);
  EXPECT_TRUE(mail_->mails("bob").empty());
  std::string log = sottod->log();
  EXPECT_EQ(log.find("verification code"), std::string::npos) << log;
  EXPECT_EQ(log.find("recovery code"), std::string::npos) << log;
  EXPECT_EQ(log.find("bob@"), std::string::npos);
  EXPECT_EQ(log.find("not the password"), std::string::npos);
  EXPECT_FALSE(log_has_code_like_token(log)) << log;
}

TEST_F(MailTest, AnUntrustedCertificateIsRefused) {
  // Without ca_file the system's trust store applies, and it does not hold the test server's
  // self-signed certificate: nothing may be sent, least of all the password.
  std::size_t logins_before = occurrences(mail_->logs(), "sasl_username=");
  TempDir dir;
  auto sottod =
      start_sottod(dir.path() / "data", {"--smtp-port", std::to_string(mail_->submission_port())});
  ProtocolClient client(sottod->port());
  auto session = register_user(client, "dave");
  ASSERT_FALSE(session.account_id.empty());
  std::string why = sottod->wait_log(
      "smtp: e-mail code for account " + tag_of(session.account_id) + " not sent after ", 30s);
  EXPECT_NE(why.find("1 attempt(s)"), std::string::npos) << sottod->log();
  EXPECT_NE(why.find("SSL"), std::string::npos) << sottod->log();
  EXPECT_TRUE(mail_->mails("dave").empty());
  // The mail server saw no login attempt (the other tests' attempts are in its log too).
  EXPECT_EQ(occurrences(mail_->logs(), "sasl_username="), logins_before);
}

TEST_F(MailTest, StoppingDoesNotWaitForAnUnreachableMailServer) {
  // A port where nothing listens: each try fails at once and is retried after a pause. sottod
  // must still stop promptly and say what it dropped.
  auto unused = free_ports(1);
  ASSERT_EQ(unused.size(), 1u);
  TempDir dir;
  auto sottod = start_sottod(
      dir.path() / "data",
      {"--smtp-port", std::to_string(unused[0]), "--smtp-ca-file", mail_->certificate().string()});
  std::string tag;
  {
    ProtocolClient client(sottod->port());
    auto session = register_user(client, "erin");
    ASSERT_FALSE(session.account_id.empty());
    tag = tag_of(session.account_id);
    EXPECT_NE(sottod->wait_log("smtp: e-mail code for account " + tag + " not sent (", 30s), "")
        << sottod->log();
  }
  auto started = std::chrono::steady_clock::now();
  sottod->signal(SIGTERM);
  auto code = sottod->wait_exit(20s);
  ASSERT_TRUE(code.has_value()) << sottod->log();
  EXPECT_EQ(*code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s);
  std::string log = sottod->log();
  EXPECT_NE(log.find("smtp: stopped before retrying the e-mail code for account " + tag),
            std::string::npos)
      << log;
  EXPECT_TRUE(mail_->mails("erin").empty());
}

}  // namespace
}  // namespace sotto::testing
