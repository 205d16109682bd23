// The engine alone, with the memory store and a scripted server: the frames it sends, how it
// answers malformed and unexpected server frames, registration, and key-directory lookups
// whose proofs do or do not verify (a real lib/kt directory plays the server's part).
#include "sotto/client/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "sotto/client/directory_verifier.h"
#include "sotto/client/memory_client_store.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/primitives.h"
#include "sotto/crypto/vrf.h"
#include "sotto/kt/directory.h"
#include "sotto/kt/directory_proofs.h"
#include "sotto/kt/directory_store.h"
#include "sotto/kt/log_store.h"
#include "sotto/mls/group.h"
#include "sotto/proto/directory_value.h"

namespace sotto::client {
namespace {

class RecordingTransport final : public Transport {
 public:
  void send(Bytes frame) override {
    auto decoded = proto::decode_client_frame(frame, 1 << 24);
    ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
    frames.push_back(std::move(decoded).value());
  }
  // The oldest frame not yet answered.
  proto::ClientFrame take() {
    EXPECT_FALSE(frames.empty());
    if (frames.empty()) return {};
    proto::ClientFrame f = std::move(frames.front());
    frames.pop_front();
    return f;
  }
  std::deque<proto::ClientFrame> frames;
};

// A clock that moves only when told, and randomness from a counter (reproducible runs).
class FixedEnvironment final : public Environment {
 public:
  uint64_t now_ms() override { return now; }
  void random(std::span<uint8_t> out) override {
    size_t at = 0;
    while (at < out.size()) {
      Bytes block = crypto::sha256(tls::encode(counter++));
      for (size_t i = 0; i < block.size() && at < out.size(); ++i) out[at++] = block[i];
    }
  }
  uint64_t now = 1'700'001'000'000;  // after the test directory's heads
  uint64_t counter = 0;
};

class RecordingObserver final : public EngineObserver {
 public:
  void on_error(const Error& error) override { errors.push_back(error); }
  void on_contact_keys_changed(const Contact&, const Contact& after) override {
    changed.push_back(after);
  }
  void on_directory_split_view(const std::string& reported_by) override {
    split_views.push_back(reported_by);
  }
  std::vector<Error> errors;
  std::vector<Contact> changed;
  std::vector<std::string> split_views;
};

Bytes seed(uint8_t b) {
  return Bytes(32, b);
}

// The server's key directory, for lookup proofs.
struct Directory {
  kt::MemoryLogStore log;
  kt::MemoryDirectoryStore records;
  std::unique_ptr<kt::Directory> dir;
  uint64_t clock = 1'700'000'000;
  uint8_t opening = 0;

  Directory() {
    dir = std::make_unique<kt::Directory>(
        kt::Directory::open(crypto::Ed25519SigningKey::from_seed(seed(1)).value(),
                            crypto::VrfKeyPair::from_seed(seed(2)).value(), log, records)
            .value());
  }
  DirectoryKeys keys() const { return {dir->vrf_public_key(), dir->signing_public_key()}; }
  void publish(const std::string& label, const proto::DirectoryValue& value) {
    ASSERT_TRUE(
        dir->stage(as_bytes(label), tls::encode(value), SecureBytes(Bytes(16, ++opening))).ok());
    ASSERT_TRUE(dir->publish(clock += 60).ok());
  }
  kt::LookupProof lookup(const std::string& label, uint64_t known) {
    auto proof = dir->lookup(as_bytes(label), known);
    EXPECT_TRUE(proof.ok());
    return std::move(proof).value();
  }
};

proto::DirectoryValue devices_of(std::vector<std::pair<Bytes, Bytes>> devices) {
  proto::DirectoryValue v;
  for (auto& [id, key] : devices) v.devices.push_back({id, key});
  return v;
}

Bytes frame_of(proto::ServerFrame frame) {
  return proto::encode(frame);
}
Bytes response(uint64_t id, proto::ResponseBody body) {
  return frame_of(proto::ServerFrame{proto::Response{id, std::move(body)}});
}

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() { make_engine(directory.keys()); }

  void make_engine(DirectoryKeys keys) {
    EngineConfig config;
    config.directory_keys = std::move(keys);
    config.key_package_batch = 3;
    engine = std::make_unique<Engine>(config, store, transport, env, observer);
  }

  // Registers "alice" against the scripted server; the engine ends up ready.
  void register_alice() {
    std::optional<Result<void>> done;
    engine->register_account({"Alice", "alice@example.org", "correct horse battery", "", {}},
                             [&](Result<void> r) { done = std::move(r); });
    auto reg = transport.take();
    ASSERT_TRUE(std::holds_alternative<proto::RegisterAccount>(reg.request));
    const auto& r = std::get<proto::RegisterAccount>(reg.request);
    EXPECT_EQ(r.username, "alice");  // folded as the server folds it
    EXPECT_EQ(r.device.signature_key.size(), 32u);
    engine->on_frame(
        response(reg.request_id,
                 proto::SessionResponse{Bytes(16, 0xa1), Bytes(16, 0xd1), Bytes(32, 7), 99}));
    auto upload = transport.take();
    ASSERT_TRUE(std::holds_alternative<proto::UploadKeyPackages>(upload.request));
    const auto& u = std::get<proto::UploadKeyPackages>(upload.request);
    uploaded = u;
    EXPECT_EQ(u.key_packages.size(), 3u);
    EXPECT_TRUE(u.last_resort.has_value());
    EXPECT_GT(upload.request_id, reg.request_id);
    EXPECT_FALSE(done.has_value());  // not before the upload is answered
    engine->on_frame(response(upload.request_id, proto::KeyPackageStockResponse{3, 1}));
    ASSERT_TRUE(done.has_value());
    ASSERT_TRUE(done->ok()) << done->error().to_string();
  }

  // Starts a lookup of `name` and answers it with `proof`; the result.
  Result<Contact> lookup(const std::string& name, const kt::LookupProof& proof) {
    std::optional<Result<Contact>> result;
    engine->lookup_contact(name, [&](Result<Contact> r) { result = std::move(r); });
    auto f = transport.take();
    EXPECT_TRUE(std::holds_alternative<proto::KtLookup>(f.request));
    engine->on_frame(response(f.request_id, proto::KtProofResponse{tls::encode(proof)}));
    if (!result) return Error(Errc::internal, "no completion");
    return std::move(*result);
  }

  Directory directory;
  MemoryClientStore store;
  RecordingTransport transport;
  FixedEnvironment env;
  RecordingObserver observer;
  std::unique_ptr<Engine> engine;
  proto::UploadKeyPackages uploaded;  // alice's first KeyPackages
};

TEST_F(EngineTest, MalformedServerFramesAreReportedAndChangeNothing) {
  engine->on_connected();
  for (const Bytes& junk : {Bytes{}, Bytes{0xff}, Bytes{1, 0, 0, 0}, Bytes(100, 0x41)}) {
    engine->on_frame(junk);
  }
  // A valid frame with a byte too many.
  Bytes trailing = response(1, proto::EmptyResponse{});
  trailing.push_back(0);
  engine->on_frame(trailing);
  EXPECT_EQ(observer.errors.size(), 5u);
  EXPECT_EQ(store.batches_applied(), 0u);
  EXPECT_TRUE(transport.frames.empty());
  EXPECT_EQ(engine->state(), ConnectionState::connected);
}

TEST_F(EngineTest, ResponsesToNoRequestAreReportedAndIgnored) {
  engine->on_connected();
  engine->on_frame(response(42, proto::EmptyResponse{}));
  ASSERT_EQ(observer.errors.size(), 1u);
  EXPECT_EQ(observer.errors[0].code(), Errc::invalid_value);
  // The server's answer to a frame it could not decode comes under id 0, with its code.
  engine->on_frame(response(0, proto::ErrorResponse{static_cast<uint16_t>(Errc::truncated), "x"}));
  ASSERT_EQ(observer.errors.size(), 2u);
  EXPECT_EQ(observer.errors[1].code(), Errc::truncated);

  // A request in flight is not disturbed by them and still completes.
  std::optional<Result<Contact>> result;
  engine->lookup_contact("bob", [&](Result<Contact> r) { result = std::move(r); });
  auto f = transport.take();
  engine->on_frame(response(f.request_id + 1, proto::EmptyResponse{}));
  EXPECT_FALSE(result.has_value());
  engine->on_frame(response(f.request_id, proto::ErrorResponse{41, "no such user"}));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error().code(), Errc::not_found);
  // Answered once: a second answer under the same id is a response to no request.
  engine->on_frame(response(f.request_id, proto::EmptyResponse{}));
  EXPECT_EQ(observer.errors.size(), 4u);
}

TEST_F(EngineTest, AResponseOfTheWrongTypeFailsTheOperation) {
  engine->on_connected();
  std::optional<Result<Contact>> result;
  engine->lookup_contact("bob", [&](Result<Contact> r) { result = std::move(r); });
  engine->on_frame(response(transport.take().request_id, proto::EmptyResponse{}));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error().code(), Errc::invalid_value);
  EXPECT_EQ(store.batches_applied(), 0u);
}

TEST_F(EngineTest, LookupsGoOneAtATimeRequestIdsIncreaseAndADisconnectFailsWhatIsInFlight) {
  engine->on_connected();
  std::vector<Result<Contact>> results;
  engine->lookup_contact("bob", [&](Result<Contact> r) { results.push_back(std::move(r)); });
  engine->lookup_contact("carol", [&](Result<Contact> r) { results.push_back(std::move(r)); });
  // Each proof is checked against the head the one before it moved to: carol's waits.
  ASSERT_EQ(transport.frames.size(), 1u);
  const uint64_t first = transport.frames[0].request_id;
  engine->on_frame(response(first, proto::EmptyResponse{}));  // the wrong answer: bob fails
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].ok());
  ASSERT_EQ(transport.frames.size(), 2u);
  EXPECT_EQ(std::get<proto::KtLookup>(transport.frames[1].request).username, "carol");
  EXPECT_LT(first, transport.frames[1].request_id);
  engine->on_disconnected();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[1].error().code(), Errc::unavailable);
  // While disconnected nothing is sent; operations fail at once.
  transport.frames.clear();
  engine->lookup_contact("bob", [&](Result<Contact> r) { results.push_back(std::move(r)); });
  EXPECT_TRUE(transport.frames.empty());
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[2].error().code(), Errc::unavailable);
}

TEST_F(EngineTest, RegisterStoresTheIdentityAndTheKeyPackagePrivateKeys) {
  engine->on_connected();
  register_alice();
  auto identity = store.identity();
  ASSERT_TRUE(identity.ok() && identity->has_value());
  EXPECT_EQ((*identity)->username, "alice");
  EXPECT_EQ((*identity)->device_id, Bytes(16, 0xd1));
  EXPECT_EQ((*identity)->signature_seed.size(), 32u);
  EXPECT_EQ(store.key_package_count().value(), 4u);  // 3 one-time and the last-resort one
  EXPECT_EQ(engine->state(), ConnectionState::ready);

  // A second registration on the same store is refused before anything is sent.
  std::optional<Result<void>> again;
  engine->register_account({"alice2", "a2@example.org", "correct horse battery", "", {}},
                           [&](Result<void> r) { again = std::move(r); });
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->error().code(), Errc::already_exists);
  EXPECT_TRUE(transport.frames.empty());
}

TEST_F(EngineTest, ASessionWithMalformedIdsIsRefused) {
  engine->on_connected();
  std::optional<Result<void>> done;
  engine->register_account({"alice", "alice@example.org", "correct horse battery", "", {}},
                           [&](Result<void> r) { done = std::move(r); });
  engine->on_frame(response(transport.take().request_id,
                            proto::SessionResponse{Bytes(3, 1), Bytes(16, 2), Bytes(32, 3), 0}));
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->error().code(), Errc::invalid_value);
  EXPECT_FALSE(store.identity().value().has_value());
}

TEST_F(EngineTest, AVerifiedLookupStoresTheContactAndTheHead) {
  const Bytes bob_key = crypto::Ed25519SigningKey::from_seed(seed(9)).value().public_key();
  directory.publish("bob", devices_of({{Bytes(16, 0xb1), bob_key}}));
  engine->on_connected();
  auto contact = lookup("Bob", directory.lookup("bob", 0));
  ASSERT_TRUE(contact.ok()) << contact.error().to_string();
  EXPECT_EQ(contact->username, "bob");
  ASSERT_EQ(contact->devices.size(), 1u);
  EXPECT_EQ(contact->devices[0].signature_key, bob_key);
  ASSERT_TRUE(store.contact("bob").value().has_value());
  EXPECT_TRUE(store.directory_state().value().has_value());

  // Bob adds a device: the next lookup links to the head the engine holds and reports the
  // change of keys.
  directory.publish("bob", devices_of({{Bytes(16, 0xb1), bob_key}, {Bytes(16, 0xb2), bob_key}}));
  std::optional<Result<Contact>> result;
  engine->lookup_contact("bob", [&](Result<Contact> r) { result = std::move(r); });
  auto f = transport.take();
  const auto& asked = std::get<proto::KtLookup>(f.request);
  EXPECT_EQ(asked.known_log_size, 1u);
  engine->on_frame(response(f.request_id, proto::KtProofResponse{tls::encode(
                                              directory.lookup("bob", asked.known_log_size))}));
  ASSERT_TRUE(result.has_value() && result->ok());
  EXPECT_EQ((*result)->devices.size(), 2u);
  ASSERT_EQ(observer.changed.size(), 1u);
}

TEST_F(EngineTest, ALookupWhoseProofFailsStoresNothing) {
  const Bytes bob_key = crypto::Ed25519SigningKey::from_seed(seed(9)).value().public_key();
  const Bytes mallory_key = crypto::Ed25519SigningKey::from_seed(seed(10)).value().public_key();
  directory.publish("bob", devices_of({{Bytes(16, 0xb1), bob_key}}));
  engine->on_connected();

  // The server swaps in another key than the one it committed to.
  kt::LookupProof forged = directory.lookup("bob", 0);
  ASSERT_TRUE(forged.latest.has_value());
  forged.latest->value = tls::encode(devices_of({{Bytes(16, 0xb1), mallory_key}}));
  auto refused = lookup("bob", forged);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::bad_proof);
  EXPECT_FALSE(store.contact("bob").value().has_value());
  EXPECT_FALSE(store.directory_state().value().has_value());
  EXPECT_EQ(store.batches_applied(), 0u);

  // A proof for another name than the one asked about.
  directory.publish("eve", devices_of({{Bytes(16, 0xe1), mallory_key}}));
  auto other = lookup("bob", directory.lookup("eve", 0));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code(), Errc::bad_proof);

  // Bytes that are no proof at all.
  std::optional<Result<Contact>> junk;
  engine->lookup_contact("bob", [&](Result<Contact> r) { junk = std::move(r); });
  engine->on_frame(response(transport.take().request_id, proto::KtProofResponse{Bytes{1, 2, 3}}));
  ASSERT_TRUE(junk.has_value());
  EXPECT_FALSE(junk->ok());
  EXPECT_FALSE(store.contact("bob").value().has_value());
  EXPECT_EQ(store.batches_applied(), 0u);
}

TEST_F(EngineTest, AProofUnderAnotherDirectoryKeyIsRefused) {
  directory.publish("bob", devices_of({{Bytes(16, 0xb1), Bytes(32, 9)}}));
  make_engine({directory.keys().vrf_public_key,
               crypto::Ed25519SigningKey::from_seed(seed(3)).value().public_key()});
  engine->on_connected();
  auto refused = lookup("bob", directory.lookup("bob", 0));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::bad_signature);
  EXPECT_EQ(store.batches_applied(), 0u);
}

TEST_F(EngineTest, AQueuedMessageThatCannotBeOpenedIsDroppedAcknowledgedAndReported) {
  engine->on_connected();
  register_alice();
  transport.frames.clear();
  proto::Event event{proto::MessageEvent{proto::QueuedMessage{17, 1, Bytes{0, 1, 2, 3}}}};
  engine->on_frame(frame_of(proto::ServerFrame{event}));
  ASSERT_EQ(observer.errors.size(), 1u);
  auto ack = transport.take();
  ASSERT_TRUE(std::holds_alternative<proto::Ack>(ack.request));
  EXPECT_EQ(std::get<proto::Ack>(ack.request).seqs, std::vector<uint64_t>{17});
  EXPECT_TRUE(store.is_processed(17).value());
  // The same message again (its ack was lost): acknowledged again, not reported again.
  engine->on_frame(frame_of(proto::ServerFrame{event}));
  EXPECT_EQ(observer.errors.size(), 1u);
  auto again = transport.take();
  EXPECT_EQ(std::get<proto::Ack>(again.request).seqs, std::vector<uint64_t>{17});
  // Once the server confirms the ack, the mark goes.
  engine->on_frame(response(again.request_id, proto::EmptyResponse{}));
  EXPECT_FALSE(store.is_processed(17).value());
}

TEST_F(EngineTest, LowKeyPackageStockIsToppedUp) {
  engine->on_connected();
  register_alice();
  transport.frames.clear();
  engine->on_frame(frame_of(proto::ServerFrame{proto::Event{proto::KeyPackagesLowEvent{1}}}));
  auto stock = transport.take();
  ASSERT_TRUE(std::holds_alternative<proto::KeyPackageStockRequest>(stock.request));
  engine->on_frame(response(stock.request_id, proto::KeyPackageStockResponse{1, 1}));
  auto upload = transport.take();
  ASSERT_TRUE(std::holds_alternative<proto::UploadKeyPackages>(upload.request));
  EXPECT_EQ(std::get<proto::UploadKeyPackages>(upload.request).key_packages.size(), 2u);
  EXPECT_FALSE(std::get<proto::UploadKeyPackages>(upload.request).last_resort.has_value());
  EXPECT_EQ(store.key_package_count().value(), 6u);
}

TEST_F(EngineTest, SendingNeedsAConversation) {
  engine->on_connected();
  register_alice();
  std::optional<Result<Bytes>> sent;
  engine->send_text(Bytes(32, 1), "hello", [&](Result<Bytes> r) { sent = std::move(r); });
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->error().code(), Errc::not_found);
  EXPECT_TRUE(store.outbox().value().empty());
}

// What a member's BasicCredential holds, as the engine writes it.
struct TestMemberIdentity {
  std::string username;
  Bytes device_id;
  SOTTO_TLS_FIELDS(username, device_id)
};

// Bob, played by lib/mls directly, in a group with alice's engine (her first KeyPackage).
struct BobsGroup {
  mls::Group group;
  mls::Random rng;
  uint64_t seq = 40;
};

class EngineMessagesTest : public EngineTest {
 protected:
  const Bytes group_id = Bytes(32, 0x6b);

  void SetUp() override {
    engine->on_connected();
    register_alice();
    transport.frames.clear();
    auto framed = tls::decode<mls::MlsMessage>(uploaded.key_packages.at(0));
    ASSERT_TRUE(framed.ok());
    const auto& kp = std::get<mls::KeyPackage>(framed->content);
    mls::Random rng = [this](std::span<uint8_t> out) { env.random(out); };
    auto created = mls::Group::create(crypto::SuiteId{0x0003}, group_id,
                                      mls::Credential{mls::BasicCredential{
                                          tls::encode(TestMemberIdentity{"bob", Bytes(16, 0xb0)})}},
                                      seed(9), rng);
    ASSERT_TRUE(created.ok()) << created.error().to_string();
    auto add = created->propose_add(kp, env.now / 1000);
    ASSERT_TRUE(add.ok());
    auto commit = created->commit({*add}, rng, env.now / 1000);
    ASSERT_TRUE(commit.ok());
    bob = std::make_unique<BobsGroup>(BobsGroup{std::move(commit->next), rng});
    deliver(*commit->output.welcome);
    ASSERT_TRUE(store.conversation(group_id).value().has_value());
  }

  // `received_at`: the server's clock when it took the message (ms).
  void deliver(const mls::MlsMessage& m, uint64_t received_at = 1) {
    engine->on_frame(frame_of(proto::ServerFrame{
        proto::Event{proto::MessageEvent{{++bob->seq, received_at, tls::encode(m)}}}}));
  }
  // `content` as bob protects it in `group`'s epoch (his current one when not given).
  mls::MlsMessage bobs(AppContent content, Bytes& message_id, mls::Group* group = nullptr) {
    AppMessage app;
    app.message_id = Bytes(kMessageIdSize, static_cast<uint8_t>(bob->seq + 1));
    app.sent_at = 5000 + bob->seq;
    app.content = std::move(content);
    message_id = app.message_id;
    auto sealed = (group != nullptr ? *group : bob->group).protect(encode_app_message(app), bob->rng);
    EXPECT_TRUE(sealed.ok());
    return std::move(sealed).value();
  }
  // Bob sends `content`; gives its message id.
  Bytes from_bob(AppContent content) {
    Bytes id;
    deliver(bobs(std::move(content), id));
    return id;
  }
  // Answers the key-directory lookups the engine asks, one after another, from `directory`.
  void answer_lookups() {
    for (size_t i = 0; i < transport.frames.size();) {
      const auto* asked = std::get_if<proto::KtLookup>(&transport.frames[i].request);
      if (asked == nullptr) {
        ++i;
        continue;
      }
      const uint64_t id = transport.frames[i].request_id;
      auto proof = directory.lookup(asked->username, asked->known_log_size);
      transport.frames.erase(transport.frames.begin() + static_cast<std::ptrdiff_t>(i));
      engine->on_frame(response(id, proto::KtProofResponse{tls::encode(proof)}));
      i = 0;
    }
  }
  // Publishes alice's and bob's devices, so that lookups of the members verify.
  void publish_members() {
    auto identity = store.identity().value();
    ASSERT_TRUE(identity.has_value());
    auto key = crypto::Ed25519SigningKey::from_seed(identity->signature_seed);
    ASSERT_TRUE(key.ok());
    directory.publish("alice", devices_of({{identity->device_id, key->public_key()}}));
    directory.publish("bob", devices_of({{Bytes(16, 0xb0),
                                          crypto::Ed25519SigningKey::from_seed(seed(9))
                                              .value()
                                              .public_key()}}));
  }
  // The head alice holds, as gossip.
  Bytes alices_head() {
    auto verifier = DirectoryVerifier::restore(store.directory_state().value());
    EXPECT_TRUE(verifier.ok());
    auto gossip = verifier->gossip();
    EXPECT_TRUE(gossip.ok());
    return gossip.ok() ? gossip.value() : Bytes();
  }
  // What alice's engine sent to the group since the last call, as bob reads it.
  std::vector<AppMessage> sent_by_alice() {
    std::vector<AppMessage> out;
    while (!transport.frames.empty()) {
      auto f = transport.take();
      const auto* send = std::get_if<proto::Send>(&f.request);
      if (send == nullptr) continue;
      auto m = tls::decode<mls::MlsMessage>(send->payload);
      EXPECT_TRUE(m.ok());
      auto opened = bob->group.unprotect(*m);
      EXPECT_TRUE(opened.ok()) << opened.error().to_string();
      if (!opened) continue;
      auto app = decode_app_message(opened->data);
      EXPECT_TRUE(app.ok());
      if (app) out.push_back(std::move(app).value());
    }
    return out;
  }

  std::unique_ptr<BobsGroup> bob;
};

TEST_F(EngineMessagesTest, GroupMetadataNamesTheGroupAndAMalformedOneChangesNothing) {
  auto joined = store.conversation(group_id).value();
  ASSERT_TRUE(joined.has_value());
  EXPECT_EQ(joined->kind, ConversationKind::direct);
  EXPECT_EQ(joined->name, "bob");

  // A name with a line break: refused as invalid_value, the conversation as it was, the
  // message acknowledged all the same.
  const size_t errors = observer.errors.size();
  from_bob(GroupMetadataContent{"two\nlines"});
  ASSERT_EQ(observer.errors.size(), errors + 1);
  EXPECT_EQ(observer.errors.back().code(), Errc::invalid_value);
  auto after_bad = store.conversation(group_id).value();
  EXPECT_EQ(after_bad->kind, ConversationKind::direct);
  EXPECT_EQ(after_bad->name, "bob");
  EXPECT_TRUE(store.is_processed(bob->seq).value());
  EXPECT_TRUE(store.messages(group_id).value().empty());

  from_bob(GroupMetadataContent{"Team"});
  EXPECT_EQ(observer.errors.size(), errors + 1);
  auto named = store.conversation(group_id).value();
  EXPECT_EQ(named->kind, ConversationKind::group);
  EXPECT_EQ(named->name, "Team");
  EXPECT_EQ(engine->groups().value().size(), 1u);
}

TEST_F(EngineMessagesTest, TextsGetOneDeliveryReceiptAndReceiptsNone) {
  const Bytes hello = from_bob(TextContent{"hello", std::nullopt});
  auto receipts = sent_by_alice();
  ASSERT_EQ(receipts.size(), 1u);
  const auto* receipt = std::get_if<ReceiptContent>(&receipts[0].content);
  ASSERT_NE(receipt, nullptr);
  EXPECT_EQ(receipt->kind, ReceiptKind::delivered);
  EXPECT_EQ(receipt->message_ids, std::vector<Bytes>{hello});

  // A receipt, an edit and a timer change get none, and a receipt adds no history.
  from_bob(ReceiptContent{ReceiptKind::read, {hello}});
  from_bob(EditContent{hello, "hello!"});
  EXPECT_TRUE(sent_by_alice().empty());
  const auto history = store.messages(group_id).value();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].body, "hello!");
  EXPECT_EQ(history[0].edited_at, 5000u + 43);

  // mark_read: one read receipt for the unread, then nothing more.
  std::optional<Result<void>> marked;
  engine->mark_read(group_id, [&](Result<void> r) { marked = std::move(r); });
  ASSERT_TRUE(marked.has_value() && marked->ok());
  receipts = sent_by_alice();
  ASSERT_EQ(receipts.size(), 1u);
  EXPECT_EQ(std::get<ReceiptContent>(receipts[0].content).kind, ReceiptKind::read);
  EXPECT_TRUE(store.message(group_id, hello).value()->read);
  marked.reset();
  engine->mark_read(group_id, [&](Result<void> r) { marked = std::move(r); });
  ASSERT_TRUE(marked.has_value() && marked->ok());
  EXPECT_TRUE(sent_by_alice().empty());
  EXPECT_TRUE(observer.errors.empty());
}

TEST_F(EngineMessagesTest, EditsAndDeletesOfOthersOrOfNothingAreRefused) {
  std::optional<Result<Bytes>> sent;
  engine->send_text(group_id, "mine", [&](Result<Bytes> r) { sent = std::move(r); });
  ASSERT_TRUE(sent.has_value() && sent->ok());
  const Bytes mine = sent->value();
  (void)sent_by_alice();

  // Bob edits and deletes alice's message: refused, nothing changes, the queue moves on.
  from_bob(EditContent{mine, "bob's words"});
  ASSERT_EQ(observer.errors.size(), 1u);
  EXPECT_EQ(observer.errors.back().code(), Errc::forbidden);
  from_bob(DeleteContent{{mine}});
  ASSERT_EQ(observer.errors.size(), 2u);
  EXPECT_EQ(observer.errors.back().code(), Errc::forbidden);
  auto kept = store.message(group_id, mine).value();
  EXPECT_EQ(kept->body, "mine");
  EXPECT_FALSE(kept->deleted);
  EXPECT_EQ(kept->edited_at, 0u);
  EXPECT_TRUE(store.is_processed(bob->seq).value());

  // An edit or delete that comes before its message (or after it expired): dropped.
  from_bob(EditContent{Bytes(kMessageIdSize, 0xee), "early"});
  EXPECT_EQ(observer.errors.back().code(), Errc::not_found);
  const Bytes his = from_bob(TextContent{"his", std::nullopt});
  from_bob(DeleteContent{{his, Bytes(kMessageIdSize, 0xee)}});
  EXPECT_EQ(observer.errors.back().code(), Errc::not_found);
  EXPECT_FALSE(store.message(group_id, his).value()->deleted);  // all or nothing
  const size_t errors = observer.errors.size();
  from_bob(DeleteContent{{his}});
  EXPECT_EQ(observer.errors.size(), errors);
  auto tombstone = store.message(group_id, his).value();
  EXPECT_TRUE(tombstone->deleted);
  EXPECT_TRUE(tombstone->body.empty());
  EXPECT_EQ(store.messages(group_id).value().size(), 2u);

  // Alice may change only her own.
  std::optional<Result<void>> done;
  engine->edit_message(group_id, his, "x", [&](Result<void> r) { done = std::move(r); });
  EXPECT_EQ(done->error().code(), Errc::forbidden);
  done.reset();
  engine->delete_messages(group_id, {mine}, [&](Result<void> r) { done = std::move(r); });
  ASSERT_TRUE(done->ok());
  EXPECT_TRUE(store.message(group_id, mine).value()->deleted);
  auto out = sent_by_alice();  // the delivery receipt for "his", then the delete
  ASSERT_FALSE(out.empty());
  const auto* deletion = std::get_if<DeleteContent>(&out.back().content);
  ASSERT_NE(deletion, nullptr);
  EXPECT_EQ(deletion->message_ids, std::vector<Bytes>{mine});
}

TEST_F(EngineMessagesTest, ATimerMakesMessagesExpire) {
  const Bytes before = from_bob(TextContent{"before", std::nullopt});
  from_bob(ConversationSettingsContent{30});
  EXPECT_EQ(store.conversation(group_id).value()->disappear_after_s, 30u);
  auto history = store.messages(group_id).value();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].timer_set_s, std::optional<uint64_t>(30));
  const Bytes after = from_bob(TextContent{"after", std::nullopt});
  EXPECT_EQ(store.message(group_id, after).value()->expires_at, env.now + 30'000);
  std::optional<Result<Bytes>> sent;
  engine->send_text(group_id, "mine", [&](Result<Bytes> r) { sent = std::move(r); });
  ASSERT_TRUE(sent.has_value() && sent->ok());
  EXPECT_EQ(store.message(group_id, sent->value()).value()->expires_at, env.now + 30'000);

  env.now += 29'999;
  EXPECT_EQ(engine->expire_messages().value(), 0u);
  env.now += 1;
  EXPECT_EQ(engine->expire_messages().value(), 2u);
  history = store.messages(group_id).value();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].message_id, before);
  EXPECT_TRUE(history[1].timer_set_s.has_value());
  EXPECT_TRUE(observer.errors.empty());
}

TEST_F(EngineMessagesTest, HeadsGoOutWithWhatTheUserSendsAndTheMembersHeadsAreCompared) {
  publish_members();
  answer_lookups();  // the members of the group joined in SetUp, verified
  EXPECT_TRUE(store.conversation(group_id).value()->members_verified);
  ASSERT_TRUE(observer.errors.empty()) << observer.errors[0].to_string();
  (void)sent_by_alice();

  // The first text carries alice's head ahead of it; the next one, soon after, does not.
  std::optional<Result<Bytes>> sent;
  engine->send_text(group_id, "one", [&](Result<Bytes> r) { sent = std::move(r); });
  ASSERT_TRUE(sent.has_value() && sent->ok());
  auto out = sent_by_alice();
  ASSERT_EQ(out.size(), 2u);
  const auto* head = std::get_if<DirectoryHeadContent>(&out[0].content);
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->gossip, kt::encode_gossip(directory.dir->head().value()).value());
  EXPECT_TRUE(std::holds_alternative<TextContent>(out[1].content));
  EXPECT_EQ(store.messages(group_id).value().size(), 1u);  // a head is no history
  engine->send_text(group_id, "two", [&](Result<Bytes> r) { sent = std::move(r); });
  EXPECT_EQ(sent_by_alice().size(), 1u);

  // Bob's head is the same one: nothing to ask (only the ack goes out), and no receipt.
  from_bob(DirectoryHeadContent{alices_head()});
  ASSERT_EQ(transport.frames.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<proto::Ack>(transport.take().request));

  // Bob saw a newer head: alice asks for the consistency proof between the two and moves on.
  const uint64_t before = directory.dir->head().value().log_size;
  directory.publish("carol", devices_of({{Bytes(16, 0xc0), Bytes(32, 0xc1)}}));
  const Bytes newer = kt::encode_gossip(directory.dir->head().value()).value();
  from_bob(DirectoryHeadContent{newer});
  auto ask = transport.take();
  EXPECT_TRUE(std::holds_alternative<proto::Ack>(transport.take().request));
  const auto* consistency = std::get_if<proto::KtConsistency>(&ask.request);
  ASSERT_NE(consistency, nullptr);
  EXPECT_EQ(consistency->old_size, before);
  EXPECT_EQ(consistency->new_size, directory.dir->head().value().log_size);
  engine->on_frame(response(
      ask.request_id, proto::KtHashesResponse{directory.dir->consistency(before,
                                                                         consistency->new_size)
                                                  .value()}));
  EXPECT_EQ(alices_head(), newer);
  EXPECT_TRUE(observer.split_views.empty());
  ASSERT_TRUE(observer.errors.empty()) << observer.errors[0].to_string();

  // A head of the same epoch with another log: the directory forked it. The evidence is kept,
  // the user told, and no key it serves is trusted any more.
  Directory fork;
  fork.publish("alice", devices_of({{Bytes(16, 1), Bytes(32, 2)}}));
  fork.publish("bob", devices_of({{Bytes(16, 3), Bytes(32, 4)}}));
  fork.publish("mallory", devices_of({{Bytes(16, 5), Bytes(32, 6)}}));
  ASSERT_EQ(fork.dir->head().value().epoch, directory.dir->head().value().epoch);
  from_bob(DirectoryHeadContent{kt::encode_gossip(fork.dir->head().value()).value()});
  EXPECT_EQ(observer.split_views, std::vector<std::string>{"bob"});
  EXPECT_TRUE(engine->directory_split_view().value());
  EXPECT_EQ(alices_head(), newer);
  transport.frames.clear();
  std::optional<Result<Contact>> looked;
  engine->lookup_contact("carol", [&](Result<Contact> r) { looked = std::move(r); });
  ASSERT_TRUE(looked.has_value());
  EXPECT_EQ(looked->error().code(), Errc::split_view);
  EXPECT_TRUE(transport.frames.empty());
  engine.reset();
  make_engine(directory.keys());
  EXPECT_TRUE(engine->directory_split_view().value());  // kept across restarts
}

TEST_F(EngineMessagesTest, AForgedHeadIsReportedAndChangesNothing) {
  publish_members();
  answer_lookups();
  const Bytes held = alices_head();
  Bytes forged = held;
  forged[20] ^= 1;  // the log root: the signature no longer holds
  transport.frames.clear();
  from_bob(DirectoryHeadContent{forged});
  ASSERT_EQ(transport.frames.size(), 1u);  // the ack, and no question about the head
  EXPECT_TRUE(std::holds_alternative<proto::Ack>(transport.take().request));
  ASSERT_EQ(observer.errors.size(), 1u);
  EXPECT_EQ(observer.errors[0].code(), Errc::bad_signature);
  EXPECT_TRUE(observer.split_views.empty());
  EXPECT_EQ(alices_head(), held);
}

TEST_F(EngineMessagesTest, MessagesSentInTheEpochBeforeACommitStillOpenForAWhile) {
  mls::Group old_epoch = bob->group;  // bob's state before his commit
  auto commit = bob->group.commit({}, bob->rng, env.now / 1000);
  ASSERT_TRUE(commit.ok());
  bob->group = std::move(commit->next);
  const uint64_t commit_at = 1'000'000;
  deliver(commit->output.commit, commit_at);
  EXPECT_EQ(mls::Group::deserialize(store.conversation(group_id).value()->group_state)
                .value()
                .epoch(),
            bob->group.epoch());

  // Sent before bob saw his own commit land, taken by the server just after it.
  Bytes late;
  deliver(bobs(TextContent{"sent before the commit", std::nullopt}, late, &old_epoch),
          commit_at + 5'000);
  ASSERT_TRUE(observer.errors.empty()) << observer.errors[0].to_string();
  auto stored = store.message(group_id, late).value();
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->body, "sent before the commit");
  // Its delivery receipt goes out in the current epoch, which bob reads.
  auto receipts = sent_by_alice();
  ASSERT_EQ(receipts.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<ReceiptContent>(receipts[0].content));

  // A replay of it is refused (its key was used), and so is anything of that epoch that the
  // server took after the window: the old epoch's keys are gone then.
  Bytes current;
  deliver(bobs(TextContent{"in the new epoch", std::nullopt}, current), commit_at + 11 * 60'000);
  EXPECT_TRUE(store.message(group_id, current).value().has_value());
  EXPECT_TRUE(store.conversation(group_id).value()->previous_group_state.empty());
  Bytes too_late;
  deliver(bobs(TextContent{"too late", std::nullopt}, too_late, &old_epoch),
          commit_at + 11 * 60'000);
  EXPECT_FALSE(store.message(group_id, too_late).value().has_value());
  ASSERT_EQ(observer.errors.size(), 1u);
  EXPECT_EQ(observer.errors[0].code(), Errc::wrong_epoch);
}

TEST_F(EngineMessagesTest, WhatWaitsInTheOutboxIsProtectedAgainAfterACommit) {
  std::optional<Result<Bytes>> sent;
  engine->send_text(group_id, "written before the commit", [&](Result<Bytes> r) {
    sent = std::move(r);
  });
  ASSERT_TRUE(sent.has_value() && sent->ok());
  engine->on_disconnected();  // the Send never got its answer: the text stays in the outbox
  transport.frames.clear();
  ASSERT_EQ(store.outbox().value().size(), 1u);

  auto commit = bob->group.commit({}, bob->rng, env.now / 1000);
  ASSERT_TRUE(commit.ok());
  bob->group = std::move(commit->next);

  // Back online: the queue (bob's commit) first, then the outbox, in the new epoch.
  engine->on_connected();
  auto challenge = transport.take();
  ASSERT_TRUE(std::holds_alternative<proto::AuthChallenge>(challenge.request));
  engine->on_frame(response(challenge.request_id, proto::ChallengeResponse{Bytes(32, 4)}));
  auto auth = transport.take();
  ASSERT_TRUE(std::holds_alternative<proto::AuthDevice>(auth.request));
  engine->on_frame(response(auth.request_id, proto::SessionResponse{Bytes(16, 0xa1),
                                                                    Bytes(16, 0xd1),
                                                                    Bytes(32, 8), 99}));
  ASSERT_EQ(engine->state(), ConnectionState::ready);
  EXPECT_TRUE(std::none_of(transport.frames.begin(), transport.frames.end(), [](const auto& f) {
    return std::holds_alternative<proto::Send>(f.request);
  }));
  auto fetch = std::find_if(transport.frames.begin(), transport.frames.end(), [](const auto& f) {
    return std::holds_alternative<proto::Fetch>(f.request);
  });
  ASSERT_NE(fetch, transport.frames.end());
  const uint64_t fetch_id = fetch->request_id;
  transport.frames.erase(fetch);
  engine->on_frame(response(
      fetch_id, proto::MessagesResponse{{{++bob->seq, 1, tls::encode(commit->output.commit)}}, 0}));
  auto out = sent_by_alice();  // bob, in the new epoch, opens it
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<TextContent>(out[0].content).body, "written before the commit");
  EXPECT_EQ(out[0].message_id, sent->value());
  const auto outbox = store.outbox().value();
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].epoch, bob->group.epoch());
}

}  // namespace
}  // namespace sotto::client
