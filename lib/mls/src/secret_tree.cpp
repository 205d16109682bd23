#include "sotto/mls/secret_tree.h"

#include <algorithm>
#include <limits>
#include <string>

namespace sotto::mls {

Result<KeyAndNonce> sender_data_key_nonce(const crypto::CipherSuite& suite,
                                          BytesView sender_data_secret, BytesView ciphertext) {
  return sender_data_key_nonce(suite, crypto::HmacSha256Key(sender_data_secret), ciphertext);
}

Result<KeyAndNonce> sender_data_key_nonce(const crypto::CipherSuite& suite,
                                          const crypto::HmacSha256Key& secret,
                                          BytesView ciphertext) {
  const BytesView sample = ciphertext.first(std::min(ciphertext.size(), suite.hash_size()));
  KeyAndNonce out;
  SOTTO_TRY_ASSIGN(out.key,
                   suite.expand_with_label(secret, "key", sample, suite.aead_key_size()));
  SOTTO_TRY_ASSIGN(out.nonce,
                   suite.expand_with_label(secret, "nonce", sample, suite.aead_nonce_size()));
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
  tree.nodes_.emplace(root(leaves).value, SecureBytes(encryption_secret));
  return tree;
}

Result<SecretTree::LeafRatchets> SecretTree::derive_leaf(
    LeafIndex leaf,
    std::vector<std::pair<uint32_t, std::optional<SecureBytes>>>& node_changes) const {
  // The lowest node on the leaf's path whose secret is still held; then down to the leaf,
  // deriving both children of each node and deleting the node.
  const NodeIndex target = to_node(leaf);
  NodeIndex at = target;
  auto held = nodes_.find(at.value);
  while (held == nodes_.end()) {
    const auto up = parent(at, leaves_);
    if (!up) {
      return Error(Errc::internal,
                   "secret tree: no secret on the path of leaf " + std::to_string(leaf.value));
    }
    at = *up;
    held = nodes_.find(at.value);
  }
  const size_t nh = suite_.hash_size();
  SecureBytes secret = held->second;
  node_changes.emplace_back(at.value, std::nullopt);
  while (!(at == target)) {
    const auto l = left(at, leaves_);
    const auto r = right(at, leaves_);
    if (!l || !r) return Error(Errc::internal, "secret tree: a parent without children");
    SOTTO_TRY_ASSIGN(SecureBytes left_secret,
                     suite_.expand_with_label(secret, "tree", as_bytes("left"), nh));
    SOTTO_TRY_ASSIGN(SecureBytes right_secret,
                     suite_.expand_with_label(secret, "tree", as_bytes("right"), nh));
    // The child on the way down is deleted as soon as its own children exist: only the
    // other one is kept.
    if (is_descendant(target, *l)) {
      node_changes.emplace_back(r->value, std::move(right_secret));
      secret = std::move(left_secret);
      at = *l;
    } else {
      node_changes.emplace_back(l->value, std::move(left_secret));
      secret = std::move(right_secret);
      at = *r;
    }
  }
  LeafRatchets ratchets;
  SOTTO_TRY_ASSIGN(ratchets.handshake.secret,
                   suite_.expand_with_label(secret, "handshake", {}, nh));
  SOTTO_TRY_ASSIGN(ratchets.application.secret,
                   suite_.expand_with_label(secret, "application", {}, nh));
  return ratchets;
}

Result<SecretTree::Ratchet*> SecretTree::ratchet(LeafIndex leaf, RatchetType type) {
  if (!in_tree(leaf, leaves_)) {
    return Error(Errc::invalid_argument,
                 "secret tree: leaf " + std::to_string(leaf.value) + " is outside the tree");
  }
  auto slot = ratchets_.find(leaf.value);
  if (slot == ratchets_.end()) {
    std::vector<std::pair<uint32_t, std::optional<SecureBytes>>> changes;
    SOTTO_TRY_ASSIGN(LeafRatchets fresh, derive_leaf(leaf, changes));
    for (auto& [index, secret] : changes) {
      if (secret) {
        nodes_[index] = std::move(*secret);
      } else {
        nodes_.erase(index);
      }
    }
    slot = ratchets_.emplace(leaf.value, std::move(fresh)).first;
    ++version_;
  }
  return type == RatchetType::handshake ? &slot->second.handshake : &slot->second.application;
}

Result<KeyAndNonce> SecretTree::derive_generation(SecureBytes& secret, uint32_t generation) const {
  const crypto::HmacSha256Key prepared(secret);
  KeyAndNonce out;
  SOTTO_TRY_ASSIGN(out.key,
                   suite_.derive_tree_secret(prepared, "key", generation, suite_.aead_key_size()));
  SOTTO_TRY_ASSIGN(out.nonce, suite_.derive_tree_secret(prepared, "nonce", generation,
                                                        suite_.aead_nonce_size()));
  SOTTO_TRY_ASSIGN(secret,
                   suite_.derive_tree_secret(prepared, "secret", generation, suite_.hash_size()));
  return out;
}

Result<KeyAndNonce> SecretTree::advance(Ratchet& r) {
  const uint32_t generation = r.next_generation;
  if (generation == std::numeric_limits<uint32_t>::max()) {
    return Error(Errc::message_limit, "secret tree: ratchet generation limit reached");
  }
  SOTTO_TRY_ASSIGN(KeyAndNonce out, derive_generation(r.secret, generation));
  r.next_generation = generation + 1;
  ++version_;
  return out;
}

Result<std::pair<uint32_t, KeyAndNonce>> SecretTree::next(LeafIndex leaf, RatchetType type) {
  SOTTO_TRY_ASSIGN(Ratchet * r, ratchet(leaf, type));
  const uint32_t generation = r->next_generation;
  SOTTO_TRY_ASSIGN(auto key_nonce, advance(*r));
  return std::make_pair(generation, std::move(key_nonce));
}

Result<SecretTree::PendingKey> SecretTree::prepare(LeafIndex leaf, RatchetType type,
                                                   uint32_t generation) const {
  if (!in_tree(leaf, leaves_)) {
    return Error(Errc::invalid_argument,
                 "secret tree: leaf " + std::to_string(leaf.value) + " is outside the tree");
  }
  PendingKey pending;
  pending.version_ = version_;
  pending.leaf_ = leaf;
  pending.type_ = type;
  pending.generation_ = generation;
  const Ratchet* r = nullptr;
  if (const auto slot = ratchets_.find(leaf.value); slot != ratchets_.end()) {
    r = type == RatchetType::handshake ? &slot->second.handshake : &slot->second.application;
  } else {
    SOTTO_TRY_ASSIGN(pending.fresh_, derive_leaf(leaf, pending.node_changes_));
    r = type == RatchetType::handshake ? &pending.fresh_->handshake : &pending.fresh_->application;
  }
  if (generation < r->next_generation) {
    const auto it = r->skipped.find(generation);
    if (it == r->skipped.end()) {
      return Error(Errc::not_found, "secret tree: the key of generation " +
                                        std::to_string(generation) +
                                        " was already used or dropped");
    }
    pending.key_nonce_ = it->second;
    pending.from_skipped_ = true;
    return pending;
  }
  if (generation - r->next_generation > max_skipped_) {
    return Error(Errc::message_limit, "secret tree: generation " + std::to_string(generation) +
                                          " is more than " + std::to_string(max_skipped_) +
                                          " ahead of " + std::to_string(r->next_generation));
  }
  if (generation == std::numeric_limits<uint32_t>::max()) {
    return Error(Errc::message_limit, "secret tree: ratchet generation limit reached");
  }
  pending.ratchet_secret_ = r->secret;
  // At most max_skipped keys: the distance was checked above.
  for (uint32_t g = r->next_generation; g < generation; ++g) {
    SOTTO_TRY_ASSIGN(KeyAndNonce skipped, derive_generation(pending.ratchet_secret_, g));
    pending.skipped_.emplace_back(g, std::move(skipped));
  }
  SOTTO_TRY_ASSIGN(pending.key_nonce_, derive_generation(pending.ratchet_secret_, generation));
  return pending;
}

Result<void> SecretTree::consume(PendingKey pending) {
  if (pending.version_ != version_) {
    return Error(Errc::invalid_argument, "secret tree: the key was prepared on another state");
  }
  for (auto& [index, secret] : pending.node_changes_) {
    if (secret) {
      nodes_[index] = std::move(*secret);
    } else {
      nodes_.erase(index);
    }
  }
  auto slot = ratchets_.find(pending.leaf_.value);
  if (pending.fresh_)
    slot = ratchets_.insert_or_assign(pending.leaf_.value, std::move(*pending.fresh_)).first;
  if (slot == ratchets_.end()) {
    return Error(Errc::internal, "secret tree: the prepared leaf has no ratchets");
  }
  Ratchet& r =
      pending.type_ == RatchetType::handshake ? slot->second.handshake : slot->second.application;
  if (pending.from_skipped_) {
    r.skipped.erase(pending.generation_);
  } else {
    r.secret = std::move(pending.ratchet_secret_);
    r.next_generation = pending.generation_ + 1;
    for (auto& [generation, key_nonce] : pending.skipped_) {
      r.skipped.emplace(generation, std::move(key_nonce));
      if (r.skipped.size() > max_skipped_) r.skipped.erase(r.skipped.begin());
    }
  }
  ++version_;
  return success();
}

Result<KeyAndNonce> SecretTree::get(LeafIndex leaf, RatchetType type, uint32_t generation) {
  SOTTO_TRY_ASSIGN(PendingKey pending, prepare(leaf, type, generation));
  KeyAndNonce out = pending.key_nonce();
  SOTTO_TRY(consume(std::move(pending)));
  return out;
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
  // One slot per node and per leaf, as optional<...> in index order.
  for (uint32_t i = 0; i < node_width(leaves_); ++i) {
    const auto it = nodes_.find(i);
    w.u8(it == nodes_.end() ? 0 : 1);
    if (it != nodes_.end()) tls::write(w, it->second);
  }
  for (uint32_t i = 0; i < leaves_.value(); ++i) {
    const auto it = ratchets_.find(i);
    w.u8(it == ratchets_.end() ? 0 : 1);
    if (it == ratchets_.end()) continue;
    const LeafRatchets& slot = it->second;
    write_ratchet_state(w, slot.handshake.secret, slot.handshake.next_generation,
                        slot.handshake.skipped);
    write_ratchet_state(w, slot.application.secret, slot.application.next_generation,
                        slot.application.skipped);
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
  for (uint32_t i = 0; i < node_width(leaves); ++i) {
    std::optional<SecureBytes> node;
    SOTTO_TRY(tls::read(r, node));
    if (node) tree.nodes_.emplace(i, std::move(*node));
  }
  for (uint32_t i = 0; i < leaves.value(); ++i) {
    SOTTO_TRY_ASSIGN(const uint8_t present, r.u8());
    if (present > 1) return Error(Errc::invalid_value, "secret tree state: bad ratchet flag");
    if (present == 0) continue;
    LeafRatchets lr;
    SOTTO_TRY(read_ratchet_state(r, lr.handshake.secret, lr.handshake.next_generation,
                                 lr.handshake.skipped));
    SOTTO_TRY(read_ratchet_state(r, lr.application.secret, lr.application.next_generation,
                                 lr.application.skipped));
    tree.ratchets_.emplace(i, std::move(lr));
  }
  return tree;
}

}  // namespace sotto::mls
