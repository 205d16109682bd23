// What a client requires of heads beyond the directory's signature (k-of-n witness
// cosignatures, a maximum age), head gossip between clients, and the label VRF: prepared
// ahead of publishing, cached by the verifier, derived again from stores that keep only the
// proof.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "directory_fixture.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/primitives.h"
#include "sotto/kt/directory.h"
#include "sotto/kt/verifier.h"
#include "sotto/kt/witness.h"

namespace sotto::kt {
namespace {

using testing::device_keys;
using testing::seed;
using testing::TestDirectory;

template <class T>
Errc code_of(const Result<T>& r) {
  return r.ok() ? Errc::ok : r.error().code();
}

struct Witnesses {
  std::vector<crypto::Ed25519SigningKey> keys;
  Witnesses() {
    for (uint8_t i = 0; i < 3; ++i) {
      keys.push_back(
          crypto::Ed25519SigningKey::from_seed(seed(static_cast<uint8_t>(40 + i))).value());
    }
  }
  std::vector<Bytes> public_keys() const {
    std::vector<Bytes> out;
    for (const auto& k : keys) out.push_back(k.public_key());
    return out;
  }
  Cosignature cosign(size_t i, const SignedTreeHead& head) const {
    return Cosignature{keys[i].public_key(), keys[i].sign(cosignature_tbs(head))};
  }
};

VerifierPolicy two_of_three(const Witnesses& w) {
  VerifierPolicy policy;
  policy.witness_keys = w.public_keys();
  policy.witness_threshold = 2;
  return policy;
}

TEST(VerifierPolicy, RefusesPoliciesNoHeadCanMeet) {
  Witnesses w;
  VerifierPolicy policy = two_of_three(w);
  policy.witness_threshold = 4;
  EXPECT_EQ(code_of(Verifier::create(policy)), Errc::invalid_argument);
  policy.witness_keys = {w.keys[0].public_key(), w.keys[0].public_key()};  // one witness twice
  policy.witness_threshold = 2;
  EXPECT_EQ(code_of(Verifier::create(policy)), Errc::invalid_argument);
  policy.witness_keys = {Bytes(31, 1)};
  policy.witness_threshold = 1;
  EXPECT_EQ(code_of(Verifier::create(policy)), Errc::invalid_argument);
  EXPECT_TRUE(Verifier::create(two_of_three(w)).ok());
}

TEST(VerifierPolicy, HeadsNeedKValidDistinctCosignatures) {
  Witnesses w;
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  const SignedTreeHead head = t.publish().head;
  const LookupProof bare = t.lookup("alice");
  auto with = [&](std::vector<Cosignature> cosignatures) {
    LookupProof proof = bare;
    proof.cosignatures = std::move(cosignatures);
    Verifier client = Verifier::create(two_of_three(w)).value();
    return client.verify_lookup(as_bytes("alice"), proof, t.keys());
  };
  // 0 and k - 1 cosignatures.
  EXPECT_EQ(code_of(with({})), Errc::bad_signature);
  auto one = with({w.cosign(0, head)});
  EXPECT_EQ(code_of(one), Errc::bad_signature);
  EXPECT_NE(one.error().message().find("1 of the trusted witnesses, 2 needed"), std::string::npos)
      << one.error().message();
  // k from distinct witnesses, and more than k.
  EXPECT_TRUE(with({w.cosign(0, head), w.cosign(2, head)}).ok());
  EXPECT_TRUE(with({w.cosign(2, head), w.cosign(1, head), w.cosign(0, head)}).ok());
  // One witness twice counts once.
  EXPECT_EQ(code_of(with({w.cosign(1, head), w.cosign(1, head)})), Errc::bad_signature);
  // A witness the client does not trust counts for nothing.
  const auto stranger = crypto::Ed25519SigningKey::from_seed(seed(99)).value();
  const Cosignature unknown{stranger.public_key(), stranger.sign(cosignature_tbs(head))};
  EXPECT_EQ(code_of(with({w.cosign(0, head), unknown})), Errc::bad_signature);
  // A cosignature that does not verify: flipped, on another head, or the directory's own
  // signature passed off as a cosignature.
  Cosignature flipped = w.cosign(1, head);
  flipped.signature[3] ^= 1;
  EXPECT_EQ(code_of(with({w.cosign(0, head), flipped})), Errc::bad_signature);
  SignedTreeHead other = head;
  other.timestamp += 1;
  EXPECT_EQ(code_of(with({w.cosign(0, head), w.cosign(1, other)})), Errc::bad_signature);
  const Cosignature reused{w.keys[1].public_key(), w.keys[1].sign(tree_head_tbs(head))};
  EXPECT_EQ(code_of(with({w.cosign(0, head), reused})), Errc::bad_signature);
  // A bad extra cosignature does not spoil k good ones.
  EXPECT_TRUE(with({w.cosign(0, head), flipped, w.cosign(2, head)}).ok());

  // Without a policy, cosignatures are not needed.
  Verifier plain;
  EXPECT_TRUE(plain.verify_lookup(as_bytes("alice"), bare, t.keys()).ok());
}

TEST(VerifierPolicy, DirectoryServesTheCosignaturesItWasGiven) {
  Witnesses w;
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  const SignedTreeHead head = t.publish().head;
  Cosignature flipped = w.cosign(0, head);
  flipped.signature[0] ^= 1;
  EXPECT_EQ(code_of(t.dir->add_cosignature(flipped)), Errc::bad_signature);
  ASSERT_TRUE(t.dir->add_cosignature(w.cosign(0, head)).ok());
  ASSERT_TRUE(t.dir->add_cosignature(w.cosign(0, head)).ok());  // replaces, does not add
  ASSERT_TRUE(t.dir->add_cosignature(w.cosign(2, head)).ok());
  EXPECT_EQ(t.dir->cosignatures().size(), 2u);
  Verifier client = Verifier::create(two_of_three(w)).value();
  auto alice = client.verify_lookup(as_bytes("alice"), t.lookup("alice"), t.keys());
  ASSERT_TRUE(alice.ok()) << alice.error().to_string();
  // A new epoch starts without cosignatures: until witnesses cosign it, the client refuses it.
  t.stage("alice", device_keys("alice", 1));
  const SignedTreeHead second = t.publish().head;
  EXPECT_TRUE(t.dir->cosignatures().empty());
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), t.lookup("alice", 1), t.keys())),
            Errc::bad_signature);
  EXPECT_EQ(client.head()->epoch, 1u);
  ASSERT_TRUE(t.dir->add_cosignature(w.cosign(1, second)).ok());
  ASSERT_TRUE(t.dir->add_cosignature(w.cosign(2, second)).ok());
  auto newer = client.verify_lookup(as_bytes("alice"), t.lookup("alice", 1), t.keys());
  ASSERT_TRUE(newer.ok()) << newer.error().to_string();
  EXPECT_EQ(newer->value, device_keys("alice", 1));
}

TEST(VerifierPolicy, HeadAge) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  const SignedTreeHead head = t.publish().head;
  VerifierPolicy policy;
  policy.max_head_age = 3600;
  policy.max_clock_skew = 60;
  const LookupProof proof = t.lookup("alice");
  auto at = [&](uint64_t now) {
    Verifier client = Verifier::create(policy).value();
    return client.verify_lookup(as_bytes("alice"), proof, t.keys(), now);
  };
  EXPECT_TRUE(at(head.timestamp).ok());
  EXPECT_TRUE(at(head.timestamp + 3600).ok());
  EXPECT_TRUE(at(head.timestamp - 60).ok());  // a clock a little behind the server's
  auto old = at(head.timestamp + 3601);
  EXPECT_EQ(code_of(old), Errc::stale);
  EXPECT_NE(old.error().message().find("3601 s old"), std::string::npos) << old.error().message();
  auto future = at(head.timestamp - 61);
  EXPECT_EQ(code_of(future), Errc::bad_proof);
  EXPECT_NE(future.error().message().find("after this device's clock"), std::string::npos);
  // A policy with an age limit needs the time: the calls without it refuse.
  Verifier client = Verifier::create(policy).value();
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), proof, t.keys())),
            Errc::invalid_argument);
  EXPECT_FALSE(client.head().has_value());
  // A head checked once is checked for age again on every use.
  ASSERT_TRUE(client.verify_lookup(as_bytes("alice"), proof, t.keys(), head.timestamp).ok());
  EXPECT_EQ(
      code_of(client.verify_lookup(as_bytes("alice"), proof, t.keys(), head.timestamp + 7200)),
      Errc::stale);
  // Without a policy, age is not checked.
  Verifier plain;
  EXPECT_TRUE(
      plain.verify_lookup(as_bytes("alice"), proof, t.keys(), head.timestamp + 1'000'000).ok());
}

// ---- gossip ------------------------------------------------------------------------------

TEST(Gossip, EncodingIsCompactAndStrict) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  const SignedTreeHead head = t.publish().head;
  Verifier client;
  EXPECT_EQ(code_of(client.gossip()), Errc::not_found);
  ASSERT_TRUE(client.verify_lookup(as_bytes("alice"), t.lookup("alice"), t.keys()).ok());
  const Bytes gossip = client.gossip().value();
  EXPECT_EQ(gossip.size(), kGossipSize);
  EXPECT_EQ(gossip[0], kGossipFormat);
  EXPECT_EQ(decode_gossip(gossip).value(), head);
  for (size_t n = 0; n < gossip.size(); ++n) {
    EXPECT_FALSE(decode_gossip(BytesView(gossip.data(), n)).ok()) << n;
  }
  Bytes longer = gossip;
  longer.push_back(0);
  EXPECT_EQ(code_of(decode_gossip(longer)), Errc::invalid_value);
  Bytes future = gossip;
  future[0] = 2;
  EXPECT_EQ(code_of(decode_gossip(future)), Errc::unsupported_version);
  // Every bit of it is signed: a flip is refused, never taken for a fork.
  for (size_t i = 1; i < gossip.size(); ++i) {
    Bytes flipped = gossip;
    flipped[i] ^= 0x10;
    EXPECT_NE(code_of(client.receive_gossip(flipped, t.dir->signing_public_key())),
              Errc::split_view)
        << i;
  }
  EXPECT_FALSE(client.split_view_evidence().has_value());
  SignedTreeHead odd = head;
  odd.signature.pop_back();
  EXPECT_EQ(code_of(encode_gossip(odd)), Errc::invalid_argument);
}

TEST(Gossip, HonestClientsAgree) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.publish();
  Verifier a, b;
  ASSERT_TRUE(a.verify_lookup(as_bytes("alice"), t.lookup("alice"), t.keys()).ok());
  ASSERT_TRUE(b.verify_lookup(as_bytes("alice"), t.lookup("alice"), t.keys()).ok());
  const Bytes& key = t.dir->signing_public_key();
  auto same = b.receive_gossip(a.gossip().value(), key);
  ASSERT_TRUE(same.ok()) << same.error().to_string();
  EXPECT_FALSE(same->request.has_value());
  const Bytes a_at_epoch_one = a.gossip().value();

  t.stage("bob", device_keys("bob", 0));
  t.publish();
  t.publish();
  ASSERT_TRUE(b.verify_lookup(as_bytes("bob"), t.lookup("bob", 1), t.keys()).ok());
  // a (epoch 1) hears of b's epoch 3: it needs the proof 1 -> 3, then moves to epoch 3.
  auto newer = a.receive_gossip(b.gossip().value(), key);
  ASSERT_TRUE(newer.ok()) << newer.error().to_string();
  ASSERT_TRUE(newer->request.has_value());
  EXPECT_EQ(newer->request->old_size, 1u);
  EXPECT_EQ(newer->request->new_size, 3u);
  const auto proof = t.dir->consistency(1, 3).value();
  ASSERT_TRUE(a.complete_gossip(newer->peer, proof, key).ok());
  EXPECT_EQ(*a.head(), *b.head());
  // b hearing of an older head that its log extends keeps its own.
  auto older = b.receive_gossip(a_at_epoch_one, key);
  ASSERT_TRUE(older.ok());
  ASSERT_TRUE(older->request.has_value());
  ASSERT_TRUE(b.complete_gossip(older->peer, proof, key).ok());
  EXPECT_EQ(b.head()->epoch, 3u);
  EXPECT_FALSE(b.split_view_evidence().has_value());
}

// Two clients shown forked views find out from each other's gossip, with both heads as
// evidence, whether the fork is at the same epoch or the branches have grown apart.
TEST(Gossip, ForkedViewsAreDetected) {
  TestDirectory honest;  // one server (same keys), two stories
  TestDirectory forked;
  for (TestDirectory* t : {&honest, &forked}) {
    t->stage("alice", device_keys("alice", 0));
    t->publish();  // a common epoch 1
  }
  honest.stage("bob", device_keys("bob", 0));
  forked.stage("alice", device_keys("mallory", 0));
  honest.publish();
  forked.publish();
  const Bytes& key = honest.dir->signing_public_key();

  Verifier bob, carol;
  ASSERT_TRUE(bob.verify_lookup(as_bytes("alice"), honest.lookup("alice"), honest.keys()).ok());
  ASSERT_TRUE(carol.verify_lookup(as_bytes("alice"), forked.lookup("alice"), forked.keys()).ok());

  // The same epoch, two roots.
  auto same_epoch = bob.receive_gossip(carol.gossip().value(), key);
  EXPECT_EQ(code_of(same_epoch), Errc::split_view);
  ASSERT_TRUE(bob.split_view_evidence().has_value());
  EXPECT_EQ(bob.split_view_evidence()->ours, *bob.head());
  EXPECT_EQ(bob.split_view_evidence()->theirs, *carol.head());
  // The evidence stands on its own: both heads carry the directory's signature.
  EXPECT_TRUE(verify_tree_head(bob.split_view_evidence()->ours, key).ok());
  EXPECT_TRUE(verify_tree_head(bob.split_view_evidence()->theirs, key).ok());
  // And it survives a restart.
  auto restored = Verifier::restore(bob.save());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->split_view_evidence(), bob.split_view_evidence());

  // The forked branch grows: carol at epoch 3, dave still at honest epoch 2.
  Verifier dave;
  ASSERT_TRUE(dave.verify_lookup(as_bytes("bob"), honest.lookup("bob"), honest.keys()).ok());
  forked.publish();
  ASSERT_TRUE(
      carol.verify_lookup(as_bytes("alice"), forked.lookup("alice", 2), forked.keys()).ok());
  auto check = dave.receive_gossip(carol.gossip().value(), key);
  ASSERT_TRUE(check.ok()) << check.error().to_string();
  ASSERT_TRUE(check->request.has_value());
  EXPECT_EQ(check->request->old_size, 2u);
  EXPECT_EQ(check->request->new_size, 3u);
  // The server dave asks can only prove its forked log; it does not extend dave's.
  const auto proof = forked.dir->consistency(2, 3).value();
  EXPECT_EQ(code_of(dave.complete_gossip(check->peer, proof, key)), Errc::split_view);
  EXPECT_EQ(dave.head()->epoch, 2u);  // not moved
  ASSERT_TRUE(dave.split_view_evidence().has_value());
  EXPECT_EQ(dave.split_view_evidence()->theirs.epoch, 3u);
  // Carol, hearing dave's older head, cannot be given a proof that her log extends it.
  auto back = carol.receive_gossip(dave.gossip().value(), key);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(code_of(carol.complete_gossip(back->peer, proof, key)), Errc::split_view);
  EXPECT_EQ(code_of(carol.complete_gossip(back->peer, {}, key)), Errc::split_view);
}

// ---- the label VRF -----------------------------------------------------------------------

TEST(LabelVrf, VersionIndicesAreUnlinkedWithoutTheOutput) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.publish();
  t.stage("alice", device_keys("alice", 1));
  t.publish();
  const auto versions = t.records->versions(as_bytes("alice")).value();
  ASSERT_EQ(versions.size(), 2u);
  // The VRF is kept with version 0 only; each version has its own index from it.
  EXPECT_EQ(versions[0].vrf_proof.size(), crypto::kVrfProofSize);
  EXPECT_EQ(versions[0].vrf_output.size(), crypto::kVrfOutputSize);
  EXPECT_TRUE(versions[1].vrf_proof.empty());
  const PrefixIndex i0 = version_index(versions[0].vrf_output, 0);
  const PrefixIndex i1 = version_index(versions[0].vrf_output, 1);
  EXPECT_EQ(Bytes(i0.begin(), i0.end()), versions[0].index);
  EXPECT_EQ(Bytes(i1.begin(), i1.end()), versions[1].index);
  EXPECT_NE(i0, i1);
  // Neither index is (a prefix of) the VRF output itself, which the proof shows to its holder.
  EXPECT_FALSE(std::equal(i0.begin(), i0.end(), versions[0].vrf_output.begin()));
  EXPECT_EQ(crypto::vrf_proof_to_hash(versions[0].vrf_proof).value(), versions[0].vrf_output);
}

TEST(LabelVrf, PreparedLabelsPublishAsComputedOnes) {
  TestDirectory prepared_dir;
  TestDirectory plain_dir;
  EXPECT_FALSE(prepared_dir.dir->has_label(as_bytes("alice")));
  auto prepared = prepare_label(prepared_dir.dir->vrf_key(), as_bytes("alice"));
  ASSERT_TRUE(prepared.ok());
  ASSERT_TRUE(
      prepared_dir.dir
          ->stage(as_bytes("alice"), device_keys("alice", 0), prepared_dir.opening(), *prepared)
          .ok());
  plain_dir.stage("alice", device_keys("alice", 0));
  EXPECT_EQ(prepared_dir.publish().head, plain_dir.publish().head);
  EXPECT_TRUE(prepared_dir.dir->has_label(as_bytes("alice")));
  EXPECT_EQ(prepared_dir.dir->label_count(), 1u);
  // A VRF of another label, or under another key, is refused.
  auto bobs = prepare_label(prepared_dir.dir->vrf_key(), as_bytes("bob"));
  EXPECT_EQ(code_of(prepared_dir.dir->stage(as_bytes("carol"), device_keys("carol", 0),
                                            prepared_dir.opening(), *bobs)),
            Errc::invalid_argument);
  const auto other_key = crypto::VrfKeyPair::from_seed(seed(77)).value();
  auto foreign = prepare_label(other_key, as_bytes("carol"));
  EXPECT_EQ(code_of(prepared_dir.dir->stage(as_bytes("carol"), device_keys("carol", 0),
                                            prepared_dir.opening(), *foreign)),
            Errc::invalid_argument);
  EXPECT_EQ(code_of(prepare_label(other_key, {})), Errc::invalid_argument);
}

// A store that keeps the VRF proof but not its output (as a database without that column).
class ProofOnlyStore final : public DirectoryStore {
 public:
  explicit ProofOnlyStore(DirectoryStore& inner) : inner_(&inner) {}
  Result<uint64_t> epoch_count() const override { return inner_->epoch_count(); }
  Result<void> append_epoch(const EpochRecord& epoch) override {
    EpochRecord copy = epoch;
    for (VersionRecord& v : copy.versions) v.vrf_output.clear();
    return inner_->append_epoch(copy);
  }
  Result<std::vector<VersionRecord>> versions(BytesView label) const override {
    return inner_->versions(label);
  }
  Result<uint32_t> version_count(BytesView label) const override {
    return inner_->version_count(label);
  }
  Result<SignedTreeHead> head(uint64_t epoch) const override { return inner_->head(epoch); }
  Result<EpochAudit> audit(uint64_t epoch) const override { return inner_->audit(epoch); }
  Result<void> for_each_version(
      const std::function<Result<void>(const VersionRecord&)>& visit) const override {
    return inner_->for_each_version(visit);
  }

 private:
  DirectoryStore* inner_;
};

TEST(LabelVrf, ReopenDerivesOutputsFromProofs) {
  MemoryLogStore log;
  MemoryDirectoryStore memory;
  ProofOnlyStore store(memory);
  auto open = [&] {
    return Directory::open(crypto::Ed25519SigningKey::from_seed(seed(1)).value(),
                           crypto::VrfKeyPair::from_seed(seed(2)).value(), log, store);
  };
  {
    auto dir = open().value();
    ASSERT_TRUE(
        dir.stage(as_bytes("alice"), device_keys("alice", 0), SecureBytes(Bytes(16, 1))).ok());
    ASSERT_TRUE(dir.publish(10).ok());
  }
  auto dir = open();
  ASSERT_TRUE(dir.ok()) << dir.error().to_string();
  EXPECT_TRUE(dir->has_label(as_bytes("alice")));
  ASSERT_TRUE(
      dir->stage(as_bytes("alice"), device_keys("alice", 1), SecureBytes(Bytes(16, 2))).ok());
  ASSERT_TRUE(dir->publish(20).ok());
  Verifier client;
  auto alice =
      client.verify_lookup(as_bytes("alice"), dir->lookup(as_bytes("alice"), 0).value(),
                           DirectoryKeys{dir->vrf_public_key(), dir->signing_public_key()});
  ASSERT_TRUE(alice.ok()) << alice.error().to_string();
  EXPECT_EQ(alice->version, 1u);
  EXPECT_EQ(alice->value, device_keys("alice", 1));
}

TEST(LabelVrf, VerifierCachesVerifiedOutputs) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.stage("bob", device_keys("bob", 0));
  t.publish();
  Verifier client;
  ASSERT_TRUE(client.verify_lookup(as_bytes("alice"), t.lookup("alice"), t.keys()).ok());
  EXPECT_EQ(client.cached_vrf_outputs(), 1u);
  ASSERT_TRUE(client.verify_lookup(as_bytes("alice"), t.lookup("alice"), t.keys()).ok());
  EXPECT_EQ(client.cached_vrf_outputs(), 1u);
  // An absent label is cached too (its VRF is as good), and a cached output is only ever used
  // for the label it was verified for.
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("nobody"), t.lookup("nobody"), t.keys())),
            Errc::not_found);
  EXPECT_EQ(client.cached_vrf_outputs(), 2u);
  LookupProof bobs_as_alices = t.lookup("bob");
  bobs_as_alices.vrf_proof = t.lookup("alice").vrf_proof;
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("bob"), bobs_as_alices, t.keys())),
            Errc::bad_proof);
  // Another VRF key empties the cache.
  DirectoryKeys other = t.keys();
  other.vrf_public_key = crypto::VrfKeyPair::from_seed(seed(8)).value().public_key();
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), t.lookup("alice"), other)),
            Errc::bad_proof);
  EXPECT_EQ(client.cached_vrf_outputs(), 0u);
}

}  // namespace
}  // namespace sotto::kt
