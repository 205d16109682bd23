#include "sotto/mls/treekem.h"

#include <set>
#include <string>
#include <utility>

namespace sotto::mls {
namespace {

constexpr std::string_view kUpdatePathNodeLabel = "UpdatePathNode";

std::string node_name(NodeIndex index) {
  return "node " + std::to_string(index.value);
}

bool contains(const std::vector<LeafIndex>& leaves, NodeIndex node) {
  const auto leaf = to_leaf(node);
  if (!leaf) return false;
  for (const LeafIndex l : leaves) {
    if (l == *leaf) return true;
  }
  return false;
}

// The resolution of `node` without the leaves of `excluded`: the recipients of one
// UpdatePathNode, in ciphertext order.
std::vector<NodeIndex> recipients(const PublicTree& tree, NodeIndex node,
                                  const std::vector<LeafIndex>& excluded) {
  std::vector<NodeIndex> out;
  for (const NodeIndex r : tree.resolution(node)) {
    if (!contains(excluded, r)) out.push_back(r);
  }
  return out;
}

// Puts `leaf` at `sender` and one new parent per filtered path step with `keys`, then sets
// the parent hashes from the root down. Returns the parent hash the leaf must record (empty
// when the filtered path is empty). `tree` is a scratch copy.
Result<Bytes> merge_path_nodes(PublicTree& tree, LeafIndex sender, LeafNode leaf,
                               const std::vector<PublicTree::PathStep>& steps,
                               const std::vector<HpkePublicKey>& keys) {
  SOTTO_TRY(tree.update_leaf(sender, std::move(leaf)));
  for (size_t i = 0; i < steps.size(); ++i) {
    SOTTO_TRY(tree.set_node(steps[i].node, Node{ParentNode{keys[i], {}, {}}}));
  }
  Bytes below;  // the parent hash the node below the current step records
  for (size_t i = steps.size(); i-- > 0;) {
    SOTTO_TRY_ASSIGN(below, tree.parent_hash(steps[i].node, steps[i].copath_child));
    if (i > 0) {
      SOTTO_TRY(tree.set_node(steps[i - 1].node, Node{ParentNode{keys[i - 1], below, {}}}));
    }
  }
  return below;
}

// Section 12.4.2: no public key of the path is in the tree it is merged into (which also
// keeps the committer from reusing its current leaf key).
Result<void> check_keys_fresh(const PublicTree& tree, const UpdatePath& path) {
  std::set<Bytes> keys{path.leaf_node.encryption_key.data};
  for (const auto& node : path.nodes) {
    if (!keys.insert(node.encryption_key.data).second) {
      return Error(Errc::invalid_value, "UpdatePath repeats a public key");
    }
  }
  for (uint32_t i = 0; i < tree.node_count(); ++i) {
    const HpkePublicKey* key = tree.encryption_key(NodeIndex{i});
    if (key != nullptr && keys.count(key->data) != 0) {
      return Error(Errc::invalid_value,
                   "UpdatePath public key is already in the tree at " + node_name(NodeIndex{i}));
    }
  }
  return success();
}

Bytes provisional_context(GroupContext context, const PublicTree& tree) {
  context.tree_hash = tree.tree_hash();
  return tls::encode(context);
}

}  // namespace

Result<crypto::HpkeKeyPair> node_key_pair(const crypto::CipherSuite& suite, BytesView path_secret) {
  SOTTO_TRY_ASSIGN(const SecureBytes node_secret, suite.derive_secret(path_secret, "node"));
  return suite.derive_hpke_key_pair(node_secret);
}

// ---- TreePrivateKey --------------------------------------------------------------------

bool TreePrivateKey::has_key(NodeIndex node) const {
  return node == to_node(leaf) || path_secrets.count(node.value) != 0;
}

Result<crypto::HpkeKeyPair> TreePrivateKey::key_pair(const crypto::CipherSuite& suite,
                                                     NodeIndex node) const {
  if (node == to_node(leaf)) return suite.hpke_key_pair_from_private(leaf_private_key);
  const auto it = path_secrets.find(node.value);
  if (it == path_secrets.end()) {
    return Error(Errc::not_found, "no private key for " + node_name(node));
  }
  return node_key_pair(suite, it->second);
}

Result<void> TreePrivateKey::check_against(const PublicTree& tree) const {
  auto check = [&](NodeIndex node) -> Result<void> {
    const HpkePublicKey* expected = tree.encryption_key(node);
    if (expected == nullptr) return Error(Errc::invalid_value, node_name(node) + " is blank");
    SOTTO_TRY_ASSIGN(const auto pair, key_pair(tree.suite(), node));
    if (pair.public_key != expected->data) {
      return Error(Errc::invalid_value,
                   "private key does not match the public key of " + node_name(node));
    }
    return success();
  };
  SOTTO_TRY(check(to_node(leaf)));
  for (const auto& entry : path_secrets) SOTTO_TRY(check(NodeIndex{entry.first}));
  return success();
}

// ---- the committer ---------------------------------------------------------------------

Result<CreatedUpdatePath> create_update_path(const PublicTree& tree, LeafIndex sender,
                                             LeafNode leaf, BytesView signature_private_key,
                                             const GroupContext& context,
                                             const std::vector<LeafIndex>& excluded,
                                             const UpdatePathSecrets& secrets) {
  const crypto::CipherSuite& suite = tree.suite();
  if (tree.leaf(sender) == nullptr) {
    return Error(Errc::invalid_argument,
                 "committer leaf " + std::to_string(sender.value) + " is blank");
  }
  SOTTO_TRY_ASSIGN(const auto steps, tree.filtered_direct_path(sender));

  // path_secret[i] for step i; path_secret[n] is the commit secret.
  std::vector<SecureBytes> path_secrets;
  path_secrets.push_back(secrets.path_secret);
  for (size_t i = 0; i < steps.size(); ++i) {
    SOTTO_TRY_ASSIGN(auto next, suite.derive_secret(path_secrets.back(), "path"));
    path_secrets.push_back(std::move(next));
  }
  std::vector<HpkePublicKey> keys;
  for (size_t i = 0; i < steps.size(); ++i) {
    SOTTO_TRY_ASSIGN(auto pair, node_key_pair(suite, path_secrets[i]));
    keys.push_back(HpkePublicKey{std::move(pair.public_key)});
  }
  SOTTO_TRY_ASSIGN(auto leaf_pair, node_key_pair(suite, secrets.leaf_secret));

  PublicTree after = tree;
  leaf.encryption_key = HpkePublicKey{leaf_pair.public_key};
  leaf.source = CommitLeafSource{};
  SOTTO_TRY_ASSIGN(Bytes leaf_parent_hash, merge_path_nodes(after, sender, leaf, steps, keys));
  leaf.source = CommitLeafSource{std::move(leaf_parent_hash)};
  SOTTO_TRY(sign_leaf_node(suite, leaf, signature_private_key, context.group_id, sender));
  if (!verify_leaf_node_signature(suite, leaf, context.group_id, sender)) {
    return Error(Errc::invalid_argument,
                 "signature private key does not match the leaf's signature_key");
  }
  SOTTO_TRY(after.set_node(to_node(sender), Node{leaf}));

  CreatedUpdatePath out{
      UpdatePath{std::move(leaf), {}}, std::move(after), TreePrivateKey{}, path_secrets.back(), {}};
  out.provisional_context = provisional_context(context, out.tree);
  for (size_t i = 0; i < steps.size(); ++i) {
    UpdatePathNode node{keys[i], {}};
    for (const NodeIndex r : recipients(out.tree, steps[i].copath_child, excluded)) {
      SOTTO_TRY_ASSIGN(
          auto ct, suite.encrypt_with_label(out.tree.encryption_key(r)->data, kUpdatePathNodeLabel,
                                            out.provisional_context, path_secrets[i]));
      node.encrypted_path_secret.push_back(
          HpkeCiphertext{std::move(ct.kem_output), std::move(ct.ciphertext)});
    }
    out.path.nodes.push_back(std::move(node));
  }

  out.private_key.leaf = sender;
  out.private_key.leaf_private_key = std::move(leaf_pair.private_key);
  for (size_t i = 0; i < steps.size(); ++i) {
    out.private_key.path_secrets[steps[i].node.value] = path_secrets[i];
  }
  return out;
}

// ---- the receivers ---------------------------------------------------------------------

Result<PublicTree> merge_update_path(const PublicTree& tree, LeafIndex sender,
                                     const UpdatePath& path, BytesView group_id) {
  if (tree.leaf(sender) == nullptr) {
    return Error(Errc::invalid_argument,
                 "committer leaf " + std::to_string(sender.value) + " is blank");
  }
  SOTTO_TRY_ASSIGN(const auto steps, tree.filtered_direct_path(sender));
  if (path.nodes.size() != steps.size()) {
    return Error(Errc::invalid_value, "UpdatePath has " + std::to_string(path.nodes.size()) +
                                          " nodes, the filtered direct path " +
                                          std::to_string(steps.size()));
  }
  const auto* source = std::get_if<CommitLeafSource>(&path.leaf_node.source);
  if (source == nullptr) {
    return Error(Errc::invalid_value, "UpdatePath leaf node source is not commit");
  }
  if (!verify_leaf_node_signature(tree.suite(), path.leaf_node, group_id, sender)) {
    return Error(Errc::bad_signature, "UpdatePath leaf node signature does not verify");
  }
  std::vector<HpkePublicKey> keys;
  for (const auto& node : path.nodes) keys.push_back(node.encryption_key);
  SOTTO_TRY(check_keys_fresh(tree, path));

  PublicTree after = tree;
  SOTTO_TRY_ASSIGN(const Bytes expected,
                   merge_path_nodes(after, sender, path.leaf_node, steps, keys));
  if (expected != source->parent_hash) {
    return Error(Errc::invalid_value,
                 "UpdatePath leaf parent_hash does not match the path's parent hash chain");
  }
  return after;
}

Result<ProcessedUpdatePath> process_update_path(const PublicTree& tree, LeafIndex sender,
                                                const UpdatePath& path,
                                                const TreePrivateKey& receiver,
                                                const GroupContext& context,
                                                const std::vector<LeafIndex>& excluded) {
  const crypto::CipherSuite& suite = tree.suite();
  if (receiver.leaf == sender) {
    return Error(Errc::invalid_argument, "the committer does not process its own UpdatePath");
  }
  SOTTO_TRY_ASSIGN(PublicTree after, merge_update_path(tree, sender, path, context.group_id));
  SOTTO_TRY_ASSIGN(const auto steps, tree.filtered_direct_path(sender));

  // The lowest node of the sender's filtered path above the receiver.
  size_t at = steps.size();
  for (size_t i = 0; i < steps.size(); ++i) {
    if (is_descendant(to_node(receiver.leaf), steps[i].node)) {
      at = i;
      break;
    }
  }
  if (at == steps.size()) {
    return Error(Errc::invalid_argument, "receiver leaf " + std::to_string(receiver.leaf.value) +
                                             " is not below the committer's path");
  }
  const auto targets = recipients(after, steps[at].copath_child, excluded);
  const auto& ciphertexts = path.nodes[at].encrypted_path_secret;
  if (ciphertexts.size() != targets.size()) {
    return Error(Errc::invalid_value, "UpdatePath node " + std::to_string(at) + " has " +
                                          std::to_string(ciphertexts.size()) +
                                          " ciphertexts for a resolution of " +
                                          std::to_string(targets.size()));
  }
  size_t slot = targets.size();
  for (size_t j = 0; j < targets.size(); ++j) {
    if (receiver.has_key(targets[j])) {
      slot = j;
      break;
    }
  }
  if (slot == targets.size()) {
    return Error(Errc::not_found,
                 "receiver holds no key in the resolution of " + node_name(steps[at].copath_child));
  }

  const Bytes context_bytes = provisional_context(context, after);
  SOTTO_TRY_ASSIGN(const auto pair, receiver.key_pair(suite, targets[slot]));
  SOTTO_TRY_ASSIGN(
      SecureBytes secret,
      suite.decrypt_with_label(pair, kUpdatePathNodeLabel, context_bytes,
                               ciphertexts[slot].kem_output, ciphertexts[slot].ciphertext));

  ProcessedUpdatePath out{std::move(after), receiver, steps[at].node, secret, {}};
  // Secrets of nodes the commit replaced or blanked are stale.
  SOTTO_TRY_ASSIGN(const auto sender_path, direct_path(to_node(sender), tree.leaf_count()));
  for (const NodeIndex n : sender_path) out.private_key.path_secrets.erase(n.value);
  for (size_t i = at; i < steps.size(); ++i) {
    SOTTO_TRY_ASSIGN(const auto derived, node_key_pair(suite, secret));
    if (derived.public_key != path.nodes[i].encryption_key.data) {
      return Error(Errc::invalid_value, "UpdatePath public key of " + node_name(steps[i].node) +
                                            " does not match its path secret");
    }
    out.private_key.path_secrets[steps[i].node.value] = secret;
    SOTTO_TRY_ASSIGN(secret, suite.derive_secret(secret, "path"));
  }
  out.commit_secret = std::move(secret);
  return out;
}

}  // namespace sotto::mls
