// tests/vectors/mls/treekem.json (mls-implementations test-vectors.md, "TreeKEM"): per case a
// ratchet tree, the private state of some leaves (encryption key, path secrets), and
// UpdatePaths from several senders. For each UpdatePath:
//   - merged into the tree, its parent hashes chain and the tree hash is tree_hash_after;
//   - every leaf with private state other than the sender decrypts path_secrets[leaf] at its
//     lowest common ancestor with the sender and derives commit_secret;
//   - the sender makes a new UpdatePath with fresh secrets and every other leaf derives the
//     same commit secret from it.
// The path secrets are encrypted to the provisional GroupContext: version mls10, the case's
// cipher_suite, group_id, epoch and confirmed_transcript_hash, no extensions, and tree_hash
// the hash of the tree after the merge.
//
// The failure paths (bad ciphertext, wrong public key, bad parent hash, bad signature) run on
// the first case of a supported suite with at least three private leaves.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "sotto/core/encoding.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/ratchet_tree.h"
#include "sotto/mls/treekem.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;
using testing::hex_bytes;
using testing::hex_field;
using testing::Json;
using testing::VectorTally;

using testing::same;

struct Member {
  TreePrivateKey key;
  Bytes signature_priv;
};

struct Case {
  PublicTree tree;
  GroupContext context;
  std::map<uint32_t, Member> members;  // by leaf index
};

Result<Case> load_case(const CipherSuite& suite, const Json& tc) {
  SOTTO_TRY_ASSIGN(auto tree, PublicTree::decode(suite, hex_field(tc, "ratchet_tree")));
  GroupContext context;
  context.cipher_suite = static_cast<CipherSuiteId>(suite.id());
  context.group_id = hex_field(tc, "group_id");
  context.epoch = tc.at("epoch").get<uint64_t>();
  context.confirmed_transcript_hash = hex_field(tc, "confirmed_transcript_hash");
  Case out{std::move(tree), std::move(context), {}};
  for (const auto& lp : tc.at("leaves_private")) {
    Member m;
    m.key.leaf = LeafIndex{lp.at("index").get<uint32_t>()};
    m.key.leaf_private_key = SecureBytes(hex_field(lp, "encryption_priv"));
    for (const auto& ps : lp.at("path_secrets")) {
      m.key.path_secrets[ps.at("node").get<uint32_t>()] = SecureBytes(hex_field(ps, "path_secret"));
    }
    m.signature_priv = hex_field(lp, "signature_priv");
    const uint32_t index = m.key.leaf.value;
    out.members.emplace(index, std::move(m));
  }
  return out;
}

// Deterministic "fresh" secrets for the round trip: distinct per case and sender.
UpdatePathSecrets test_secrets(const CipherSuite& suite, std::string_view tag, uint32_t sender) {
  const std::string base = std::string(tag) + "/" + std::to_string(sender);
  return {SecureBytes(suite.hash(as_bytes(base + "/leaf"))),
          SecureBytes(suite.hash(as_bytes(base + "/path")))};
}

bool check_update_path(const Case& c, const Json& up, std::string_view tag) {
  const CipherSuite& suite = c.tree.suite();
  const LeafIndex sender{up.at("sender").get<uint32_t>()};
  SCOPED_TRACE("sender " + std::to_string(sender.value));
  const auto path = tls::decode<UpdatePath>(hex_field(up, "update_path"));
  if (!path.ok()) {
    ADD_FAILURE() << "update_path: " << path.error().to_string();
    return false;
  }
  bool ok = true;
  const Bytes commit_secret = hex_field(up, "commit_secret");

  const auto merged = merge_update_path(c.tree, sender, *path, c.context.group_id);
  if (!merged.ok()) {
    ADD_FAILURE() << "merge: " << merged.error().to_string();
    return false;
  }
  ok = same(merged->tree_hash(), hex_field(up, "tree_hash_after"), "tree_hash_after") && ok;
  if (auto r = merged->verify_parent_hashes(); !r.ok()) {
    ADD_FAILURE() << "merged tree: " << r.error().to_string();
    ok = false;
  }

  const auto& path_secrets = up.at("path_secrets");
  for (const auto& [index, member] : c.members) {
    if (index == sender.value) continue;
    SCOPED_TRACE("receiver " + std::to_string(index));
    const auto got = process_update_path(c.tree, sender, *path, member.key, c.context, {});
    if (!got.ok()) {
      ADD_FAILURE() << "process: " << got.error().to_string();
      ok = false;
      continue;
    }
    if (index < path_secrets.size() && !path_secrets[index].is_null()) {
      ok = same(got->path_secret, hex_bytes(path_secrets[index]), "path_secret") && ok;
    }
    ok = same(got->commit_secret, commit_secret, "commit_secret") && ok;
    if (auto r = got->private_key.check_against(got->tree); !r.ok()) {
      ADD_FAILURE() << "receiver's new keys: " << r.error().to_string();
      ok = false;
    }
  }

  // A new UpdatePath from the same sender, processed by every other member.
  const auto sender_member = c.members.find(sender.value);
  if (sender_member == c.members.end()) return ok;
  const auto created =
      create_update_path(c.tree, sender, *c.tree.leaf(sender), sender_member->second.signature_priv,
                         c.context, {}, test_secrets(suite, tag, sender.value));
  if (!created.ok()) {
    ADD_FAILURE() << "create: " << created.error().to_string();
    return false;
  }
  if (auto r = created->tree.verify_parent_hashes(); !r.ok()) {
    ADD_FAILURE() << "created tree: " << r.error().to_string();
    ok = false;
  }
  if (auto r = created->private_key.check_against(created->tree); !r.ok()) {
    ADD_FAILURE() << "committer's new keys: " << r.error().to_string();
    ok = false;
  }
  for (const auto& [index, member] : c.members) {
    if (index == sender.value) continue;
    const auto got = process_update_path(c.tree, sender, created->path, member.key, c.context, {});
    if (!got.ok()) {
      ADD_FAILURE() << "receiver " << index << " of a new path: " << got.error().to_string();
      ok = false;
      continue;
    }
    ok = same(got->commit_secret, created->commit_secret, "new commit_secret") && ok;
    ok = same(got->tree.tree_hash(), created->tree.tree_hash(), "new tree hash") && ok;
  }
  return ok;
}

bool check_case(const CipherSuite& suite, const Json& tc, size_t number) {
  auto c = load_case(suite, tc);
  if (!c.ok()) {
    ADD_FAILURE() << "case: " << c.error().to_string();
    return false;
  }
  bool ok = true;
  if (auto r = c->tree.verify_parent_hashes(); !r.ok()) {
    ADD_FAILURE() << r.error().to_string();
    ok = false;
  }
  for (const auto& [index, member] : c->members) {
    if (auto r = member.key.check_against(c->tree); !r.ok()) {
      ADD_FAILURE() << "leaf " << index << ": " << r.error().to_string();
      ok = false;
    }
  }
  for (const auto& up : tc.at("update_paths")) {
    ok = check_update_path(*c, up, "case " + std::to_string(number)) && ok;
  }
  return ok;
}

// Loaded once: the file is 2 MB and the failure tests each need a case from it.
const std::optional<Json>& load() {
  static const std::optional<Json> vectors = testing::load_vectors("mls/treekem.json");
  return vectors;
}

TEST(TreeKemVectors, EveryCase) {
  const auto& vectors = load();
  ASSERT_TRUE(vectors.has_value());
  VectorTally tally("mls/treekem.json");
  for (size_t i = 0; i < vectors->size(); ++i) {
    const Json& tc = (*vectors)[i];
    const uint16_t id = tc.at("cipher_suite").get<uint16_t>();
    if (!tally.runs_suite(id, CipherSuite::supported(id))) continue;
    SCOPED_TRACE("case " + std::to_string(i) + ", cipher_suite " + std::to_string(id));
    const auto suite = CipherSuite::create(id);
    ASSERT_TRUE(suite.ok()) << suite.error().to_string();
    tally.count(check_case(*suite, tc, i));
  }
  EXPECT_EQ(tally.failed(), 0);
  EXPECT_GT(tally.passed(), 0);
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
    auto c = load_case(*suite, tc);
    if (!c.ok()) continue;
    const auto& up = tc.at("update_paths").at(0);
    auto path = tls::decode<UpdatePath>(hex_field(up, "update_path"));
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
