// Key packages and delivery through a real sottod over sotto.v1: live and offline recipients,
// acknowledgement, commit ordering under a race, queue limits.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "protocol_client.h"
#include "push_receiver.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/group.h"
#include "sotto/mls/messages.h"
#include "sottod_process.h"
#include "test_devices.h"

namespace sotto::testing {
namespace {

using namespace std::chrono_literals;
using crypto::Ed25519SigningKey;

constexpr const char* kPassword = kTestPassword;
using Device = TestDevice;

// Registrations and logins come from one address in these tests: the limits are raised.
std::vector<std::string> relaxed_limits(std::vector<std::string> extra = {}) {
  for (const char* flag : {"--rate-registration-per-minute", "--rate-registration-burst",
                           "--rate-login-per-minute", "--rate-login-burst"}) {
    extra.emplace_back(flag);
    extra.emplace_back("1000");
  }
  return extra;
}

// One device of an account, with its own connection.

// Reconnects a device that went offline, resuming its session.
void reconnect(Device& d, uint16_t port) {
  d.client = std::make_unique<ProtocolClient>(port);
  auto answer = d.client->request(proto::AuthSession{d.session.token});
  ASSERT_NE(as<proto::SessionResponse>(answer), nullptr)
      << "auth_session: " << errc_name(error_code(answer));
}

proto::Send message(std::vector<Bytes> recipients, std::string_view payload,
                    std::optional<proto::CommitOrder> commit = std::nullopt) {
  proto::Send send;
  send.message_id = crypto::random_bytes(proto::kMessageIdSize);
  send.recipients = std::move(recipients);
  send.commit = std::move(commit);
  send.payload = to_bytes(payload);
  return send;
}

std::vector<proto::QueuedMessage> fetch_all(ProtocolClient& client) {
  std::vector<proto::QueuedMessage> out;
  uint64_t after = 0;
  for (;;) {
    auto answer = client.request(proto::Fetch{after, 100});
    const auto* page = as<proto::MessagesResponse>(answer);
    EXPECT_NE(page, nullptr) << "fetch: " << errc_name(error_code(answer));
    if (page == nullptr) return out;
    out.insert(out.end(), page->messages.begin(), page->messages.end());
    if (!page->more || page->messages.empty()) return out;
    after = page->messages.back().seq;
  }
}

std::string text(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

class DeliveryE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new SottodProcess(SottodProcess::args_for(dir_->path() / "data", relaxed_limits()));
    ASSERT_TRUE(server_->wait_listening()) << server_->line();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  static uint16_t port() { return server_->port(); }
  // Usernames unique across the suite's tests, which share one server.
  static std::string name(const std::string& base) { return base + std::to_string(++counter_); }

  static TempDir* dir_;
  static SottodProcess* server_;
  static int counter_;
};
TempDir* DeliveryE2eTest::dir_ = nullptr;
SottodProcess* DeliveryE2eTest::server_ = nullptr;
int DeliveryE2eTest::counter_ = 0;

TEST_F(DeliveryE2eTest, LiveDeviceGetsTheEventOfflineOneFetchesOnReconnect) {
  const std::string bob = name("bob");
  Device alice = register_device(port(), name("alice"));
  Device bob1 = register_device(port(), bob);
  Device bob2 = login_device(port(), bob);
  const Bytes bob2_id = bob2.id();
  bob2.client.reset();                 // offline
  std::this_thread::sleep_for(100ms);  // the server notices the close

  auto sent = alice.client->request(message({bob1.id(), bob2_id}, "hello bob"));
  const auto* accepted = as<proto::SentResponse>(sent);
  ASSERT_NE(accepted, nullptr) << errc_name(error_code(sent));

  auto event = bob1.client->next_event(5s);
  ASSERT_TRUE(event.has_value());
  const auto* message_event = std::get_if<proto::MessageEvent>(&event->event);
  ASSERT_NE(message_event, nullptr);
  EXPECT_EQ(text(message_event->message.payload), "hello bob");
  EXPECT_EQ(message_event->message.received_at, accepted->accepted_at);

  reconnect(bob2, port());
  auto queued = fetch_all(*bob2.client);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(text(queued[0].payload), "hello bob");

  // The live copy stays queued until it is acked, like any other.
  auto live_queued = fetch_all(*bob1.client);
  ASSERT_EQ(live_queued.size(), 1u);
  EXPECT_EQ(live_queued[0].seq, message_event->message.seq);
}

TEST_F(DeliveryE2eTest, AckDeletesOnlyFromTheCallersQueue) {
  const std::string bob = name("bob");
  Device alice = register_device(port(), name("alice"));
  Device bob1 = register_device(port(), bob);
  Device bob2 = login_device(port(), bob);
  for (int i = 0; i < 3; ++i) {
    auto sent = alice.client->request(message({bob1.id(), bob2.id()}, "m" + std::to_string(i)));
    ASSERT_NE(as<proto::SentResponse>(sent), nullptr) << errc_name(error_code(sent));
  }
  auto of_bob2 = fetch_all(*bob2.client);
  ASSERT_EQ(of_bob2.size(), 3u);
  std::vector<uint64_t> bob2_seqs;
  for (const auto& m : of_bob2) bob2_seqs.push_back(m.seq);

  // Alice (nothing queued) acks Bob's second device's seq numbers: nothing happens to them.
  EXPECT_EQ(error_code(alice.client->request(proto::Ack{bob2_seqs})), Errc::ok);
  EXPECT_EQ(fetch_all(*bob2.client).size(), 3u);

  auto of_bob1 = fetch_all(*bob1.client);
  ASSERT_EQ(of_bob1.size(), 3u);
  std::vector<uint64_t> bob1_seqs;
  for (const auto& m : of_bob1) bob1_seqs.push_back(m.seq);
  EXPECT_EQ(error_code(bob1.client->request(proto::Ack{bob1_seqs})), Errc::ok);
  EXPECT_TRUE(fetch_all(*bob1.client).empty());
  EXPECT_EQ(fetch_all(*bob2.client).size(), 3u);
  // A repeated ack is harmless.
  EXPECT_EQ(error_code(bob1.client->request(proto::Ack{bob1_seqs})), Errc::ok);
}

TEST_F(DeliveryE2eTest, ConcurrentCommitsForOneEpochOneWins) {
  Device alice = register_device(port(), name("alice"));
  Device bob = register_device(port(), name("bob"));
  Device carol = register_device(port(), name("carol"));
  for (int round = 0; round < 5; ++round) {
    const Bytes group = crypto::random_bytes(32);
    ASSERT_EQ(error_code(alice.client->request(
                  message({carol.id()}, "create", proto::CommitOrder{group, 0}))),
              Errc::ok);
    // Both members commit in epoch 1 at once.
    proto::ResponseBody from_alice, from_bob;
    std::thread a([&] {
      from_alice = alice.client->request(
          message({bob.id(), carol.id()}, "alice's commit", proto::CommitOrder{group, 1}));
    });
    std::thread b([&] {
      from_bob = bob.client->request(
          message({alice.id(), carol.id()}, "bob's commit", proto::CommitOrder{group, 1}));
    });
    a.join();
    b.join();
    const Errc ea = error_code(from_alice), eb = error_code(from_bob);
    EXPECT_TRUE((ea == Errc::ok && eb == Errc::conflict) ||
                (ea == Errc::conflict && eb == Errc::ok))
        << errc_name(ea) << " / " << errc_name(eb);
    // The loser fetches the winner's commit, then commits in the next epoch.
    Device& loser = ea == Errc::conflict ? alice : bob;
    const Bytes other = ea == Errc::conflict ? bob.id() : alice.id();
    EXPECT_EQ(error_code(loser.client->request(
                  message({other, carol.id()}, "next", proto::CommitOrder{group, 2}))),
              Errc::ok);
  }
  // Carol got exactly the accepted commits: 5 x (create, winner, next).
  auto queued = fetch_all(*carol.client);
  EXPECT_EQ(queued.size(), 15u);
}

TEST_F(DeliveryE2eTest, KeyPackagesClaimedOnceAndTheOwnerIsToldWhenLow) {
  const std::string bob = name("bob");
  Device alice = register_device(port(), name("alice"));
  Device bob1 = register_device(port(), bob);
  const Bytes first = device_key_package(bob1.key), second = device_key_package(bob1.key);
  auto uploaded = bob1.client->request(proto::UploadKeyPackages{{first, second}, std::nullopt});
  const auto* stock = as<proto::KeyPackageStockResponse>(uploaded);
  ASSERT_NE(stock, nullptr) << errc_name(error_code(uploaded));
  EXPECT_EQ(stock->count, 2u);
  // Another device's key package is refused.
  EXPECT_EQ(error_code(alice.client->request(
                proto::UploadKeyPackages{{device_key_package(bob1.key)}, std::nullopt})),
            Errc::forbidden);

  auto claimed = alice.client->request(proto::ClaimKeyPackages{bob});
  const auto* c = as<proto::ClaimedKeyPackagesResponse>(claimed);
  ASSERT_NE(c, nullptr) << errc_name(error_code(claimed));
  ASSERT_EQ(c->key_packages.size(), 1u);
  EXPECT_EQ(c->key_packages[0].device_id, bob1.id());
  EXPECT_EQ(c->key_packages[0].key_package, first);

  auto event = bob1.client->next_event(5s);
  ASSERT_TRUE(event.has_value());
  const auto* low = std::get_if<proto::KeyPackagesLowEvent>(&event->event);
  ASSERT_NE(low, nullptr);
  EXPECT_EQ(low->remaining, 1u);

  auto again = alice.client->request(proto::ClaimKeyPackages{bob});
  ASSERT_NE(as<proto::ClaimedKeyPackagesResponse>(again), nullptr);
  EXPECT_EQ(as<proto::ClaimedKeyPackagesResponse>(again)->key_packages[0].key_package, second);
  EXPECT_EQ(error_code(alice.client->request(proto::ClaimKeyPackages{bob})), Errc::not_found);
}

TEST_F(DeliveryE2eTest, RepeatedSendIsAnsweredAsTheFirst) {
  Device alice = register_device(port(), name("alice"));
  Device bob = register_device(port(), name("bob"));
  auto request = message({bob.id()}, "once");
  auto first = alice.client->request(request);
  ASSERT_NE(as<proto::SentResponse>(first), nullptr);
  // The retry comes on a new connection, as after a lost answer.
  reconnect(alice, port());
  auto second = alice.client->request(request);
  ASSERT_NE(as<proto::SentResponse>(second), nullptr);
  EXPECT_EQ(as<proto::SentResponse>(second)->accepted_at,
            as<proto::SentResponse>(first)->accepted_at);
  EXPECT_EQ(fetch_all(*bob.client).size(), 1u);
}

// An offline device with a Web Push subscription is woken by a content-free push that its
// user agent can decrypt, then fetches the message itself.
TEST(DeliveryE2ePush, OfflineDeviceIsWokenByAnEncryptedContentFreePush) {
  server::testing::PushReceiver receiver;
  TempDir dir;
  SottodProcess server(SottodProcess::args_for(
      dir.path() / "data", relaxed_limits({"--push-allow-http-endpoints", "true"})));
  ASSERT_TRUE(server.wait_listening()) << server.line();
  Device alice = register_device(server.port(), "alice");
  Device bob = register_device(server.port(), "bob");

  auto key = bob.client->request(proto::PushKey{});
  const auto* vapid = as<proto::PushKeyResponse>(key);
  ASSERT_NE(vapid, nullptr) << errc_name(error_code(key));
  auto registered = bob.client->request(
      proto::RegisterPush{receiver.endpoint(), receiver.p256dh(), receiver.auth()});
  ASSERT_EQ(error_code(registered), Errc::ok);

  // Live: the message goes over the WebSocket and no push is sent.
  ASSERT_NE(as<proto::SentResponse>(alice.client->request(message({bob.id()}, "live"))), nullptr);
  ASSERT_TRUE(bob.client->next_event(5s).has_value());
  EXPECT_FALSE(receiver.wait_for(1, 300ms));

  const Bytes bob_id = bob.id();
  bob.client.reset();
  std::this_thread::sleep_for(100ms);  // the server notices the close
  auto sent = alice.client->request(message({bob_id}, "while you were away"));
  ASSERT_NE(as<proto::SentResponse>(sent), nullptr) << errc_name(error_code(sent));

  ASSERT_TRUE(receiver.wait_for(1, 10s));
  auto pushes = receiver.received();
  ASSERT_EQ(pushes.size(), 1u);
  auto opened = receiver.open(pushes[0]);
  ASSERT_TRUE(opened) << opened.error().to_string();
  EXPECT_EQ(opened->vapid_public_key, vapid->vapid_public_key);
  const std::string payload(opened->plaintext.begin(), opened->plaintext.end());
  EXPECT_EQ(payload.find("while you were away"), std::string::npos);
  EXPECT_EQ(payload, R"({"t":"sotto"})");
  // The encrypted body does not carry the message either (it is smaller than it).
  EXPECT_LT(pushes[0].body.size(), 200u);

  reconnect(bob, server.port());
  auto queued = fetch_all(*bob.client);
  ASSERT_EQ(queued.size(), 2u);  // the live one was never acknowledged
  EXPECT_EQ(text(queued[1].payload), "while you were away");
}

TEST(DeliveryE2eLimits, FullQueueIsRefused) {
  TempDir dir;
  SottodProcess server(
      SottodProcess::args_for(dir.path() / "data", relaxed_limits({"--max-queue-messages", "3"})));
  ASSERT_TRUE(server.wait_listening()) << server.line();
  Device alice = register_device(server.port(), "alice");
  Device bob = register_device(server.port(), "bob");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(error_code(alice.client->request(message({bob.id()}, "m"))), Errc::ok);
  }
  EXPECT_EQ(error_code(alice.client->request(message({bob.id()}, "one too many"))),
            Errc::quota_exceeded);
  auto queued = fetch_all(*bob.client);
  ASSERT_EQ(queued.size(), 3u);
  EXPECT_EQ(error_code(bob.client->request(proto::Ack{{queued[0].seq}})), Errc::ok);
  EXPECT_EQ(error_code(alice.client->request(message({bob.id()}, "room again"))), Errc::ok);
}

}  // namespace
}  // namespace sotto::testing
