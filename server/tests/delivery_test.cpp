// The key-package and delivery handlers, called directly on a ServerState over the memory
// store (which completes enqueue at once): no network, no sessions, so no device is live and
// every copy counts as queued for an offline device.
#include "services/delivery.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "files/expiry_sweep.h"
#include "server_state.h"
#include "services/delivery_internal.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/group.h"
#include "sotto/mls/messages.h"
#include "sotto/store/store.h"
#include "sottod_process.h"

namespace sotto::server {
namespace {

constexpr auto kSuite = crypto::SuiteId::x25519_chacha20poly1305_sha256_ed25519;

uint64_t now_seconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

mls::Random system_rng() {
  return [](std::span<uint8_t> out) { crypto::random_fill(out); };
}

// What a handler answered; the memory store makes every handler answer before it returns.
struct Answer {
  std::optional<Result<proto::ResponseBody>> result;
  int calls = 0;

  Reply reply() {
    return [this](Result<proto::ResponseBody> r) {
      ++calls;
      result.emplace(std::move(r));
    };
  }
  Errc code() const {
    EXPECT_EQ(calls, 1) << "a handler answers exactly once";
    if (!result) return Errc::internal;
    return result->ok() ? Errc::ok : result->error().code();
  }
  template <class T>
  const T& as() const {
    EXPECT_EQ(calls, 1);
    static const T empty{};
    if (!result || !result->ok()) {
      ADD_FAILURE() << "error: " << (result ? result->error().to_string() : "no answer");
      return empty;
    }
    const T* value = std::get_if<T>(&result->value());
    if (value == nullptr) {
      ADD_FAILURE() << "another response type";
      return empty;
    }
    return *value;
  }
};

struct TestDevice {
  Caller caller;
  crypto::Ed25519SigningKey key = crypto::Ed25519SigningKey::generate();
  const Bytes& id() const { return *caller.device_id; }
};

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}, {}); }

  void start(Config config, store::Limits limits) {
    state_.reset();
    store_ = store::make_memory_store(limits);
    state_ = std::make_unique<ServerState>(std::move(config), store_.get());
    state_->on_offline_delivery = [this](const Bytes& device) { offline_.push_back(device); };
    alice_ = add_account("alice", 1)[0];
    auto bob = add_account("bob", 2);
    bob1_ = bob[0];
    bob2_ = bob[1];
  }

  std::vector<TestDevice> add_account(const std::string& name, int devices) {
    store::Account account;
    account.id = crypto::random_bytes(16);
    account.username = name;
    account.email = name + "@example.org";
    account.password_hash = "unused";
    std::vector<TestDevice> out(static_cast<size_t>(devices));
    for (size_t i = 0; i < out.size(); ++i) {
      store::Device device;
      device.id = crypto::random_bytes(16);
      device.account_id = account.id;
      device.signature_key = out[i].key.public_key();
      device.name = name + std::to_string(i);
      device.created_at = i;  // oldest first
      if (i == 0) {
        EXPECT_TRUE(store_->create_account(account, device, std::nullopt, 1).ok());
      } else {
        EXPECT_TRUE(store_->add_device(device).ok());
      }
      out[i].caller.ip = "192.0.2.1";
      out[i].caller.account_id = account.id;
      out[i].caller.device_id = device.id;
    }
    return out;
  }

  // An MLSMessage holding a KeyPackage signed with `key`.
  static Bytes key_package(const crypto::Ed25519SigningKey& key,
                           mls::Lifetime lifetime = {now_seconds() - 60,
                                                     now_seconds() + 30 * 86400}) {
    auto bundle =
        mls::create_key_package(kSuite, mls::Credential{mls::BasicCredential{to_bytes("device")}},
                                key.seed(), lifetime, system_rng());
    EXPECT_TRUE(bundle.ok()) << bundle.error().to_string();
    mls::MlsMessage message;
    message.content = std::move(bundle).value().key_package;
    return tls::encode(message);
  }

  Answer upload(const TestDevice& device, std::vector<Bytes> key_packages,
                std::optional<Bytes> last_resort = std::nullopt) {
    Answer answer;
    handle_upload_key_packages(
        *state_, device.caller,
        proto::UploadKeyPackages{std::move(key_packages), std::move(last_resort)}, answer.reply());
    return answer;
  }

  Answer claim(const TestDevice& device, const std::string& username) {
    Answer answer;
    handle_claim_key_packages(*state_, device.caller, proto::ClaimKeyPackages{username},
                              answer.reply());
    return answer;
  }

  proto::KeyPackageStockResponse stock(const TestDevice& device) {
    Answer answer;
    handle_key_package_stock(*state_, device.caller, answer.reply());
    return answer.as<proto::KeyPackageStockResponse>();
  }

  static proto::Send message(std::vector<Bytes> recipients, std::string_view payload,
                             std::optional<proto::CommitOrder> commit = std::nullopt) {
    proto::Send send;
    send.message_id = crypto::random_bytes(proto::kMessageIdSize);
    send.recipients = std::move(recipients);
    send.commit = std::move(commit);
    send.payload = to_bytes(payload);
    return send;
  }

  Answer send(const TestDevice& from, proto::Send request) {
    Answer answer;
    handle_send(*state_, from.caller, std::move(request), answer.reply());
    return answer;
  }

  proto::MessagesResponse fetch(const TestDevice& device, uint64_t after_seq = 0,
                                uint32_t limit = 100) {
    Answer answer;
    handle_fetch(*state_, device.caller, proto::Fetch{after_seq, limit}, answer.reply());
    return answer.as<proto::MessagesResponse>();
  }

  Errc ack(const TestDevice& device, std::vector<uint64_t> seqs) {
    Answer answer;
    handle_ack(*state_, device.caller, proto::Ack{std::move(seqs)}, answer.reply());
    return answer.code();
  }

  static std::string text(const Bytes& b) { return std::string(b.begin(), b.end()); }

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ServerState> state_;
  std::vector<Bytes> offline_;
  TestDevice alice_, bob1_, bob2_;
};

// ---- key packages ----------------------------------------------------------------------

TEST_F(DeliveryTest, UploadCountsStockAndReplacesLastResort) {
  auto first =
      upload(alice_, {key_package(alice_.key), key_package(alice_.key)}, key_package(alice_.key));
  const auto& s = first.as<proto::KeyPackageStockResponse>();
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(s.has_last_resort, 1);

  // A second last-resort one replaces the first rather than adding to the stock.
  const Bytes last_resort = key_package(alice_.key);
  EXPECT_EQ(upload(alice_, {}, last_resort).code(), Errc::ok);
  EXPECT_EQ(stock(alice_).count, 2u);
  EXPECT_EQ(stock(alice_).has_last_resort, 1);
  // Claimed past the one-time ones, the last-resort one is the newer.
  claim(bob1_, "alice");
  claim(bob1_, "alice");
  auto third = claim(bob1_, "alice");
  const auto& claimed = third.as<proto::ClaimedKeyPackagesResponse>();
  ASSERT_EQ(claimed.key_packages.size(), 1u);
  EXPECT_EQ(claimed.key_packages[0].key_package, last_resort);
}

TEST_F(DeliveryTest, UploadRefusesWhatIsNotAKeyPackageOfThisDevice) {
  EXPECT_EQ(upload(alice_, {to_bytes("not mls")}).code(), Errc::invalid_argument);

  // A bare KeyPackage without its MLSMessage framing.
  const Bytes framed = key_package(alice_.key);
  auto message = tls::decode<mls::MlsMessage>(framed);
  ASSERT_TRUE(message.ok());
  const Bytes bare = tls::encode(std::get<mls::KeyPackage>(message->content));
  EXPECT_EQ(upload(alice_, {bare}).code(), Errc::invalid_argument);

  // Another MLSMessage type.
  mls::MlsMessage welcome;
  welcome.content = mls::Welcome{};
  EXPECT_EQ(upload(alice_, {tls::encode(welcome)}).code(), Errc::invalid_argument);

  // Bob's key package uploaded by Alice's device, whole or as a last-resort one.
  EXPECT_EQ(upload(alice_, {key_package(bob1_.key)}).code(), Errc::forbidden);
  EXPECT_EQ(upload(alice_, {}, key_package(bob1_.key)).code(), Errc::forbidden);

  // The device's own key, but a signature that does not verify.
  auto tampered = std::get<mls::KeyPackage>(message->content);
  tampered.signature[0] ^= 1;
  mls::MlsMessage tampered_message;
  tampered_message.content = tampered;
  EXPECT_EQ(upload(alice_, {tls::encode(tampered_message)}).code(), Errc::invalid_argument);

  // Expired.
  const uint64_t now = now_seconds();
  EXPECT_EQ(upload(alice_, {key_package(alice_.key, {now - 7200, now - 3600})}).code(),
            Errc::invalid_argument);

  // One bad entry refuses the whole upload.
  EXPECT_EQ(upload(alice_, {key_package(alice_.key), to_bytes("junk")}).code(),
            Errc::invalid_argument);
  EXPECT_EQ(stock(alice_).count, 0u);
  EXPECT_EQ(stock(alice_).has_last_resort, 0);

  Bytes huge(delivery::kMaxKeyPackageBytes + 1, 0);
  EXPECT_EQ(upload(alice_, {huge}).code(), Errc::too_large);
  EXPECT_EQ(upload(alice_, {}).code(), Errc::invalid_argument);
}

TEST_F(DeliveryTest, UploadLimits) {
  const Bytes kp = key_package(alice_.key);
  EXPECT_EQ(upload(alice_, std::vector<Bytes>(delivery::kMaxKeyPackagesPerUpload + 1, kp)).code(),
            Errc::invalid_argument);
  for (uint64_t i = 0; i < delivery::kMaxKeyPackageStock / delivery::kMaxKeyPackagesPerUpload;
       ++i) {
    ASSERT_EQ(upload(alice_, std::vector<Bytes>(delivery::kMaxKeyPackagesPerUpload, kp)).code(),
              Errc::ok);
  }
  EXPECT_EQ(stock(alice_).count, delivery::kMaxKeyPackageStock);
  EXPECT_EQ(upload(alice_, {kp}).code(), Errc::quota_exceeded);
  // A last-resort one alone adds nothing to the count and is still accepted.
  EXPECT_EQ(upload(alice_, {}, kp).code(), Errc::ok);
}

// Uploads racing each other cannot together pass the cap: the store checks it in the write.
TEST_F(DeliveryTest, ConcurrentUploadsStayWithinTheStockCap) {
  const std::vector<Bytes> batch(delivery::kMaxKeyPackagesPerUpload, key_package(alice_.key));
  std::atomic<int> accepted{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 4; ++i) {
        const Errc code = upload(alice_, batch).code();
        if (code == Errc::ok) ++accepted;
        if (code == Errc::quota_exceeded) ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  const int fit = static_cast<int>(delivery::kMaxKeyPackageStock / batch.size());
  EXPECT_EQ(accepted.load(), fit);
  EXPECT_EQ(refused.load(), 16 - fit);
  EXPECT_EQ(stock(alice_).count, delivery::kMaxKeyPackageStock);
}

TEST_F(DeliveryTest, EveryHandlerNeedsAnAuthenticatedDevice) {
  TestDevice anonymous;
  anonymous.caller.ip = "192.0.2.9";
  EXPECT_EQ(upload(anonymous, {key_package(anonymous.key)}).code(), Errc::unauthenticated);
  EXPECT_EQ(claim(anonymous, "bob").code(), Errc::unauthenticated);
  Answer s;
  handle_key_package_stock(*state_, anonymous.caller, s.reply());
  EXPECT_EQ(s.code(), Errc::unauthenticated);
  EXPECT_EQ(send(anonymous, message({bob1_.id()}, "hi")).code(), Errc::unauthenticated);
  Answer f;
  handle_fetch(*state_, anonymous.caller, proto::Fetch{0, 10}, f.reply());
  EXPECT_EQ(f.code(), Errc::unauthenticated);
  EXPECT_EQ(ack(anonymous, {1}), Errc::unauthenticated);
}

TEST_F(DeliveryTest, ClaimConsumesEachKeyPackageOnceThenFallsBackToLastResort) {
  const Bytes b1_one = key_package(bob1_.key), b1_two = key_package(bob1_.key);
  const Bytes b1_last = key_package(bob1_.key), b2_last = key_package(bob2_.key);
  ASSERT_EQ(upload(bob1_, {b1_one, b1_two}, b1_last).code(), Errc::ok);
  ASSERT_EQ(upload(bob2_, {}, b2_last).code(), Errc::ok);

  std::vector<Bytes> from_bob1;
  for (int i = 0; i < 4; ++i) {
    auto answer = claim(alice_, i == 0 ? "Bob" : "bob");  // case does not matter
    const auto& claimed = answer.as<proto::ClaimedKeyPackagesResponse>();
    EXPECT_EQ(claimed.account_id, *bob1_.caller.account_id);
    ASSERT_EQ(claimed.key_packages.size(), 2u);
    EXPECT_EQ(claimed.key_packages[0].device_id, bob1_.id());
    EXPECT_EQ(claimed.key_packages[1].device_id, bob2_.id());
    EXPECT_EQ(claimed.key_packages[1].key_package, b2_last);
    from_bob1.push_back(claimed.key_packages[0].key_package);
  }
  EXPECT_EQ(from_bob1, (std::vector<Bytes>{b1_one, b1_two, b1_last, b1_last}));
  EXPECT_EQ(stock(bob1_).count, 0u);
  EXPECT_EQ(stock(bob1_).has_last_resort, 1);
}

TEST_F(DeliveryTest, ClaimSkipsDevicesWithoutKeyPackagesAndTheCallerItself) {
  EXPECT_EQ(claim(alice_, "bob").code(), Errc::not_found);  // none uploaded yet
  EXPECT_EQ(claim(alice_, "nobody").code(), Errc::not_found);
  EXPECT_EQ(claim(alice_, "not a username!").code(), Errc::not_found);

  ASSERT_EQ(upload(bob2_, {key_package(bob2_.key)}).code(), Errc::ok);
  auto answer = claim(alice_, "bob");
  const auto& claimed = answer.as<proto::ClaimedKeyPackagesResponse>();
  ASSERT_EQ(claimed.key_packages.size(), 1u);
  EXPECT_EQ(claimed.key_packages[0].device_id, bob2_.id());

  // Bob's first device claims for its own account: only the other device's key package.
  ASSERT_EQ(upload(bob1_, {key_package(bob1_.key)}).code(), Errc::ok);
  ASSERT_EQ(upload(bob2_, {key_package(bob2_.key)}).code(), Errc::ok);
  auto own = claim(bob1_, "bob");
  const auto& own_claimed = own.as<proto::ClaimedKeyPackagesResponse>();
  ASSERT_EQ(own_claimed.key_packages.size(), 1u);
  EXPECT_EQ(own_claimed.key_packages[0].device_id, bob2_.id());
  EXPECT_EQ(stock(bob1_).count, 1u);
}

// ---- delivery --------------------------------------------------------------------------

TEST_F(DeliveryTest, SendFansOutFetchReturnsAckDeletes) {
  const auto before_accepted = delivery::metrics().messages_accepted.load();
  const auto before_offline = delivery::metrics().queued_offline.load();
  const auto before_acked = delivery::metrics().acked.load();

  auto sent = send(alice_, message({bob1_.id(), bob2_.id()}, "hello bob"));
  const uint64_t accepted_at = sent.as<proto::SentResponse>().accepted_at;
  EXPECT_GT(accepted_at, 0u);
  // Neither device is connected: both get a wake-up.
  EXPECT_EQ(offline_, (std::vector<Bytes>{bob1_.id(), bob2_.id()}));

  for (const auto* device : {&bob1_, &bob2_}) {
    auto got = fetch(*device);
    ASSERT_EQ(got.messages.size(), 1u);
    EXPECT_EQ(text(got.messages[0].payload), "hello bob");
    EXPECT_EQ(got.messages[0].received_at, accepted_at);
    EXPECT_EQ(got.more, 0);
  }
  EXPECT_TRUE(fetch(alice_).messages.empty());

  // Bob's first device acks its copy; a second ack of it is harmless.
  const uint64_t seq1 = fetch(bob1_).messages[0].seq;
  const uint64_t seq2 = fetch(bob2_).messages[0].seq;
  EXPECT_EQ(ack(bob1_, {seq1}), Errc::ok);
  EXPECT_EQ(ack(bob1_, {seq1}), Errc::ok);
  EXPECT_TRUE(fetch(bob1_).messages.empty());
  // Acking seq numbers of the other device's queue touches only the caller's own.
  EXPECT_EQ(ack(bob1_, {seq2}), Errc::ok);
  EXPECT_EQ(ack(alice_, {seq2}), Errc::ok);
  EXPECT_EQ(fetch(bob2_).messages.size(), 1u);

  EXPECT_EQ(delivery::metrics().messages_accepted.load() - before_accepted, 1u);
  EXPECT_EQ(delivery::metrics().queued_offline.load() - before_offline, 2u);
  EXPECT_EQ(delivery::metrics().acked.load() - before_acked, 1u);
}

TEST_F(DeliveryTest, FetchPagesWithLimitAndMore) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(send(alice_, message({bob1_.id()}, "m" + std::to_string(i))).code(), Errc::ok);
  }
  auto page = fetch(bob1_, 0, 2);
  ASSERT_EQ(page.messages.size(), 2u);
  EXPECT_EQ(page.more, 1);
  EXPECT_EQ(text(page.messages[0].payload), "m0");
  EXPECT_EQ(text(page.messages[1].payload), "m1");
  EXPECT_LT(page.messages[0].seq, page.messages[1].seq);

  auto rest = fetch(bob1_, page.messages[1].seq, 10);
  ASSERT_EQ(rest.messages.size(), 3u);
  EXPECT_EQ(rest.more, 0);
  EXPECT_EQ(text(rest.messages[2].payload), "m4");

  // A limit of 0 is raised to 1; a huge one is cut to the server's maximum.
  auto one = fetch(bob1_, 0, 0);
  EXPECT_EQ(one.messages.size(), 1u);
  EXPECT_EQ(one.more, 1);
  EXPECT_EQ(fetch(bob1_, 0, 1u << 31).messages.size(), 5u);
}

TEST_F(DeliveryTest, FetchStopsBeforeTheResponseOutgrowsOneWebSocketMessage) {
  Config config;
  config.limits.max_message_bytes = 1000;
  start(config, {});
  const std::string payload(400, 'x');
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(send(alice_, message({bob1_.id()}, payload)).code(), Errc::ok);
  }
  auto page = fetch(bob1_, 0, 10);
  EXPECT_EQ(page.messages.size(), 2u);
  EXPECT_EQ(page.more, 1);
  EXPECT_LE(tls::encode(proto::ServerFrame{proto::Response{~uint64_t{0}, page}}).size(), 1000u);
}

TEST_F(DeliveryTest, PayloadLimitLeavesRoomForTheFraming) {
  Config config;
  config.limits.max_message_bytes = 4096;
  start(config, {});
  const size_t max_payload = 4096 - delivery::kPayloadOverhead;
  EXPECT_EQ(send(alice_, message({bob1_.id()}, std::string(max_payload + 1, 'x'))).code(),
            Errc::too_large);
  EXPECT_TRUE(fetch(bob1_).messages.empty());
  ASSERT_EQ(send(alice_, message({bob1_.id()}, std::string(max_payload, 'x'))).code(), Errc::ok);

  // The largest accepted payload fits in one message both ways: as an event and fetched.
  auto page = fetch(bob1_);
  ASSERT_EQ(page.messages.size(), 1u);
  proto::ServerFrame fetched{proto::Response{~uint64_t{0}, page}};
  EXPECT_LE(tls::encode(fetched).size(), 4096u);
  proto::ServerFrame event{proto::Event{proto::MessageEvent{page.messages[0]}}};
  EXPECT_LE(tls::encode(event).size(), 4096u);
}

TEST_F(DeliveryTest, RepeatIsAnsweredAsTheFirstAndQueuesNothing) {
  auto request = message({bob1_.id(), bob2_.id()}, "once");
  auto first = send(alice_, request);
  const uint64_t accepted_at = first.as<proto::SentResponse>().accepted_at;
  auto again = send(alice_, request);
  EXPECT_EQ(again.as<proto::SentResponse>().accepted_at, accepted_at);
  EXPECT_EQ(fetch(bob1_).messages.size(), 1u);
  EXPECT_EQ(fetch(bob2_).messages.size(), 1u);
  EXPECT_EQ(offline_.size(), 2u);  // no second wake-up

  // The same id from another device is another message.
  auto from_bob = send(bob2_, request);
  EXPECT_EQ(from_bob.code(), Errc::ok);
  EXPECT_EQ(fetch(bob1_).messages.size(), 2u);
}

TEST_F(DeliveryTest, FirstCommitPerEpochWins) {
  const Bytes group = to_bytes("group one");
  auto commit = [&](uint64_t epoch, const Bytes& g = to_bytes("group one")) {
    return send(alice_, message({bob1_.id()}, "commit", proto::CommitOrder{g, epoch})).code();
  };
  EXPECT_EQ(commit(5), Errc::ok);  // a group the server has not seen takes any epoch
  EXPECT_EQ(commit(5), Errc::conflict);
  EXPECT_EQ(commit(7), Errc::conflict);
  EXPECT_EQ(commit(6), Errc::ok);
  EXPECT_EQ(commit(6), Errc::conflict);
  EXPECT_EQ(commit(5, to_bytes("group two")), Errc::ok);
  EXPECT_EQ(fetch(bob1_).messages.size(), 3u);  // the refused ones queued nothing

  // A retry of the accepted commit is a repeat, not a conflict.
  auto accepted = message({bob1_.id()}, "commit", proto::CommitOrder{group, 7});
  EXPECT_EQ(send(alice_, accepted).code(), Errc::ok);
  EXPECT_EQ(send(alice_, accepted).code(), Errc::ok);
  EXPECT_EQ(fetch(bob1_).messages.size(), 4u);

  EXPECT_EQ(send(alice_, message({bob1_.id()}, "c", proto::CommitOrder{{}, 1})).code(),
            Errc::invalid_argument);
}

// The expiry sweep forgets a group's epoch once its newest commit is past the message TTL:
// no queued message can be of the group's epochs any more.
TEST_F(DeliveryTest, TheSweepForgetsAGroupWhoseNewestCommitExpired) {
  sotto::testing::TempDir dir;
  Config config;
  config.data_dir = dir.path();
  config.delivery.message_ttl = std::chrono::hours(1);
  start(std::move(config), {});
  auto commit = [&](uint64_t epoch) {
    return send(alice_,
                message({bob1_.id()}, "commit", proto::CommitOrder{to_bytes("quiet group"), epoch}))
        .code();
  };
  const uint64_t sent_at = delivery::wall_clock_ms();
  EXPECT_EQ(commit(5), Errc::ok);
  const uint64_t hour_ms = 3600 * 1000;
  ASSERT_TRUE(files::sweep_expired(*state_, sent_at + hour_ms - 60'000, false).ok());
  EXPECT_EQ(commit(2), Errc::conflict);
  ASSERT_TRUE(files::sweep_expired(*state_, sent_at + hour_ms + 60'000, false).ok());
  EXPECT_EQ(commit(2), Errc::ok);  // as for a group never seen
  EXPECT_EQ(commit(2), Errc::conflict);
}

TEST_F(DeliveryTest, RefusesMalformedSends) {
  EXPECT_EQ(send(alice_, message({crypto::random_bytes(16)}, "to nobody")).code(), Errc::not_found);
  // All or none: the known recipient got nothing either.
  EXPECT_EQ(send(alice_, message({bob1_.id(), crypto::random_bytes(16)}, "x")).code(),
            Errc::not_found);
  EXPECT_TRUE(fetch(bob1_).messages.empty());

  EXPECT_EQ(send(alice_, message({bob1_.id(), bob2_.id(), bob1_.id()}, "x")).code(),
            Errc::invalid_argument);
  EXPECT_EQ(send(alice_, message({}, "x")).code(), Errc::invalid_argument);
  EXPECT_EQ(send(alice_, message({Bytes(15, 1)}, "x")).code(), Errc::invalid_argument);
  std::vector<Bytes> too_many;
  for (size_t i = 0; i <= delivery::kMaxRecipients; ++i)
    too_many.push_back(crypto::random_bytes(16));
  EXPECT_EQ(send(alice_, message(too_many, "x")).code(), Errc::invalid_argument);
  auto bad_id = message({bob1_.id()}, "x");
  bad_id.message_id.pop_back();
  EXPECT_EQ(send(alice_, bad_id).code(), Errc::invalid_argument);
  EXPECT_TRUE(fetch(bob1_).messages.empty());
  EXPECT_TRUE(fetch(bob2_).messages.empty());
  EXPECT_TRUE(offline_.empty());
}

TEST_F(DeliveryTest, FullQueueIsAQuotaError) {
  store::Limits limits;
  limits.max_queue_messages = 2;
  start({}, limits);
  EXPECT_EQ(send(alice_, message({bob1_.id()}, "1")).code(), Errc::ok);
  EXPECT_EQ(send(alice_, message({bob1_.id()}, "2")).code(), Errc::ok);
  EXPECT_EQ(send(alice_, message({bob2_.id(), bob1_.id()}, "3")).code(), Errc::quota_exceeded);
  EXPECT_TRUE(fetch(bob2_).messages.empty());
  // Acking makes room again.
  EXPECT_EQ(ack(bob1_, {fetch(bob1_).messages[0].seq}), Errc::ok);
  EXPECT_EQ(send(alice_, message({bob1_.id()}, "4")).code(), Errc::ok);
}

TEST_F(DeliveryTest, SendsAreRateLimitedPerAccount) {
  Config config;
  config.rate_limits.sends = {60, 2};
  start(config, {});
  EXPECT_EQ(send(alice_, message({bob1_.id()}, "1")).code(), Errc::ok);
  EXPECT_EQ(send(alice_, message({bob1_.id()}, "2")).code(), Errc::ok);
  EXPECT_EQ(send(alice_, message({bob1_.id()}, "3")).code(), Errc::rate_limited);
  // Another account has its own bucket.
  EXPECT_EQ(send(bob1_, message({alice_.id()}, "4")).code(), Errc::ok);
}

TEST_F(DeliveryTest, MetricsAreExposed) {
  const std::string text = delivery::metrics().to_prometheus();
  EXPECT_NE(text.find("sottod_messages_accepted_total"), std::string::npos);
  EXPECT_NE(text.find("sottod_messages_acked_total"), std::string::npos);
}

}  // namespace
}  // namespace sotto::server
