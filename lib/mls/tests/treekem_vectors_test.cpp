// tests/vectors/mls/treekem.json (mls-implementations test-vectors.md, "TreeKEM"): per case a
// ratchet tree, the private state of some leaves and UpdatePaths from several senders; each
// path merges, every private leaf decrypts it, and a new path from the same sender is read by
// every other leaf. The checks are sotto_mls_vectors' (lib/mls/testing).
//
// The failure paths (bad ciphertext, wrong public key, bad parent hash, bad signature) run
// here on the first case of a supported suite with at least three private leaves.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "expect_vectors.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/ratchet_tree.h"
#include "sotto/mls/testing/vector_cases.h"
#include "sotto/mls/treekem.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;
using Case = testing::TreeKemCase;
using Member = testing::TreeKemMember;

UpdatePathSecrets test_secrets(const CipherSuite& suite, std::string_view tag, uint32_t sender) {
  return testing::update_path_test_secrets(suite, tag, sender);
}

// Loaded once: the file is 2 MB and the failure tests each need a case from it.
const std::optional<nlohmann::json>& load() {
  static const std::optional<nlohmann::json> vectors =
      sotto::testing::load_vectors("mls/treekem.json");
  return vectors;
}

TEST(TreeKemVectors, EveryCase) {
  testing::expect_vectors("treekem");
}

// ---- failure paths ---------------------------------------------------------------------

struct Scenario {
  CipherSuite suite;
  Case c;
  UpdatePath path;
  LeafIndex sender;
  uint32_t receiver;  // a private leaf other than the sender
};

std::optional<Scenario> failure_scenario() {
  const auto& vectors = load();
  if (!vectors) return std::nullopt;
  for (const auto& tc : *vectors) {
    const uint16_t id = tc.at("cipher_suite").get<uint16_t>();
    if (!CipherSuite::supported(id) || tc.at("leaves_private").size() < 3) continue;
    auto suite = CipherSuite::create(id);
    if (!suite.ok()) continue;
    auto c = testing::parse_treekem_case(*suite, tc);
    if (!c.ok()) continue;
    const auto& up = tc.at("update_paths").at(0);
    auto path = tls::decode<UpdatePath>(sotto::testing::hex_field(up, "update_path"));
    if (!path.ok() || path->nodes.empty()) continue;
    const LeafIndex sender{up.at("sender").get<uint32_t>()};
    for (const auto& [index, member] : c->members) {
      if (index != sender.value) {
        return Scenario{*suite, std::move(*c), std::move(*path), sender, index};
      }
    }
  }
  return std::nullopt;
}

TEST(TreeKemFailures, TamperedCiphertextIsRejected) {
  auto s = failure_scenario();
  ASSERT_TRUE(s.has_value());
  const Bytes hash_before = s->c.tree.tree_hash();
  const TreePrivateKey& receiver = s->c.members.at(s->receiver).key;
  const auto good = process_update_path(s->c.tree, s->sender, s->path, receiver, s->c.context, {});
  ASSERT_TRUE(good.ok()) << good.error().to_string();
  // Break every ciphertext of the node the receiver decrypts at.
  for (auto& node : s->path.nodes) {
    for (auto& ct : node.encrypted_path_secret) ct.ciphertext.back() ^= 1;
  }
  const auto got = process_update_path(s->c.tree, s->sender, s->path, receiver, s->c.context, {});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Errc::authentication_failed) << got.error().to_string();
  EXPECT_EQ(s->c.tree.tree_hash(), hash_before);
}

TEST(TreeKemFailures, WrongGroupContextIsRejected) {
  auto s = failure_scenario();
  ASSERT_TRUE(s.has_value());
  GroupContext other = s->c.context;
  other.epoch += 1;
  const auto got = process_update_path(s->c.tree, s->sender, s->path,
                                       s->c.members.at(s->receiver).key, other, {});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Errc::authentication_failed) << got.error().to_string();
}

TEST(TreeKemFailures, ChangedPublicKeyBreaksTheParentHashChain) {
  auto s = failure_scenario();
  ASSERT_TRUE(s.has_value());
  s->path.nodes.back().encryption_key.data.back() ^= 1;
  const auto got = process_update_path(s->c.tree, s->sender, s->path,
                                       s->c.members.at(s->receiver).key, s->c.context, {});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Errc::invalid_value) << got.error().to_string();
}

TEST(TreeKemFailures, WrongPublicKeyWithValidChainIsRejected) {
  // A committer that signs a path whose public keys do not come from its path secrets: the
  // parent-hash chain and the signature hold, the key check must not.
  auto s = failure_scenario();
  ASSERT_TRUE(s.has_value());
  const Member& committer = s->c.members.at(s->sender.value);
  const auto honest =
      create_update_path(s->c.tree, s->sender, *s->c.tree.leaf(s->sender), committer.signature_priv,
                         s->c.context, {}, test_secrets(s->suite, "honest", s->sender.value));
  ASSERT_TRUE(honest.ok()) << honest.error().to_string();
  UpdatePath forged = honest->path;
  // Replace the root's key and redo the chain and signature by hand.
  const auto other = node_key_pair(s->suite, s->suite.hash(as_bytes("other")));
  ASSERT_TRUE(other.ok());
  forged.nodes.back().encryption_key.data = other->public_key;
  auto steps = s->c.tree.filtered_direct_path(s->sender);
  ASSERT_TRUE(steps.ok());
  PublicTree scratch = s->c.tree;
  ASSERT_TRUE(scratch.update_leaf(s->sender, forged.leaf_node).ok());
  for (size_t i = 0; i < steps->size(); ++i) {
    ASSERT_TRUE(
        scratch.set_node((*steps)[i].node, Node{ParentNode{forged.nodes[i].encryption_key, {}, {}}})
            .ok());
  }
  // Parent hashes from the root down, each recorded by the step below.
  Bytes below;
  for (size_t i = steps->size(); i-- > 0;) {
    auto ph = scratch.parent_hash((*steps)[i].node, (*steps)[i].copath_child);
    ASSERT_TRUE(ph.ok());
    below = *ph;
    if (i > 0) {
      ASSERT_TRUE(scratch
                      .set_node((*steps)[i - 1].node,
                                Node{ParentNode{forged.nodes[i - 1].encryption_key, below, {}}})
                      .ok());
    }
  }
  forged.leaf_node.source = CommitLeafSource{below};
  ASSERT_TRUE(sign_leaf_node(s->suite, forged.leaf_node, committer.signature_priv,
                             s->c.context.group_id, s->sender)
                  .ok());
  // The honest path secrets, encrypted to the forged tree's provisional context: the receiver
  // decrypts, then derives a root key that differs from the forged one.
  auto merged = merge_update_path(s->c.tree, s->sender, forged, s->c.context.group_id);
  ASSERT_TRUE(merged.ok()) << merged.error().to_string();
  GroupContext ctx = s->c.context;
  ctx.tree_hash = merged->tree_hash();
  const Bytes ctx_bytes = tls::encode(ctx);
  std::vector<SecureBytes> secrets;
  for (const auto& step : *steps) {
    secrets.push_back(honest->private_key.path_secrets.at(step.node.value));
  }
  for (size_t i = 0; i < steps->size(); ++i) {
    forged.nodes[i].encrypted_path_secret.clear();
    for (const NodeIndex r : merged->resolution((*steps)[i].copath_child)) {
      auto ct = s->suite.encrypt_with_label(merged->encryption_key(r)->data, "UpdatePathNode",
                                            ctx_bytes, secrets[i]);
      ASSERT_TRUE(ct.ok());
      forged.nodes[i].encrypted_path_secret.push_back({ct->kem_output, ct->ciphertext});
    }
  }
  const Bytes hash_before = s->c.tree.tree_hash();
  const auto got = process_update_path(s->c.tree, s->sender, forged,
                                       s->c.members.at(s->receiver).key, s->c.context, {});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Errc::invalid_value) << got.error().to_string();
  EXPECT_NE(got.error().message().find("does not match its path secret"), std::string::npos)
      << got.error().to_string();
  EXPECT_EQ(s->c.tree.tree_hash(), hash_before);
}

TEST(TreeKemFailures, BadLeafSignatureIsRejected) {
  auto s = failure_scenario();
  ASSERT_TRUE(s.has_value());
  s->path.leaf_node.signature.back() ^= 1;
  const auto got = merge_update_path(s->c.tree, s->sender, s->path, s->c.context.group_id);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Errc::bad_signature);
}

TEST(TreeKemFailures, WrongPathLengthIsRejected) {
  auto s = failure_scenario();
  ASSERT_TRUE(s.has_value());
  s->path.nodes.pop_back();
  const auto got = merge_update_path(s->c.tree, s->sender, s->path, s->c.context.group_id);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Errc::invalid_value);
}

TEST(TreeKemFailures, ExcludedNewMemberGetsNoCiphertext) {
  auto s = failure_scenario();
  ASSERT_TRUE(s.has_value());
  const Member& committer = s->c.members.at(s->sender.value);
  const LeafIndex excluded{s->receiver};
  const auto created = create_update_path(s->c.tree, s->sender, *s->c.tree.leaf(s->sender),
                                          committer.signature_priv, s->c.context, {excluded},
                                          test_secrets(s->suite, "exclude", s->sender.value));
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  const auto steps = s->c.tree.filtered_direct_path(s->sender);
  ASSERT_TRUE(steps.ok());
  ASSERT_EQ(created->path.nodes.size(), steps->size());
  for (size_t i = 0; i < steps->size(); ++i) {
    size_t expected = 0;
    for (const NodeIndex r : s->c.tree.resolution((*steps)[i].copath_child)) {
      if (r != to_node(excluded)) ++expected;
    }
    EXPECT_EQ(created->path.nodes[i].encrypted_path_secret.size(), expected) << "step " << i;
  }
}

TEST(TreeKemFailures, ReusedPublicKeyIsRejected) {
  auto s = failure_scenario();
  ASSERT_TRUE(s.has_value());
  // The committer keeps its current leaf key: the signature no longer verifies either, so
  // check the public step alone through a path whose leaf is re-signed.
  const Member& committer = s->c.members.at(s->sender.value);
  s->path.leaf_node.encryption_key = s->c.tree.leaf(s->sender)->encryption_key;
  ASSERT_TRUE(sign_leaf_node(s->suite, s->path.leaf_node, committer.signature_priv,
                             s->c.context.group_id, s->sender)
                  .ok());
  const auto got = merge_update_path(s->c.tree, s->sender, s->path, s->c.context.group_id);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Errc::invalid_value);
  EXPECT_NE(got.error().message().find("already in the tree"), std::string::npos)
      << got.error().to_string();
}

}  // namespace
}  // namespace sotto::mls
