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
      counts_(node_width(leaf_count)),
      hashes_(size_t{node_width(leaf_count)} * suite_.hash_size()),
      hash_valid_(node_width(leaf_count)) {}

PublicTree::PublicTree(crypto::CipherSuite suite)
    : PublicTree(std::move(suite), LeafCount::exactly(1).value()) {}

Result<PublicTree> PublicTree::from_extension(crypto::CipherSuite suite, const RatchetTree& nodes) {
  return from_extension(std::move(suite), RatchetTree(nodes));
}

Result<PublicTree> PublicTree::from_extension(crypto::CipherSuite suite, RatchetTree&& nodes) {
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
    tree.nodes_[i] = std::make_shared<const Node>(std::move(*nodes[i]));
  }
  tree.recount();
  return tree;
}

Result<PublicTree> PublicTree::decode(crypto::CipherSuite suite, BytesView ratchet_tree) {
  SOTTO_TRY_ASSIGN(auto nodes, tls::decode<RatchetTree>(ratchet_tree));
  return from_extension(std::move(suite), std::move(nodes));
}

RatchetTree PublicTree::to_extension() const {
  size_t end = nodes_.size();
  while (end > 0 && !nodes_[end - 1]) --end;
  RatchetTree out;
  out.reserve(end);
  for (size_t i = 0; i < end; ++i) {
    if (nodes_[i]) {
      out.emplace_back(*nodes_[i]);
    } else {
      out.emplace_back();
    }
  }
  return out;
}

Bytes PublicTree::encode() const {
  size_t end = nodes_.size();
  while (end > 0 && !nodes_[end - 1]) --end;
  tls::Writer w;
  const size_t at = w.begin_vector();
  for (size_t i = 0; i < end; ++i) {
    // optional<Node>: a presence byte, then the node.
    w.u8(nodes_[i] ? 1 : 0);
    if (nodes_[i]) tls::write(w, *nodes_[i]);
  }
  w.end_vector(at);
  return w.take();
}

void PublicTree::recount() {
  // Level by level from the leaves up: a parent's counts are its children's plus itself.
  for (uint32_t i = 0; i < nodes_.size(); ++i) {
    const NodeIndex index{i};
    if (is_leaf(index)) counts_[i] = Counts{nodes_[i] ? 1u : 0u, nodes_[i] ? 1u : 0u};
  }
  const uint32_t top = level(root(leaf_count_));
  for (uint32_t k = 1; k <= top; ++k) {
    // Nodes of level k are 2^k - 1 + j * 2^(k+1).
    const uint32_t first = (uint32_t{1} << k) - 1;
    const uint32_t step = uint32_t{1} << (k + 1);
    for (uint64_t i = first; i < nodes_.size(); i += step) {
      const NodeIndex index{static_cast<uint32_t>(i)};
      const Counts& l = counts_[left(index, leaf_count_)->value];
      const Counts& r = counts_[right(index, leaf_count_)->value];
      counts_[i] = Counts{l.leaves + r.leaves, l.nodes + r.nodes + (nodes_[i] ? 1u : 0u)};
    }
  }
}

// ---- access ----------------------------------------------------------------------------

const Node* PublicTree::node(NodeIndex index) const {
  return index.value < nodes_.size() ? nodes_[index.value].get() : nullptr;
}

const LeafNode* PublicTree::leaf(LeafIndex index) const {
  if (!in_tree(index, leaf_count_)) return nullptr;
  const auto& n = nodes_[to_node(index).value];
  return n ? std::get_if<LeafNode>(&n->content) : nullptr;
}

const ParentNode* PublicTree::parent_node(NodeIndex index) const {
  const Node* n = node(index);
  return n ? std::get_if<ParentNode>(&n->content) : nullptr;
}

bool PublicTree::blank(NodeIndex index) const {
  return node(index) == nullptr;
}

const HpkePublicKey* PublicTree::encryption_key(NodeIndex index) const {
  const Node* n = node(index);
  if (!n) return nullptr;
  if (const auto* p = std::get_if<ParentNode>(&n->content)) return &p->encryption_key;
  return &std::get<LeafNode>(n->content).encryption_key;
}

uint32_t PublicTree::member_count() const {
  return counts_[root(leaf_count_).value].leaves;
}

uint32_t PublicTree::first_blank_leaf() const {
  NodeIndex at = root(leaf_count_);
  // A subtree of level k has 2^k leaves: it has a blank one when it counts fewer members.
  if (counts_[at.value].leaves == leaf_count_.value()) return leaf_count_.value();
  while (!is_leaf(at)) {
    const NodeIndex l = *left(at, leaf_count_);
    const bool left_full = counts_[l.value].leaves == (uint32_t{1} << level(l));
    at = left_full ? *right(at, leaf_count_) : l;
  }
  return to_leaf(at)->value;
}

// ---- changes ---------------------------------------------------------------------------

void PublicTree::resize(LeafCount leaf_count) {
  // Node indices of the left part stay put, and a node's hash and counts depend on its
  // subtree alone: every surviving entry stays valid. Growing puts the old tree under the new
  // root's left child, with a blank right half; the new root's counts are the old root's.
  const NodeIndex old_root = root(leaf_count_);
  const bool growing = leaf_count.value() > leaf_count_.value();
  leaf_count_ = leaf_count;
  const uint32_t width = node_width(leaf_count);
  nodes_.resize(width);
  counts_.resize(width);
  hashes_.resize(size_t{width} * suite_.hash_size());
  hash_valid_.resize(width);
  // New slots come value-initialised: blank, counting nothing, no hash.
  if (growing) {
    // The old tree is the left subtree of every new node above its root; the right halves
    // are blank.
    for (NodeIndex up = old_root; up != root(leaf_count);) {
      up = *parent(up, leaf_count);
      counts_[up.value] = counts_[old_root.value];
    }
  }
}

void PublicTree::invalidate(NodeIndex index) {
  hash_valid_[index.value] = 0;
  for (auto p = parent(index, leaf_count_); p; p = parent(*p, leaf_count_)) {
    hash_valid_[p->value] = 0;
  }
}

void PublicTree::put(NodeIndex index, std::shared_ptr<const Node> node) {
  const bool was = nodes_[index.value] != nullptr;
  const bool is = node != nullptr;
  nodes_[index.value] = std::move(node);
  hash_valid_[index.value] = 0;
  const int32_t delta = static_cast<int32_t>(is) - static_cast<int32_t>(was);
  const bool leaf_node = is_leaf(index);
  counts_[index.value].nodes += static_cast<uint32_t>(delta);
  if (leaf_node) counts_[index.value].leaves += static_cast<uint32_t>(delta);
  for (auto p = parent(index, leaf_count_); p; p = parent(*p, leaf_count_)) {
    hash_valid_[p->value] = 0;
    counts_[p->value].nodes += static_cast<uint32_t>(delta);
    if (leaf_node) counts_[p->value].leaves += static_cast<uint32_t>(delta);
  }
}

void PublicTree::blank_direct_path(LeafIndex leaf) {
  for (auto p = parent(to_node(leaf), leaf_count_); p; p = parent(*p, leaf_count_)) {
    if (nodes_[p->value]) put(*p, nullptr);
  }
  invalidate(to_node(leaf));
}

Result<void> PublicTree::set_node(NodeIndex index, std::optional<Node> node) {
  if (!in_tree(index, leaf_count_)) {
    return Error(Errc::invalid_argument, node_name(index) + " is outside the tree");
  }
  if (node && (node->type() == NodeType::leaf) != is_leaf(index)) {
    return Error(Errc::invalid_argument, node_name(index) + " cannot hold a node of that kind");
  }
  put(index, node ? std::make_shared<const Node>(std::move(*node)) : nullptr);
  return success();
}

Result<LeafIndex> PublicTree::add_leaf(LeafNode leaf) {
  LeafIndex slot{first_blank_leaf()};
  if (slot.value == leaf_count_.value()) {
    if (leaf_count_.value() == LeafCount::kMax) {
      return Error(Errc::invalid_argument, "ratchet tree is full");
    }
    resize(LeafCount::exactly(leaf_count_.value() * 2).value());
  }
  const NodeIndex at = to_node(slot);
  for (auto p = parent(at, leaf_count_); p; p = parent(*p, leaf_count_)) {
    if (const auto& n = nodes_[p->value]) {
      auto changed = std::make_shared<Node>(*n);
      std::get<ParentNode>(changed->content).unmerged_leaves.push_back(slot);
      put(*p, std::move(changed));
    }
  }
  put(at, std::make_shared<const Node>(Node{std::move(leaf)}));
  return slot;
}

Result<void> PublicTree::update_leaf(LeafIndex index, LeafNode leaf) {
  if (this->leaf(index) == nullptr) {
    return Error(Errc::not_found, "leaf " + std::to_string(index.value) + " is blank");
  }
  put(to_node(index), std::make_shared<const Node>(Node{std::move(leaf)}));
  blank_direct_path(index);
  return success();
}

Result<void> PublicTree::remove_leaf(LeafIndex index) {
  if (leaf(index) == nullptr) {
    return Error(Errc::not_found, "leaf " + std::to_string(index.value) + " is blank");
  }
  put(to_node(index), nullptr);
  blank_direct_path(index);
  // Halve while the right half has no member (section 12.1.3).
  while (leaf_count_.value() > 1) {
    const NodeIndex right_half = *right(root(leaf_count_), leaf_count_);
    if (counts_[right_half.value].leaves != 0) break;
    resize(LeafCount::exactly(leaf_count_.value() / 2).value());
  }
  return success();
}

// ---- resolution and the filtered direct path -------------------------------------------

void PublicTree::append_resolution(NodeIndex index, std::vector<NodeIndex>& out) const {
  if (counts_[index.value].nodes == 0) return;  // an all-blank subtree resolves to nothing
  if (const auto& n = nodes_[index.value]) {
    out.push_back(index);
    if (const auto* parent = std::get_if<ParentNode>(&n->content)) {
      for (const LeafIndex leaf : parent->unmerged_leaves) out.push_back(to_node(leaf));
    }
    return;
  }
  append_resolution(*left(index, leaf_count_), out);
  append_resolution(*right(index, leaf_count_), out);
}

std::vector<NodeIndex> PublicTree::resolution(NodeIndex index) const {
  std::vector<NodeIndex> out;
  if (in_tree(index, leaf_count_)) append_resolution(index, out);
  return out;
}

bool PublicTree::resolution_empty(NodeIndex index) const {
  return !in_tree(index, leaf_count_) || counts_[index.value].nodes == 0;
}

Result<std::vector<PublicTree::PathStep>> PublicTree::filtered_direct_path(LeafIndex leaf) const {
  if (!in_tree(leaf, leaf_count_)) {
    return Error(Errc::invalid_argument,
                 "leaf " + std::to_string(leaf.value) + " is outside the tree");
  }
  std::vector<PathStep> out;
  for (NodeIndex at = to_node(leaf); at != root(leaf_count_);) {
    const NodeIndex copath_child = *sibling(at, leaf_count_);
    at = *parent(at, leaf_count_);
    if (!resolution_empty(copath_child)) out.push_back({at, copath_child});
  }
  return out;
}

// ---- tree hash (section 7.8) -----------------------------------------------------------

bool PublicTree::covers_any(NodeIndex index, const std::vector<LeafIndex>& excluded) const {
  return std::any_of(excluded.begin(), excluded.end(),
                     [&](LeafIndex leaf) { return is_descendant(to_node(leaf), index); });
}

Bytes PublicTree::hash_subtree(NodeIndex index, const std::vector<LeafIndex>& excluded) const {
  const size_t nh = suite_.hash_size();
  const auto cached = hashes_.begin() + static_cast<std::ptrdiff_t>(size_t{index.value} * nh);
  const bool cacheable = !covers_any(index, excluded);
  if (cacheable && hash_valid_[index.value]) {
    return Bytes(cached, cached + static_cast<std::ptrdiff_t>(nh));
  }

  tls::Writer w;
  const auto& n = nodes_[index.value];
  if (const auto leaf_index = to_leaf(index)) {
    w.u8(static_cast<uint8_t>(NodeType::leaf));
    w.u32(leaf_index->value);
    const bool present = n != nullptr && !contains(excluded, *leaf_index);
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
  if (cacheable && hash.size() == nh) {
    std::copy(hash.begin(), hash.end(), cached);
    hash_valid_[index.value] = 1;
  }
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
