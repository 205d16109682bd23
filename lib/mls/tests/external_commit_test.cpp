// External commits (RFC 9420 section 12.4.3.2): joining from a published GroupInfo, resync,
// and what existing members refuse.
#include <gtest/gtest.h>

#include "group_test_support.h"
#include "sotto/mls/framing.h"

namespace sotto::mls {
namespace {

using namespace test;

class ExternalCommitTest : public ::testing::TestWithParam<crypto::SuiteId> {};

TEST_P(ExternalCommitTest, JoinerTalksWithTwoMembers) {
  auto rng = counter_rng(40);
  auto members = make_group({"alice", "bob"}, rng, GetParam());
  Group alice = std::move(members[0]);
  Group bob = std::move(members[1]);

  // Bob publishes the GroupInfo; Dave joins from it.
  const MlsMessage info = take(bob.group_info());
  ASSERT_EQ(info.wire_format(), WireFormat::group_info);
  const SecureBytes dave_key = seed(rng);
  auto joined = Group::join_external(info, basic("dave"), dave_key, rng);
  ASSERT_TRUE(joined.ok()) << joined.error().to_string();
  Group dave = std::move(joined->group);
  EXPECT_EQ(dave.epoch(), 2u);
  EXPECT_EQ(joined->commit.wire_format(), WireFormat::public_message);
  EXPECT_EQ(std::get<PublicMessage>(joined->commit.content).content.sender.type(),
            SenderType::new_member_commit);

  alice = take(alice.process(joined->commit, at_time(kNow)));
  bob = take(bob.process(joined->commit));
  EXPECT_TRUE(same_epoch(alice, dave));
  EXPECT_TRUE(same_epoch(bob, dave));
  EXPECT_EQ(alice.members().size(), 3u);
  EXPECT_EQ(alice.export_secret("x", {}, 16)->reveal(), dave.export_secret("x", {}, 16)->reveal());

  expect_round_trip(dave, alice, "hello from dave", rng);
  expect_round_trip(alice, dave, "welcome dave", rng);
  expect_round_trip(bob, dave, "hi dave", rng);

  // The joiner commits next like any member.
  auto c = take(dave.commit({}, rng, kNow));
  alice = take(alice.process(c.output.commit));
  bob = take(bob.process(c.output.commit));
  EXPECT_TRUE(same_epoch(alice, c.next));
  EXPECT_TRUE(same_epoch(bob, c.next));
}

INSTANTIATE_TEST_SUITE_P(Suites, ExternalCommitTest, ::testing::ValuesIn(available_suites()));

TEST(ExternalCommit, TreeOutOfBand) {
  auto rng = counter_rng(41);
  auto members = make_group({"alice", "bob"}, rng);
  const MlsMessage info = take(members[0].group_info(false));
  const auto& gi = std::get<GroupInfo>(info.content);
  EXPECT_EQ(find_extension(gi.extensions, ExtensionType::ratchet_tree), nullptr);
  ASSERT_NE(find_extension(gi.extensions, ExtensionType::external_pub), nullptr);

  auto without = Group::join_external(info, basic("dave"), seed(rng), rng);
  EXPECT_EQ(code_of(without), Errc::not_found);

  ExternalJoinOptions options;
  options.ratchet_tree = members[0].tree().to_extension();
  auto joined = Group::join_external(info, basic("dave"), seed(rng), rng, options);
  ASSERT_TRUE(joined.ok()) << joined.error().to_string();
  Group bob = take(members[1].process(joined->commit));
  EXPECT_TRUE(same_epoch(bob, joined->group));
}

TEST(ExternalCommit, ResyncRemovesTheOldLeaf) {
  auto rng = counter_rng(42);
  auto members = make_group({"alice", "bob", "carol"}, rng);
  Group alice = std::move(members[0]);
  Group carol = std::move(members[2]);
  const LeafIndex old_bob = members[1].own_leaf();
  // Bob lost his state: he comes back by external commit, removing his old leaf.
  const SecureBytes bob_key = seed(rng);
  ExternalJoinOptions options;
  options.remove = old_bob;
  auto joined = Group::join_external(take(alice.group_info()), basic("bob"), bob_key, rng, options);
  ASSERT_TRUE(joined.ok()) << joined.error().to_string();
  Group bob = std::move(joined->group);

  alice = take(alice.process(joined->commit));
  carol = take(carol.process(joined->commit));
  EXPECT_TRUE(same_epoch(alice, bob));
  EXPECT_TRUE(same_epoch(carol, bob));
  const auto list = alice.members();
  ASSERT_EQ(list.size(), 3u);
  size_t bobs = 0;
  for (const GroupMember& m : list) {
    if (std::get<BasicCredential>(m.credential.content).identity == to_bytes("bob")) ++bobs;
  }
  EXPECT_EQ(bobs, 1u);
  // The old state of Bob is out of the group.
  EXPECT_FALSE(members[1].process(joined->commit).ok());
  expect_round_trip(bob, carol, "i am back", rng);
  expect_round_trip(alice, bob, "good", rng);

  // Resync may only remove a leaf of one's own credential.
  ExternalJoinOptions other;
  other.remove = carol.own_leaf();
  EXPECT_EQ(code_of(Group::join_external(take(alice.group_info()), basic("mallory"), seed(rng), rng,
                                         other)),
            Errc::invalid_argument);
}

// An external commit that a test changes and the joiner signs again: members must refuse it
// for what it carries, whatever the confirmation tag says.
class TamperedExternalCommit : public ::testing::Test {
 protected:
  void SetUp() override {
    auto members = make_group({"alice", "bob"}, rng_);
    alice_ = std::make_unique<Group>(std::move(members[0]));
    bob_ = std::make_unique<Group>(std::move(members[1]));
    auto joined = Group::join_external(take(alice_->group_info()), basic("dave"), dave_key_, rng_);
    ASSERT_TRUE(joined.ok()) << joined.error().to_string();
    commit_ = std::get<PublicMessage>(joined->commit.content);
  }

  Commit& commit() { return std::get<Commit>(commit_.content.content); }

  // Dave's signature over the changed content; Alice's verdict, her state unchanged.
  Errc verdict() {
    auto suite = crypto::CipherSuite::create(static_cast<uint16_t>(kSuite)).value();
    auto ac = sign_framed_content(suite, WireFormat::public_message, commit_.content,
                                  tls::encode(alice_->context()), dave_key_);
    EXPECT_TRUE(ac.ok());
    PublicMessage pub = commit_;
    pub.auth.signature = ac->auth.signature;
    const Bytes before = alice_->serialize();
    auto r = alice_->process(MlsMessage{ProtocolVersion::mls10, pub});
    EXPECT_EQ(alice_->serialize(), before);
    return code_of(r);
  }

  Random rng_ = counter_rng(43);
  SecureBytes dave_key_ = seed(rng_);
  std::unique_ptr<Group> alice_;
  std::unique_ptr<Group> bob_;
  PublicMessage commit_;
};

TEST_F(TamperedExternalCommit, ResignedUnchangedIsAccepted) {
  // The control: re-signing alone changes nothing (Ed25519 is deterministic).
  EXPECT_EQ(verdict(), Errc::ok);
}

TEST_F(TamperedExternalCommit, TwoExternalInits) {
  commit().proposals.push_back(commit().proposals.front());
  EXPECT_EQ(verdict(), Errc::invalid_commit);
}

TEST_F(TamperedExternalCommit, NoExternalInit) {
  commit().proposals.clear();
  EXPECT_EQ(verdict(), Errc::invalid_commit);
}

TEST_F(TamperedExternalCommit, WithoutPath) {
  commit().path.reset();
  EXPECT_EQ(verdict(), Errc::invalid_commit);
}

TEST_F(TamperedExternalCommit, DisallowedProposal) {
  auto carol = make_kp("carol", rng_);
  commit().proposals.push_back(ProposalOrRef{Proposal{Add{carol.key_package}}});
  EXPECT_EQ(verdict(), Errc::invalid_commit);
}

TEST_F(TamperedExternalCommit, ProposalByReference) {
  commit().proposals.push_back(ProposalOrRef{ProposalRef(32, 7)});
  EXPECT_EQ(verdict(), Errc::invalid_commit);
}

TEST_F(TamperedExternalCommit, RemovesSomeoneElse) {
  commit().proposals.push_back(ProposalOrRef{Proposal{Remove{bob_->own_leaf()}}});
  EXPECT_EQ(verdict(), Errc::invalid_commit);
}

TEST_F(TamperedExternalCommit, WrongConfirmationTag) {
  commit_.auth.confirmation_tag->at(0) ^= 1;
  EXPECT_EQ(verdict(), Errc::bad_confirmation_tag);
}

TEST_F(TamperedExternalCommit, SignedByAnotherKey) {
  const Bytes before = alice_->serialize();
  PublicMessage pub = commit_;
  pub.content.authenticated_data = {1};  // the signature no longer covers the content
  auto r = alice_->process(MlsMessage{ProtocolVersion::mls10, pub});
  EXPECT_EQ(code_of(r), Errc::bad_signature);
  EXPECT_EQ(alice_->serialize(), before);
}

TEST(ExternalCommit, ExternalInitInAMemberCommit) {
  auto rng = counter_rng(44);
  auto members = make_group({"alice", "bob"}, rng);
  const Proposal init{ExternalInit{Bytes(32, 1)}};
  const Bytes before = members[0].serialize();
  EXPECT_EQ(code_of(members[0].commit({init}, rng, kNow)), Errc::invalid_commit);
  EXPECT_EQ(members[0].serialize(), before);

  // Received: Alice's honest commit with an ExternalInit slipped in and signed again.
  auto c = take(members[0].commit({}, rng, kNow));
  PublicMessage pub = std::get<PublicMessage>(c.output.commit.content);
  std::get<Commit>(pub.content.content).proposals.push_back(ProposalOrRef{init});
  const MlsMessage bad = GroupTestAccess::resign(members[0], pub);
  const Bytes bob_before = members[1].serialize();
  EXPECT_EQ(code_of(members[1].process(bad)), Errc::invalid_commit);
  EXPECT_EQ(members[1].serialize(), bob_before);
  // A sent ExternalInit proposal is refused as well.
  auto sent = take(members[0].send_proposal(init, rng));
  EXPECT_EQ(code_of(members[1].process(sent.message)), Errc::invalid_value);
}

}  // namespace
}  // namespace sotto::mls
