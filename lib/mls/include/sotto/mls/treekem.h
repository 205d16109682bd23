// TreeKEM (RFC 9420 sections 7.4-7.6, 12.4.2): a committer creates an UpdatePath from fresh
// secrets it is given, and every other member processes it into the same commit_secret.
//
// Both sides are pure functions of their inputs: the tree and private state come in as
// values and the new ones come out; a failure (a bad ciphertext, a public key that does not
// match its path secret, a parent hash that does not chain, a bad signature) returns an
// error and the caller's tree and keys are as they were.
//
// Path secrets are encrypted under the provisional GroupContext: the caller's context with
// tree_hash replaced by the hash of the tree after the path is merged.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/ratchet_tree.h"

namespace sotto::mls {

// DeriveKeyPair(DeriveSecret(path_secret, "node")): a node's key pair from its path secret.
Result<crypto::HpkeKeyPair> node_key_pair(const crypto::CipherSuite& suite, BytesView path_secret);

// One member's secrets in the tree: its leaf's HPKE private key and the path secrets of the
// nodes above it that it knows.
struct TreePrivateKey {
  LeafIndex leaf;
  SecureBytes leaf_private_key;
  std::map<uint32_t, SecureBytes> path_secrets;  // by node index

  bool has_key(NodeIndex node) const;
  // Errc::not_found when this member holds no key for `node`.
  Result<crypto::HpkeKeyPair> key_pair(const crypto::CipherSuite& suite, NodeIndex node) const;
  // Every key held matches the tree's public key at its node; Errc::invalid_value names the
  // first one that does not (or whose node is blank).
  Result<void> check_against(const PublicTree& tree) const;
};

// The fresh randomness of one UpdatePath.
struct UpdatePathSecrets {
  // The leaf's new key pair is node_key_pair(leaf_secret).
  SecureBytes leaf_secret;
  // path_secret[0], for the first node of the filtered direct path.
  SecureBytes path_secret;
};

struct CreatedUpdatePath {
  UpdatePath path;
  PublicTree tree;             // with the path merged
  TreePrivateKey private_key;  // the committer's new secrets
  SecureBytes commit_secret;
  Bytes provisional_context;  // the serialized GroupContext the secrets were encrypted to
};

// The committer's side. `tree` is the tree with the commit's proposals applied; `leaf` is the
// committer's new LeafNode except for encryption key, source and signature, which are set
// here (source commit, with the parent hash). `context` is the new epoch's GroupContext; its
// tree_hash is ignored. `excluded` are the leaves this commit adds: they get no ciphertext.
Result<CreatedUpdatePath> create_update_path(const PublicTree& tree, LeafIndex sender,
                                             LeafNode leaf, BytesView signature_private_key,
                                             const GroupContext& context,
                                             const std::vector<LeafIndex>& excluded,
                                             const UpdatePathSecrets& secrets);

// The public part of processing: checks the path's length against the sender's filtered
// direct path, the leaf's source (commit) and signature, that none of its public keys is
// already in the tree, and the parent-hash chain from the leaf to the root; returns the tree
// with the path merged.
Result<PublicTree> merge_update_path(const PublicTree& tree, LeafIndex sender,
                                     const UpdatePath& path, BytesView group_id);

struct ProcessedUpdatePath {
  PublicTree tree;             // with the path merged
  TreePrivateKey private_key;  // the receiver's new secrets
  NodeIndex common_ancestor;   // where the receiver's new path secrets start
  SecureBytes path_secret;     // the path secret decrypted there
  SecureBytes commit_secret;
};

// A receiver's side: merge_update_path, then decrypt the path secret of the lowest common
// ancestor with the key of the receiver's node in the copath child's resolution, derive the
// rest, and check each against the path's public keys.
Result<ProcessedUpdatePath> process_update_path(const PublicTree& tree, LeafIndex sender,
                                                const UpdatePath& path,
                                                const TreePrivateKey& receiver,
                                                const GroupContext& context,
                                                const std::vector<LeafIndex>& excluded);

}  // namespace sotto::mls
