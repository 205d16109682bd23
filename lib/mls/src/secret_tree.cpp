#include "sotto/mls/secret_tree.h"

#include <algorithm>
#include <limits>
#include <string>

namespace sotto::mls {

Result<KeyAndNonce> sender_data_key_nonce(const crypto::CipherSuite& suite,
                                          BytesView sender_data_secret, BytesView ciphertext) {
  const BytesView sample = ciphertext.first(std::min(ciphertext.size(), suite.hash_size()));
  KeyAndNonce out;
  SOTTO_TRY_ASSIGN(
      out.key, suite.expand_with_label(sender_data_secret, "key", sample, suite.aead_key_size()));
  SOTTO_TRY_ASSIGN(out.nonce, suite.expand_with_label(sender_data_secret, "nonce", sample,
                                                      suite.aead_nonce_size()));
  return out;
}

Result<SecretTree> SecretTree::create(const crypto::CipherSuite& suite, LeafCount leaves,
                                      BytesView encryption_secret, uint32_t max_skipped) {
  if (encryption_secret.size() != suite.hash_size()) {
    return Error(Errc::invalid_argument,
                 "secret tree: encryption_secret is " + std::to_string(encryption_secret.size()) +
                     " bytes, not Nh = " + std::to_string(suite.hash_size()));
  }
  SecretTree tree(suite, leaves, max_skipped);
  tree.nodes_.resize(node_width(leaves));
  tree.nodes_[root(leaves).value] = SecureBytes(encryption_secret);
  tree.ratchets_.resize(leaves.value());
  return tree;
}

Result<SecretTree::Ratchet*> SecretTree::ratchet(LeafIndex leaf, RatchetType type) {
  if (!in_tree(leaf, leaves_)) {
    return Error(Errc::invalid_argument,
                 "secret tree: leaf " + std::to_string(leaf.value) + " is outside the tree");
  }
  auto& slot = ratchets_[leaf.value];
  if (!slot) {
    // The lowest node on the leaf's path whose secret is still held; then down to the leaf,
    // deriving both children of each node and deleting the node.
    const NodeIndex target = to_node(leaf);
    SOTTO_TRY_ASSIGN(const auto path, direct_path(target, leaves_));
    NodeIndex at = target;
    size_t up = 0;
    while (!nodes_[at.value]) {
      if (up == path.size()) {
        return Error(Errc::internal,
                     "secret tree: no secret on the path of leaf " + std::to_string(leaf.value));
      }
      at = path[up++];
    }
    const size_t nh = suite_.hash_size();
    while (!(at == target)) {
      const auto l = left(at, leaves_);
      const auto r = right(at, leaves_);
      if (!l || !r) return Error(Errc::internal, "secret tree: a parent without children");
      const SecureBytes secret = std::move(*nodes_[at.value]);
      nodes_[at.value].reset();
      SOTTO_TRY_ASSIGN(nodes_[l->value],
                       suite_.expand_with_label(secret, "tree", as_bytes("left"), nh));
      SOTTO_TRY_ASSIGN(nodes_[r->value],
                       suite_.expand_with_label(secret, "tree", as_bytes("right"), nh));
      at = is_descendant(target, *l) ? *l : *r;
    }
    const SecureBytes leaf_secret = std::move(*nodes_[target.value]);
    nodes_[target.value].reset();
    LeafRatchets ratchets;
    SOTTO_TRY_ASSIGN(ratchets.handshake.secret,
                     suite_.expand_with_label(leaf_secret, "handshake", {}, nh));
    SOTTO_TRY_ASSIGN(ratchets.application.secret,
                     suite_.expand_with_label(leaf_secret, "application", {}, nh));
    slot = std::move(ratchets);
  }
  return type == RatchetType::handshake ? &slot->handshake : &slot->application;
}

Result<KeyAndNonce> SecretTree::advance(Ratchet& r) {
  const uint32_t generation = r.next_generation;
  if (generation == std::numeric_limits<uint32_t>::max()) {
    return Error(Errc::message_limit, "secret tree: ratchet generation limit reached");
  }
  KeyAndNonce out;
  SOTTO_TRY_ASSIGN(out.key,
                   suite_.derive_tree_secret(r.secret, "key", generation, suite_.aead_key_size()));
  SOTTO_TRY_ASSIGN(out.nonce, suite_.derive_tree_secret(r.secret, "nonce", generation,
                                                        suite_.aead_nonce_size()));
  SOTTO_TRY_ASSIGN(r.secret,
                   suite_.derive_tree_secret(r.secret, "secret", generation, suite_.hash_size()));
  r.next_generation = generation + 1;
  return out;
}

Result<std::pair<uint32_t, KeyAndNonce>> SecretTree::next(LeafIndex leaf, RatchetType type) {
  SOTTO_TRY_ASSIGN(Ratchet * r, ratchet(leaf, type));
  const uint32_t generation = r->next_generation;
  SOTTO_TRY_ASSIGN(auto key_nonce, advance(*r));
  return std::make_pair(generation, std::move(key_nonce));
}

Result<KeyAndNonce> SecretTree::get(LeafIndex leaf, RatchetType type, uint32_t generation) {
  SOTTO_TRY_ASSIGN(Ratchet * r, ratchet(leaf, type));
  if (generation < r->next_generation) {
    const auto it = r->skipped.find(generation);
    if (it == r->skipped.end()) {
      return Error(Errc::not_found, "secret tree: the key of generation " +
                                        std::to_string(generation) +
                                        " was already used or dropped");
    }
    KeyAndNonce out = std::move(it->second);
    r->skipped.erase(it);
    return out;
  }
  if (generation - r->next_generation > max_skipped_) {
    return Error(Errc::message_limit, "secret tree: generation " + std::to_string(generation) +
                                          " is more than " + std::to_string(max_skipped_) +
                                          " ahead of " + std::to_string(r->next_generation));
  }
  while (r->next_generation < generation) {
    const uint32_t skipped = r->next_generation;
    SOTTO_TRY_ASSIGN(auto key_nonce, advance(*r));
    r->skipped.emplace(skipped, std::move(key_nonce));
    if (r->skipped.size() > max_skipped_) r->skipped.erase(r->skipped.begin());
  }
  return advance(*r);
}

}  // namespace sotto::mls

namespace sotto::mls {
namespace {

void write_ratchet_state(tls::Writer& w, const SecureBytes& secret, uint32_t next_generation,
                         const std::map<uint32_t, KeyAndNonce>& skipped) {
  tls::write(w, secret);
  w.u32(next_generation);
  const size_t at = w.begin_vector();
  for (const auto& [generation, kn] : skipped) {
    w.u32(generation);
    tls::write(w, kn.key);
    tls::write(w, kn.nonce);
  }
  w.end_vector(at);
}

Result<void> read_ratchet_state(tls::Reader& r, SecureBytes& secret, uint32_t& next_generation,
                                std::map<uint32_t, KeyAndNonce>& skipped) {
  SOTTO_TRY(tls::read(r, secret));
  SOTTO_TRY_ASSIGN(next_generation, r.u32());
  SOTTO_TRY_ASSIGN(auto sub, r.vector());
  while (!sub.empty()) {
    SOTTO_TRY_ASSIGN(const uint32_t generation, sub.u32());
    KeyAndNonce kn;
    SOTTO_TRY(tls::read(sub, kn.key));
    SOTTO_TRY(tls::read(sub, kn.nonce));
    skipped[generation] = std::move(kn);
  }
  return success();
}

}  // namespace

void SecretTree::write_state(tls::Writer& w) const {
  w.u32(leaves_.value());
  w.u32(max_skipped_);
  for (const auto& node : nodes_) tls::write(w, node);
  for (const auto& slot : ratchets_) {
    w.u8(slot ? 1 : 0);
    if (!slot) continue;
    write_ratchet_state(w, slot->handshake.secret, slot->handshake.next_generation,
                        slot->handshake.skipped);
    write_ratchet_state(w, slot->application.secret, slot->application.next_generation,
                        slot->application.skipped);
  }
}

Result<SecretTree> SecretTree::read_state(const crypto::CipherSuite& suite, tls::Reader& r) {
  SOTTO_TRY_ASSIGN(const uint32_t width, r.u32());
  SOTTO_TRY_ASSIGN(const LeafCount leaves, LeafCount::exactly(width));
  SOTTO_TRY_ASSIGN(const uint32_t max_skipped, r.u32());
  // Each slot takes at least one byte, so a forged width cannot outgrow the input.
  if (r.remaining() < size_t{node_width(leaves)} + leaves.value()) {
    return Error(Errc::truncated, "secret tree state: shorter than its width");
  }
  SecretTree tree(suite, leaves, max_skipped);
  tree.nodes_.resize(node_width(leaves));
  for (auto& node : tree.nodes_) SOTTO_TRY(tls::read(r, node));
  tree.ratchets_.resize(leaves.value());
  for (auto& slot : tree.ratchets_) {
    SOTTO_TRY_ASSIGN(const uint8_t present, r.u8());
    if (present > 1) return Error(Errc::invalid_value, "secret tree state: bad ratchet flag");
    if (present == 0) continue;
    LeafRatchets lr;
    SOTTO_TRY(read_ratchet_state(r, lr.handshake.secret, lr.handshake.next_generation,
                                 lr.handshake.skipped));
    SOTTO_TRY(read_ratchet_state(r, lr.application.secret, lr.application.next_generation,
                                 lr.application.skipped));
    slot = std::move(lr);
  }
  return tree;
}

}  // namespace sotto::mls
