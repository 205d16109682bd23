// What a receiver checks in proposals and commits (RFC 9420 sections 7.3, 10.1, 11.1,
// 12.1.7, 12.2), each refusal with its own code and the state unchanged.
#include <gtest/gtest.h>

#include "group_test_support.h"

namespace sotto::mls {
namespace {

using namespace test;

// Alice's verdict on `message` under `options`, checked to leave her state as it was.
Errc refused(const Group& g, const MlsMessage& message, const ProcessOptions& options = {}) {
  const Bytes before = g.serialize();
  auto r = g.process(message, options);
  EXPECT_EQ(g.serialize(), before);
  return code_of(r);
}

TEST(GroupValidation, ExpiredKeyPackageInAReceivedAdd) {
  auto rng = counter_rng(60);
  auto members = make_group({"alice", "bob"}, rng);
  Group& alice = members[0];
  Group& bob = members[1];
  auto carol = make_kp("carol", rng);
  const uint64_t later = kNow + 7200;  // after carol's not_after

  // As a proposal.
  auto sent = take(bob.send_proposal(Proposal{Add{carol.key_package}}, rng));
  EXPECT_EQ(refused(alice, sent.message, at_time(later)), Errc::outside_lifetime);
  EXPECT_EQ(refused(alice, sent.message, at_time(kNow - 1000)), Errc::outside_lifetime);
  EXPECT_TRUE(alice.process(sent.message, at_time(kNow)).ok());

  // In a commit: Alice's clock said it was valid, Bob's says it has expired.
  auto c = take(alice.commit({take(alice.propose_add(carol.key_package, kNow))}, rng, kNow));
  EXPECT_EQ(refused(bob, c.output.commit, at_time(later)), Errc::outside_lifetime);
  EXPECT_TRUE(bob.process(c.output.commit, at_time(kNow)).ok());
  // Locally as well.
  EXPECT_EQ(code_of(alice.propose_add(carol.key_package, later)), Errc::outside_lifetime);
  EXPECT_EQ(code_of(alice.commit({Proposal{Add{carol.key_package}}}, rng, later)),
            Errc::outside_lifetime);
}

constexpr auto kCustomExtension = static_cast<ExtensionType>(0xff01);

Capabilities with_custom_extension() {
  Capabilities caps = default_capabilities();
  caps.extensions.push_back(kCustomExtension);
  return caps;
}

Extension required(RequiredCapabilities rc) {
  return Extension{ExtensionType::required_capabilities, tls::encode(rc)};
}

TEST(GroupValidation, RequiredCapabilities) {
  auto rng = counter_rng(61);
  auto members = make_group({"alice", "bob"}, rng, kSuite, with_custom_extension());
  Group alice = std::move(members[0]);
  Group bob = std::move(members[1]);

  // Both support the custom extension: requiring it is fine.
  const Proposal require_custom{
      GroupContextExtensions{{required(RequiredCapabilities{{kCustomExtension}, {}, {}})}}};
  auto c = take(alice.commit({require_custom}, rng, kNow));
  alice = std::move(c.next);
  bob = take(bob.process(c.output.commit));
  EXPECT_TRUE(same_epoch(alice, bob));

  // Carol does not support it: her Add is refused by the proposer and by receivers.
  auto carol = make_kp("carol", rng);
  EXPECT_EQ(code_of(alice.propose_add(carol.key_package, kNow)), Errc::missing_capability);
  EXPECT_EQ(code_of(alice.commit({Proposal{Add{carol.key_package}}}, rng, kNow)),
            Errc::missing_capability);
  auto sent = take(bob.send_proposal(Proposal{Add{carol.key_package}}, rng));
  EXPECT_EQ(refused(alice, sent.message, at_time(kNow)), Errc::missing_capability);
  // Dave does.
  auto dave = make_kp("dave", rng, kSuite, with_custom_extension());
  EXPECT_TRUE(alice.propose_add(dave.key_package, kNow).ok());

  // Requiring x509 credentials, which no member supports.
  const Proposal require_x509{
      GroupContextExtensions{{required(RequiredCapabilities{{}, {}, {CredentialType::x509}})}}};
  EXPECT_EQ(code_of(alice.commit({require_x509}, rng, kNow)), Errc::missing_capability);
  auto gce = take(bob.send_proposal(require_x509, rng));
  EXPECT_EQ(refused(alice, gce.message), Errc::missing_capability);
  // An extension in the context that a member does not support.
  const Proposal unknown_ext{
      GroupContextExtensions{{Extension{static_cast<ExtensionType>(0xff02), {1}}}}};
  EXPECT_EQ(code_of(alice.commit({unknown_ext}, rng, kNow)), Errc::missing_capability);

  // Received in a commit: Alice's commit with its GroupContextExtensions replaced.
  auto honest = take(alice.commit({require_custom}, rng, kNow));
  PublicMessage pub = std::get<PublicMessage>(honest.output.commit.content);
  std::get<Commit>(pub.content.content).proposals.at(0) = ProposalOrRef{require_x509};
  EXPECT_EQ(refused(bob, GroupTestAccess::resign(alice, pub)), Errc::missing_capability);
}

TEST(GroupValidation, X509CredentialsOnlyWhereThePolicyAllows) {
  auto rng = counter_rng(63);
  Capabilities caps = default_capabilities();
  caps.credentials.push_back(CredentialType::x509);
  auto members = make_group({"alice", "bob"}, rng, kSuite, caps);
  Group& alice = members[0];
  Group& bob = members[1];
  const Bytes der{0x30, 0x03, 0x02, 0x01, 0x01};  // opaque to lib/mls
  const Credential cert{X509Credential{{Certificate{der}}}};
  auto carol =
      take(create_key_package(kSuite, cert, seed(rng), {kNow - 10, kNow + 3600}, rng, caps));

  auto sent = take(bob.send_proposal(Proposal{Add{carol.key_package}}, rng));
  ProcessOptions options = at_time(kNow);
  EXPECT_EQ(refused(alice, sent.message, options), Errc::unsupported);
  std::vector<Bytes> seen;
  options.x509_policy = [&seen](const Credential& c, const SignaturePublicKey&) {
    const auto& chain = std::get<X509Credential>(c.content).certificates;
    seen.push_back(chain.at(0).cert_data);
    return false;
  };
  EXPECT_EQ(refused(alice, sent.message, options), Errc::forbidden);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], der);
  options.x509_policy = [](const Credential&, const SignaturePublicKey&) { return true; };
  EXPECT_TRUE(alice.process(sent.message, options).ok());

  // In a commit, and then in the group.
  auto c = take(alice.commit({Proposal{Add{carol.key_package}}}, rng, kNow));
  EXPECT_EQ(refused(bob, c.output.commit, at_time(kNow)), Errc::unsupported);
  Group bob_next = take(bob.process(c.output.commit, options));
  Group carol_group = take(Group::join(*c.output.welcome, carol.key_package, carol.private_keys));
  EXPECT_TRUE(same_epoch(bob_next, carol_group));
  expect_round_trip(carol_group, bob_next, "certified", rng);
}

TEST(GroupValidation, DedicatedCodes) {
  auto rng = counter_rng(62);
  auto members = make_group({"alice", "bob", "carol"}, rng);
  Group& alice = members[0];
  Group& bob = members[1];
  auto c = take(alice.commit({}, rng, kNow));
  const PublicMessage pub = std::get<PublicMessage>(c.output.commit.content);

  {  // A membership tag that does not verify.
    PublicMessage bad = pub;
    bad.membership_tag->at(0) ^= 1;
    EXPECT_EQ(refused(bob, MlsMessage{ProtocolVersion::mls10, bad}), Errc::bad_membership_tag);
  }
  {  // A confirmation tag that does not verify (the membership tag recomputed over it).
    PublicMessage bad = pub;
    bad.auth.confirmation_tag->at(0) ^= 1;
    EXPECT_EQ(refused(bob, GroupTestAccess::retag(alice, bad)), Errc::bad_confirmation_tag);
  }
  {  // A path node key that breaks the parent-hash chain (signed again by Alice).
    PublicMessage bad = pub;
    auto& path = *std::get<Commit>(bad.content.content).path;
    ASSERT_FALSE(path.nodes.empty());
    path.nodes.back().encryption_key = path.leaf_node.encryption_key;
    path.nodes.back().encryption_key.data.back() ^= 1;
    EXPECT_EQ(refused(bob, GroupTestAccess::resign(alice, bad)), Errc::bad_parent_hash);
  }
  {  // A commit without a path where one is required.
    PublicMessage bad = pub;
    std::get<Commit>(bad.content.content).path.reset();
    EXPECT_EQ(refused(bob, GroupTestAccess::resign(alice, bad)), Errc::invalid_commit);
  }
  {  // The committer removing itself.
    PublicMessage bad = pub;
    std::get<Commit>(bad.content.content)
        .proposals.push_back(ProposalOrRef{Proposal{Remove{alice.own_leaf()}}});
    EXPECT_EQ(refused(bob, GroupTestAccess::resign(alice, bad)), Errc::invalid_commit);
  }
  bob = take(bob.process(c.output.commit));
  // The same commit again: the group has moved on.
  EXPECT_EQ(refused(bob, c.output.commit), Errc::wrong_epoch);
  auto old = alice.protect(as_bytes("old"), rng);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(code_of(bob.unprotect(*old)), Errc::wrong_epoch);
}

}  // namespace
}  // namespace sotto::mls
