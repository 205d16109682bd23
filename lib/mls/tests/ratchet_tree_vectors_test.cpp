// tests/vectors/mls/tree-validation.json: per case a ratchet tree and its group_id; the
// resolution and tree hash of every node; every parent hash and leaf signature valid.
// tests/vectors/mls/tree-operations.json: an Add, Update or Remove applied to tree_before
// gives tree_after, byte for byte, with the tree hashes before and after.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sotto/core/encoding.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/ratchet_tree.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;
using testing::hex_bytes;
using testing::hex_field;
using testing::Json;
using testing::VectorTally;

using testing::same;

bool check_validation_case(const CipherSuite& suite, const Json& tc) {
  auto tree = PublicTree::decode(suite, hex_field(tc, "tree"));
  if (!tree.ok()) {
    ADD_FAILURE() << "tree: " << tree.error().to_string();
    return false;
  }
  bool ok = same(tree->encode(), hex_field(tc, "tree"), "re-encoded tree");

  const auto& resolutions = tc.at("resolutions");
  const auto& hashes = tc.at("tree_hashes");
  if (resolutions.size() != tree->node_count() || hashes.size() != tree->node_count()) {
    ADD_FAILURE() << "tree has " << tree->node_count() << " nodes, the vector "
                  << resolutions.size() << " resolutions and " << hashes.size() << " hashes";
    return false;
  }
  for (uint32_t i = 0; i < tree->node_count(); ++i) {
    std::vector<uint32_t> got;
    for (const NodeIndex n : tree->resolution(NodeIndex{i})) got.push_back(n.value);
    const auto want = resolutions[i].get<std::vector<uint32_t>>();
    if (got != want) {
      ADD_FAILURE() << "resolution of node " << i << " differs";
      ok = false;
    }
    ok = same(tree->tree_hash(NodeIndex{i}), hex_bytes(hashes[i]),
              "tree hash of node " + std::to_string(i)) &&
         ok;
  }
  if (auto r = tree->verify_parent_hashes(); !r.ok()) {
    ADD_FAILURE() << r.error().to_string();
    ok = false;
  }
  if (auto r = tree->verify_leaf_signatures(hex_field(tc, "group_id")); !r.ok()) {
    ADD_FAILURE() << r.error().to_string();
    ok = false;
  }
  // Negative control: a parent whose key changed is no longer vouched for by its child.
  RatchetTree nodes = tree->to_extension();
  for (auto& n : nodes) {
    if (!n || n->type() != NodeType::parent) continue;
    std::get<ParentNode>(n->content).encryption_key.data.back() ^= 1;
    auto tampered = PublicTree::from_extension(suite, nodes);
    if (!tampered.ok() || tampered->verify_parent_hashes().ok()) {
      ADD_FAILURE() << "a tampered parent key passed parent-hash verification";
      ok = false;
    }
    break;
  }
  // Negative control: another group's id breaks every update or commit leaf's signature.
  bool group_bound = false;
  for (uint32_t i = 0; i < tree->leaf_count().value(); ++i) {
    const LeafNode* leaf = tree->leaf(LeafIndex{i});
    if (leaf != nullptr && leaf->source_type() != LeafNodeSource::key_package) group_bound = true;
  }
  Bytes other_group = hex_field(tc, "group_id");
  other_group.push_back(0);
  if (group_bound && tree->verify_leaf_signatures(other_group).ok()) {
    ADD_FAILURE() << "leaf signatures verify under another group id";
    ok = false;
  }
  return ok;
}

TEST(RatchetTreeVectors, TreeValidation) {
  const auto vectors = testing::load_vectors("mls/tree-validation.json");
  ASSERT_TRUE(vectors.has_value());
  VectorTally tally("mls/tree-validation.json");
  for (size_t i = 0; i < vectors->size(); ++i) {
    const Json& tc = (*vectors)[i];
    const uint16_t id = tc.at("cipher_suite").get<uint16_t>();
    if (!tally.runs_suite(id, CipherSuite::supported(id))) continue;
    SCOPED_TRACE("case " + std::to_string(i) + ", cipher_suite " + std::to_string(id));
    const auto suite = CipherSuite::create(id);
    ASSERT_TRUE(suite.ok()) << suite.error().to_string();
    tally.count(check_validation_case(*suite, tc));
  }
  EXPECT_EQ(tally.failed(), 0);
  EXPECT_GT(tally.passed(), 0);
}

Result<void> apply(PublicTree& tree, const Proposal& proposal, LeafIndex sender) {
  if (const auto* add = std::get_if<Add>(&proposal.content)) {
    SOTTO_TRY(tree.add_leaf(add->key_package.leaf_node));
    return success();
  }
  if (const auto* update = std::get_if<Update>(&proposal.content)) {
    return tree.update_leaf(sender, update->leaf_node);
  }
  if (const auto* remove = std::get_if<Remove>(&proposal.content)) {
    return tree.remove_leaf(remove->removed);
  }
  return Error(Errc::invalid_argument, "not an Add, Update or Remove");
}

bool check_operation_case(const CipherSuite& suite, const Json& tc) {
  auto tree = PublicTree::decode(suite, hex_field(tc, "tree_before"));
  if (!tree.ok()) {
    ADD_FAILURE() << "tree_before: " << tree.error().to_string();
    return false;
  }
  bool ok = same(tree->tree_hash(), hex_field(tc, "tree_hash_before"), "tree_hash_before");
  const auto proposal = tls::decode<Proposal>(hex_field(tc, "proposal"));
  if (!proposal.ok()) {
    ADD_FAILURE() << "proposal: " << proposal.error().to_string();
    return false;
  }
  const LeafIndex sender{tc.at("proposal_sender").get<uint32_t>()};
  if (auto r = apply(*tree, *proposal, sender); !r.ok()) {
    ADD_FAILURE() << "apply: " << r.error().to_string();
    return false;
  }
  ok = same(tree->encode(), hex_field(tc, "tree_after"), "tree_after") && ok;
  ok = same(tree->tree_hash(), hex_field(tc, "tree_hash_after"), "tree_hash_after") && ok;
  // The cached hashes agree with a tree decoded afresh.
  auto fresh = PublicTree::decode(suite, hex_field(tc, "tree_after"));
  if (!fresh.ok()) {
    ADD_FAILURE() << "tree_after: " << fresh.error().to_string();
    return false;
  }
  return same(fresh->tree_hash(), tree->tree_hash(), "fresh tree hash") && ok;
}

TEST(RatchetTreeVectors, TreeOperations) {
  const auto vectors = testing::load_vectors("mls/tree-operations.json");
  ASSERT_TRUE(vectors.has_value());
  VectorTally tally("mls/tree-operations.json");
  for (size_t i = 0; i < vectors->size(); ++i) {
    const Json& tc = (*vectors)[i];
    const uint16_t id = tc.at("cipher_suite").get<uint16_t>();
    if (!tally.runs_suite(id, CipherSuite::supported(id))) continue;
    SCOPED_TRACE("case " + std::to_string(i) + ", cipher_suite " + std::to_string(id));
    const auto suite = CipherSuite::create(id);
    ASSERT_TRUE(suite.ok()) << suite.error().to_string();
    tally.count(check_operation_case(*suite, tc));
  }
  EXPECT_EQ(tally.failed(), 0);
  if (CipherSuite::supported(0x0001)) {
    EXPECT_GT(tally.passed(), 0);
  } else {
    tally.expect_all_skipped();  // the file has suite 1 cases only
  }
}

}  // namespace
}  // namespace sotto::mls
