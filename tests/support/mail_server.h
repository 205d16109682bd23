// A real Postfix + Dovecot (scripts/mailserver.sh) for tests: in a temporary directory, on
// free loopback ports, stopped and removed when the object goes. Needs root; without it the
// server does not start and started() says so.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sotto::testing {

// Ports the kernel hands out as free right now; all are held open until every one is chosen,
// so that they differ.
std::vector<uint16_t> free_ports(std::size_t n);

class MailServer {
 public:
  // Mailboxes user@domain for each "user:password" in `users` (no spaces in either). Without
  // `idle`, the IMAP server does not offer IDLE.
  MailServer(std::string domain, std::vector<std::string> users, bool idle = true);
  ~MailServer();
  MailServer(const MailServer&) = delete;
  MailServer& operator=(const MailServer&) = delete;

  bool started() const { return started_; }
  // What the start script printed (why it did not start).
  const std::string& output() const { return output_; }
  const std::string& domain() const { return domain_; }
  uint16_t imap_port() const { return ports_[0]; }
  uint16_t imaps_port() const { return ports_[1]; }
  uint16_t submission_port() const { return ports_[3]; }
  uint16_t submissions_port() const { return ports_[4]; }
  // The servers' self-signed certificate (for localhost, 127.0.0.1, mail.<domain> and
  // autoconfig.<domain>) and its key.
  std::filesystem::path certificate() const { return state() / "ssl" / "cert.pem"; }
  std::filesystem::path certificate_key() const { return state() / "ssl" / "key.pem"; }

  // The mails delivered to `user`'s inbox and not yet seen by an IMAP client, oldest first.
  std::vector<std::string> mails(const std::string& user) const;
  // Waits until `user` has `count` such mails; all of them then.
  std::vector<std::string> wait_mails(const std::string& user, std::size_t count,
                                      std::chrono::seconds limit = std::chrono::seconds(30)) const;
  std::string logs() const;
  // Stops both servers (open connections break) and starts them again on the same ports
  // with the same mail; whether they came up.
  bool stop();
  bool start();

 private:
  std::filesystem::path state() const { return dir_ / "mail"; }
  int run(const std::string& command);

  std::filesystem::path dir_;
  std::string domain_;
  std::string env_;
  std::string output_;
  std::vector<uint16_t> ports_ = std::vector<uint16_t>(7, 0);
  bool started_ = false;
};

}  // namespace sotto::testing
