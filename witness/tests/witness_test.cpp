// The witness's protocol logic: it cosigns heads that extend the one it holds, and refuses
// rollbacks, forks and heads the log did not sign, without changing its state.
#include "witness.h"

#include <gtest/gtest.h>

#include "directory_fixture.h"
#include "sotto/kt/witness.h"

namespace sotto::witness {
namespace {

using kt::testing::device_keys;
using kt::testing::TestDirectory;

Witness new_witness(const TestDirectory& log, uint8_t seed = 9) {
  auto key = crypto::Ed25519SigningKey::from_seed(kt::testing::seed(seed)).value();
  return Witness::create(log.dir->signing_public_key(), std::move(key)).value();
}

kt::SignedTreeHead publish(TestDirectory& log, const std::string& label, int generation) {
  log.stage(label, device_keys(label, generation));
  return log.publish().head;
}

std::vector<Bytes> consistency(const TestDirectory& log, uint64_t from, uint64_t to) {
  return log.dir->consistency(from, to).value();
}

bool cosignature_verifies(const Witness& w, const kt::SignedTreeHead& head,
                          const kt::Cosignature& cosignature) {
  const std::vector<kt::Cosignature> cosignatures{cosignature};
  const std::vector<Bytes> keys{w.public_key()};
  return kt::verify_cosignatures(head, cosignatures, keys, 1).ok();
}

TEST(Witness, CosignsTheFirstHeadAndEachExtension) {
  TestDirectory log;
  Witness w = new_witness(log);
  const auto head1 = publish(log, "alice", 0);
  auto first = w.cosign(head1, {});
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_EQ(first->witness_public_key, w.public_key());
  EXPECT_TRUE(cosignature_verifies(w, head1, *first));

  publish(log, "bob", 0);
  const auto head3 = publish(log, "alice", 1);
  auto third = w.cosign(head3, consistency(log, 1, 3));
  ASSERT_TRUE(third.ok()) << third.error().to_string();
  EXPECT_TRUE(cosignature_verifies(w, head3, *third));
  EXPECT_FALSE(cosignature_verifies(w, head1, *third));
  ASSERT_TRUE(w.cosigned().has_value());
  EXPECT_EQ(*w.cosigned(), head3);

  // The held head again (a retry): the same cosignature, no proof needed.
  auto again = w.cosign(head3, {});
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(*again, *third);
}

TEST(Witness, RefusesARollback) {
  TestDirectory log;
  Witness w = new_witness(log);
  const auto head1 = publish(log, "alice", 0);
  const auto head2 = publish(log, "bob", 0);
  ASSERT_TRUE(w.cosign(head1, {}).ok());
  ASSERT_TRUE(w.cosign(head2, consistency(log, 1, 2)).ok());
  auto old = w.cosign(head1, {});
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code(), Errc::stale);
  EXPECT_EQ(*w.cosigned(), head2);
}

TEST(Witness, RefusesAForkAtTheSameEpochAndAFailedConsistencyProof) {
  // Two logs under one key that agree up to epoch 1 and then diverge: a split view.
  TestDirectory honest;
  TestDirectory fork;
  ASSERT_EQ(publish(honest, "alice", 0), publish(fork, "alice", 0));
  const auto honest2 = publish(honest, "bob", 0);
  const auto fork2 = publish(fork, "mallory", 0);
  const auto fork3 = publish(fork, "carol", 0);
  ASSERT_NE(honest2, fork2);

  Witness w = new_witness(honest);
  ASSERT_TRUE(w.cosign(honest.dir->head().value(), {}).ok());  // epoch 2 of the honest log
  auto same_epoch = w.cosign(fork2, {});
  ASSERT_FALSE(same_epoch.ok());
  EXPECT_EQ(same_epoch.error().code(), Errc::split_view);

  auto next = w.cosign(fork3, consistency(fork, 2, 3));
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code(), Errc::split_view);
  EXPECT_EQ(*w.cosigned(), honest2);
}

TEST(Witness, RefusesANewerHeadWithoutAConsistencyProof) {
  TestDirectory log;
  Witness w = new_witness(log);
  ASSERT_TRUE(w.cosign(publish(log, "alice", 0), {}).ok());
  auto missing = w.cosign(publish(log, "bob", 0), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Errc::bad_proof);
  EXPECT_EQ(w.cosigned()->epoch, 1u);
}

TEST(Witness, RefusesAHeadTheLogDidNotSign) {
  TestDirectory log;
  TestDirectory other(/*signing_seed=*/7);
  Witness w = new_witness(log);

  auto tampered = publish(log, "alice", 0);
  tampered.signature[5] ^= 1;
  auto bad = w.cosign(tampered, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::bad_signature);

  auto foreign = w.cosign(publish(other, "alice", 0), {});
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code(), Errc::bad_signature);
  EXPECT_FALSE(w.cosigned().has_value());
}

TEST(Witness, StateSurvivesSaveAndRestore) {
  TestDirectory log;
  Witness w = new_witness(log);
  const auto head1 = publish(log, "alice", 0);
  const auto head2 = publish(log, "bob", 0);
  ASSERT_TRUE(w.cosign(head2, {}).ok());

  auto restored = Witness::restore(w.save());
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  EXPECT_EQ(restored->public_key(), w.public_key());
  EXPECT_EQ(restored->log_public_key(), w.log_public_key());
  EXPECT_EQ(restored->cosigned(), w.cosigned());
  auto old = restored->cosign(head1, {});
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code(), Errc::stale);
}

TEST(Witness, RestoreRejectsBadState) {
  TestDirectory log;
  Witness w = new_witness(log);
  Bytes state = w.save();
  state[0] = 2;  // format
  EXPECT_EQ(Witness::restore(state).error().code(), Errc::invalid_value);
  state.resize(state.size() - 1);
  EXPECT_FALSE(Witness::restore(state).ok());
  EXPECT_EQ(Witness::create(Bytes(31, 1), crypto::Ed25519SigningKey::generate()).error().code(),
            Errc::invalid_argument);
}

}  // namespace
}  // namespace sotto::witness
