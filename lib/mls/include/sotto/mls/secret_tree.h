// The secret tree of RFC 9420 section 9: from an epoch's encryption_secret, a handshake and
// an application hash ratchet per leaf, giving the AEAD key and nonce of each generation; and
// the sender-data key and nonce of section 6.3.2.
//
// Forward secrecy (section 9.2): a node's secret is deleted once its children are derived, a
// ratchet secret once the next one is, and a generation's key once it is handed out. Keys
// skipped to reach a later generation are kept, at most `max_skipped` per ratchet (the oldest
// go first), so that messages that arrive out of order still open; a generation more than
// `max_skipped` ahead of a ratchet is refused rather than derived, so that a forged
// generation cannot make a receiver do unbounded work.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/tree_math.h"

namespace sotto::mls {

struct KeyAndNonce {
  SecureBytes key;
  SecureBytes nonce;
};

// sender_data key and nonce: ExpandWithLabel(sender_data_secret, "key" / "nonce",
// ciphertext_sample, AEAD.Nk / AEAD.Nn), the sample being the first Nh bytes of the
// PrivateMessage ciphertext (all of it when shorter).
Result<KeyAndNonce> sender_data_key_nonce(const crypto::CipherSuite& suite,
                                          BytesView sender_data_secret, BytesView ciphertext);
Result<KeyAndNonce> sender_data_key_nonce(const crypto::CipherSuite& suite,
                                          const crypto::HmacSha256Key& sender_data_secret,
                                          BytesView ciphertext);

enum class RatchetType : uint8_t { handshake, application };

class SecretTree {
 private:
  struct Ratchet {
    SecureBytes secret;            // the ratchet secret of next_generation
    uint32_t next_generation = 0;  // the next generation not yet derived
    std::map<uint32_t, KeyAndNonce> skipped;
  };
  struct LeafRatchets {
    Ratchet handshake;
    Ratchet application;
  };

 public:
  static constexpr uint32_t kDefaultMaxSkipped = 1000;

  // `leaves` is the width of the ratchet tree (a power of two); `encryption_secret` is Nh
  // bytes (Errc::invalid_argument otherwise).
  static Result<SecretTree> create(const crypto::CipherSuite& suite, LeafCount leaves,
                                   BytesView encryption_secret,
                                   uint32_t max_skipped = kDefaultMaxSkipped);

  // The key and nonce to send the next message of `type` from `leaf`, with its generation.
  Result<std::pair<uint32_t, KeyAndNonce>> next(LeafIndex leaf, RatchetType type);

  // The key and nonce of `generation` of `leaf`'s ratchet, for a received message. Each is
  // handed out once: a second request, or one for a generation dropped from the window, is
  // Errc::not_found; a generation too far ahead is Errc::message_limit; a leaf outside the
  // tree is Errc::invalid_argument.
  Result<KeyAndNonce> get(LeafIndex leaf, RatchetType type, uint32_t generation);

  // get() in two steps, for a receiver that may still reject the message: prepare() derives
  // the key without changing the tree, consume() then deletes it (and keeps what deriving it
  // produced: skipped keys, the advanced ratchet, the node secrets below). A message that
  // fails after prepare() just drops the PendingKey and the tree is as it was, at the cost
  // of the derivations alone rather than a copy of the tree.
  class PendingKey {
   public:
    const KeyAndNonce& key_nonce() const { return key_nonce_; }
    KeyAndNonce& key_nonce() { return key_nonce_; }

   private:
    friend class SecretTree;
    KeyAndNonce key_nonce_;
    uint64_t version_ = 0;  // the tree's change count when prepared
    LeafIndex leaf_;
    RatchetType type_ = RatchetType::application;
    uint32_t generation_ = 0;
    // Set when the leaf's ratchets did not exist yet: the node secrets derived on the way
    // down (by node index; nullopt deletes the node) and the new ratchets.
    std::vector<std::pair<uint32_t, std::optional<SecureBytes>>> node_changes_;
    std::optional<LeafRatchets> fresh_;
    // A generation behind the ratchet: its skipped key is deleted. Else the ratchet moves to
    // generation + 1 with `ratchet_secret_`, keeping `skipped_` for the generations between.
    bool from_skipped_ = false;
    SecureBytes ratchet_secret_;
    std::vector<std::pair<uint32_t, KeyAndNonce>> skipped_;
  };
  Result<PendingKey> prepare(LeafIndex leaf, RatchetType type, uint32_t generation) const;
  // Errc::invalid_argument when the tree changed since `pending` was prepared.
  Result<void> consume(PendingKey pending);

  // The state as it is now (held node secrets, ratchets, skipped keys), for storing a group;
  // read_state gives back the same tree. Holds secrets.
  void write_state(tls::Writer& w) const;
  static Result<SecretTree> read_state(const crypto::CipherSuite& suite, tls::Reader& r);

 private:
  SecretTree(crypto::CipherSuite suite, LeafCount leaves, uint32_t max_skipped)
      : suite_(std::move(suite)), leaves_(leaves), max_skipped_(max_skipped) {}

  Result<Ratchet*> ratchet(LeafIndex leaf, RatchetType type);
  // The ratchets of `leaf` from the lowest node secret held on its path, and the node
  // secrets that deriving them changes; the tree itself is left alone.
  Result<LeafRatchets> derive_leaf(
      LeafIndex leaf,
      std::vector<std::pair<uint32_t, std::optional<SecureBytes>>>& node_changes) const;
  // The key and nonce of generation `generation` from `secret`, the ratchet secret of that
  // generation; `secret` becomes the next generation's.
  Result<KeyAndNonce> derive_generation(SecureBytes& secret, uint32_t generation) const;
  // Derives the key and nonce of r's current generation and steps r to the next one.
  Result<KeyAndNonce> advance(Ratchet& r);

  crypto::CipherSuite suite_;
  LeafCount leaves_;
  uint32_t max_skipped_;
  // Node secrets by node index; present only while neither child has been derived. Maps
  // rather than arrays of the tree's width: a new epoch holds one secret and a member
  // derives the ratchets of the few leaves it hears from, so creating and copying the tree
  // of a large group costs what is held, not its width.
  std::map<uint32_t, SecureBytes> nodes_;
  // Per leaf index, once its leaf secret has been turned into ratchets.
  std::map<uint32_t, LeafRatchets> ratchets_;
  // Counts changes, so that consume() refuses a PendingKey prepared on another state.
  uint64_t version_ = 0;
};

}  // namespace sotto::mls
