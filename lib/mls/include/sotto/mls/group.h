// One member's view of an MLS group (RFC 9420 sections 10, 12): KeyPackages, creating and
// joining a group, committing proposals, processing what other members send, and protecting
// application messages.
//
// Group state is a value: commit() returns the commit message, the Welcome and the next
// state; process() returns the next state. Nothing is sent or stored inside, and a failed
// call leaves the state it was called on as it was. Randomness and time come in as arguments.
//
// Wire-format policy: application data goes out as PrivateMessage; proposals and commits as
// PublicMessage (with a membership tag) by default, or as PrivateMessage when the group's
// handshake wire format says so. Either is accepted on receipt.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/framing.h"
#include "sotto/mls/key_schedule.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/ratchet_tree.h"
#include "sotto/mls/secret_tree.h"
#include "sotto/mls/treekem.h"

namespace sotto::mls {

// Fills its argument with random bytes. Tests pass a deterministic one.
using Random = std::function<void(std::span<uint8_t>)>;

// ---- KeyPackages (section 10) ----------------------------------------------------------

// The private halves of a KeyPackage, kept by its owner until it joins with it.
struct KeyPackagePrivateKeys {
  SecureBytes init_private_key;
  SecureBytes encryption_private_key;
  SecureBytes signature_private_key;  // the 32-byte Ed25519 seed
};

struct KeyPackageBundle {
  KeyPackage key_package;
  KeyPackagePrivateKeys private_keys;
};

// A KeyPackage for `suite` whose leaf advertises suites 1 and 3, basic credentials and
// `lifetime`, signed with `signature_private_key`.
Result<KeyPackageBundle> create_key_package(crypto::SuiteId suite, Credential credential,
                                            BytesView signature_private_key, Lifetime lifetime,
                                            const Random& rng);

// Section 10.1. Errors: Errc::invalid_argument when the version or suite is not `suite`'s
// (or mls10); Errc::bad_signature for the KeyPackage or leaf signature; Errc::invalid_value
// when the leaf is not from a key_package, when init key equals the encryption key, or when
// the KeyPackage is expired or not yet valid at `now` (seconds since the Unix epoch; the
// message says "expired" or "not yet valid").
Result<void> validate_key_package(const crypto::CipherSuite& suite, const KeyPackage& key_package,
                                  uint64_t now);

// ---- the group -------------------------------------------------------------------------

struct GroupMember {
  LeafIndex leaf;
  Credential credential;
  SignaturePublicKey signature_key;
};

struct CommitOutput {
  MlsMessage commit;
  std::optional<MlsMessage> welcome;  // when the commit adds members
};

class Group;

struct CommitResult;    // {output, next}, declared after Group
struct SentProposal;    // {message, next}, declared after Group

// An application message, opened.
struct ReceivedApplication {
  Bytes data;
  LeafIndex sender;
  Bytes authenticated_data;
};

// External pre-shared keys by psk_id, for commits and Welcomes that name them.
using ExternalPsks = std::map<Bytes, SecureBytes>;

class Group {
 public:
  static constexpr uint16_t kStateVersion = 1;

  // A group with one member, us, at epoch 0.
  static Result<Group> create(crypto::SuiteId suite, Bytes group_id, Credential credential,
                              BytesView signature_private_key, const Random& rng);

  // Joins from `welcome` (an MlsMessage holding a Welcome) with the KeyPackage it was made
  // for. The tree comes from `ratchet_tree` when given, else from the GroupInfo's
  // ratchet_tree extension.
  static Result<Group> join(const MlsMessage& welcome, const KeyPackage& key_package,
                            const KeyPackagePrivateKeys& private_keys,
                            const std::optional<RatchetTree>& ratchet_tree = std::nullopt,
                            const ExternalPsks& psks = {});

  // ---- proposals -----------------------------------------------------------------------
  // Checks the KeyPackage against the group's suite and `now`.
  Result<Proposal> propose_add(const KeyPackage& key_package, uint64_t now) const;
  // Errc::not_found for a blank leaf.
  Result<Proposal> propose_remove(LeafIndex leaf) const;

  // An Update of our own leaf with a fresh encryption key; its private key is kept in the
  // state send_proposal() returns until a commit applies it.
  Result<SentProposal> propose_update(const Random& rng) const;
  // The proposal as a PublicMessage for the other members to cache, and our next state, which
  // caches it too (so that our next commit includes it by reference).
  Result<SentProposal> send_proposal(const Proposal& proposal, const Random& rng) const;

  // Commits `proposals` (inline) and every cached proposal (by reference; our own Updates
  // are left out, the path replaces them), always with an UpdatePath, so it also updates our own leaf: commit({})
  // is a self-update. Added KeyPackages are checked against `now`.
  Result<CommitResult> commit(const std::vector<Proposal>& proposals, const Random& rng,
                              uint64_t now) const;

  // A PublicMessage or PrivateMessage from another member: a proposal is cached, a commit
  // is validated (sections 12.2-12.4) and gives the next epoch. Application messages are
  // for unprotect(). Errc::invalid_argument for another group or another epoch.
  Result<Group> process(const MlsMessage& message, const ExternalPsks& psks = {}) const;

  // ---- application data ----------------------------------------------------------------
  // Uses the next key of our application ratchet, so it updates this state.
  Result<MlsMessage> protect(BytesView data, const Random& rng, BytesView authenticated_data = {});
  // Consumes the generation's key: a replay is Errc::not_found. Unchanged on failure.
  Result<ReceivedApplication> unprotect(const MlsMessage& message);

  // ---- policy --------------------------------------------------------------------------
  // public_message (the default) or private_message, for the proposals and commits we send.
  Result<void> set_handshake_wire_format(WireFormat format);
  WireFormat handshake_wire_format() const { return handshake_format_; }

  // ---- the epoch -----------------------------------------------------------------------
  const Bytes& group_id() const { return context_.group_id; }
  uint64_t epoch() const { return context_.epoch; }
  LeafIndex own_leaf() const { return private_key_.leaf; }
  const crypto::CipherSuite& suite() const { return suite_; }
  const GroupContext& context() const { return context_; }
  const PublicTree& tree() const { return tree_; }
  BytesView epoch_authenticator() const { return secrets_.epoch_authenticator; }
  Result<SecureBytes> export_secret(std::string_view label, BytesView context,
                                    size_t length) const;
  std::vector<GroupMember> members() const;
  size_t cached_proposal_count() const { return proposals_.size(); }

  // ---- state ---------------------------------------------------------------------------
  // u16 kStateVersion, then the state TLS-encoded. Holds secrets: store it encrypted.
  Bytes serialize() const;
  // Errc::unsupported for another version.
  static Result<Group> deserialize(BytesView state);

 private:
  struct CachedProposal {
    ProposalRef ref;
    Proposal proposal;
    std::optional<LeafIndex> sender;  // nullopt for a non-member sender
  };

  Group(crypto::CipherSuite suite, PublicTree tree, SecretTree secret_tree)
      : suite_(std::move(suite)), tree_(std::move(tree)), secret_tree_(std::move(secret_tree)) {}

  FramingKeys framing_keys() const;
  Result<AuthenticatedContent> sign(FramedContent content, WireFormat wire_format) const;
  // `ac` as a handshake message in our wire format, a PrivateMessage taking its key from
  // `tree`.
  Result<MlsMessage> protect_handshake(const AuthenticatedContent& ac, SecretTree& tree,
                                       const Random& rng) const;
  Result<Group> apply_commit(const AuthenticatedContent& content, const ExternalPsks& psks) const;
  Result<SecureBytes> psk_secret(const std::vector<PreSharedKeyId>& ids,
                                 const ExternalPsks& psks) const;

  crypto::CipherSuite suite_;
  GroupContext context_;
  PublicTree tree_;
  TreePrivateKey private_key_;
  SecureBytes signature_private_key_;
  EpochSecrets secrets_;
  SecretTree secret_tree_;
  Bytes interim_transcript_hash_;
  std::vector<CachedProposal> proposals_;
  WireFormat handshake_format_ = WireFormat::public_message;
  // Private keys of Updates we proposed, by public key, until a commit applies one.
  std::map<Bytes, SecureBytes> pending_update_keys_;
  // resumption_psk of earlier epochs of this group, by epoch, for resumption PSKs.
  std::map<uint64_t, SecureBytes> resumption_psks_;

  friend struct GroupState;
};

struct CommitResult {
  CommitOutput output;
  Group next;
};

struct SentProposal {
  MlsMessage message;
  Group next;
};

}  // namespace sotto::mls
