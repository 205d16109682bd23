// Chat over e-mail through a real Postfix and Dovecot on loopback (tests/support/mail_server.h;
// needs root): the latency of a 1 KiB text from one person to another, sealed, submitted,
// delivered, noticed over IMAP IDLE, fetched and opened — Sotto to Sotto, and Delta Chat to
// Delta Chat (its real core from npm, tests/interop/deltachat) through the same servers.
//
// One message at a time: the next is sent once the last was read.
//
//   bench_mail [--messages N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "deltachat_driver.h"
#include "mail_server.h"
#include "sotto/mail/imap_connection.h"
#include "sotto/mail/mime.h"
#include "sotto/mail/smtp_submission.h"
#include "sotto/openpgp/cert.h"

namespace {

using namespace sotto;
using namespace sotto::mail;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void print_figures(const char* who, const char* done, std::vector<double> ms, size_t sent,
                   double seconds) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  std::printf("%-26s %3zu/%3zu %-8s  p50 %7.1f ms  p90 %7.1f  p99 %7.1f  max %7.1f  (%.1f s)\n",
              who, ms.size(), sent, done, at(0.5), at(0.9), at(0.99), ms.empty() ? 0.0 : ms.back(),
              seconds);
}

MailServerEndpoint endpoint(const testing::MailServer& server, uint16_t port,
                            MailServerEndpoint::Security security) {
  MailServerEndpoint e;
  e.host = "127.0.0.1";
  e.port = port;
  e.security = security;
  e.ca_file = server.certificate().string();
  e.step_timeout = std::chrono::seconds(20);
  return e;
}

// Alice sends `count` texts to Bob; Bob waits in IDLE, fetches what is new and opens it. The
// send time travels in the text.
void sotto_to_sotto(const testing::MailServer& server, int count) {
  auto now = static_cast<uint32_t>(std::time(nullptr));
  auto alice = openpgp::generate_cert("<alice@sotto.test>", now - 60).value();
  auto bob = openpgp::generate_cert("<bob@sotto.test>", now - 60).value();
  std::vector<double> latencies;  // the reader's until it is joined
  std::atomic<int> received{0};
  std::atomic<bool> ready{false}, done{false};
  std::thread reader([&] {
    auto c = ImapConnection::connect(
        endpoint(server, server.imaps_port(), MailServerEndpoint::Security::implicit_tls));
    if (!c.ok() || !(*c)->login("bob@sotto.test", "secret").ok() || !(*c)->select("INBOX").ok()) {
      std::fprintf(stderr, "bench_mail: Bob's IMAP connection failed\n");
      ready = true;
      return;
    }
    ready = true;
    uint32_t next_uid = 1;
    while (!done && received < count) {
      auto fetched = (*c)->fetch_from(next_uid);
      if (!fetched.ok()) break;
      for (const auto& m : *fetched) {
        if (m.uid) next_uid = std::max(next_uid, *m.uid + 1);
        if (!m.body) continue;
        auto opened = open(*m.body, {bob}, {alice.cert}, static_cast<uint32_t>(std::time(nullptr)));
        if (!opened.ok()) continue;
        long long sent_ns = std::atoll(opened->mail.text.c_str());
        auto sent_at = Clock::time_point(Clock::duration(sent_ns));
        latencies.push_back(ms_since(sent_at));
        ++received;
      }
      if (fetched->empty() && !(*c)->idle(std::chrono::seconds(5)).ok()) break;
    }
    (*c)->logout();
  });
  while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto start = Clock::now();
  std::vector<double> sending;  // sealing and submission, until the server took the mail
  auto submission =
      endpoint(server, server.submission_port(), MailServerEndpoint::Security::starttls);
  for (int i = 0; i < count; ++i) {
    auto t0 = Clock::now();
    ChatMail m;
    m.from_addr = "alice@sotto.test";
    m.to = {"bob@sotto.test"};
    m.message_id = "Mr.bench" + std::to_string(i) + "@sotto.test";
    m.chat_headers = {{"Chat-Version", "1.0"}};
    m.text = std::to_string(t0.time_since_epoch().count()) + " " + std::string(1000, 'x');
    auto raw = seal(m, alice, {bob.cert}, SealOptions{static_cast<uint32_t>(std::time(nullptr))});
    if (!raw.ok() || !submit(submission, "alice@sotto.test", "secret",
                             Envelope{"alice@sotto.test", {"bob@sotto.test"}}, *raw)
                          .ok()) {
      std::fprintf(stderr, "bench_mail: sending %d failed\n", i);
    }
    sending.push_back(ms_since(t0));
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (received <= i && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  done = true;
  reader.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  print_figures("Sotto -> Sotto", "received", latencies, static_cast<size_t>(count), seconds);
  print_figures("  of which seal + submit", "sent", sending, static_cast<size_t>(count), seconds);
}

// Dave (Delta Chat) joins Carol (Delta Chat) through her invite link, then sends her `count`
// texts; the latency is from Dave's send to Carol's core reporting the message.
void deltachat_to_deltachat(const testing::MailServer& server, int count) {
  namespace fs = std::filesystem;
  fs::path work = fs::temp_directory_path() / ("sotto-bench-dc-" + std::to_string(::getpid()));
  fs::remove_all(work);
  {
    testing::DeltaChat carol(SOTTO_NODE_PATH, SOTTO_SOURCE_DIR, work / "carol");
    testing::DeltaChat dave(SOTTO_NODE_PATH, SOTTO_SOURCE_DIR, work / "dave");
    if (!carol.ready().value("ready", false) || !dave.ready().value("ready", false)) {
      std::printf(
          "%-26s not run: the Delta Chat core did not start (scripts/install-deps.sh "
          "installs it)\n%s\n",
          "Delta Chat -> Delta Chat", carol.log().c_str());
      return;
    }
    std::string version = carol.ready().value("version", "?");
    bool configured = true;
    for (auto [dc, user] : {std::pair{&carol, "carol"}, std::pair{&dave, "dave"}}) {
      testing::json answer = dc->call({{"op", "configure"},
                                       {"addr", std::string(user) + "@sotto.test"},
                                       {"password", "secret"},
                                       {"imap_host", "127.0.0.1"},
                                       {"imap_port", server.imaps_port()},
                                       {"imap_security", "ssl"},
                                       {"smtp_host", "127.0.0.1"},
                                       {"smtp_port", server.submission_port()},
                                       {"smtp_security", "starttls"}});
      configured = configured && answer.value("ok", false);
    }
    testing::json qr = carol.call({{"op", "secure_join_qr"}});
    testing::json joined = dave.call({{"op", "secure_join"}, {"qr", qr.value("qr", "")}});
    testing::json welcomed = carol.call({{"op", "wait_secure_join"}});
    if (!configured || !joined.value("ok", false) || !welcomed.value("ok", false)) {
      std::printf("%-26s not run: configuring or SecureJoin failed\n%s\n%s\n",
                  "Delta Chat -> Delta Chat", joined.dump().c_str(), dave.log().c_str());
      return;
    }
    int chat = joined.value("chat_id", 0);
    std::vector<double> latencies;
    auto start = Clock::now();
    for (int i = 0; i < count; ++i) {
      auto t0 = Clock::now();
      testing::json sent =
          dave.call({{"op", "send"}, {"chat_id", chat}, {"text", std::string(1024, 'x')}});
      testing::json got = carol.call({{"op", "wait_message"}, {"timeout_ms", 30000}});
      if (sent.value("ok", false) && got.value("ok", false)) latencies.push_back(ms_since(t0));
    }
    print_figures(("Delta Chat -> Delta Chat " + version).c_str(), "received", latencies,
                  static_cast<size_t>(count),
                  std::chrono::duration<double>(Clock::now() - start).count());
  }
  fs::remove_all(work);
}

}  // namespace

int main(int argc, char** argv) {
  int count = 40;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--messages") == 0) count = std::atoi(argv[i + 1]);
  }
  testing::MailServer server("sotto.test",
                             {"alice:secret", "bob:secret", "carol:secret", "dave:secret"});
  if (!server.started()) {
    std::fprintf(stderr, "bench_mail: the mail server did not start (it needs root):\n%s\n",
                 server.output().c_str());
    return 1;
  }
  std::printf(
      "1 KiB texts through Postfix (submission, STARTTLS) and Dovecot (IMAPS, IDLE), "
      "one at a time, sealed (signed and encrypted)\n");
  sotto_to_sotto(server, count);
  deltachat_to_deltachat(server, count);
  return 0;
}
