#include "sotto/mls/ratchet_tree.h"

#include <algorithm>
#include <string>
#include <utility>

namespace sotto::mls {
namespace {

constexpr std::string_view kLeafNodeLabel = "LeafNodeTBS";

std::string node_name(NodeIndex index) {
  return "node " + std::to_string(index.value);
}

// The parent_hash a node records: a parent's field, a commit leaf's source, else none.
const Bytes* recorded_parent_hash(const Node& node) {
  if (const auto* parent = std::get_if<ParentNode>(&node.content)) return &parent->parent_hash;
  const auto& leaf = std::get<LeafNode>(node.content);
  if (const auto* commit = std::get_if<CommitLeafSource>(&leaf.source)) {
    return &commit->parent_hash;
  }
  return nullptr;
}

bool contains(const std::vector<LeafIndex>& leaves, LeafIndex leaf) {
  return std::find(leaves.begin(), leaves.end(), leaf) != leaves.end();
}

}  // namespace

// ---- leaf node signatures --------------------------------------------------------------

Bytes leaf_node_tbs(const LeafNode& leaf, BytesView group_id, LeafIndex leaf_index) {
  tls::Writer w;
  tls::write(w, leaf.encryption_key);
  tls::write(w, leaf.signature_key);
  tls::write(w, leaf.credential);
  tls::write(w, leaf.capabilities);
  tls::write(w, leaf.source);
  tls::write(w, leaf.extensions);
  if (leaf.source_type() != LeafNodeSource::key_package) {
    w.opaque(group_id);
    w.u32(leaf_index.value);
  }
  return w.take();
}

bool verify_leaf_node_signature(const crypto::CipherSuite& suite, const LeafNode& leaf,
                                BytesView group_id, LeafIndex leaf_index) {
  return suite.verify_with_label(leaf.signature_key.data, kLeafNodeLabel,
                                 leaf_node_tbs(leaf, group_id, leaf_index), leaf.signature);
}

Result<void> sign_leaf_node(const crypto::CipherSuite& suite, LeafNode& leaf,
                            BytesView signature_private_key, BytesView group_id,
                            LeafIndex leaf_index) {
  SOTTO_TRY_ASSIGN(leaf.signature,
                   suite.sign_with_label(signature_private_key, kLeafNodeLabel,
                                         leaf_node_tbs(leaf, group_id, leaf_index)));
  return success();
}

// ---- construction and the extension form -----------------------------------------------

PublicTree::PublicTree(crypto::CipherSuite suite, LeafCount leaf_count)
    : suite_(std::move(suite)),
      leaf_count_(leaf_count),
      nodes_(node_width(leaf_count)),
      hash_cache_(node_width(leaf_count)) {}

PublicTree::PublicTree(crypto::CipherSuite suite)
    : PublicTree(std::move(suite), LeafCount::exactly(1).value()) {}

Result<PublicTree> PublicTree::from_extension(crypto::CipherSuite suite, const RatchetTree& nodes) {
  if (nodes.empty()) return Error(Errc::invalid_value, "ratchet tree has no nodes");
  if (!nodes.back().has_value()) {
    return Error(Errc::invalid_value, "ratchet tree ends in a blank node");
  }
  if (nodes.size() > node_width(LeafCount::exactly(LeafCount::kMax).value())) {
    return Error(Errc::invalid_value, "ratchet tree has too many nodes");
  }
  const auto width = static_cast<uint32_t>(nodes.size());
  SOTTO_TRY_ASSIGN(LeafCount count, LeafCount::covering(width / 2 + 1));
  PublicTree tree(std::move(suite), count);
  for (uint32_t i = 0; i < width; ++i) {
    if (!nodes[i]) continue;
    const NodeIndex index{i};
    const bool want_leaf = is_leaf(index);
    if ((nodes[i]->type() == NodeType::leaf) != want_leaf) {
      return Error(Errc::invalid_value, node_name(index) + " holds a node of the wrong kind");
    }
    if (const auto* parent = std::get_if<ParentNode>(&nodes[i]->content)) {
      for (const LeafIndex leaf : parent->unmerged_leaves) {
        if (!in_tree(leaf, count) || !is_descendant(to_node(leaf), index)) {
          return Error(Errc::invalid_value,
                       node_name(index) + " lists an unmerged leaf outside its subtree");
        }
      }
    }
    tree.nodes_[i] = nodes[i];
  }
  return tree;
}

Result<PublicTree> PublicTree::decode(crypto::CipherSuite suite, BytesView ratchet_tree) {
  SOTTO_TRY_ASSIGN(auto nodes, tls::decode<RatchetTree>(ratchet_tree));
  return from_extension(std::move(suite), nodes);
}

RatchetTree PublicTree::to_extension() const {
  size_t end = nodes_.size();
  while (end > 0 && !nodes_[end - 1]) --end;
  return RatchetTree(nodes_.begin(), nodes_.begin() + static_cast<std::ptrdiff_t>(end));
}

Bytes PublicTree::encode() const {
  return tls::encode(to_extension());
}

// ---- access ----------------------------------------------------------------------------

const std::optional<Node>& PublicTree::node(NodeIndex index) const {
  static const std::optional<Node> kBlank;
  return index.value < nodes_.size() ? nodes_[index.value] : kBlank;
}

const LeafNode* PublicTree::leaf(LeafIndex index) const {
  if (!in_tree(index, leaf_count_)) return nullptr;
  const auto& n = nodes_[to_node(index).value];
  return n ? std::get_if<LeafNode>(&n->content) : nullptr;
}

const ParentNode* PublicTree::parent_node(NodeIndex index) const {
  const auto& n = node(index);
  return n ? std::get_if<ParentNode>(&n->content) : nullptr;
}

bool PublicTree::blank(NodeIndex index) const {
  return !node(index).has_value();
}

const HpkePublicKey* PublicTree::encryption_key(NodeIndex index) const {
  const auto& n = node(index);
  if (!n) return nullptr;
  if (const auto* p = std::get_if<ParentNode>(&n->content)) return &p->encryption_key;
  return &std::get<LeafNode>(n->content).encryption_key;
}

// ---- changes ---------------------------------------------------------------------------

void PublicTree::resize(LeafCount leaf_count) {
  // Node indices of the left part stay put, and a node's hash depends on its subtree alone:
  // every surviving cache entry stays valid, and new slots start blank and uncached.
  leaf_count_ = leaf_count;
  nodes_.resize(node_width(leaf_count));
  hash_cache_.resize(node_width(leaf_count));
}

void PublicTree::invalidate(NodeIndex index) {
  hash_cache_[index.value].reset();
  auto path = direct_path(index, leaf_count_);
  if (!path.ok()) return;
  for (const NodeIndex ancestor : *path) hash_cache_[ancestor.value].reset();
}

void PublicTree::blank_direct_path(LeafIndex leaf) {
  auto path = direct_path(to_node(leaf), leaf_count_);
  if (!path.ok()) return;
  for (const NodeIndex ancestor : *path) nodes_[ancestor.value].reset();
  invalidate(to_node(leaf));
}

Result<void> PublicTree::set_node(NodeIndex index, std::optional<Node> node) {
  if (!in_tree(index, leaf_count_)) {
    return Error(Errc::invalid_argument, node_name(index) + " is outside the tree");
  }
  if (node && (node->type() == NodeType::leaf) != is_leaf(index)) {
    return Error(Errc::invalid_argument, node_name(index) + " cannot hold a node of that kind");
  }
  nodes_[index.value] = std::move(node);
  invalidate(index);
  return success();
}

Result<LeafIndex> PublicTree::add_leaf(LeafNode leaf) {
  std::optional<LeafIndex> slot;
  for (uint32_t i = 0; i < leaf_count_.value(); ++i) {
    if (!nodes_[2 * size_t{i}]) {
      slot = LeafIndex{i};
      break;
    }
  }
  if (!slot) {
    if (leaf_count_.value() == LeafCount::kMax) {
      return Error(Errc::invalid_argument, "ratchet tree is full");
    }
    slot = LeafIndex{leaf_count_.value()};
    resize(LeafCount::exactly(leaf_count_.value() * 2).value());
  }
  const NodeIndex at = to_node(*slot);
  SOTTO_TRY_ASSIGN(const auto path, direct_path(at, leaf_count_));
  for (const NodeIndex ancestor : path) {
    if (auto& n = nodes_[ancestor.value]) {
      std::get<ParentNode>(n->content).unmerged_leaves.push_back(*slot);
    }
  }
  nodes_[at.value] = Node{std::move(leaf)};
  invalidate(at);
  return *slot;
}

Result<void> PublicTree::update_leaf(LeafIndex index, LeafNode leaf) {
  if (this->leaf(index) == nullptr) {
    return Error(Errc::not_found, "leaf " + std::to_string(index.value) + " is blank");
  }
  nodes_[to_node(index).value] = Node{std::move(leaf)};
  blank_direct_path(index);
  return success();
}

Result<void> PublicTree::remove_leaf(LeafIndex index) {
  if (leaf(index) == nullptr) {
    return Error(Errc::not_found, "leaf " + std::to_string(index.value) + " is blank");
  }
  nodes_[to_node(index).value].reset();
  blank_direct_path(index);
  // Halve while the right half has no member (section 12.1.3).
  while (leaf_count_.value() > 1) {
    const uint32_t half = leaf_count_.value() / 2;
    bool occupied = false;
    for (uint32_t i = leaf_count_.value(); i-- > half;) {
      if (nodes_[2 * size_t{i}]) {
        occupied = true;
        break;
      }
    }
    if (occupied) break;
    resize(LeafCount::exactly(half).value());
  }
  return success();
}

// ---- resolution and the filtered direct path -------------------------------------------

std::vector<NodeIndex> PublicTree::resolution(NodeIndex index) const {
  std::vector<NodeIndex> out;
  if (!in_tree(index, leaf_count_)) return out;
  if (const auto& n = nodes_[index.value]) {
    out.push_back(index);
    if (const auto* parent = std::get_if<ParentNode>(&n->content)) {
      for (const LeafIndex leaf : parent->unmerged_leaves) out.push_back(to_node(leaf));
    }
    return out;
  }
  if (is_leaf(index)) return out;
  for (const auto child : {left(index, leaf_count_), right(index, leaf_count_)}) {
    auto part = resolution(*child);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

Result<std::vector<PublicTree::PathStep>> PublicTree::filtered_direct_path(LeafIndex leaf) const {
  if (!in_tree(leaf, leaf_count_)) {
    return Error(Errc::invalid_argument,
                 "leaf " + std::to_string(leaf.value) + " is outside the tree");
  }
  SOTTO_TRY_ASSIGN(const auto path, direct_path(to_node(leaf), leaf_count_));
  SOTTO_TRY_ASSIGN(const auto co, copath(to_node(leaf), leaf_count_));
  std::vector<PathStep> out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (!resolution(co[i]).empty()) out.push_back({path[i], co[i]});
  }
  return out;
}

// ---- tree hash (section 7.8) -----------------------------------------------------------

bool PublicTree::covers_any(NodeIndex index, const std::vector<LeafIndex>& excluded) const {
  return std::any_of(excluded.begin(), excluded.end(),
                     [&](LeafIndex leaf) { return is_descendant(to_node(leaf), index); });
}

Bytes PublicTree::hash_subtree(NodeIndex index, const std::vector<LeafIndex>& excluded) const {
  const bool cacheable = !covers_any(index, excluded);
  if (cacheable && hash_cache_[index.value]) return *hash_cache_[index.value];

  tls::Writer w;
  const auto& n = nodes_[index.value];
  if (const auto leaf_index = to_leaf(index)) {
    w.u8(static_cast<uint8_t>(NodeType::leaf));
    w.u32(leaf_index->value);
    const bool present = n.has_value() && !contains(excluded, *leaf_index);
    w.u8(present ? 1 : 0);
    if (present) tls::write(w, std::get<LeafNode>(n->content));
  } else {
    w.u8(static_cast<uint8_t>(NodeType::parent));
    w.u8(n ? 1 : 0);
    if (n) {
      const auto& parent = std::get<ParentNode>(n->content);
      if (cacheable) {
        tls::write(w, parent);
      } else {
        ParentNode original = parent;
        std::erase_if(original.unmerged_leaves,
                      [&](LeafIndex leaf) { return contains(excluded, leaf); });
        tls::write(w, original);
      }
    }
    w.opaque(hash_subtree(*left(index, leaf_count_), excluded));
    w.opaque(hash_subtree(*right(index, leaf_count_), excluded));
  }
  Bytes hash = suite_.hash(w.bytes());
  if (cacheable) hash_cache_[index.value] = hash;
  return hash;
}

Bytes PublicTree::tree_hash() const {
  return hash_subtree(root(leaf_count_), {});
}

Bytes PublicTree::tree_hash(NodeIndex index) const {
  if (!in_tree(index, leaf_count_)) return {};
  return hash_subtree(index, {});
}

// ---- parent hashes (section 7.9) -------------------------------------------------------

Result<Bytes> PublicTree::parent_hash(NodeIndex parent, NodeIndex copath_child) const {
  const ParentNode* p = parent_node(parent);
  if (p == nullptr || !in_tree(parent, leaf_count_)) {
    return Error(Errc::invalid_argument, node_name(parent) + " is not a non-blank parent");
  }
  if (left(parent, leaf_count_) != copath_child && right(parent, leaf_count_) != copath_child) {
    return Error(Errc::invalid_argument,
                 node_name(copath_child) + " is not a child of " + node_name(parent));
  }
  tls::Writer w;
  tls::write(w, p->encryption_key);
  w.opaque(p->parent_hash);
  w.opaque(hash_subtree(copath_child, p->unmerged_leaves));
  return suite_.hash(w.bytes());
}

Result<void> PublicTree::verify_parent_hashes() const {
  for (uint32_t i = 1; i < nodes_.size(); i += 2) {
    const NodeIndex index{i};
    const ParentNode* p = parent_node(index);
    if (p == nullptr) continue;
    const NodeIndex l = *left(index, leaf_count_);
    const NodeIndex r = *right(index, leaf_count_);
    bool valid = false;
    for (const auto& [child, sibling] : {std::pair{l, r}, std::pair{r, l}}) {
      SOTTO_TRY_ASSIGN(const Bytes expected, parent_hash(index, sibling));
      for (const NodeIndex d : resolution(child)) {
        const auto d_leaf = to_leaf(d);
        if (d_leaf && contains(p->unmerged_leaves, *d_leaf)) continue;
        const Bytes* recorded = recorded_parent_hash(*nodes_[d.value]);
        if (recorded != nullptr && *recorded == expected) {
          valid = true;
          break;
        }
      }
      if (valid) break;
    }
    if (!valid) {
      return Error(Errc::invalid_value,
                   node_name(index) + " is not parent-hash valid: no descendant records its hash");
    }
  }
  return success();
}

Result<void> PublicTree::verify_leaf_signatures(BytesView group_id) const {
  for (uint32_t i = 0; i < leaf_count_.value(); ++i) {
    const LeafNode* l = leaf(LeafIndex{i});
    if (l == nullptr) continue;
    if (!verify_leaf_node_signature(suite_, *l, group_id, LeafIndex{i})) {
      return Error(Errc::bad_signature,
                   "leaf " + std::to_string(i) + ": LeafNode signature does not verify");
    }
  }
  return success();
}

}  // namespace sotto::mls
