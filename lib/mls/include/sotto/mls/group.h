// One member's view of an MLS group (RFC 9420 sections 10, 12): KeyPackages, creating and
// joining a group (by Welcome or by external commit), committing proposals (with pre-shared
// keys, and ReInit into a new group), processing what other members send, and protecting
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
#include <memory>
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

// The capabilities a leaf made here advertises unless told otherwise: mls10, suites 1 and 3,
// basic credentials (and every default extension and proposal type, which are not listed).
Capabilities default_capabilities();

// A KeyPackage for `suite` whose leaf advertises `capabilities` (default_capabilities() when
// not given) and `lifetime`, signed with `signature_private_key`.
Result<KeyPackageBundle> create_key_package(crypto::SuiteId suite, Credential credential,
                                            BytesView signature_private_key, Lifetime lifetime,
                                            const Random& rng,
                                            const std::optional<Capabilities>& capabilities = {});

// Section 10.1. Errors: Errc::invalid_argument when the version or suite is not `suite`'s
// (or mls10); Errc::bad_signature for the KeyPackage or leaf signature; Errc::invalid_value
// when the leaf is not from a key_package or when init key equals the encryption key;
// Errc::outside_lifetime when the KeyPackage is expired or not yet valid at `now` (seconds
// since the Unix epoch; the message says "expired" or "not yet valid").
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

struct CommitResult;  // {output, next}, declared after Group
struct SentProposal;  // {message, next}, declared after Group

// An application message, opened.
struct ReceivedApplication {
  Bytes data;
  LeafIndex sender;
  Bytes authenticated_data;
};

// External pre-shared keys by psk_id, for commits and Welcomes that name them.
using ExternalPsks = std::map<Bytes, SecureBytes>;

// What process() checks beyond the message itself.
struct ProcessOptions {
  // The KeyPackages of Adds (in commits and proposals) must be valid at this time, seconds
  // since the Unix epoch. nullopt skips the lifetime check: only for replaying recorded
  // messages (interop vectors), whose KeyPackages have long expired.
  std::optional<uint64_t> now;
  // External PSKs a commit may name.
  ExternalPsks psks;
  // Whether a new or changed leaf (Add, Update, UpdatePath, external joiner) may carry its
  // X.509 credential. lib/mls keeps certificates opaque: this callback validates the chain
  // and its binding to the leaf's signature key. Without it X.509 credentials are refused
  // (Errc::unsupported); when it says no, Errc::forbidden. Basic credentials always pass.
  std::function<bool(const Credential& credential, const SignaturePublicKey& key)> x509_policy;
};

// How an external joiner joins (section 12.4.3.2).
struct ExternalJoinOptions {
  // The tree, when the GroupInfo has no ratchet_tree extension.
  std::optional<RatchetTree> ratchet_tree;
  // Resync: our own old leaf, removed by the same commit. It must carry our credential.
  std::optional<LeafIndex> remove;
  // External PSKs to include (PreSharedKey proposals), by psk_id.
  std::vector<Bytes> psk_ids;
  ExternalPsks psks;
};

struct ExternalJoinResult;  // {commit, group}, declared after Group

class Group {
 public:
  // 2: adds the ReInit that closed the group. Version 1 states still deserialize.
  static constexpr uint16_t kStateVersion = 2;
  // How many earlier epochs' resumption PSKs a state keeps (the oldest go first).
  static constexpr size_t kMaxResumptionPsks = 64;

  // A group with one member, us, at epoch 0.
  // Our leaf advertises `capabilities`, default_capabilities() when not given.
  static Result<Group> create(crypto::SuiteId suite, Bytes group_id, Credential credential,
                              BytesView signature_private_key, const Random& rng,
                              const std::optional<Capabilities>& capabilities = {});

  // Joins from `welcome` (an MlsMessage holding a Welcome) with the KeyPackage it was made
  // for. The tree comes from `ratchet_tree` when given, else from the GroupInfo's
  // ratchet_tree extension. PSKs the Welcome names come from `psks` (external) and from
  // `previous` (resumption PSKs of that group). When `previous` was closed by a ReInit, the
  // Welcome must be the new group it announced: its group id, version, suite and extensions,
  // epoch 1, and a reinit resumption PSK of `previous`'s last epoch (Errc::invalid_value
  // otherwise).
  static Result<Group> join(const MlsMessage& welcome, const KeyPackage& key_package,
                            const KeyPackagePrivateKeys& private_keys,
                            const std::optional<RatchetTree>& ratchet_tree = std::nullopt,
                            const ExternalPsks& psks = {}, const Group* previous = nullptr);

  // Joins by external commit (section 12.4.3.2) from `group_info` (an MlsMessage holding a
  // GroupInfo with the external_pub extension): returns the commit to send to the group and
  // our state in the new epoch. Errc::not_found without external_pub or a tree.
  static Result<ExternalJoinResult> join_external(const MlsMessage& group_info,
                                                  Credential credential,
                                                  BytesView signature_private_key,
                                                  const Random& rng,
                                                  const ExternalJoinOptions& options = {});

  // A GroupInfo of this epoch signed by us, with the external_pub extension (so that others
  // can join by external commit) and, when `with_ratchet_tree`, the ratchet_tree extension.
  Result<MlsMessage> group_info(bool with_ratchet_tree = true) const;

  // ---- proposals -----------------------------------------------------------------------
  // Checks the KeyPackage against the group's suite and `now`.
  Result<Proposal> propose_add(const KeyPackage& key_package, uint64_t now) const;
  // Errc::not_found for a blank leaf.
  Result<Proposal> propose_remove(LeafIndex leaf) const;

  // A PreSharedKey proposal for the external PSK `psk_id` (the commit must be given it).
  Result<Proposal> propose_external_psk(BytesView psk_id, const Random& rng) const;
  // A PreSharedKey proposal for this group's resumption PSK of `epoch` (this one or one of
  // the last kMaxResumptionPsks). Errc::not_found when the state no longer holds it.
  Result<Proposal> propose_resumption_psk(uint64_t epoch, const Random& rng) const;
  // A ReInit (section 12.1.6) into a group `group_id` of `suite` with `extensions`. A commit
  // that carries it may carry nothing else.
  Result<Proposal> propose_reinit(Bytes group_id, crypto::SuiteId suite,
                                  std::vector<Extension> extensions) const;

  // An Update of our own leaf with a fresh encryption key; its private key is kept in the
  // state send_proposal() returns until a commit applies it.
  Result<SentProposal> propose_update(const Random& rng) const;
  // The proposal as a PublicMessage for the other members to cache, and our next state, which
  // caches it too (so that our next commit includes it by reference).
  Result<SentProposal> send_proposal(const Proposal& proposal, const Random& rng) const;

  // Commits `proposals` (inline) and every cached proposal (by reference; our own Updates
  // are left out, the path replaces them), always with an UpdatePath, so it also updates our own
  // leaf: commit({}) is a self-update. Added KeyPackages are checked against `now`; PSK proposals
  // take their external PSKs from `psks`. Errc::invalid_commit for a list that breaks section 12.2
  // (a ReInit with other proposals, two proposals on one leaf, ...).
  Result<CommitResult> commit(const std::vector<Proposal>& proposals, const Random& rng,
                              uint64_t now, const ExternalPsks& psks = {}) const;

  // A PublicMessage or PrivateMessage from another member, or an external commit: a proposal
  // is checked and cached, a commit is validated (sections 12.2-12.4) and gives the next
  // epoch. Application messages are for unprotect(). Errors: Errc::invalid_argument for
  // another group; Errc::wrong_epoch; Errc::bad_membership_tag; Errc::invalid_commit for a
  // proposal list or external commit that breaks the rules; Errc::missing_capability;
  // Errc::outside_lifetime for an Add whose KeyPackage is not valid at options.now;
  // Errc::bad_parent_hash; Errc::bad_confirmation_tag; Errc::group_ended after a ReInit.
  Result<Group> process(const MlsMessage& message, const ProcessOptions& options) const;
  // As above without a clock: Adds' lifetimes are not checked (see ProcessOptions::now).
  Result<Group> process(const MlsMessage& message, const ExternalPsks& psks = {}) const;

  // ---- ReInit (sections 11.2, 12.1.6) --------------------------------------------------
  // The ReInit a commit applied: the group takes no new messages (Errc::group_ended) and
  // these are the parameters of the group that follows it.
  const std::optional<ReInit>& reinit() const { return reinit_; }
  // The group that follows the ReInit: created by us with its parameters, then a commit
  // that adds `key_packages` (the other members' KeyPackages for the new suite) with a reinit
  // resumption PSK of this group's last epoch. Returns that commit, its Welcome for the
  // others, and the new group at epoch 1. Errc::invalid_argument when there was no ReInit.
  Result<CommitResult> reinit_group(const std::vector<KeyPackage>& key_packages, const Random& rng,
                                    uint64_t now) const;

  // ---- application data ----------------------------------------------------------------
  // Uses the next key of our application ratchet, so it updates this state.
  // Errc::group_ended after a ReInit.
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
  Result<SecureBytes> export_secret(std::string_view label, BytesView context, size_t length) const;
  std::vector<GroupMember> members() const;
  size_t cached_proposal_count() const { return proposals_.size(); }

  // ---- state ---------------------------------------------------------------------------
  // u16 kStateVersion, then the state TLS-encoded. Holds secrets: store it encrypted.
  Bytes serialize() const;
  // Errc::unsupported for a version other than 1 and kStateVersion.
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
  // framing_keys() with its optional parts prepared, made once for this state's epoch.
  const FramingKeys& prepared_framing_keys() const;
  Result<AuthenticatedContent> sign(FramedContent content, WireFormat wire_format) const;
  Result<AuthenticatedContent> sign(FramedContent content, WireFormat wire_format,
                                    BytesView encoded_context) const;
  // `ac` as a handshake message in our wire format, a PrivateMessage taking its key from
  // `tree`.
  Result<MlsMessage> protect_handshake(const AuthenticatedContent& ac, SecretTree& tree,
                                       const Random& rng) const;
  Result<Group> apply_commit(const AuthenticatedContent& content,
                             const ProcessOptions& options) const;
  Result<void> check_received_proposal(const Proposal& proposal,
                                       const ProcessOptions& options) const;
  // The resumption PSK of `epoch` of this group, if the state still holds it.
  const SecureBytes* resumption_psk(uint64_t epoch) const;
  // psk_secret over `ids`: external PSKs from `psks`, resumption PSKs from this group or
  // `previous`.
  Result<SecureBytes> psk_secret(const std::vector<PreSharedKeyId>& ids, const ExternalPsks& psks,
                                 const Group* previous = nullptr) const;
  // commit() with the PSKs of `previous` at hand and reinit PSKs allowed (reinit_group).
  Result<CommitResult> commit_with(const std::vector<Proposal>& proposals, const Random& rng,
                                   uint64_t now, const ExternalPsks& psks,
                                   const Group* previous) const;
  // The next state's fields that carry over from this one.
  void carry_over_to(Group& next) const;

  crypto::CipherSuite suite_;
  GroupContext context_;
  PublicTree tree_;
  TreePrivateKey private_key_;
  SecureBytes signature_private_key_;
  // signature_private_key_ expanded, made on first use; shared by copies (it never changes).
  mutable std::shared_ptr<const crypto::Ed25519SigningKey> signing_key_;
  // prepared_framing_keys(), made on first use and checked against the state on every use.
  // A copy of the state starts without it: it is never shared between states that go their
  // own ways.
  class FramingKeysCache {
   public:
    FramingKeysCache() = default;
    FramingKeysCache(const FramingKeysCache&) {}
    FramingKeysCache& operator=(const FramingKeysCache&) {
      keys.reset();
      return *this;
    }
    FramingKeysCache(FramingKeysCache&&) noexcept = default;
    FramingKeysCache& operator=(FramingKeysCache&&) noexcept = default;
    ~FramingKeysCache() = default;
    std::unique_ptr<FramingKeys> keys;
  };
  mutable FramingKeysCache framing_cache_;
  EpochSecrets secrets_;
  SecretTree secret_tree_;
  Bytes interim_transcript_hash_;
  std::vector<CachedProposal> proposals_;
  WireFormat handshake_format_ = WireFormat::public_message;
  // Private keys of Updates we proposed, by public key, until a commit applies one.
  std::map<Bytes, SecureBytes> pending_update_keys_;
  // resumption_psk of earlier epochs of this group, by epoch, for resumption PSKs.
  std::map<uint64_t, SecureBytes> resumption_psks_;
  // Set by a commit with a ReInit: the group is closed.
  std::optional<ReInit> reinit_;

  friend struct GroupState;
  // Tests only (defined in lib/mls/tests): re-signs handshake messages that tests alter, to
  // check that receivers reject what an honest sender would not build.
  friend struct GroupTestAccess;
};

struct CommitResult {
  CommitOutput output;
  Group next;
};

struct SentProposal {
  MlsMessage message;
  Group next;
};

struct ExternalJoinResult {
  MlsMessage commit;  // a PublicMessage for the group's members
  Group group;        // ours, at the commit's epoch
};

}  // namespace sotto::mls
