// A test suite with its own Postfix + Dovecot (tests/support/mail_server.h) and mailboxes
// alice, bob, carol and dave at sotto.test, password "secret": the endpoints to reach it with
// its certificate trusted, and a user's inbox read over IMAP.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "mail_server.h"
#include "sotto/mail/imap_connection.h"

namespace sotto::mail {

class MailSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new testing::MailServer(
        "sotto.test", {"alice:secret", "bob:secret", "carol:secret", "dave:secret"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->started()) << "the mail server did not start:\n" << server_->output();
  }

  static MailServerEndpoint endpoint(uint16_t port, MailServerEndpoint::Security security) {
    MailServerEndpoint e;
    e.host = "127.0.0.1";
    e.port = port;
    e.security = security;
    e.ca_file = server_->certificate().string();
    e.step_timeout = std::chrono::seconds(20);
    return e;
  }
  // Submission with STARTTLS (587).
  static MailServerEndpoint submission() {
    return endpoint(server_->submission_port(), MailServerEndpoint::Security::starttls);
  }

  // The messages in `user`'s inbox once there are `count` (or after 30 s).
  static std::vector<imap::FetchedMessage> inbox(const std::string& user, size_t count) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto c = ImapConnection::connect(
          endpoint(server_->imaps_port(), MailServerEndpoint::Security::implicit_tls));
      EXPECT_TRUE(c.ok()) << c.error().to_string();
      if (!c.ok()) return {};
      EXPECT_TRUE((*c)->login(user + "@sotto.test", "secret").ok());
      EXPECT_TRUE((*c)->select("INBOX").ok());
      auto all = (*c)->fetch_from(1);
      EXPECT_TRUE(all.ok());
      if (!all.ok()) return {};
      if (all->size() >= count || std::chrono::steady_clock::now() > deadline) return *all;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  static inline testing::MailServer* server_ = nullptr;
};

}  // namespace sotto::mail
