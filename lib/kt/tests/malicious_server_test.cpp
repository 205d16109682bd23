// A malicious server, built from the library itself: each attack a server could mount on the
// directory, and the error a client (or auditor) detects it with.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "directory_fixture.h"
#include "sotto/core/tls.h"
#include "sotto/kt/directory.h"
#include "sotto/kt/verifier.h"

namespace sotto::kt {
namespace {

using testing::device_keys;
using testing::TestDirectory;

// A client that has seen epoch 1 (alice and bob) of `t`.
Verifier client_at_epoch_one(TestDirectory& t) {
  t.stage("alice", device_keys("alice", 0));
  t.stage("bob", device_keys("bob", 0));
  t.publish();
  Verifier client;
  EXPECT_TRUE(client.verify_lookup(as_bytes("alice"), t.lookup("alice"), t.keys()).ok());
  return client;
}

template <class T>
Errc code_of(const Result<T>& r) {
  return r.ok() ? Errc::ok : r.error().code();
}

// Two clients given different views of the same epoch: gossip of heads detects the fork.
TEST(MaliciousServer, ForkedViewSameEpoch) {
  TestDirectory honest;  // same keys in both: one server, two stories
  TestDirectory forked;
  honest.stage("alice", device_keys("alice", 0));
  forked.stage("alice", device_keys("mallory", 0));
  honest.publish();
  forked.publish();

  Verifier bob, carol;
  auto seen_by_bob = bob.verify_lookup(as_bytes("alice"), honest.lookup("alice"), honest.keys());
  auto seen_by_carol =
      carol.verify_lookup(as_bytes("alice"), forked.lookup("alice"), forked.keys());
  ASSERT_TRUE(seen_by_bob.ok());
  ASSERT_TRUE(seen_by_carol.ok());  // each view is valid on its own
  EXPECT_NE(seen_by_bob->value, seen_by_carol->value);

  auto compared = bob.compare_heads(*carol.head(), {}, honest.dir->signing_public_key());
  EXPECT_EQ(code_of(compared), Errc::split_view);
  EXPECT_EQ(code_of(carol.compare_heads(*bob.head(), {}, honest.dir->signing_public_key())),
            Errc::split_view);
  // And a client that saw one view refuses the other one's head for that epoch.
  EXPECT_EQ(code_of(bob.verify_lookup(as_bytes("alice"), forked.lookup("alice"), honest.keys())),
            Errc::split_view);
}

// A fork after a common history: the server cannot later merge a client into the other
// branch, because the logs are not consistent.
TEST(MaliciousServer, ForkedViewLaterEpochs) {
  TestDirectory honest;
  TestDirectory forked;
  for (TestDirectory* t : {&honest, &forked}) {
    t->stage("alice", device_keys("alice", 0));
    t->publish();  // identical epoch 1 in both (same keys, same openings, same clock)
  }
  Verifier bob, carol;
  ASSERT_TRUE(bob.verify_lookup(as_bytes("alice"), honest.lookup("alice"), honest.keys()).ok());
  ASSERT_TRUE(carol.verify_lookup(as_bytes("alice"), forked.lookup("alice"), forked.keys()).ok());
  EXPECT_TRUE(bob.compare_heads(*carol.head(), {}, honest.dir->signing_public_key()).ok());

  honest.stage("bob", device_keys("bob", 0));
  forked.stage("alice", device_keys("mallory", 0));
  honest.publish();
  forked.publish();
  forked.publish();  // epoch 3 on the forked branch only
  ASSERT_TRUE(bob.verify_lookup(as_bytes("alice"), honest.lookup("alice", 1), honest.keys()).ok());
  ASSERT_TRUE(
      carol.verify_lookup(as_bytes("alice"), forked.lookup("alice", 1), forked.keys()).ok());

  // Gossip: bob (epoch 2, honest) and carol (epoch 3, forked). The only consistency proof the
  // server can give is from its forked log, which does not start with bob's.
  const auto proof = forked.dir->consistency(2, 3).value();
  EXPECT_EQ(code_of(bob.compare_heads(*carol.head(), proof, honest.dir->signing_public_key())),
            Errc::split_view);
  // The server moves bob onto the forked branch: the consistency proof fails.
  const uint64_t bob_size = bob.known_log_size();
  EXPECT_EQ(code_of(bob.verify_lookup(as_bytes("alice"), forked.lookup("alice", bob_size),
                                      honest.keys())),
            Errc::split_view);
  EXPECT_EQ(bob.head()->epoch, 2u);  // the state did not move
}

TEST(MaliciousServer, RolledBackHead) {
  TestDirectory t;
  Verifier client = client_at_epoch_one(t);
  const LookupProof epoch_one = t.lookup("alice");
  t.stage("alice", device_keys("alice", 1));
  t.publish();
  ASSERT_TRUE(client.verify_lookup(as_bytes("alice"), t.lookup("alice", 1), t.keys()).ok());
  // The server answers with the old epoch, where alice still has her old keys.
  auto rolled_back = client.verify_lookup(as_bytes("alice"), epoch_one, t.keys());
  EXPECT_EQ(code_of(rolled_back), Errc::stale);
  EXPECT_EQ(client.head()->epoch, 2u);
}

TEST(MaliciousServer, NewerHeadWithoutConsistencyProof) {
  TestDirectory t;
  Verifier client = client_at_epoch_one(t);
  t.publish();
  // Asked as if the client knew nothing: no consistency proof comes with it.
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), t.lookup("alice", 0), t.keys())),
            Errc::bad_proof);
  // A proof from the wrong size does not verify either.
  LookupProof wrong = t.lookup("alice", 1);
  wrong.log_consistency.push_back(Bytes(32, 0));
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), wrong, t.keys())), Errc::split_view);
}

// The server swaps alice's keys in what it serves, without publishing an epoch for it.
TEST(MaliciousServer, KeySwappedWithoutLogEntry) {
  TestDirectory t;
  Verifier client = client_at_epoch_one(t);
  const LookupProof honest = t.lookup("alice", 1);

  // Only the value: it no longer opens the commitment.
  LookupProof swapped = honest;
  swapped.latest->value = device_keys("mallory", 0);
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), swapped, t.keys())), Errc::bad_proof);

  // Value, opening and the commitment in the leaf: the prefix proof no longer leads to the
  // signed root.
  LookupProof recommitted = honest;
  recommitted.latest->value = device_keys("mallory", 0);
  const Hash c = commit(recommitted.latest->opening, as_bytes("alice"), recommitted.latest->value);
  recommitted.latest->inclusion.terminal->commitment = Bytes(c.begin(), c.end());
  auto r = client.verify_lookup(as_bytes("alice"), recommitted, t.keys());
  EXPECT_EQ(code_of(r), Errc::bad_proof);

  // A whole tree built for the swap, with a prefix root the head does not sign.
  TestDirectory shadow;
  shadow.stage("alice", device_keys("mallory", 0));
  shadow.stage("bob", device_keys("bob", 0));
  shadow.publish();
  LookupProof grafted = shadow.lookup("alice");
  grafted.head = honest.head;  // the genuine signed head
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), grafted, t.keys())), Errc::bad_proof);

  // The server hides alice's newer version by serving version 0 under the new head.
  t.stage("alice", device_keys("alice", 1));
  t.publish();
  LookupProof hidden = t.lookup("alice", 1);
  const HistoryProof history = t.dir->history(as_bytes("alice"), 1).value();
  hidden.latest = history.versions[0];
  hidden.next_absence = history.versions[1].inclusion;  // all it has: an inclusion proof
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), hidden, t.keys())), Errc::bad_proof);
  EXPECT_EQ(client.head()->epoch, 1u);
}

TEST(MaliciousServer, ForgedVrfProof) {
  TestDirectory t;
  Verifier client = client_at_epoch_one(t);
  LookupProof flipped = t.lookup("alice", 1);
  flipped.vrf_proof[40] ^= 1;  // the client verified alice's genuine proof before: no cache hit
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), flipped, t.keys())), Errc::bad_proof);

  LookupProof short_proof = t.lookup("alice", 1);
  short_proof.vrf_proof.pop_back();
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), short_proof, t.keys())),
            Errc::bad_proof);
  Verifier fresh_client;
  LookupProof s_flipped = t.lookup("alice", 1);
  s_flipped.vrf_proof[70] ^= 1;
  EXPECT_EQ(code_of(fresh_client.verify_lookup(as_bytes("alice"), s_flipped, t.keys())),
            Errc::bad_proof);
  EXPECT_EQ(fresh_client.cached_vrf_outputs(), 0u);  // a refused proof is not cached

  // Bob's proof passed off as alice's: the VRF binds the label.
  LookupProof bobs = t.lookup("bob", 1);
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), bobs, t.keys())), Errc::bad_proof);

  // A server with another VRF key (its own signing key kept): indices it can choose.
  TestDirectory rogue(1, 9);
  rogue.stage("alice", device_keys("mallory", 0));
  rogue.publish();
  Verifier fresh;
  EXPECT_EQ(code_of(fresh.verify_lookup(as_bytes("alice"), rogue.lookup("alice"), t.keys())),
            Errc::bad_proof);
}

TEST(MaliciousServer, TruncatedProof) {
  TestDirectory t;
  Verifier client = client_at_epoch_one(t);
  const LookupProof proof = t.lookup("alice", 1);
  const Bytes wire = tls::encode(proof);
  for (size_t n = 0; n < wire.size(); ++n) {
    EXPECT_FALSE(tls::decode<LookupProof>(BytesView(wire.data(), n)).ok()) << n;
  }
  LookupProof short_path = proof;
  ASSERT_FALSE(short_path.latest->inclusion.siblings.empty());
  short_path.latest->inclusion.siblings.pop_back();
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), short_path, t.keys())),
            Errc::bad_proof);
  LookupProof short_hash = proof;
  short_hash.next_absence.siblings[0].resize(31);
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), short_hash, t.keys())),
            Errc::bad_proof);
  LookupProof short_opening = proof;
  short_opening.latest->opening.pop_back();
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), short_opening, t.keys())),
            Errc::bad_proof);
  LookupProof no_log = proof;
  no_log.log_inclusion.push_back(Bytes(32, 1));  // epoch 1: the proof must be empty
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), no_log, t.keys())), Errc::bad_proof);
}

TEST(MaliciousServer, WrongSignature) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.publish();
  Verifier client;
  LookupProof flipped = t.lookup("alice");
  flipped.head.signature[5] ^= 1;
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), flipped, t.keys())),
            Errc::bad_signature);

  // A head signed by another key, over a valid-looking directory.
  TestDirectory impostor(7, 2);
  impostor.stage("alice", device_keys("mallory", 0));
  impostor.publish();
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), impostor.lookup("alice"), t.keys())),
            Errc::bad_signature);

  // A signed field changed after signing.
  LookupProof retimed = t.lookup("alice");
  retimed.head.timestamp += 1;
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), retimed, t.keys())),
            Errc::bad_signature);
  // A head whose log size is not its epoch is malformed whatever its signature.
  LookupProof sized = t.lookup("alice");
  sized.head.log_size = 2;
  EXPECT_EQ(code_of(client.verify_lookup(as_bytes("alice"), sized, t.keys())), Errc::bad_proof);
  EXPECT_FALSE(client.head().has_value());  // nothing was accepted

  // Gossip of an unsigned head is refused before any comparison.
  ASSERT_TRUE(client.verify_lookup(as_bytes("alice"), t.lookup("alice"), t.keys()).ok());
  SignedTreeHead forged = *client.head();
  forged.prefix_root[0] ^= 1;
  EXPECT_EQ(code_of(client.compare_heads(forged, {}, t.dir->signing_public_key())),
            Errc::bad_signature);
}

// Any single-bit change of a lookup proof on the wire is refused (by the decoder or the
// verifier) or, if a bit is somehow not bound, still yields the honest value: never another.
TEST(MaliciousServer, BitFlipsNeverYieldAnotherValue) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.publish();
  t.stage("alice", device_keys("alice", 1));
  t.publish();
  const Bytes wire = tls::encode(t.lookup("alice"));
  int accepted = 0;
  for (size_t i = 0; i < wire.size(); i += 3) {
    Bytes mutated = wire;
    mutated[i] ^= static_cast<uint8_t>(1u << (i % 8));
    auto decoded = tls::decode<LookupProof>(mutated);
    if (!decoded.ok()) continue;
    Verifier client;
    auto value = client.verify_lookup(as_bytes("alice"), *decoded, t.keys());
    if (value.ok()) {
      ++accepted;
      EXPECT_EQ(value->value, device_keys("alice", 1)) << "byte " << i;
    }
  }
  EXPECT_EQ(accepted, 0);
}

// An auditor catches an epoch that changed more than the audit shows, or rewrote a leaf.
TEST(MaliciousServer, AuditOfATamperedEpoch) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.publish();
  t.stage("bob", device_keys("bob", 0));
  t.stage("carol", device_keys("carol", 0));
  const PublishedEpoch e2 = t.publish();
  // The server reports only bob's leaf: carol's was slipped in unannounced.
  EpochAudit partial = e2.audit;
  partial.changes.resize(1);
  partial.old_paths.resize(1);
  EXPECT_EQ(code_of(verify_epoch_audit(partial, t.dir->signing_public_key())), Errc::bad_proof);
  // An audit whose log does not extend the previous epoch's.
  TestDirectory other;
  other.stage("mallory", device_keys("mallory", 0));
  other.publish();
  EpochAudit spliced = e2.audit;
  spliced.old_head = other.dir->head().value();
  EXPECT_NE(code_of(verify_epoch_audit(spliced, t.dir->signing_public_key())), Errc::ok);
}

}  // namespace
}  // namespace sotto::kt
