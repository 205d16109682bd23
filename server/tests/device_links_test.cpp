// Device linking's rendezvous slots: the slot rules with a clock of the test's own, then the
// requests over a real sottod (who may open, post, read and answer).
#include "services/device_links.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol_client.h"
#include "sotto/crypto/primitives.h"
#include "sottod_process.h"

namespace sotto {
inline void PrintTo(Errc code, std::ostream* os) {
  *os << errc_name(code);
}
}  // namespace sotto

namespace sotto::server {
namespace {

using testing::as;
using testing::error_code;

const Bytes kAlice(16, 0xA1);
const Bytes kBob(16, 0xB0);
constexpr uint64_t kNow = 1'800'000'000;

Bytes post_mac(const Bytes& verifier, const Bytes& slot, const Bytes& sealed) {
  return crypto::hmac_sha256(verifier, proto::link_post_mac_input(slot, sealed)).reveal();
}

Bytes answer_mac(const Bytes& verifier, const Bytes& slot) {
  return crypto::hmac_sha256(verifier, proto::link_answer_mac_input(slot)).reveal();
}

Errc code_of(const Result<void>& r) {
  return r ? Errc::ok : r.error().code();
}

template <class T>
Errc code_of(const Result<T>& r) {
  return r ? Errc::ok : r.error().code();
}

TEST(LinkSlots, OpenPostAnswerRead) {
  LinkSlots slots;
  const Bytes verifier(32, 7);
  auto opened = slots.open(kAlice, verifier, kNow);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->slot_id.size(), proto::kLinkSlotIdSize);
  EXPECT_EQ(opened->expires_at, kNow + proto::kLinkSlotLifetimeS);
  const Bytes slot = opened->slot_id;

  // Nothing posted yet; no answer before a post.
  auto empty = slots.read_post(kAlice, slot, kNow);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  EXPECT_EQ(code_of(slots.answer(kAlice, slot, Bytes{1}, kNow)), Errc::forbidden);

  const Bytes sealed = {1, 2, 3, 4};
  ASSERT_TRUE(slots.post(slot, sealed, post_mac(verifier, slot, sealed), kNow + 1).ok());
  // Single use: a second post, even a right one, is refused.
  EXPECT_EQ(code_of(slots.post(slot, Bytes{9}, post_mac(verifier, slot, Bytes{9}), kNow + 1)),
            Errc::already_exists);
  auto post = slots.read_post(kAlice, slot, kNow + 2);
  ASSERT_TRUE(post.ok() && post->has_value());
  EXPECT_EQ(**post, sealed);
  // Another account cannot read or answer the slot.
  EXPECT_EQ(code_of(slots.read_post(kBob, slot, kNow + 2)), Errc::not_found);
  EXPECT_EQ(code_of(slots.answer(kBob, slot, Bytes{5}, kNow + 2)), Errc::not_found);

  auto none = slots.read_answer(slot, answer_mac(verifier, slot), kNow + 2);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  const Bytes answer = {5, 6, 7};
  ASSERT_TRUE(slots.answer(kAlice, slot, answer, kNow + 3).ok());
  EXPECT_EQ(code_of(slots.answer(kAlice, slot, answer, kNow + 3)), Errc::already_exists);
  // The answer needs the MAC, and reading it closes the slot.
  EXPECT_EQ(code_of(slots.read_answer(slot, Bytes(32, 0), kNow + 4)), Errc::authentication_failed);
  auto got = slots.read_answer(slot, answer_mac(verifier, slot), kNow + 4);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, answer);
  EXPECT_EQ(code_of(slots.read_answer(slot, answer_mac(verifier, slot), kNow + 4)),
            Errc::not_found);
  EXPECT_EQ(slots.size(), 0u);
}

TEST(LinkSlots, WrongSecretAndTamperedPostsAreRefusedThenTheSlotCloses) {
  LinkSlots slots;
  const Bytes verifier(32, 7);
  const Bytes wrong(32, 8);
  auto opened = slots.open(kAlice, verifier, kNow);
  ASSERT_TRUE(opened.ok());
  const Bytes slot = opened->slot_id;
  const Bytes sealed = {1, 2, 3, 4};
  // A code with another secret.
  EXPECT_EQ(code_of(slots.post(slot, sealed, post_mac(wrong, slot, sealed), kNow)),
            Errc::authentication_failed);
  // A post changed after its MAC was made.
  Bytes tampered = sealed;
  tampered[0] ^= 1;
  EXPECT_EQ(code_of(slots.post(slot, tampered, post_mac(verifier, slot, sealed), kNow)),
            Errc::authentication_failed);
  // Refusals do not use the slot up: the right post still goes in...
  auto read = slots.read_post(kAlice, slot, kNow);
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->has_value());
  // ...until the limit: then it is closed for everyone.
  for (uint32_t i = 2; i < proto::kMaxLinkAttempts; ++i) {
    EXPECT_EQ(code_of(slots.post(slot, sealed, Bytes(32, 1), kNow)), Errc::authentication_failed);
  }
  EXPECT_EQ(code_of(slots.post(slot, sealed, post_mac(verifier, slot, sealed), kNow)),
            Errc::not_found);
  EXPECT_EQ(code_of(slots.read_post(kAlice, slot, kNow)), Errc::not_found);
  // Malformed input.
  EXPECT_EQ(code_of(slots.open(kAlice, Bytes(31, 7), kNow)), Errc::invalid_argument);
}

TEST(LinkSlots, ExpiryAndOneSlotPerAccount) {
  LinkSlots slots;
  const Bytes verifier(32, 7);
  auto first = slots.open(kAlice, verifier, kNow);
  auto bobs = slots.open(kBob, verifier, kNow);
  ASSERT_TRUE(first.ok() && bobs.ok());
  auto second = slots.open(kAlice, verifier, kNow + 1);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(first->slot_id, second->slot_id);
  EXPECT_EQ(code_of(slots.read_post(kAlice, first->slot_id, kNow + 1)), Errc::not_found);
  EXPECT_EQ(slots.size(), 2u);
  const Bytes slot = second->slot_id;
  const Bytes sealed = {1};
  const uint64_t late = kNow + 1 + proto::kLinkSlotLifetimeS;
  EXPECT_EQ(code_of(slots.post(slot, sealed, post_mac(verifier, slot, sealed), late)),
            Errc::not_found);
  EXPECT_EQ(code_of(slots.read_post(kAlice, slot, late)), Errc::not_found);
}

// ---- over a real sottod ----------------------------------------------------------------------

class DeviceLinksOverTheWire : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    server_ = new testing::SottodProcess(testing::SottodProcess::args_for(
        dir_->path() / "data",
        {"--rate-login-burst", "1000", "--rate-login-per-minute", "1000",
         "--rate-registration-burst", "1000", "--rate-registration-per-minute", "1000"}));
    ASSERT_TRUE(server_->wait_listening()) << server_->line();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  static uint16_t port() { return server_->port(); }

  static void register_on(testing::ProtocolClient& client, const std::string& username) {
    proto::RegisterAccount r;
    r.username = username;
    r.email = username + "@example.org";
    r.password = "correct horse battery";
    r.device = proto::DeviceKey{crypto::Ed25519SigningKey::generate().public_key(), "laptop"};
    ASSERT_NE(as<proto::SessionResponse>(client.request(r)), nullptr) << username;
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline testing::SottodProcess* server_ = nullptr;
};

TEST_F(DeviceLinksOverTheWire, WhoMayDoWhat) {
  const Bytes verifier = crypto::random_bytes(32);
  testing::ProtocolClient stranger(port());
  // Opening, reading posts and answering need a session.
  EXPECT_EQ(error_code(stranger.request(proto::OpenLink{verifier})), Errc::unauthenticated);
  EXPECT_EQ(error_code(stranger.request(proto::ReadLinkPost{Bytes(6, 1)})), Errc::unauthenticated);
  EXPECT_EQ(error_code(stranger.request(proto::AnswerLink{Bytes(6, 1), Bytes{1}})),
            Errc::unauthenticated);

  testing::ProtocolClient alice(port());
  register_on(alice, "linker");
  auto opened = alice.request(proto::OpenLink{verifier});
  ASSERT_NE(as<proto::LinkSlotResponse>(opened), nullptr) << errc_name(error_code(opened));
  const Bytes slot = as<proto::LinkSlotResponse>(opened)->slot_id;

  // The new device posts without a session; a wrong MAC is refused.
  const Bytes sealed = {1, 2, 3};
  EXPECT_EQ(error_code(stranger.request(proto::PostLink{slot, sealed, Bytes(32, 0)})),
            Errc::authentication_failed);
  EXPECT_EQ(
      error_code(stranger.request(proto::PostLink{slot, sealed, post_mac(verifier, slot, sealed)})),
      Errc::ok);

  // Another account sees no such slot.
  testing::ProtocolClient mallory(port());
  register_on(mallory, "mallory");
  EXPECT_EQ(error_code(mallory.request(proto::ReadLinkPost{slot})), Errc::not_found);
  EXPECT_EQ(error_code(mallory.request(proto::AnswerLink{slot, Bytes{1}})), Errc::not_found);

  auto post = alice.request(proto::ReadLinkPost{slot});
  ASSERT_NE(as<proto::LinkSealedResponse>(post), nullptr);
  EXPECT_EQ(as<proto::LinkSealedResponse>(post)->sealed, sealed);
  EXPECT_EQ(error_code(alice.request(proto::AnswerLink{slot, Bytes{4, 5}})), Errc::ok);
  auto answer = stranger.request(proto::ReadLinkAnswer{slot, answer_mac(verifier, slot)});
  ASSERT_NE(as<proto::LinkSealedResponse>(answer), nullptr);
  EXPECT_EQ(as<proto::LinkSealedResponse>(answer)->sealed, (Bytes{4, 5}));
  // Used: the slot is gone.
  EXPECT_EQ(error_code(stranger.request(proto::ReadLinkAnswer{slot, answer_mac(verifier, slot)})),
            Errc::not_found);
}

}  // namespace
}  // namespace sotto::server
