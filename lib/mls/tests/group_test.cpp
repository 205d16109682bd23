#include "sotto/mls/group.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "group_test_support.h"
#include "sotto/crypto/primitives.h"

namespace sotto::mls {
namespace {

using test::available_suites;
using test::basic;
using test::counter_rng;
using test::expect_round_trip;
using test::kNow;
using test::seed;
using test::text;

KeyPackageBundle make_kp(crypto::SuiteId suite, std::string_view name, const Random& rng,
                         Lifetime lifetime = {kNow - 10, kNow + 3600}) {
  auto kp = create_key_package(suite, basic(name), seed(rng), lifetime, rng);
  EXPECT_TRUE(kp.ok()) << kp.error().to_string();
  return std::move(kp).value();
}

TEST(GroupKeyPackage, CreatesAndValidates) {
  auto rng = counter_rng(1);
  auto suite = crypto::CipherSuite::create(3).value();
  auto kp = make_kp(crypto::SuiteId::x25519_chacha20poly1305_sha256_ed25519, "bob", rng);
  EXPECT_TRUE(validate_key_package(suite, kp.key_package, kNow).ok());
  auto expired = validate_key_package(suite, kp.key_package, kNow + 7200);
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.error().message().find("expired"), std::string::npos);
  auto early = validate_key_package(suite, kp.key_package, kNow - 100);
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.error().message().find("not yet valid"), std::string::npos);
  auto suite1 = crypto::CipherSuite::create(1);
  if (suite1.ok()) {
    EXPECT_EQ(validate_key_package(*suite1, kp.key_package, kNow).error().code(),
              Errc::invalid_argument);
  }
  KeyPackage tampered = kp.key_package;
  tampered.extensions.push_back(Extension{ExtensionType::application_id, {1}});
  EXPECT_EQ(validate_key_package(suite, tampered, kNow).error().code(), Errc::bad_signature);
  KeyPackage same_keys = kp.key_package;
  same_keys.init_key = same_keys.leaf_node.encryption_key;
  EXPECT_FALSE(validate_key_package(suite, same_keys, kNow).ok());
}

class GroupTest : public ::testing::TestWithParam<std::tuple<crypto::SuiteId, WireFormat>> {};

TEST_P(GroupTest, Conversation) {
  const crypto::SuiteId suite = std::get<0>(GetParam());
  const WireFormat handshake = std::get<1>(GetParam());
  auto rng = counter_rng(static_cast<uint32_t>(suite));

  auto alice_r = Group::create(suite, to_bytes("group"), basic("alice"), seed(rng), rng);
  ASSERT_TRUE(alice_r.ok()) << alice_r.error().to_string();
  Group alice = std::move(alice_r).value();
  ASSERT_TRUE(alice.set_handshake_wire_format(handshake).ok());
  EXPECT_EQ(alice.epoch(), 0u);

  // Alice adds Bob.
  auto bob_kp = make_kp(suite, "bob", rng);
  auto add_bob = alice.propose_add(bob_kp.key_package, kNow);
  ASSERT_TRUE(add_bob.ok());
  auto c1 = alice.commit({*add_bob}, rng, kNow);
  ASSERT_TRUE(c1.ok()) << c1.error().to_string();
  ASSERT_TRUE(c1->output.welcome.has_value());
  alice = std::move(c1->next);
  auto bob_r = Group::join(*c1->output.welcome, bob_kp.key_package, bob_kp.private_keys);
  ASSERT_TRUE(bob_r.ok()) << bob_r.error().to_string();
  Group bob = std::move(bob_r).value();
  ASSERT_TRUE(bob.set_handshake_wire_format(handshake).ok());
  EXPECT_EQ(bob.epoch(), 1u);
  EXPECT_TRUE(constant_time_equal(alice.epoch_authenticator(), bob.epoch_authenticator()));
  EXPECT_EQ(alice.export_secret("l", {}, 16)->reveal(), bob.export_secret("l", {}, 16)->reveal());
  EXPECT_EQ(alice.members().size(), 2u);

  expect_round_trip(alice, bob, "hi bob", rng);
  expect_round_trip(bob, alice, "hi alice", rng);

  // Out of order within the window, and a replay.
  auto m1 = alice.protect(as_bytes("one"), rng).value();
  auto m2 = alice.protect(as_bytes("two"), rng).value();
  EXPECT_EQ(text(bob.unprotect(m2)->data), "two");
  EXPECT_EQ(text(bob.unprotect(m1)->data), "one");
  EXPECT_EQ(bob.unprotect(m1).error().code(), Errc::not_found);

  // Bob adds Carol.
  auto carol_kp = make_kp(suite, "carol", rng);
  auto c2 = bob.commit({bob.propose_add(carol_kp.key_package, kNow).value()}, rng, kNow);
  ASSERT_TRUE(c2.ok()) << c2.error().to_string();
  // A tampered commit fails and leaves Alice's state as it was.
  {
    MlsMessage tampered = c2->output.commit;
    EXPECT_EQ(tampered.wire_format(), handshake);
    if (auto* pub = std::get_if<PublicMessage>(&tampered.content)) {
      pub->content.authenticated_data = {1, 2, 3};
    } else {
      std::get<PrivateMessage>(tampered.content).ciphertext.back() ^= 1;
    }
    auto r = alice.process(tampered);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(alice.epoch(), 1u);
  }
  auto a2 = alice.process(c2->output.commit);
  ASSERT_TRUE(a2.ok()) << a2.error().to_string();
  const MlsMessage old_epoch_msg = alice.protect(as_bytes("late"), rng).value();
  alice = std::move(a2).value();
  bob = std::move(c2->next);
  auto carol_r = Group::join(*c2->output.welcome, carol_kp.key_package, carol_kp.private_keys);
  ASSERT_TRUE(carol_r.ok()) << carol_r.error().to_string();
  Group carol = std::move(carol_r).value();
  ASSERT_TRUE(carol.set_handshake_wire_format(handshake).ok());
  EXPECT_EQ(carol.epoch(), 2u);
  EXPECT_TRUE(constant_time_equal(alice.epoch_authenticator(), carol.epoch_authenticator()));
  expect_round_trip(alice, carol, "hi carol", rng);
  expect_round_trip(carol, bob, "hi bob from carol", rng);

  // A message of the previous epoch: typed error.
  auto wrong = bob.unprotect(old_epoch_msg);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Errc::wrong_epoch);
  // Replaying an old commit: wrong epoch.
  EXPECT_EQ(alice.process(c2->output.commit).error().code(), Errc::wrong_epoch);

  // Bob proposes an Update; Alice commits it by reference.
  {
    auto sent = bob.propose_update(rng);
    ASSERT_TRUE(sent.ok()) << sent.error().to_string();
    bob = std::move(sent->next);
    auto a = alice.process(sent->message);
    ASSERT_TRUE(a.ok()) << a.error().to_string();
    alice = std::move(a).value();
    carol = carol.process(sent->message).value();
    EXPECT_EQ(alice.cached_proposal_count(), 1u);
    auto c = alice.commit({}, rng, kNow);
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    alice = std::move(c->next);
    auto b = bob.process(c->output.commit);
    ASSERT_TRUE(b.ok()) << b.error().to_string();
    bob = std::move(b).value();
    carol = carol.process(c->output.commit).value();
    EXPECT_EQ(alice.epoch(), 3u);
    EXPECT_TRUE(constant_time_equal(alice.epoch_authenticator(), bob.epoch_authenticator()));
    EXPECT_TRUE(constant_time_equal(alice.epoch_authenticator(), carol.epoch_authenticator()));
    expect_round_trip(bob, carol, "after bob's update", rng);
  }

  // A self-update by Carol.
  auto c3 = carol.commit({}, rng, kNow);
  ASSERT_TRUE(c3.ok()) << c3.error().to_string();
  EXPECT_FALSE(c3->output.welcome.has_value());
  alice = alice.process(c3->output.commit).value();
  bob = bob.process(c3->output.commit).value();
  carol = std::move(c3->next);
  EXPECT_TRUE(constant_time_equal(bob.epoch_authenticator(), carol.epoch_authenticator()));

  // State round trip mid-conversation.
  {
    const Bytes state = bob.serialize();
    auto restored = Group::deserialize(state);
    ASSERT_TRUE(restored.ok()) << restored.error().to_string();
    bob = std::move(restored).value();
    Bytes bad = state;
    bad[1] ^= 0x7f;
    EXPECT_EQ(Group::deserialize(bad).error().code(), Errc::unsupported);
    for (size_t cut : {size_t{0}, size_t{3}, state.size() / 2, state.size() - 1}) {
      EXPECT_FALSE(Group::deserialize(BytesView(state.data(), cut)).ok()) << cut;
    }
  }
  expect_round_trip(carol, bob, "after restore", rng);

  // Alice removes Carol; Carol cannot read what follows.
  const LeafIndex carol_leaf = carol.own_leaf();
  auto c4 = alice.commit({alice.propose_remove(carol_leaf).value()}, rng, kNow);
  ASSERT_TRUE(c4.ok()) << c4.error().to_string();
  alice = std::move(c4->next);
  bob = bob.process(c4->output.commit).value();
  EXPECT_FALSE(carol.process(c4->output.commit).ok());
  EXPECT_EQ(alice.members().size(), 2u);
  auto after = alice.protect(as_bytes("carol is gone"), rng).value();
  EXPECT_FALSE(carol.unprotect(after).ok());
  EXPECT_EQ(text(bob.unprotect(after)->data), "carol is gone");
  expect_round_trip(bob, alice, "bye", rng);
}

INSTANTIATE_TEST_SUITE_P(Suites, GroupTest,
                         ::testing::Combine(::testing::ValuesIn(available_suites()),
                                            ::testing::Values(WireFormat::public_message,
                                                              WireFormat::private_message)));

}  // namespace
}  // namespace sotto::mls
