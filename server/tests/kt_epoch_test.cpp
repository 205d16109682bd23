// The key directory of a quiet sottod: with no device added or revoked and no account erased,
// an empty epoch is published every kt.epoch_interval, so that its heads stay young enough
// for clients that limit their age. KeyDirectory::refresh with the clock passed in, then the
// real sottod: its heads verify, each log extends the one before, and a restart keeps them.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "protocol_client.h"
#include "services/directory.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sotto/kt/directory_proofs.h"
#include "sotto/kt/verifier.h"
#include "sotto/store/store.h"
#include "sottod_process.h"

namespace sotto::testing {
namespace {

using namespace std::chrono_literals;

Result<kt::SignedTreeHead> fetch_head(ProtocolClient& client) {
  auto r = client.request(proto::KtHead{});
  auto* head = as<proto::KtHeadResponse>(r);
  if (!head) return Error(error_code(r), "kt_head failed");
  return tls::decode<kt::SignedTreeHead>(head->head);
}

// Asks until the server has a head, for up to `limit`.
Result<kt::SignedTreeHead> wait_for_head(ProtocolClient& client, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto head = fetch_head(client);
    if (head || std::chrono::steady_clock::now() >= deadline) return head;
    std::this_thread::sleep_for(100ms);
  }
}

Result<std::vector<Bytes>> fetch_consistency(ProtocolClient& client, uint64_t old_size,
                                             uint64_t new_size) {
  auto r = client.request(proto::KtConsistency{old_size, new_size});
  auto* hashes = as<proto::KtHashesResponse>(r);
  if (!hashes) return Error(error_code(r), "kt_consistency failed");
  return hashes->hashes;
}

// Moves `verifier` to `head`, with the consistency proof from the head it holds.
Result<void> advance(ProtocolClient& client, kt::Verifier& verifier, const kt::SignedTreeHead& head,
                     BytesView signing_key) {
  std::vector<Bytes> proof;
  if (verifier.head() && verifier.head()->log_size != head.log_size) {
    SOTTO_TRY_ASSIGN(proof, fetch_consistency(client, verifier.known_log_size(), head.log_size));
  }
  return verifier.advance(head, proof, signing_key);
}

Result<kt::SignedTreeHead> head_of(const server::KeyDirectory& directory) {
  SOTTO_TRY_ASSIGN(auto encoded, directory.head());
  return tls::decode<kt::SignedTreeHead>(encoded);
}

TEST(KeyDirectoryRefresh, PublishesOnceTheNewestEpochIsAnIntervalOld) {
  TempDir dir;
  auto store = store::make_memory_store();
  auto opened = server::KeyDirectory::open(dir.path(), *store);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  server::KeyDirectory& directory = **opened;
  const auto start = std::chrono::system_clock::now();
  constexpr std::chrono::seconds interval = 60s;

  // A new directory: the first epoch falls due one interval after opening.
  auto early = directory.refresh(start + 1s, interval);
  ASSERT_TRUE(early.ok()) << early.error().to_string();
  EXPECT_FALSE(early->published);
  EXPECT_GT(early->next_due, 58s);
  EXPECT_LE(early->next_due, interval);
  auto first = directory.refresh(start + 61s, interval);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_EQ(first->published, std::optional<uint64_t>(1));
  EXPECT_EQ(first->next_due, interval);

  // The next one counts from that one.
  auto fresh = directory.refresh(start + 62s, interval);
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->published);
  EXPECT_EQ(fresh->next_due, 59s);
  auto second = directory.refresh(start + 121s, interval);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->published, std::optional<uint64_t>(2));

  // The clock went back: a head dated in the future is replaced at once.
  auto back = directory.refresh(start + 100s, interval);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->published, std::optional<uint64_t>(3));
  auto head = head_of(directory);
  ASSERT_TRUE(head.ok()) << head.error().to_string();
  EXPECT_EQ(head->epoch, 3u);
  const auto dated = std::chrono::system_clock::time_point(std::chrono::seconds(head->timestamp));

  // Reopened, the directory counts from the stored head's timestamp.
  auto reopened = server::KeyDirectory::open(dir.path(), *store);
  ASSERT_TRUE(reopened.ok()) << reopened.error().to_string();
  auto not_yet = (*reopened)->refresh(dated + 59s, interval);
  ASSERT_TRUE(not_yet.ok());
  EXPECT_FALSE(not_yet->published);
  auto due = (*reopened)->refresh(dated + 60s, interval);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(due->published, std::optional<uint64_t>(4));
}

TEST(KtEpochs, AQuietServerPublishesEmptyEpochsThatSurviveARestart) {
  TempDir dir;
  const auto data = dir.path() / "data";
  kt::Verifier verifier;
  Bytes signing_key;
  {
    SottodProcess server(SottodProcess::args_for(data, {"--kt-epoch-interval", "1"}));
    ASSERT_TRUE(server.wait_listening());
    auto key = from_hex(server.kt_signing_key());
    ASSERT_TRUE(key.ok());
    signing_key = *key;
    ProtocolClient client(server.port());

    // Nobody registered: the first head is the timer's.
    auto first = wait_for_head(client, 5s);
    ASSERT_TRUE(first.ok()) << first.error().to_string();
    ASSERT_TRUE(kt::verify_tree_head(*first, signing_key).ok());
    ASSERT_TRUE(advance(client, verifier, *first, signing_key).ok());

    std::this_thread::sleep_for(2500ms);
    auto second = fetch_head(client);
    ASSERT_TRUE(second.ok()) << second.error().to_string();
    EXPECT_GT(second->epoch, first->epoch);
    EXPECT_GE(second->timestamp, first->timestamp);
    EXPECT_EQ(second->prefix_root, first->prefix_root);  // empty epochs change no label
    EXPECT_TRUE(kt::verify_tree_head(*second, signing_key).ok());
    auto moved = advance(client, verifier, *second, signing_key);
    ASSERT_TRUE(moved.ok()) << moved.error().to_string();

    // An empty epoch a second, and not one log line about them at the default level.
    EXPECT_EQ(server.log().find("empty epoch"), std::string::npos) << server.log();
    server.signal(SIGTERM);
    ASSERT_EQ(server.wait_exit(10s), std::optional<int>(0));
  }

  // The default interval: the restarted server serves the stored head (or a newer one).
  SottodProcess server(SottodProcess::args_for(data));
  ASSERT_TRUE(server.wait_listening());
  EXPECT_EQ(server.kt_signing_key(), to_hex(signing_key));
  ProtocolClient client(server.port());
  auto after = fetch_head(client);
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  EXPECT_GE(after->epoch, verifier.head()->epoch);
  auto moved = advance(client, verifier, *after, signing_key);
  EXPECT_TRUE(moved.ok()) << moved.error().to_string();
}

TEST(KtEpochs, DeviceChangesAndEmptyEpochsShareOneLog) {
  TempDir dir;
  SottodProcess server(SottodProcess::args_for(dir.path() / "data", {"--kt-epoch-interval", "1"}));
  ASSERT_TRUE(server.wait_listening());
  auto signing_key = from_hex(server.kt_signing_key());
  ASSERT_TRUE(signing_key.ok());
  ProtocolClient client(server.port());
  kt::Verifier verifier;
  uint64_t seen = 0;
  // Registrations publish epochs while the timer does too; every head extends the last.
  for (int i = 0; i < 4; ++i) {  // the default registration burst is 5
    proto::RegisterAccount r;
    r.username = "kt-user-" + std::to_string(i);
    r.email = r.username + "@example.org";
    r.password = "correct horse battery";
    r.device = proto::DeviceKey{crypto::Ed25519SigningKey::generate().public_key(), "laptop"};
    ASSERT_EQ(error_code(client.request(r)), Errc::ok);
    auto head = fetch_head(client);
    ASSERT_TRUE(head.ok()) << head.error().to_string();
    EXPECT_GT(head->epoch, seen);
    seen = head->epoch;
    auto moved = advance(client, verifier, *head, *signing_key);
    ASSERT_TRUE(moved.ok()) << moved.error().to_string();
    std::this_thread::sleep_for(400ms);
  }
}

}  // namespace
}  // namespace sotto::testing
