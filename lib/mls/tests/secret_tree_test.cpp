// tests/vectors/mls/secret-tree.json (RFC 9420 section 9): the sender-data key and nonce of
// each case, and the handshake and application key and nonce of each leaf at each listed
// generation; then the ratchet rules the vectors do not cover: out-of-order delivery within
// the window, single use, and refusal of generations too far ahead.
#include "sotto/mls/secret_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "expect_vectors.h"
#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;

TEST(SecretTreeVectors, EveryCase) {
  testing::expect_vectors("secret-tree");
}

class SecretTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = CipherSuite::create(3);
    ASSERT_TRUE(s.ok());
    suite_.emplace(std::move(*s));
  }
  SecretTree make(uint32_t max_skipped = SecretTree::kDefaultMaxSkipped) {
    auto tree = SecretTree::create(*suite_, *LeafCount::exactly(4), Bytes(32, 7), max_skipped);
    EXPECT_TRUE(tree.ok());
    return std::move(tree).value();
  }
  std::optional<CipherSuite> suite_;
};

TEST_F(SecretTreeTest, SenderAndReceiverAgreeInAnyOrder) {
  SecretTree sender = make();
  SecretTree receiver = make();
  std::vector<KeyAndNonce> sent;
  for (uint32_t g = 0; g < 5; ++g) {
    auto next = sender.next(LeafIndex{2}, RatchetType::application);
    ASSERT_TRUE(next.ok());
    EXPECT_EQ(next->first, g);
    sent.push_back(std::move(next->second));
  }
  for (uint32_t g : {3u, 0u, 4u, 1u, 2u}) {
    auto got = receiver.get(LeafIndex{2}, RatchetType::application, g);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    EXPECT_TRUE(got->key == sent[g].key);
    EXPECT_TRUE(got->nonce == sent[g].nonce);
  }
  // The handshake ratchet of the same leaf is separate.
  auto hs = receiver.get(LeafIndex{2}, RatchetType::handshake, 0);
  ASSERT_TRUE(hs.ok());
  EXPECT_FALSE(hs->key == sent[0].key);
}

TEST_F(SecretTreeTest, EachKeyIsHandedOutOnce) {
  SecretTree tree = make();
  ASSERT_TRUE(tree.get(LeafIndex{0}, RatchetType::handshake, 2).ok());
  EXPECT_EQ(tree.get(LeafIndex{0}, RatchetType::handshake, 2).error().code(), Errc::not_found);
  ASSERT_TRUE(tree.get(LeafIndex{0}, RatchetType::handshake, 1).ok());
  EXPECT_EQ(tree.get(LeafIndex{0}, RatchetType::handshake, 1).error().code(), Errc::not_found);
}

TEST_F(SecretTreeTest, WindowBoundsSkippedKeys) {
  SecretTree tree = make(3);
  EXPECT_EQ(tree.get(LeafIndex{1}, RatchetType::application, 4).error().code(),
            Errc::message_limit);
  ASSERT_TRUE(tree.get(LeafIndex{1}, RatchetType::application, 3).ok());  // skips 0, 1, 2
  ASSERT_TRUE(tree.get(LeafIndex{1}, RatchetType::application, 7).ok());  // skips 4, 5, 6
  // Only the newest three skipped keys are kept.
  EXPECT_EQ(tree.get(LeafIndex{1}, RatchetType::application, 0).error().code(), Errc::not_found);
  EXPECT_EQ(tree.get(LeafIndex{1}, RatchetType::application, 2).error().code(), Errc::not_found);
  for (uint32_t g : {4u, 5u, 6u}) {
    EXPECT_TRUE(tree.get(LeafIndex{1}, RatchetType::application, g).ok()) << g;
  }
}

// prepare() changes nothing: a key prepared and dropped is handed out again, by get() or by
// a later prepare(); consume() deletes it like get().
TEST_F(SecretTreeTest, PrepareChangesNothingUntilConsumed) {
  SecretTree tree = make();
  SecretTree reference = make();
  tls::Writer before;
  tree.write_state(before);
  for (uint32_t g : {0u, 5u, 2u}) {
    auto pending = tree.prepare(LeafIndex{3}, RatchetType::application, g);
    ASSERT_TRUE(pending.ok()) << pending.error().to_string();
  }
  tls::Writer after;
  tree.write_state(after);
  EXPECT_EQ(before.bytes(), after.bytes());

  // Out of order: 5 first (0..4 skipped), then 2 from the skipped keys.
  for (uint32_t g : {5u, 2u}) {
    auto pending = tree.prepare(LeafIndex{3}, RatchetType::application, g);
    ASSERT_TRUE(pending.ok());
    const auto expected = reference.get(LeafIndex{3}, RatchetType::application, g);
    ASSERT_TRUE(expected.ok());
    EXPECT_TRUE(pending->key_nonce().key == expected->key);
    EXPECT_TRUE(pending->key_nonce().nonce == expected->nonce);
    ASSERT_TRUE(tree.consume(std::move(pending).value()).ok());
    EXPECT_EQ(tree.prepare(LeafIndex{3}, RatchetType::application, g).error().code(),
              Errc::not_found);
  }
  // The keys skipped on the way are still there, as in the reference.
  for (uint32_t g : {0u, 1u, 3u, 4u}) {
    const auto got = tree.get(LeafIndex{3}, RatchetType::application, g);
    const auto expected = reference.get(LeafIndex{3}, RatchetType::application, g);
    ASSERT_TRUE(got.ok() && expected.ok()) << g;
    EXPECT_TRUE(got->key == expected->key) << g;
  }
  tls::Writer a;
  tls::Writer b;
  tree.write_state(a);
  reference.write_state(b);
  EXPECT_EQ(a.bytes(), b.bytes());
}

TEST_F(SecretTreeTest, ConsumeRefusesAStaleKey) {
  SecretTree tree = make();
  auto first = tree.prepare(LeafIndex{0}, RatchetType::handshake, 0);
  auto second = tree.prepare(LeafIndex{0}, RatchetType::handshake, 0);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(tree.consume(std::move(first).value()).ok());
  // The same key cannot be consumed twice through two prepared copies.
  EXPECT_EQ(tree.consume(std::move(second).value()).error().code(), Errc::invalid_argument);
  EXPECT_EQ(tree.get(LeafIndex{0}, RatchetType::handshake, 0).error().code(), Errc::not_found);
}

// The state holds only what was derived, and reads back to a tree that continues the same.
TEST_F(SecretTreeTest, StateRoundTripsAfterUse) {
  auto big = SecretTree::create(*suite_, *LeafCount::exactly(1024), Bytes(32, 7));
  ASSERT_TRUE(big.ok());
  ASSERT_TRUE(big->get(LeafIndex{700}, RatchetType::application, 3).ok());
  ASSERT_TRUE(big->next(LeafIndex{5}, RatchetType::handshake).ok());
  tls::Writer w;
  big->write_state(w);
  tls::Reader r(w.bytes());
  auto back = SecretTree::read_state(*suite_, r);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  tls::Writer again;
  back->write_state(again);
  EXPECT_EQ(again.bytes(), w.bytes());
  for (uint32_t g : {1u, 4u}) {
    const auto x = big->get(LeafIndex{700}, RatchetType::application, g);
    const auto y = back->get(LeafIndex{700}, RatchetType::application, g);
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_TRUE(x->key == y->key);
  }
  const auto x = big->get(LeafIndex{1023}, RatchetType::application, 0);
  const auto y = back->get(LeafIndex{1023}, RatchetType::application, 0);
  ASSERT_TRUE(x.ok() && y.ok());
  EXPECT_TRUE(x->key == y->key);
}

TEST_F(SecretTreeTest, RejectsBadInputs) {
  SecretTree tree = make();
  EXPECT_EQ(tree.get(LeafIndex{4}, RatchetType::application, 0).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(tree.next(LeafIndex{99}, RatchetType::handshake).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(tree.prepare(LeafIndex{4}, RatchetType::handshake, 0).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(SecretTree::create(*suite_, *LeafCount::exactly(2), Bytes(31, 0)).error().code(),
            Errc::invalid_argument);
}

TEST_F(SecretTreeTest, SenderDataSampleIsAtMostNh) {
  const Bytes secret(32, 9);
  Bytes long_ct(100, 1);
  Bytes prefix(long_ct.begin(), long_ct.begin() + 32);
  auto a = sender_data_key_nonce(*suite_, secret, long_ct);
  auto b = sender_data_key_nonce(*suite_, secret, prefix);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->key == b->key);
  EXPECT_EQ(a->key.size(), suite_->aead_key_size());
  EXPECT_EQ(a->nonce.size(), suite_->aead_nonce_size());
}

}  // namespace
}  // namespace sotto::mls
