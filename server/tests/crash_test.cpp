// Durability of acknowledged sends: sottod is killed with SIGKILL in the middle of a load and
// restarted on the same data directory. Every message a sender got a SentResponse for must
// then be in each recipient's queue exactly once; messages that were sent but never answered
// may or may not be there, but none may be there twice.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "protocol_client.h"
#include "sotto/crypto/primitives.h"
#include "sottod_process.h"

namespace sotto::testing {
namespace {

using namespace std::chrono_literals;
using crypto::Ed25519SigningKey;

constexpr const char* kPassword = "correct horse battery";
constexpr int kSenders = 2;
constexpr int kMessagesPerSender = 500;
// The kill comes once this many sends are acknowledged: well into the load, well before its end.
constexpr size_t kKillAfter = 300;

std::vector<std::string> server_args(const std::filesystem::path& data_dir) {
  std::vector<std::string> extra;
  for (const char* flag :
       {"--rate-registration-per-minute", "--rate-registration-burst", "--rate-login-per-minute",
        "--rate-login-burst", "--rate-sends-per-minute", "--rate-sends-burst"}) {
    extra.emplace_back(flag);
    extra.emplace_back("100000");
  }
  return SottodProcess::args_for(data_dir, std::move(extra));
}

proto::SessionResponse session_of(const proto::ResponseBody& answer, const char* what) {
  const auto* session = as<proto::SessionResponse>(answer);
  EXPECT_NE(session, nullptr) << what << ": " << errc_name(error_code(answer));
  return session ? *session : proto::SessionResponse{};
}

proto::SessionResponse register_account(ProtocolClient& client, const std::string& username) {
  proto::RegisterAccount r;
  r.username = username;
  r.email = username + "@example.org";
  r.password = kPassword;
  r.device = proto::DeviceKey{Ed25519SigningKey::generate().public_key(), "phone"};
  return session_of(client.request(r), "register");
}

std::string text(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

TEST(CrashTest, AcknowledgedSendsSurviveKill9) {
  TempDir dir;
  const auto data_dir = dir.path() / "data";
  auto server = std::make_unique<SottodProcess>(server_args(data_dir));
  ASSERT_TRUE(server->wait_listening()) << server->line();

  // Bob's two devices receive; they are offline during the load.
  proto::SessionResponse bob1, bob2;
  {
    ProtocolClient first(server->port());
    bob1 = register_account(first, "bob");
    ProtocolClient second(server->port());
    bob2 =
        session_of(second.request(proto::Login{
                       "bob", kPassword, {Ed25519SigningKey::generate().public_key(), "laptop"}}),
                   "login");
  }
  ASSERT_FALSE(bob1.device_id.empty());
  ASSERT_FALSE(bob2.device_id.empty());

  std::vector<std::unique_ptr<ProtocolClient>> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.push_back(std::make_unique<ProtocolClient>(server->port()));
    ASSERT_FALSE(register_account(*senders.back(), "sender" + std::to_string(s)).device_id.empty());
  }

  std::mutex mutex;
  std::set<std::string> acknowledged;  // payloads answered with SentResponse
  std::set<std::string> attempted;     // payloads sent, answered or not
  std::atomic<size_t> acknowledged_count{0};
  std::atomic<int> unexpected_errors{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < kSenders; ++s) {
    threads.emplace_back([&, s] {
      for (int i = 0; i < kMessagesPerSender; ++i) {
        // Unique and recognisable, padded to a realistic size.
        std::string payload = "sender " + std::to_string(s) + " message " + std::to_string(i) + " ";
        payload.resize(300, '.');
        proto::Send send;
        send.message_id = crypto::random_bytes(proto::kMessageIdSize);
        send.recipients = {bob1.device_id, bob2.device_id};
        send.payload = to_bytes(payload);
        {
          std::lock_guard lock(mutex);
          attempted.insert(payload);
        }
        auto answer = senders[static_cast<size_t>(s)]->request(send, 10s);
        if (as<proto::SentResponse>(answer) != nullptr) {
          std::lock_guard lock(mutex);
          acknowledged.insert(payload);
          acknowledged_count.fetch_add(1);
          continue;
        }
        // The connection ends when the server dies: the load stops there.
        if (error_code(answer) != Errc::unavailable) unexpected_errors.fetch_add(1);
        return;
      }
    });
  }

  const auto give_up = std::chrono::steady_clock::now() + 120s;
  while (acknowledged_count.load() < kKillAfter && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  server->signal(SIGKILL);
  for (auto& t : threads) t.join();
  server->wait_exit(10s);
  server.reset();
  EXPECT_EQ(unexpected_errors.load(), 0);
  const size_t acked = acknowledged.size();
  EXPECT_GE(acked, kKillAfter);
  // If the load had finished before the kill, the test would prove less than it claims.
  EXPECT_LT(acked, size_t{kSenders * kMessagesPerSender}) << "the kill came after the load";

  // The same data directory, a new process.
  server = std::make_unique<SottodProcess>(server_args(data_dir));
  ASSERT_TRUE(server->wait_listening()) << server->line();
  for (const auto* device : {&bob1, &bob2}) {
    ProtocolClient client(server->port());
    session_of(client.request(proto::AuthSession{device->token}), "auth_session");
    std::map<std::string, int> seen;
    uint64_t after = 0;
    for (;;) {
      auto answer = client.request(proto::Fetch{after, 500});
      const auto* page = as<proto::MessagesResponse>(answer);
      ASSERT_NE(page, nullptr) << errc_name(error_code(answer));
      for (const auto& m : page->messages) ++seen[text(m.payload)];
      if (!page->more || page->messages.empty()) break;
      after = page->messages.back().seq;
    }
    size_t missing = 0, duplicated = 0, unknown = 0;
    for (const auto& payload : acknowledged) missing += seen.contains(payload) ? 0 : 1;
    for (const auto& [payload, count] : seen) {
      duplicated += count > 1 ? 1 : 0;
      unknown += attempted.contains(payload) ? 0 : 1;
    }
    EXPECT_EQ(missing, 0u) << "acknowledged messages lost";
    EXPECT_EQ(duplicated, 0u) << "messages queued twice";
    EXPECT_EQ(unknown, 0u) << "messages nobody sent";
    // At most the sends in flight at the kill (one per sender) were stored without an answer.
    EXPECT_LE(seen.size(), acked + kSenders);
  }
}

}  // namespace
}  // namespace sotto::testing
