// Pre-shared keys in commits and Welcomes (RFC 9420 section 8.4, 12.1.4) and ReInit
// (sections 11.2, 12.1.6).
#include <gtest/gtest.h>

#include "group_test_support.h"

namespace sotto::mls {
namespace {

using namespace test;

TEST(GroupPsk, ExternalPskInCommitAndWelcome) {
  auto rng = counter_rng(50);
  auto members = make_group({"alice", "bob"}, rng);
  Group alice = std::move(members[0]);
  Group bob = std::move(members[1]);
  const Bytes psk_id = to_bytes("shared psk");
  const ExternalPsks psks{{psk_id, SecureBytes(Bytes(32, 0x42))}};

  auto carol = make_kp("carol", rng);
  const Proposal psk = take(alice.propose_external_psk(psk_id, rng));
  const Proposal add = take(alice.propose_add(carol.key_package, kNow));
  // The committer needs the PSK too.
  EXPECT_EQ(code_of(alice.commit({psk, add}, rng, kNow)), Errc::not_found);
  auto c = take(alice.commit({psk, add}, rng, kNow, psks));
  ASSERT_TRUE(c.output.welcome.has_value());

  // Bob without the PSK: refused, unchanged.
  const Bytes before = bob.serialize();
  EXPECT_EQ(code_of(bob.process(c.output.commit)), Errc::not_found);
  EXPECT_EQ(bob.serialize(), before);
  // The wrong PSK: another psk_secret, so the confirmation tag does not verify.
  const ExternalPsks wrong{{psk_id, SecureBytes(Bytes(32, 0x43))}};
  EXPECT_EQ(code_of(bob.process(c.output.commit, wrong)), Errc::bad_confirmation_tag);
  EXPECT_EQ(bob.serialize(), before);
  bob = take(bob.process(c.output.commit, psks));

  EXPECT_EQ(code_of(Group::join(*c.output.welcome, carol.key_package, carol.private_keys)),
            Errc::not_found);
  Group carol_group =
      take(Group::join(*c.output.welcome, carol.key_package, carol.private_keys, {}, psks));
  alice = std::move(c.next);
  EXPECT_TRUE(same_epoch(alice, bob));
  EXPECT_TRUE(same_epoch(alice, carol_group));
  expect_round_trip(carol_group, bob, "psk works", rng);
}

TEST(GroupPsk, ResumptionPskOfAnEarlierEpoch) {
  auto rng = counter_rng(51);
  auto members = make_group({"alice", "bob"}, rng);
  Group alice = std::move(members[0]);
  Group bob = std::move(members[1]);
  for (int i = 0; i < 3; ++i) {
    auto c = take(alice.commit({}, rng, kNow));
    bob = take(bob.process(c.output.commit));
    alice = std::move(c.next);
  }
  ASSERT_EQ(alice.epoch(), 4u);
  auto carol = make_kp("carol", rng);
  const Proposal psk = take(bob.propose_resumption_psk(1, rng));
  auto sent = take(bob.send_proposal(psk, rng));
  bob = std::move(sent.next);
  alice = take(alice.process(sent.message));
  auto c = take(alice.commit({take(alice.propose_add(carol.key_package, kNow))}, rng, kNow));
  bob = take(bob.process(c.output.commit));
  alice = std::move(c.next);
  EXPECT_TRUE(same_epoch(alice, bob));
  // Carol was never in epoch 1: she cannot have its resumption PSK.
  EXPECT_EQ(code_of(Group::join(*c.output.welcome, carol.key_package, carol.private_keys)),
            Errc::not_found);
  // A resumption PSK must be of usage application in an ordinary commit.
  Proposal reinit_usage = psk;
  std::get<ResumptionPsk>(std::get<PreSharedKey>(reinit_usage.content).psk.content).usage =
      ResumptionPskUsage::reinit;
  EXPECT_EQ(code_of(alice.commit({reinit_usage}, rng, kNow)), Errc::invalid_commit);
  // A nonce that is not Nh bytes.
  Proposal short_nonce = psk;
  std::get<PreSharedKey>(short_nonce.content).psk.psk_nonce.resize(5);
  EXPECT_EQ(code_of(alice.commit({short_nonce}, rng, kNow)), Errc::invalid_commit);
}

TEST(GroupPsk, KeepsABoundedNumberOfResumptionPsks) {
  auto rng = counter_rng(52);
  Group alice = take(Group::create(kSuite, to_bytes("g"), basic("alice"), seed(rng), rng));
  const size_t epochs = Group::kMaxResumptionPsks + 3;
  for (size_t i = 0; i < epochs; ++i) alice = take(alice.commit({}, rng, kNow)).next;
  EXPECT_EQ(code_of(alice.propose_resumption_psk(0, rng)), Errc::not_found);
  EXPECT_EQ(code_of(alice.propose_resumption_psk(2, rng)), Errc::not_found);
  EXPECT_TRUE(alice.propose_resumption_psk(epochs - Group::kMaxResumptionPsks, rng).ok());
  EXPECT_TRUE(alice.propose_resumption_psk(alice.epoch(), rng).ok());
  EXPECT_EQ(code_of(alice.propose_resumption_psk(alice.epoch() + 1, rng)), Errc::not_found);
  // And survives a state round trip.
  Group restored = take(Group::deserialize(alice.serialize()));
  auto c =
      take(restored.commit({take(restored.propose_resumption_psk(epochs - 1, rng))}, rng, kNow));
  EXPECT_EQ(c.next.epoch(), epochs + 1);
}

std::string identity(const GroupMember& m) {
  const Bytes& id = std::get<BasicCredential>(m.credential.content).identity;
  return std::string(id.begin(), id.end());
}

std::vector<std::string> identities(const Group& g) {
  std::vector<std::string> out;
  for (const GroupMember& m : g.members()) out.push_back(identity(m));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GroupReInit, NewGroupWithTheSameMembers) {
  auto rng = counter_rng(53);
  auto members = make_group({"alice", "bob", "carol"}, rng);
  Group alice = std::move(members[0]);
  Group bob = std::move(members[1]);
  Group carol = std::move(members[2]);
  const std::vector<Extension> extensions{Extension{ExtensionType::application_id, {7, 7}}};

  // Bob proposes; Alice commits it by reference.
  const Proposal reinit = take(bob.propose_reinit(to_bytes("group v2"), kSuite, extensions));
  auto sent = take(bob.send_proposal(reinit, rng));
  bob = std::move(sent.next);
  alice = take(alice.process(sent.message));
  carol = take(carol.process(sent.message));
  auto c = take(alice.commit({}, rng, kNow));
  alice = std::move(c.next);
  bob = take(bob.process(c.output.commit));
  carol = take(carol.process(c.output.commit));
  EXPECT_TRUE(same_epoch(alice, bob));
  EXPECT_TRUE(same_epoch(alice, carol));

  // The old group is closed and says what follows it.
  for (Group* g : {&alice, &bob, &carol}) {
    ASSERT_TRUE(g->reinit().has_value());
    EXPECT_EQ(g->reinit()->group_id, to_bytes("group v2"));
    EXPECT_EQ(g->reinit()->cipher_suite, kSuite);
    EXPECT_EQ(code_of(g->protect(as_bytes("more?"), rng)), Errc::group_ended);
    EXPECT_EQ(code_of(g->commit({}, rng, kNow)), Errc::group_ended);
  }
  // The closed state survives a round trip.
  bob = take(Group::deserialize(bob.serialize()));
  ASSERT_TRUE(bob.reinit().has_value());

  // Alice creates the new group; Bob and Carol join it with their old states at hand.
  auto bob_kp = make_kp("bob", rng);
  auto carol_kp = make_kp("carol", rng);
  auto created = take(alice.reinit_group({bob_kp.key_package, carol_kp.key_package}, rng, kNow));
  ASSERT_TRUE(created.output.welcome.has_value());
  Group alice2 = std::move(created.next);
  EXPECT_EQ(alice2.group_id(), to_bytes("group v2"));
  EXPECT_EQ(alice2.epoch(), 1u);
  EXPECT_EQ(tls::encode(alice2.context().extensions), tls::encode(extensions));

  // Without the old group the reinit PSK is unknown.
  EXPECT_EQ(code_of(Group::join(*created.output.welcome, bob_kp.key_package, bob_kp.private_keys)),
            Errc::not_found);
  Group bob2 = take(
      Group::join(*created.output.welcome, bob_kp.key_package, bob_kp.private_keys, {}, {}, &bob));
  Group carol2 = take(Group::join(*created.output.welcome, carol_kp.key_package,
                                  carol_kp.private_keys, {}, {}, &carol));
  EXPECT_TRUE(same_epoch(alice2, bob2));
  EXPECT_TRUE(same_epoch(alice2, carol2));
  EXPECT_EQ(identities(alice2), identities(alice));
  EXPECT_EQ(identities(bob2), identities(bob));
  expect_round_trip(bob2, carol2, "new group", rng);
  expect_round_trip(alice2, bob2, "same people", rng);
}

TEST(GroupReInit, JoinerRefusesAWelcomeThatIsNotTheReInit) {
  auto rng = counter_rng(54);
  auto members = make_group({"alice", "bob"}, rng);
  Group alice = std::move(members[0]);
  Group bob = std::move(members[1]);
  // A Welcome to some other group, Bob holding a closed group.
  auto c = take(alice.commit({take(alice.propose_reinit(to_bytes("v2"), kSuite, {}))}, rng, kNow));
  bob = take(bob.process(c.output.commit));
  ASSERT_TRUE(bob.reinit().has_value());
  Group dave = take(Group::create(kSuite, to_bytes("other"), basic("dave"), seed(rng), rng));
  auto bob_kp = make_kp("bob", rng);
  auto other = take(dave.commit({take(dave.propose_add(bob_kp.key_package, kNow))}, rng, kNow));
  EXPECT_EQ(code_of(Group::join(*other.output.welcome, bob_kp.key_package, bob_kp.private_keys, {},
                                {}, &bob)),
            Errc::invalid_value);
  // reinit_group on a group that was not closed.
  EXPECT_EQ(code_of(dave.reinit_group({}, rng, kNow)), Errc::invalid_argument);
}

TEST(GroupReInit, MixedWithAnotherProposalIsRefused) {
  auto rng = counter_rng(55);
  auto members = make_group({"alice", "bob", "carol"}, rng);
  Group& alice = members[0];
  Group& bob = members[1];
  const Proposal reinit = take(alice.propose_reinit(to_bytes("v2"), kSuite, {}));
  const Proposal remove = take(alice.propose_remove(members[2].own_leaf()));
  const Bytes before = alice.serialize();
  EXPECT_EQ(code_of(alice.commit({reinit, remove}, rng, kNow)), Errc::invalid_commit);
  EXPECT_EQ(alice.serialize(), before);

  // Received: a ReInit commit with a Remove added and signed again.
  auto c = take(alice.commit({reinit}, rng, kNow));
  PublicMessage pub = std::get<PublicMessage>(c.output.commit.content);
  std::get<Commit>(pub.content.content).proposals.push_back(ProposalOrRef{remove});
  const Bytes bob_before = bob.serialize();
  EXPECT_EQ(code_of(bob.process(GroupTestAccess::resign(alice, pub))), Errc::invalid_commit);
  EXPECT_EQ(bob.serialize(), bob_before);
  // The honest one is accepted.
  EXPECT_TRUE(bob.process(c.output.commit).ok());
}

TEST(GroupState, ReadsVersionOne) {
  auto rng = counter_rng(56);
  auto members = make_group({"alice", "bob"}, rng);
  Bytes state = members[1].serialize();
  ASSERT_EQ(state[0], 0);
  ASSERT_EQ(state[1], Group::kStateVersion);
  // Version 1 is the same without the trailing optional ReInit (absent: one zero byte).
  ASSERT_EQ(state.back(), 0);
  Bytes v1(state.begin(), state.end() - 1);
  v1[1] = 1;
  Group restored = take(Group::deserialize(v1));
  EXPECT_EQ(restored.serialize(), state);
  Bytes v3 = state;
  v3[1] = 3;
  EXPECT_EQ(code_of(Group::deserialize(v3)), Errc::unsupported);
}

}  // namespace
}  // namespace sotto::mls
