// The directory and the client verifier with an honest server: commitments, publishing,
// lookups, histories, epoch audits, wire round trips, verifier state, and a property test of
// random updates over many epochs.
#include "sotto/kt/directory.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "directory_fixture.h"
#include "sotto/core/tls.h"
#include "sotto/kt/verifier.h"

namespace sotto::kt {
namespace {

using testing::device_keys;
using testing::TestDirectory;

TEST(Commitment, BindsOpeningLabelAndValue) {
  const Bytes opening(16, 7);
  const Hash c = commit(opening, as_bytes("alice"), as_bytes("keys"));
  EXPECT_EQ(c, commit(opening, as_bytes("alice"), as_bytes("keys")));
  EXPECT_NE(c, commit(Bytes(16, 8), as_bytes("alice"), as_bytes("keys")));
  EXPECT_NE(c, commit(opening, as_bytes("alicf"), as_bytes("keys")));
  EXPECT_NE(c, commit(opening, as_bytes("alice"), as_bytes("keyt")));
  // The length prefixes keep the label/value boundary: "ab"+"c" is not "a"+"bc".
  EXPECT_NE(commit(opening, as_bytes("ab"), as_bytes("c")),
            commit(opening, as_bytes("a"), as_bytes("bc")));
}

TEST(Directory, StageChecksItsArguments) {
  TestDirectory t;
  EXPECT_EQ(t.dir->stage(as_bytes("alice"), as_bytes("v"), SecureBytes(15)).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(t.dir->stage({}, as_bytes("v"), t.opening()).error().code(), Errc::invalid_argument);
  EXPECT_EQ(t.dir->head().error().code(), Errc::not_found);
  EXPECT_EQ(t.dir->lookup(as_bytes("alice"), 0).error().code(), Errc::not_found);
}

TEST(Directory, LookupRoundTrip) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.stage("bob", device_keys("bob", 0));
  const PublishedEpoch e1 = t.publish();
  EXPECT_EQ(e1.head.epoch, 1u);
  EXPECT_EQ(e1.head.log_size, 1u);
  EXPECT_TRUE(verify_tree_head(e1.head, t.dir->signing_public_key()).ok());

  Verifier client;
  auto alice = client.verify_lookup(as_bytes("alice"), t.lookup("alice"), t.keys());
  ASSERT_TRUE(alice.ok()) << alice.error().to_string();
  EXPECT_EQ(alice->value, device_keys("alice", 0));
  EXPECT_EQ(alice->version, 0u);
  EXPECT_EQ(alice->epoch, 1u);
  ASSERT_TRUE(client.head().has_value());
  EXPECT_EQ(*client.head(), e1.head);

  auto carol = client.verify_lookup(as_bytes("carol"), t.lookup("carol"), t.keys());
  ASSERT_FALSE(carol.ok());
  EXPECT_EQ(carol.error().code(), Errc::not_found);

  // Alice adds a device; the client follows with a consistency proof.
  t.stage("alice", device_keys("alice", 1));
  const PublishedEpoch e2 = t.publish();
  auto again =
      client.verify_lookup(as_bytes("alice"), t.lookup("alice", client.known_log_size()), t.keys());
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->value, device_keys("alice", 1));
  EXPECT_EQ(again->version, 1u);
  EXPECT_EQ(*client.head(), e2.head);

  // Bob is unchanged at version 0 in epoch 2.
  auto bob =
      client.verify_lookup(as_bytes("bob"), t.lookup("bob", client.known_log_size()), t.keys());
  ASSERT_TRUE(bob.ok()) << bob.error().to_string();
  EXPECT_EQ(bob->version, 0u);
}

// A directory reopened from its stores rebuilds the same prefix tree and carries on.
TEST(Directory, ReopensFromItsStores) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.stage("bob", device_keys("bob", 0));
  t.publish();
  t.stage("alice", device_keys("alice", 1));
  const PublishedEpoch e2 = t.publish();
  Verifier client;
  ASSERT_TRUE(client.verify_lookup(as_bytes("alice"), t.lookup("alice"), t.keys()).ok());

  auto reopened = Directory::open(crypto::Ed25519SigningKey::from_seed(testing::seed(1)).value(),
                                  crypto::VrfKeyPair::from_seed(testing::seed(2)).value(), *t.store,
                                  *t.records);
  ASSERT_TRUE(reopened.ok()) << reopened.error().to_string();
  EXPECT_EQ(reopened->head().value(), e2.head);
  ASSERT_TRUE(reopened->stage(as_bytes("bob"), device_keys("bob", 1), t.opening()).ok());
  const PublishedEpoch e3 = reopened->publish(t.clock + 60).value();
  EXPECT_TRUE(verify_epoch_audit(e3.audit, reopened->signing_public_key()).ok());
  auto bob = client.verify_lookup(
      as_bytes("bob"), reopened->lookup(as_bytes("bob"), client.known_log_size()).value(),
      t.keys());
  ASSERT_TRUE(bob.ok()) << bob.error().to_string();
  EXPECT_EQ(bob->value, device_keys("bob", 1));

  // Stores that disagree are refused: a log without the directory's records.
  MemoryDirectoryStore empty_records;
  auto mismatched = Directory::open(crypto::Ed25519SigningKey::from_seed(testing::seed(1)).value(),
                                    crypto::VrfKeyPair::from_seed(testing::seed(2)).value(),
                                    *t.store, empty_records);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.error().code(), Errc::internal);
}

TEST(Directory, HistoryListsEveryVersion) {
  TestDirectory t;
  for (int g = 0; g < 4; ++g) {
    t.stage("alice", device_keys("alice", g));
    if (g % 2 == 0) t.stage("bob", device_keys("bob", g));
    t.publish();
  }
  Verifier client;
  auto history = t.dir->history(as_bytes("alice"), 0);
  ASSERT_TRUE(history.ok());
  auto values = client.verify_history(as_bytes("alice"), *history, t.keys());
  ASSERT_TRUE(values.ok()) << values.error().to_string();
  ASSERT_EQ(values->size(), 4u);
  for (uint32_t g = 0; g < 4; ++g) {
    EXPECT_EQ((*values)[g].version, g);
    EXPECT_EQ((*values)[g].value, device_keys("alice", static_cast<int>(g)));
  }
  // Out of order versions are refused.
  HistoryProof swapped = *history;
  std::swap(swapped.versions[0], swapped.versions[1]);
  Verifier fresh;
  EXPECT_EQ(fresh.verify_history(as_bytes("alice"), swapped, t.keys()).error().code(),
            Errc::bad_proof);
  // A history that leaves out the newest version fails its absence proof.
  HistoryProof cut = *history;
  cut.versions.pop_back();
  EXPECT_EQ(fresh.verify_history(as_bytes("alice"), cut, t.keys()).error().code(), Errc::bad_proof);
  // An unknown label has an empty, verified history.
  auto none = t.dir->history(as_bytes("nobody"), 0);
  ASSERT_TRUE(none.ok());
  auto empty = fresh.verify_history(as_bytes("nobody"), *none, t.keys());
  ASSERT_TRUE(empty.ok()) << empty.error().to_string();
  EXPECT_TRUE(empty->empty());
}

TEST(Directory, EpochAuditsVerify) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.stage("bob", device_keys("bob", 0));
  const PublishedEpoch e1 = t.publish();
  auto added = verify_epoch_audit(e1.audit, t.dir->signing_public_key());
  ASSERT_TRUE(added.ok()) << added.error().to_string();
  EXPECT_EQ(*added, 2u);

  const PublishedEpoch empty_epoch = t.publish();  // nothing staged
  auto none = verify_epoch_audit(empty_epoch.audit, t.dir->signing_public_key());
  ASSERT_TRUE(none.ok()) << none.error().to_string();
  EXPECT_EQ(*none, 0u);

  t.stage("alice", device_keys("alice", 1));
  t.stage("carol", device_keys("carol", 0));
  t.publish();
  auto stored = t.dir->audit(3);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(verify_epoch_audit(*stored, t.dir->signing_public_key()).value(), 2u);
  EXPECT_EQ(t.dir->audit(4).error().code(), Errc::not_found);

  // An audit that hides a change does not reach the new root.
  EpochAudit hidden = *stored;
  hidden.changes.pop_back();
  hidden.old_paths.pop_back();
  EXPECT_EQ(verify_epoch_audit(hidden, t.dir->signing_public_key()).error().code(),
            Errc::bad_proof);
  // Nor one with a different commitment.
  EpochAudit altered = *stored;
  altered.changes[0].commitment[0] ^= 1;
  EXPECT_EQ(verify_epoch_audit(altered, t.dir->signing_public_key()).error().code(),
            Errc::bad_proof);
  // Changes out of order.
  EpochAudit reordered = *stored;
  std::swap(reordered.changes[0], reordered.changes[1]);
  std::swap(reordered.old_paths[0], reordered.old_paths[1]);
  EXPECT_EQ(verify_epoch_audit(reordered, t.dir->signing_public_key()).error().code(),
            Errc::bad_proof);
  // Skipping an epoch.
  EpochAudit skip = *stored;
  skip.old_head = e1.head;
  EXPECT_EQ(verify_epoch_audit(skip, t.dir->signing_public_key()).error().code(), Errc::bad_proof);
  // An audit that rewrites an existing leaf (alice version 0) is refused.
  EpochAudit rewrite = *stored;
  auto alice0 = t.dir->history(as_bytes("alice"), 0).value().versions[0];
  PrefixLeaf leaf{alice0.inclusion.terminal->index, Bytes(32, 0)};
  rewrite.changes.insert(rewrite.changes.begin(), leaf);
  rewrite.old_paths.insert(rewrite.old_paths.begin(), alice0.inclusion);
  EXPECT_EQ(verify_epoch_audit(rewrite, t.dir->signing_public_key()).error().code(),
            Errc::bad_proof);
}

TEST(Directory, WireRoundTrips) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.publish();
  t.stage("alice", device_keys("alice", 1));
  const PublishedEpoch e2 = t.publish();
  const LookupProof lookup = t.lookup("alice", 1);
  const HistoryProof history = t.dir->history(as_bytes("alice"), 1).value();

  auto check = [](const auto& value) {
    using T = std::decay_t<decltype(value)>;
    const Bytes wire = tls::encode(value);
    auto decoded = tls::decode<T>(wire);
    ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
    EXPECT_EQ(tls::encode(*decoded), wire);
    // Strict: every truncation and any trailing byte is an error, never a crash.
    for (size_t n = 0; n < wire.size(); n += 1 + wire.size() / 97) {
      EXPECT_FALSE(tls::decode<T>(BytesView(wire.data(), n)).ok()) << n;
    }
    Bytes longer = wire;
    longer.push_back(0);
    EXPECT_EQ(tls::decode<T>(longer).error().code(), Errc::trailing_bytes);
  };
  check(e2.head);
  check(lookup);
  check(history);
  check(e2.audit);

  Verifier client;
  auto decoded = tls::decode<LookupProof>(tls::encode(lookup)).value();
  auto value = client.verify_lookup(as_bytes("alice"), decoded, t.keys());
  ASSERT_TRUE(value.ok()) << value.error().to_string();
  EXPECT_EQ(value->value, device_keys("alice", 1));
  auto audit = tls::decode<EpochAudit>(tls::encode(e2.audit)).value();
  EXPECT_TRUE(verify_epoch_audit(audit, t.dir->signing_public_key()).ok());
}

TEST(Verifier, StatePersists) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.publish();
  Verifier client;
  EXPECT_FALSE(Verifier::restore(client.save()).value().head().has_value());
  const LookupProof old = t.lookup("alice");
  ASSERT_TRUE(client.verify_lookup(as_bytes("alice"), old, t.keys()).ok());
  t.stage("alice", device_keys("alice", 1));
  t.publish();
  ASSERT_TRUE(client.verify_lookup(as_bytes("alice"), t.lookup("alice", 1), t.keys()).ok());

  auto restored = Verifier::restore(client.save());
  ASSERT_TRUE(restored.ok());
  ASSERT_TRUE(restored->head().has_value());
  EXPECT_EQ(*restored->head(), *client.head());
  // The restored client remembers: the epoch-1 proof is a rollback now.
  EXPECT_EQ(restored->verify_lookup(as_bytes("alice"), old, t.keys()).error().code(), Errc::stale);

  // A state of format 1 (the head only) still restores.
  VerifierState v1;
  v1.format = 1;
  v1.head = client.head();
  Bytes v1_wire = tls::encode(v1);
  v1_wire.pop_back();  // format 1 has no evidence field: drop its absent-optional byte
  auto from_v1 = Verifier::restore(v1_wire);
  ASSERT_TRUE(from_v1.ok()) << from_v1.error().to_string();
  EXPECT_EQ(*from_v1->head(), *client.head());

  Bytes bad = client.save();
  bad[0] = 3;  // unknown format
  EXPECT_EQ(Verifier::restore(bad).error().code(), Errc::invalid_value);
  bad = client.save();
  bad.pop_back();
  EXPECT_FALSE(Verifier::restore(bad).ok());
}

TEST(Verifier, MonitorAlertsOnUnexpectedValue) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.publish();
  Verifier alice;
  auto ok = alice.monitor(as_bytes("alice"), device_keys("alice", 0), t.lookup("alice"), t.keys());
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();

  // The server (or whoever controls it) publishes a new key list for alice.
  t.stage("alice", device_keys("mallory", 0));
  t.publish();
  auto alert = alice.monitor(as_bytes("alice"), device_keys("alice", 0),
                             t.lookup("alice", alice.known_log_size()), t.keys());
  ASSERT_FALSE(alert.ok());
  EXPECT_EQ(alert.error().code(), Errc::unexpected_value);

  // A label its owner published that the directory shows as absent is an alert too.
  Verifier dave;
  auto missing = dave.monitor(as_bytes("dave"), device_keys("dave", 0), t.lookup("dave"), t.keys());
  EXPECT_EQ(missing.error().code(), Errc::unexpected_value);
}

TEST(Verifier, HonestHeadsCompareEqual) {
  TestDirectory t;
  t.stage("alice", device_keys("alice", 0));
  t.publish();
  Verifier a, b;
  ASSERT_TRUE(a.verify_lookup(as_bytes("alice"), t.lookup("alice"), t.keys()).ok());
  t.stage("bob", device_keys("bob", 0));
  t.publish();
  t.publish();
  ASSERT_TRUE(b.verify_lookup(as_bytes("bob"), t.lookup("bob"), t.keys()).ok());
  EXPECT_TRUE(a.compare_heads(*a.head(), {}, t.dir->signing_public_key()).ok());
  const auto proof = t.dir->consistency(1, 3).value();
  EXPECT_TRUE(a.compare_heads(*b.head(), proof, t.dir->signing_public_key()).ok());
  EXPECT_TRUE(b.compare_heads(*a.head(), proof, t.dir->signing_public_key()).ok());
  // Gossip moves a forward.
  ASSERT_TRUE(a.advance(*b.head(), proof, t.dir->signing_public_key()).ok());
  EXPECT_EQ(*a.head(), *b.head());
}

// Random updates over many epochs with several clients: every lookup, history and audit of
// an honest directory verifies and returns the newest value.
TEST(Directory, PropertyRandomEpochs) {
  TestDirectory t(1, 2, 99);
  std::mt19937_64 rng(1234);
  std::vector<std::string> labels;
  for (int i = 0; i < 24; ++i) labels.push_back("user" + std::to_string(i));
  std::map<std::string, std::vector<Bytes>> model;
  std::vector<Verifier> clients(3);
  Verifier auditor_view;
  std::optional<SignedTreeHead> last_audited;

  for (int epoch = 1; epoch <= 12; ++epoch) {
    const int updates = static_cast<int>(rng() % 8);
    std::map<std::string, Bytes> staged;
    for (int u = 0; u < updates; ++u) {
      const std::string& label = labels[rng() % labels.size()];
      const Bytes value = device_keys(label, static_cast<int>(rng() % 1000));
      t.stage(label, value);
      staged[label] = value;  // a second stage in one epoch replaces the first
    }
    for (auto& [label, value] : staged) model[label].push_back(value);
    const PublishedEpoch published = t.publish();

    auto audited = verify_epoch_audit(published.audit, t.dir->signing_public_key());
    ASSERT_TRUE(audited.ok()) << "epoch " << epoch << ": " << audited.error().to_string();
    EXPECT_EQ(*audited, staged.size());
    if (last_audited) {
      ASSERT_TRUE(published.audit.old_head.has_value());
      EXPECT_EQ(*published.audit.old_head, *last_audited);
    }
    last_audited = published.head;

    for (int q = 0; q < 6; ++q) {
      Verifier& client = clients[rng() % clients.size()];
      const std::string& label = labels[rng() % labels.size()];
      auto proof = t.dir->lookup(as_bytes(label), client.known_log_size());
      ASSERT_TRUE(proof.ok());
      auto got = client.verify_lookup(as_bytes(label), *proof, t.keys());
      auto it = model.find(label);
      if (it == model.end()) {
        ASSERT_FALSE(got.ok());
        EXPECT_EQ(got.error().code(), Errc::not_found);
      } else {
        ASSERT_TRUE(got.ok()) << got.error().to_string();
        EXPECT_EQ(got->value, it->second.back());
        EXPECT_EQ(got->version, it->second.size() - 1);
      }
      EXPECT_EQ(client.head()->epoch, static_cast<uint64_t>(epoch));
    }
    const std::string& label = labels[rng() % labels.size()];
    auto history = t.dir->history(as_bytes(label), 0);
    ASSERT_TRUE(history.ok());
    Verifier fresh;
    auto values = fresh.verify_history(as_bytes(label), *history, t.keys());
    ASSERT_TRUE(values.ok()) << values.error().to_string();
    const auto found = model.find(label);
    const std::vector<Bytes> expected = found == model.end() ? std::vector<Bytes>{} : found->second;
    ASSERT_EQ(values->size(), expected.size());
    for (size_t v = 0; v < expected.size(); ++v) EXPECT_EQ((*values)[v].value, expected[v]);
  }
  // All clients agree.
  for (size_t i = 1; i < clients.size(); ++i) {
    const auto& a = *clients[0].head();
    const auto& b = *clients[i].head();
    const uint64_t lo = std::min(a.log_size, b.log_size);
    const uint64_t hi = std::max(a.log_size, b.log_size);
    const auto proof = lo == hi ? std::vector<Bytes>{} : t.dir->consistency(lo, hi).value();
    EXPECT_TRUE(clients[0].compare_heads(b, proof, t.dir->signing_public_key()).ok());
  }
}

}  // namespace
}  // namespace sotto::kt
