// The vector files of the ratchet tree: tree-validation.json, tree-operations.json and
// treekem.json.
#include <string>
#include <vector>

#include "case_check.h"
#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/ratchet_tree.h"
#include "sotto/mls/testing/vector_cases.h"
#include "sotto/mls/treekem.h"

namespace sotto::mls::testing {

using crypto::CipherSuite;

namespace {

// ---- tree-validation.json: per case a ratchet tree and its group_id; the resolution and tree
// hash of every node; every parent hash and leaf signature valid.

bool check_validation_case(CaseCheck& c, const CipherSuite& suite, const Json& tc) {
  const Bytes encoded = c.hex(tc, "tree");
  auto tree = PublicTree::decode(suite, encoded);
  if (!c.succeeded(tree, "tree")) return false;
  c.same(tree->encode(), encoded, "re-encoded tree");

  const Json& resolutions = tc.at("resolutions");
  const Json& hashes = tc.at("tree_hashes");
  if (resolutions.size() != tree->node_count() || hashes.size() != tree->node_count()) {
    return c.fail("the tree has " + std::to_string(tree->node_count()) + " nodes, the vector " +
                  std::to_string(resolutions.size()) + " resolutions and " +
                  std::to_string(hashes.size()) + " hashes");
  }
  for (uint32_t i = 0; i < tree->node_count(); ++i) {
    std::vector<uint32_t> got;
    for (const NodeIndex n : tree->resolution(NodeIndex{i})) got.push_back(n.value);
    c.expect(got == resolutions[i].get<std::vector<uint32_t>>(),
             "resolution of node " + std::to_string(i) + " differs");
    c.same(tree->tree_hash(NodeIndex{i}), c.hex_value(hashes[i], "tree_hashes"),
           "tree hash of node " + std::to_string(i));
  }
  c.succeeded(tree->verify_parent_hashes(), "verify_parent_hashes");
  const Bytes group_id = c.hex(tc, "group_id");
  c.succeeded(tree->verify_leaf_signatures(group_id), "verify_leaf_signatures");

  // Negative control: a parent whose key changed is no longer vouched for by its child.
  RatchetTree nodes = tree->to_extension();
  for (auto& n : nodes) {
    if (!n || n->type() != NodeType::parent) continue;
    std::get<ParentNode>(n->content).encryption_key.data.back() ^= 1;
    auto tampered = PublicTree::from_extension(suite, nodes);
    c.expect(tampered.ok() && !tampered->verify_parent_hashes().ok(),
             "a tampered parent key passed parent-hash verification");
    break;
  }
  // Negative control: another group's id breaks every update or commit leaf's signature.
  bool group_bound = false;
  for (uint32_t i = 0; i < tree->leaf_count().value(); ++i) {
    const LeafNode* leaf = tree->leaf(LeafIndex{i});
    if (leaf != nullptr && leaf->source_type() != LeafNodeSource::key_package) group_bound = true;
  }
  Bytes other_group = group_id;
  other_group.push_back(0);
  c.expect(!group_bound || !tree->verify_leaf_signatures(other_group).ok(),
           "leaf signatures verify under another group id");
  return c.ok();
}

// ---- tree-operations.json: an Add, Update or Remove applied to tree_before gives tree_after,
// byte for byte, with the tree hashes before and after.

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

bool check_operation_case(CaseCheck& c, const CipherSuite& suite, const Json& tc) {
  auto tree = PublicTree::decode(suite, c.hex(tc, "tree_before"));
  if (!c.succeeded(tree, "tree_before")) return false;
  c.same(tree->tree_hash(), c.hex(tc, "tree_hash_before"), "tree_hash_before");
  const auto proposal = tls::decode<Proposal>(c.hex(tc, "proposal"));
  if (!c.succeeded(proposal, "proposal")) return false;
  const LeafIndex sender{tc.at("proposal_sender").get<uint32_t>()};
  if (!c.succeeded(apply(*tree, *proposal, sender), "apply")) return false;
  const Bytes after = c.hex(tc, "tree_after");
  c.same(tree->encode(), after, "tree_after");
  c.same(tree->tree_hash(), c.hex(tc, "tree_hash_after"), "tree_hash_after");
  // The cached hashes agree with a tree decoded afresh.
  auto fresh = PublicTree::decode(suite, after);
  if (!c.succeeded(fresh, "tree_after")) return false;
  return c.same(fresh->tree_hash(), tree->tree_hash(), "fresh tree hash") && c.ok();
}

// ---- treekem.json (mls-implementations test-vectors.md, "TreeKEM"): per case a ratchet tree,
// the private state of some leaves (encryption key, path secrets), and UpdatePaths from
// several senders. For each UpdatePath:
//   - merged into the tree, its parent hashes chain and the tree hash is tree_hash_after;
//   - every leaf with private state other than the sender decrypts path_secrets[leaf] at its
//     lowest common ancestor with the sender and derives commit_secret;
//   - the sender makes a new UpdatePath with fresh secrets and every other leaf derives the
//     same commit secret from it.
// The path secrets are encrypted to the provisional GroupContext: version mls10, the case's
// cipher_suite, group_id, epoch and confirmed_transcript_hash, no extensions, and tree_hash
// the hash of the tree after the merge.

bool check_update_path(CaseCheck& c, const TreeKemCase& tk, const Json& up, std::string_view tag) {
  const CipherSuite& suite = tk.tree.suite();
  const LeafIndex sender{up.at("sender").get<uint32_t>()};
  const std::string where = "sender " + std::to_string(sender.value) + ": ";
  const auto path = tls::decode<UpdatePath>(c.hex(up, "update_path"));
  if (!c.succeeded(path, where + "update_path")) return false;
  const Bytes commit_secret = c.hex(up, "commit_secret");

  const auto merged = merge_update_path(tk.tree, sender, *path, tk.context.group_id);
  if (!c.succeeded(merged, where + "merge")) return false;
  c.same(merged->tree_hash(), c.hex(up, "tree_hash_after"), where + "tree_hash_after");
  c.succeeded(merged->verify_parent_hashes(), where + "merged tree");

  const Json& path_secrets = up.at("path_secrets");
  for (const auto& [index, member] : tk.members) {
    if (index == sender.value) continue;
    const std::string receiver = where + "receiver " + std::to_string(index) + ": ";
    const auto got = process_update_path(tk.tree, sender, *path, member.key, tk.context, {});
    if (!c.succeeded(got, receiver + "process")) continue;
    if (index < path_secrets.size() && !path_secrets[index].is_null()) {
      c.same(got->path_secret, c.hex_value(path_secrets[index], "path_secrets"),
             receiver + "path_secret");
    }
    c.same(got->commit_secret, commit_secret, receiver + "commit_secret");
    c.succeeded(got->private_key.check_against(got->tree), receiver + "new keys");
  }

  // A new UpdatePath from the same sender, processed by every other member.
  const auto sender_member = tk.members.find(sender.value);
  if (sender_member == tk.members.end()) return c.ok();
  const LeafNode* sender_leaf = tk.tree.leaf(sender);
  if (sender_leaf == nullptr) return c.fail(where + "the sender's leaf is blank");
  const auto created =
      create_update_path(tk.tree, sender, *sender_leaf, sender_member->second.signature_priv,
                         tk.context, {}, update_path_test_secrets(suite, tag, sender.value));
  if (!c.succeeded(created, where + "create")) return false;
  c.succeeded(created->tree.verify_parent_hashes(), where + "created tree");
  c.succeeded(created->private_key.check_against(created->tree), where + "committer's new keys");
  for (const auto& [index, member] : tk.members) {
    if (index == sender.value) continue;
    const std::string receiver = where + "receiver " + std::to_string(index) + " of a new path: ";
    const auto got =
        process_update_path(tk.tree, sender, created->path, member.key, tk.context, {});
    if (!c.succeeded(got, receiver + "process")) continue;
    c.same(got->commit_secret, created->commit_secret, receiver + "commit_secret");
    c.same(got->tree.tree_hash(), created->tree.tree_hash(), receiver + "tree hash");
  }
  return c.ok();
}

bool check_treekem_case(CaseCheck& c, const CipherSuite& suite, const Json& tc, size_t number) {
  auto tk = parse_treekem_case(suite, tc);
  if (!c.succeeded(tk, "case")) return false;
  c.succeeded(tk->tree.verify_parent_hashes(), "verify_parent_hashes");
  for (const auto& [index, member] : tk->members) {
    c.succeeded(member.key.check_against(tk->tree), "leaf " + std::to_string(index));
  }
  for (const Json& up : tc.at("update_paths")) {
    check_update_path(c, *tk, up, "case " + std::to_string(number));
  }
  return c.ok();
}

VectorReport check_tree_file(std::string_view kind, const Json& file,
                             bool (*check)(CaseCheck&, const CipherSuite&, const Json&, size_t)) {
  ReportBuilder report(kind);
  for (size_t i = 0; i < file.size(); ++i) {
    const uint16_t id = suite_of(file[i]);
    const std::string name = case_name(i, id);
    if (!report.runs_suite(id, name)) continue;
    report.run(name, [&](CaseCheck& c) {
      auto suite = CipherSuite::create(id);
      return c.succeeded(suite, "cipher suite") && check(c, *suite, file[i], i);
    });
  }
  return report.take();
}

}  // namespace

Result<TreeKemCase> parse_treekem_case(const CipherSuite& suite, const Json& tc) {
  // Reads through CaseCheck, whose first mismatch becomes the error; the JSON library's
  // exceptions for a malformed case stop here too.
  CaseCheck c;
  try {
    auto tree = PublicTree::decode(suite, c.hex(tc, "ratchet_tree"));
    if (!tree.ok()) return std::move(tree).error().with_context("ratchet_tree");
    GroupContext context;
    context.cipher_suite = static_cast<CipherSuiteId>(suite.id());
    context.group_id = c.hex(tc, "group_id");
    context.epoch = tc.at("epoch").get<uint64_t>();
    context.confirmed_transcript_hash = c.hex(tc, "confirmed_transcript_hash");
    TreeKemCase out{std::move(tree).value(), std::move(context), {}};
    for (const Json& lp : tc.at("leaves_private")) {
      TreeKemMember m;
      m.key.leaf = LeafIndex{lp.at("index").get<uint32_t>()};
      m.key.leaf_private_key = SecureBytes(c.hex(lp, "encryption_priv"));
      for (const Json& ps : lp.at("path_secrets")) {
        m.key.path_secrets[ps.at("node").get<uint32_t>()] = SecureBytes(c.hex(ps, "path_secret"));
      }
      m.signature_priv = SecureBytes(c.hex(lp, "signature_priv"));
      const uint32_t index = m.key.leaf.value;
      out.members.emplace(index, std::move(m));
    }
    if (!c.ok()) return Error(Errc::invalid_value, c.take().front());
    return out;
  } catch (const nlohmann::json::exception& e) {
    return Error(Errc::invalid_value, std::string("malformed case: ") + e.what());
  }
}

UpdatePathSecrets update_path_test_secrets(const CipherSuite& suite, std::string_view tag,
                                           uint32_t sender) {
  const std::string base = std::string(tag) + "/" + std::to_string(sender);
  return {SecureBytes(suite.hash(as_bytes(base + "/leaf"))),
          SecureBytes(suite.hash(as_bytes(base + "/path")))};
}

VectorReport check_tree_validation(const Json& file) {
  return check_tree_file("tree-validation", file,
                         [](CaseCheck& c, const CipherSuite& suite, const Json& tc, size_t) {
                           return check_validation_case(c, suite, tc);
                         });
}

VectorReport check_tree_operations(const Json& file) {
  return check_tree_file("tree-operations", file,
                         [](CaseCheck& c, const CipherSuite& suite, const Json& tc, size_t) {
                           return check_operation_case(c, suite, tc);
                         });
}

VectorReport check_treekem(const Json& file) {
  return check_tree_file("treekem", file, check_treekem_case);
}

}  // namespace sotto::mls::testing
