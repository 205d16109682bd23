// `sotto init --email` without the servers: found through the provider's autoconfig file over
// HTTPS, else by trying the usual names (imap., mail., the domain) on the usual ports, against
// a real Postfix and Dovecot on loopback. The test's mail domain is not in DNS, so the names
// reach loopback through --connect-to, which keeps the certificate checked for the name.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "https_server.h"
#include "mail_server.h"
#include "sotto_cli_support.h"

namespace sotto::cli::testing {
namespace {

class SottoCliMailSetupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mail_ = new sotto::testing::MailServer("sotto.test",
                                           {"erin:secret-e", "frank:secret-f", "gina:secret-g"});
  }
  static void TearDownTestSuite() {
    delete mail_;
    mail_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(mail_->started()) << "the mail server did not start:\n" << mail_->output();
    closed_port_ = sotto::testing::free_ports(1).at(0);  // nothing listens there
  }

  struct Person {
    std::string name;
    fs::path work;
    std::map<std::string, std::string> env;
    std::string address() const { return name + "@sotto.test"; }
    std::string password() const { return "secret-" + name.substr(0, 1); }
  };

  Person person(const std::string& name) {
    Person p{name, tmp_.path() / name, {}};
    fs::create_directories(p.work);
    p.env["SOTTO_PROFILE"] = (p.work / "profile").string();
    p.env["SOTTO_KEY_FILE"] = (p.work / "store.key").string();
    return p;
  }

  SottoRun run(const Person& p, std::vector<std::string> args, bool json = true,
               const std::string& password = "") {
    if (json) args.insert(args.begin(), "--json");
    auto env = p.env;
    env["SOTTO_MAIL_PASSWORD"] = password.empty() ? p.password() : password;
    return SottoProcess(p.work, args, env, std::string()).wait();
  }

  std::string to(uint16_t port) const { return "127.0.0.1:" + std::to_string(port); }
  std::string closed() const { return to(closed_port_); }

  // `sotto init --email` with the CA file and these connect rules, and no servers.
  std::vector<std::string> find_args(const Person& p, const std::vector<std::string>& rules,
                                     bool ca_file = true) {
    std::vector<std::string> args = {"init", "--email", p.address()};
    if (ca_file) {
      args.push_back("--ca-file");
      args.push_back(mail_->certificate().string());
    }
    for (const auto& rule : rules) {
      args.push_back("--connect-to");
      args.push_back(rule);
    }
    return args;
  }

  // A profile whose servers are given by hand.
  void init_by_hand(const Person& p) {
    auto made = run(p, {"init", "--email", p.address(), "--imap", to(mail_->imaps_port()), "--smtp",
                        to(mail_->submissions_port()), "--ca-file", mail_->certificate().string()});
    ASSERT_EQ(made.exit_code, 0) << describe(made);
  }

  void give_key(const Person& owner, const Person& receiver) {
    auto key = run(owner, {"whoami", "--public-key"});
    ASSERT_EQ(key.exit_code, 0) << describe(key);
    const fs::path file = receiver.work / (owner.name + ".asc");
    std::ofstream(file) << key.lines().at(0).at("public_key").get<std::string>();
    auto added = run(receiver, {"contacts", "add", owner.address(), "--key", file.string()});
    ASSERT_EQ(added.exit_code, 0) << describe(added);
  }

  // `from` writes to `to`, who reads it.
  void exchange(const Person& from, const Person& to_person, const std::string& text) {
    auto sent = run(from, {"send", to_person.address(), text});
    ASSERT_EQ(sent.exit_code, 0) << describe(sent);
    EXPECT_EQ(sent.lines().at(0).at("state"), "sent");
    auto got = run(to_person, {"recv", "--wait", "30"});
    ASSERT_EQ(got.exit_code, 0) << describe(got);
    ASSERT_EQ(got.lines().size(), 1u) << got.out;
    EXPECT_EQ(got.lines()[0].at("text"), text);
    EXPECT_EQ(got.lines()[0].at("from"), from.address());
  }

  static inline sotto::testing::MailServer* mail_ = nullptr;
  TempDir tmp_;
  uint16_t closed_port_ = 0;
};

// A provider's file: an IMAP server that cannot be reached comes first, a plain-text SMTP
// server is there to be left out.
constexpr const char* kConfig = R"(<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="sotto.test">
    <domain>sotto.test</domain>
    <incomingServer type="imap">
      <hostname>down.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>mail.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>mail.sotto.test</hostname>
      <port>25</port>
      <socketType>plain</socketType>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>mail.sotto.test</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
)";

TEST_F(SottoCliMailSetupTest, TheServersComeFromTheProvidersAutoconfigFile) {
  sotto::testing::HttpsServer web(mail_->certificate(), mail_->certificate_key(),
                                  {{"/mail/config-v1.1.xml", kConfig}});
  const std::vector<std::string> rules = {
      "autoconfig.sotto.test:443:" + to(web.port()),
      "down.sotto.test:993:" + closed(),
      "mail.sotto.test:993:" + to(mail_->imaps_port()),
      "mail.sotto.test:587:" + to(mail_->submission_port()),
      "mail.sotto.test:25:" + to(mail_->submission_port()),
  };
  Person erin = person("erin");

  // A wrong password: refused by the first server that answers, and nothing kept.
  auto wrong = run(erin, find_args(erin, rules), false, "not-it");
  EXPECT_EQ(wrong.exit_code, 7) << describe(wrong);
  EXPECT_NE(wrong.err.find("found the autoconfig file at https://autoconfig.sotto.test"),
            std::string::npos)
      << wrong.err;
  EXPECT_NE(wrong.err.find("IMAP mail.sotto.test:993 (TLS) refused the login"), std::string::npos)
      << wrong.err;
  EXPECT_FALSE(fs::exists(erin.work / "profile" / "mail.json"));

  auto made = run(erin, find_args(erin, rules));
  ASSERT_EQ(made.exit_code, 0) << describe(made);
  const auto result = made.lines().at(0);
  EXPECT_EQ(result.at("servers_from"), "https://autoconfig.sotto.test/mail/config-v1.1.xml");
  EXPECT_EQ(result.at("imap").at("host"), "mail.sotto.test");
  EXPECT_EQ(result.at("imap").at("port"), 993);
  EXPECT_EQ(result.at("imap").at("security"), "tls");
  EXPECT_EQ(result.at("imap").at("connect_port"), mail_->imaps_port());
  EXPECT_EQ(result.at("smtp").at("host"), "mail.sotto.test");
  EXPECT_EQ(result.at("smtp").at("port"), 587);
  EXPECT_EQ(result.at("smtp").at("security"), "starttls");
  EXPECT_EQ(result.at("login"), erin.address());
  // The file was asked for with the address, percent-encoded.
  const auto asked = web.requests();
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(asked.back(), "/mail/config-v1.1.xml?emailaddress=erin%40sotto.test");

  // The servers found (and the rules to reach them) are kept: erin chats with frank, whose
  // servers were given by hand, both ways.
  Person frank = person("frank");
  ASSERT_NO_FATAL_FAILURE(init_by_hand(frank));
  auto whoami = run(erin, {"whoami"});
  ASSERT_EQ(whoami.exit_code, 0) << describe(whoami);
  EXPECT_EQ(whoami.lines().at(0).at("smtp").at("host"), "mail.sotto.test");
  ASSERT_NO_FATAL_FAILURE(give_key(frank, erin));
  ASSERT_NO_FATAL_FAILURE(exchange(erin, frank, "found my servers by myself"));
  ASSERT_NO_FATAL_FAILURE(exchange(frank, erin, "and they work"));
}

TEST_F(SottoCliMailSetupTest, WithoutAFileTheUsualNamesAreTriedInTurn) {
  // No autoconfig file anywhere; imap.sotto.test and smtp.sotto.test answer on one port each
  // but their certificate is not for that name, so they are passed over as well.
  const std::vector<std::string> rules = {
      "autoconfig.sotto.test:443:" + closed(),
      "sotto.test:443:" + closed(),
      "imap.sotto.test:993:" + closed(),
      "imap.sotto.test:143:" + to(mail_->imap_port()),
      "mail.sotto.test:993:" + to(mail_->imaps_port()),
      "smtp.sotto.test:465:" + closed(),
      "smtp.sotto.test:587:" + to(mail_->submission_port()),
      "mail.sotto.test:465:" + to(mail_->submissions_port()),
  };
  Person gina = person("gina");
  auto made = run(gina, find_args(gina, rules), false);
  ASSERT_EQ(made.exit_code, 0) << describe(made);
  EXPECT_NE(made.out.find("mail servers: IMAP mail.sotto.test:993 (tls), SMTP "
                          "mail.sotto.test:465 (tls) (guessed)"),
            std::string::npos)
      << made.out;
  // Each try is said, in order.
  const std::vector<std::string> tries = {
      "no autoconfig file at https://autoconfig.sotto.test/mail/config-v1.1.xml",
      "no autoconfig file at https://sotto.test/.well-known/autoconfig/mail/config-v1.1.xml",
      "IMAP imap.sotto.test:993 (TLS): ",
      "IMAP imap.sotto.test:143 (STARTTLS): ",
      "IMAP mail.sotto.test:993 (TLS): logged in",
      "SMTP smtp.sotto.test:465 (TLS): ",
      "SMTP smtp.sotto.test:587 (STARTTLS): ",
      "SMTP mail.sotto.test:465 (TLS): logged in",
  };
  size_t at = 0;
  for (const auto& t : tries) {
    const size_t found = made.err.find(t, at);
    ASSERT_NE(found, std::string::npos) << t << " in\n" << made.err;
    at = found + t.size();
  }
  EXPECT_EQ(made.err.find("imap.sotto.test:143 (STARTTLS): logged in"), std::string::npos);

  Person frank = person("frank");
  ASSERT_NO_FATAL_FAILURE(init_by_hand(frank));
  ASSERT_NO_FATAL_FAILURE(give_key(gina, frank));
  ASSERT_NO_FATAL_FAILURE(exchange(frank, gina, "you were guessed right"));
  ASSERT_NO_FATAL_FAILURE(exchange(gina, frank, "thanks"));
}

TEST_F(SottoCliMailSetupTest, AnUncheckedCertificateNeverServesTheAutoconfigFile) {
  // The user accepts any certificate from the mail servers, but a file that could send the
  // password elsewhere is taken only from a checked server: here, none (no CA file, and the
  // system does not know this certificate), so the names are guessed.
  const std::string elsewhere = std::string(kConfig);
  sotto::testing::HttpsServer web(mail_->certificate(), mail_->certificate_key(),
                                  {{"/mail/config-v1.1.xml", elsewhere},
                                   {"/.well-known/autoconfig/mail/config-v1.1.xml", elsewhere}});
  const std::vector<std::string> rules = {
      "autoconfig.sotto.test:443:" + to(web.port()),
      "sotto.test:443:" + to(web.port()),
      "down.sotto.test:993:" + closed(),
      "imap.sotto.test:993:" + to(mail_->imaps_port()),
      "smtp.sotto.test:465:" + to(mail_->submissions_port()),
  };
  Person erin = person("erin");
  std::vector<std::string> args = find_args(erin, rules, false);
  args.push_back("--accept-invalid-certificates");
  auto made = run(erin, args);
  ASSERT_EQ(made.exit_code, 0) << describe(made);
  const auto result = made.lines().at(0);
  EXPECT_EQ(result.at("servers_from"), "guess");
  EXPECT_EQ(result.at("imap").at("host"), "imap.sotto.test");
  EXPECT_EQ(result.at("smtp").at("host"), "smtp.sotto.test");
  EXPECT_TRUE(web.requests().empty());

  // Giving only one server, or a bad rule, is a usage error.
  Person frank = person("frank");
  auto one = run(frank, {"init", "--email", frank.address(), "--imap", to(mail_->imaps_port())});
  EXPECT_EQ(one.exit_code, 2) << describe(one);
  auto bad_rule = run(frank, {"init", "--email", frank.address(), "--connect-to", "a:1:b"});
  EXPECT_EQ(bad_rule.exit_code, 2) << describe(bad_rule);
  EXPECT_FALSE(fs::exists(frank.work / "profile" / "mail.json"));
}

}  // namespace
}  // namespace sotto::cli::testing
