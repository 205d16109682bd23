// The wire structs of RFC 9420: credentials and leaf nodes (sections 5.3, 7.2), the ratchet
// tree (7.8, 12.4.3.3), framing (6), proposals and commits (12.1, 12.4), KeyPackage (10),
// GroupContext (8.1), GroupInfo and Welcome (12.4.3), and the MLSMessage envelope (6).
//
// Each struct declares its fields once, in wire order, with SOTTO_TLS_FIELDS; tls::encode and
// tls::decode<T> give its wire form. A `select` is a std::variant whose alternatives carry
// their tag as `static constexpr ... tls_tag`; the few structs whose wire form depends on a
// field elsewhere (PublicMessage, ProposalOrRef, MLSMessage) write their codec by hand.
//
// Extensibility (RFC 9420 section 13):
// - ExtensionType, ProposalType, CredentialType, ProtocolVersion and cipher suite values are
//   enums over their full integer range: values this code does not name (GREASE, other
//   extensions) decode and re-encode unchanged, in Capabilities, RequiredCapabilities and
//   Extension.extension_type alike. An Extension's body is opaque, so every extension type
//   round-trips.
// - A Proposal, Credential or PreSharedKeyID of a type not named here is rejected on decode
//   (Errc::invalid_value): these selects carry no length, so an unknown body cannot even be
//   delimited, let alone skipped.
// - MLSMessage rejects versions other than mls10, whose layout is the only one known.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/tree_math.h"

namespace sotto::mls {

// ---- enumerations (RFC 9420 section 17) ------------------------------------------------

enum class ProtocolVersion : uint16_t { reserved = 0, mls10 = 1 };
enum class ContentType : uint8_t { reserved = 0, application = 1, proposal = 2, commit = 3 };
enum class SenderType : uint8_t {
  reserved = 0,
  member = 1,
  external = 2,
  new_member_proposal = 3,
  new_member_commit = 4,
};
enum class WireFormat : uint16_t {
  reserved = 0,
  public_message = 1,
  private_message = 2,
  welcome = 3,
  group_info = 4,
  key_package = 5,
};
enum class CredentialType : uint16_t { reserved = 0, basic = 1, x509 = 2 };
enum class ExtensionType : uint16_t {
  reserved = 0,
  application_id = 1,
  ratchet_tree = 2,
  required_capabilities = 3,
  external_pub = 4,
  external_senders = 5,
};
enum class ProposalType : uint16_t {
  reserved = 0,
  add = 1,
  update = 2,
  remove = 3,
  psk = 4,
  reinit = 5,
  external_init = 6,
  group_context_extensions = 7,
};
enum class LeafNodeSource : uint8_t { reserved = 0, key_package = 1, update = 2, commit = 3 };
enum class NodeType : uint8_t { reserved = 0, leaf = 1, parent = 2 };
enum class PskType : uint8_t { reserved = 0, external = 1, resumption = 2 };
enum class ResumptionPskUsage : uint8_t { reserved = 0, application = 1, reinit = 2, branch = 3 };
enum class ProposalOrRefType : uint8_t { reserved = 0, proposal = 1, reference = 2 };

// uint16 CipherSuite on the wire; any value decodes (GREASE in Capabilities).
using CipherSuiteId = crypto::SuiteId;

// opaque HashReference<V>: KeyPackageRef, ProposalRef (section 5.2).
using HashReference = Bytes;
using KeyPackageRef = HashReference;
using ProposalRef = HashReference;
// opaque MAC<V>: confirmation and membership tags.
using Mac = Bytes;

// ---- keys and ciphertexts (section 5.1) ------------------------------------------------

struct HpkePublicKey {
  Bytes data;
  SOTTO_TLS_FIELDS(data)
  friend bool operator==(const HpkePublicKey&, const HpkePublicKey&) = default;
};

struct SignaturePublicKey {
  Bytes data;
  SOTTO_TLS_FIELDS(data)
  friend bool operator==(const SignaturePublicKey&, const SignaturePublicKey&) = default;
};

// HPKECiphertext, with the fields of crypto::HpkeCiphertext.
struct HpkeCiphertext {
  Bytes kem_output;
  Bytes ciphertext;
  SOTTO_TLS_FIELDS(kem_output, ciphertext)
};

// ---- credentials (section 5.3) ---------------------------------------------------------

struct BasicCredential {
  static constexpr CredentialType tls_tag = CredentialType::basic;
  Bytes identity;
  SOTTO_TLS_FIELDS(identity)
};

// A DER certificate, kept opaque: lib/mls does not parse X.509.
struct Certificate {
  Bytes cert_data;
  SOTTO_TLS_FIELDS(cert_data)
};

struct X509Credential {
  static constexpr CredentialType tls_tag = CredentialType::x509;
  std::vector<Certificate> certificates;
  SOTTO_TLS_FIELDS(certificates)
};

struct Credential {
  std::variant<BasicCredential, X509Credential> content;
  SOTTO_TLS_FIELDS(content)

  CredentialType type() const;
};

// ---- leaf nodes (section 7.2) ----------------------------------------------------------

struct Capabilities {
  std::vector<ProtocolVersion> versions;
  std::vector<CipherSuiteId> cipher_suites;
  std::vector<ExtensionType> extensions;
  std::vector<ProposalType> proposals;
  std::vector<CredentialType> credentials;
  SOTTO_TLS_FIELDS(versions, cipher_suites, extensions, proposals, credentials)
};

// Seconds since the Unix epoch, both inclusive.
struct Lifetime {
  uint64_t not_before = 0;
  uint64_t not_after = 0;
  SOTTO_TLS_FIELDS(not_before, not_after)
};

struct Extension {
  ExtensionType extension_type = ExtensionType::reserved;
  Bytes extension_data;
  SOTTO_TLS_FIELDS(extension_type, extension_data)
  friend bool operator==(const Extension&, const Extension&) = default;
};

// The first extension of `type` in `extensions`, or nullptr.
const Extension* find_extension(const std::vector<Extension>& extensions, ExtensionType type);

// LeafNode.leaf_node_source and the field that goes with it.
struct KeyPackageLeafSource {
  static constexpr LeafNodeSource tls_tag = LeafNodeSource::key_package;
  Lifetime lifetime;
  SOTTO_TLS_FIELDS(lifetime)
};

struct UpdateLeafSource {
  static constexpr LeafNodeSource tls_tag = LeafNodeSource::update;
  SOTTO_TLS_FIELDS()
};

struct CommitLeafSource {
  static constexpr LeafNodeSource tls_tag = LeafNodeSource::commit;
  Bytes parent_hash;
  SOTTO_TLS_FIELDS(parent_hash)
};

struct LeafNode {
  // A leaf is the `leaf` alternative of a ratchet tree Node.
  static constexpr NodeType tls_tag = NodeType::leaf;

  HpkePublicKey encryption_key;
  SignaturePublicKey signature_key;
  Credential credential;
  Capabilities capabilities;
  std::variant<KeyPackageLeafSource, UpdateLeafSource, CommitLeafSource> source;
  std::vector<Extension> extensions;
  // SignWithLabel(., "LeafNodeTBS", LeafNodeTBS)
  Bytes signature;
  SOTTO_TLS_FIELDS(encryption_key, signature_key, credential, capabilities, source, extensions,
                   signature)

  LeafNodeSource source_type() const;
};

// ---- the ratchet tree (sections 7.1, 12.4.3.3) -----------------------------------------

struct ParentNode {
  static constexpr NodeType tls_tag = NodeType::parent;

  HpkePublicKey encryption_key;
  Bytes parent_hash;
  std::vector<LeafIndex> unmerged_leaves;
  SOTTO_TLS_FIELDS(encryption_key, parent_hash, unmerged_leaves)
};

struct Node {
  std::variant<LeafNode, ParentNode> content;
  SOTTO_TLS_FIELDS(content)

  NodeType type() const;
};

// optional<Node> ratchet_tree<V>: the nodes in array order, blanks as nullopt.
using RatchetTree = std::vector<std::optional<Node>>;

// ---- KeyPackage (section 10) -----------------------------------------------------------

struct KeyPackage {
  static constexpr WireFormat tls_tag = WireFormat::key_package;

  ProtocolVersion version = ProtocolVersion::mls10;
  CipherSuiteId cipher_suite{};
  HpkePublicKey init_key;
  LeafNode leaf_node;
  std::vector<Extension> extensions;
  // SignWithLabel(., "KeyPackageTBS", KeyPackageTBS)
  Bytes signature;
  SOTTO_TLS_FIELDS(version, cipher_suite, init_key, leaf_node, extensions, signature)
};

// ---- pre-shared keys (section 8.4) -----------------------------------------------------

struct ExternalPsk {
  static constexpr PskType tls_tag = PskType::external;
  Bytes psk_id;
  SOTTO_TLS_FIELDS(psk_id)
};

struct ResumptionPsk {
  static constexpr PskType tls_tag = PskType::resumption;
  ResumptionPskUsage usage = ResumptionPskUsage::reserved;
  Bytes psk_group_id;
  uint64_t psk_epoch = 0;
  SOTTO_TLS_FIELDS(usage, psk_group_id, psk_epoch)
};

struct PreSharedKeyId {
  std::variant<ExternalPsk, ResumptionPsk> content;
  Bytes psk_nonce;
  SOTTO_TLS_FIELDS(content, psk_nonce)
};

// ---- extensions with a defined body (sections 5.3.3, 11.1, 12.1.8.1, 12.4.3) ------------

// application_id: opaque application_id<V>.
struct ApplicationId {
  Bytes application_id;
  SOTTO_TLS_FIELDS(application_id)
};

// required_capabilities.
struct RequiredCapabilities {
  std::vector<ExtensionType> extension_types;
  std::vector<ProposalType> proposal_types;
  std::vector<CredentialType> credential_types;
  SOTTO_TLS_FIELDS(extension_types, proposal_types, credential_types)
};

// external_pub.
struct ExternalPub {
  HpkePublicKey external_pub;
  SOTTO_TLS_FIELDS(external_pub)
};

// One entry of external_senders (ExternalSender external_senders<V>).
struct ExternalSender {
  SignaturePublicKey signature_key;
  Credential credential;
  SOTTO_TLS_FIELDS(signature_key, credential)
};

// ---- proposals (section 12.1) ----------------------------------------------------------

struct Add {
  static constexpr ProposalType tls_tag = ProposalType::add;
  KeyPackage key_package;
  SOTTO_TLS_FIELDS(key_package)
};

struct Update {
  static constexpr ProposalType tls_tag = ProposalType::update;
  LeafNode leaf_node;
  SOTTO_TLS_FIELDS(leaf_node)
};

struct Remove {
  static constexpr ProposalType tls_tag = ProposalType::remove;
  LeafIndex removed;
  SOTTO_TLS_FIELDS(removed)
};

struct PreSharedKey {
  static constexpr ProposalType tls_tag = ProposalType::psk;
  PreSharedKeyId psk;
  SOTTO_TLS_FIELDS(psk)
};

struct ReInit {
  static constexpr ProposalType tls_tag = ProposalType::reinit;
  Bytes group_id;
  ProtocolVersion version = ProtocolVersion::mls10;
  CipherSuiteId cipher_suite{};
  std::vector<Extension> extensions;
  SOTTO_TLS_FIELDS(group_id, version, cipher_suite, extensions)
};

struct ExternalInit {
  static constexpr ProposalType tls_tag = ProposalType::external_init;
  Bytes kem_output;
  SOTTO_TLS_FIELDS(kem_output)
};

struct GroupContextExtensions {
  static constexpr ProposalType tls_tag = ProposalType::group_context_extensions;
  std::vector<Extension> extensions;
  SOTTO_TLS_FIELDS(extensions)
};

struct Proposal {
  // A proposal is also the `proposal` body of FramedContent.
  static constexpr ContentType tls_tag = ContentType::proposal;

  std::variant<Add, Update, Remove, PreSharedKey, ReInit, ExternalInit, GroupContextExtensions>
      content;
  SOTTO_TLS_FIELDS(content)

  ProposalType type() const;
};

// A proposal inline in a Commit, or by reference to one sent before.
// Its codec is written by hand: Proposal's tag is its ContentType.
struct ProposalOrRef {
  std::variant<Proposal, ProposalRef> content;

  ProposalOrRefType type() const;
  void tls_write(tls::Writer& w) const;
  Result<void> tls_read(tls::Reader& r);
};

// ---- commits (section 12.4) ------------------------------------------------------------

struct UpdatePathNode {
  HpkePublicKey encryption_key;
  std::vector<HpkeCiphertext> encrypted_path_secret;
  SOTTO_TLS_FIELDS(encryption_key, encrypted_path_secret)
};

struct UpdatePath {
  LeafNode leaf_node;
  std::vector<UpdatePathNode> nodes;
  SOTTO_TLS_FIELDS(leaf_node, nodes)
};

struct Commit {
  // A commit is the `commit` body of FramedContent.
  static constexpr ContentType tls_tag = ContentType::commit;

  std::vector<ProposalOrRef> proposals;
  std::optional<UpdatePath> path;
  SOTTO_TLS_FIELDS(proposals, path)
};

// ---- framing (section 6) ---------------------------------------------------------------

struct MemberSender {
  static constexpr SenderType tls_tag = SenderType::member;
  LeafIndex leaf_index;
  SOTTO_TLS_FIELDS(leaf_index)
};

// An index into the group's external_senders extension.
struct ExternalSenderIndex {
  static constexpr SenderType tls_tag = SenderType::external;
  uint32_t sender_index = 0;
  SOTTO_TLS_FIELDS(sender_index)
};

struct NewMemberProposalSender {
  static constexpr SenderType tls_tag = SenderType::new_member_proposal;
  SOTTO_TLS_FIELDS()
};

struct NewMemberCommitSender {
  static constexpr SenderType tls_tag = SenderType::new_member_commit;
  SOTTO_TLS_FIELDS()
};

struct Sender {
  std::variant<MemberSender, ExternalSenderIndex, NewMemberProposalSender, NewMemberCommitSender>
      content;
  SOTTO_TLS_FIELDS(content)

  SenderType type() const;
};

struct ApplicationData {
  static constexpr ContentType tls_tag = ContentType::application;
  Bytes data;
  SOTTO_TLS_FIELDS(data)
};

struct FramedContent {
  Bytes group_id;
  uint64_t epoch = 0;
  Sender sender;
  Bytes authenticated_data;
  std::variant<ApplicationData, Proposal, Commit> content;
  SOTTO_TLS_FIELDS(group_id, epoch, sender, authenticated_data, content)

  ContentType content_type() const;
};

// The signature over a FramedContent, and for a commit its confirmation tag. Its wire form
// depends on the content type, so it is written and read given that type.
struct FramedContentAuthData {
  Bytes signature;
  // On the wire exactly when the content is a commit. Writing a commit whose tag is missing
  // writes an empty MAC, which no confirmation check accepts.
  std::optional<Mac> confirmation_tag;

  void write_for(tls::Writer& w, ContentType content_type) const;
  Result<void> read_for(tls::Reader& r, ContentType content_type);
};

struct PublicMessage {
  static constexpr WireFormat tls_tag = WireFormat::public_message;

  FramedContent content;
  FramedContentAuthData auth;
  // On the wire exactly when the sender is a member; an empty MAC is written when missing.
  std::optional<Mac> membership_tag;

  void tls_write(tls::Writer& w) const;
  Result<void> tls_read(tls::Reader& r);
};

struct PrivateMessage {
  static constexpr WireFormat tls_tag = WireFormat::private_message;

  Bytes group_id;
  uint64_t epoch = 0;
  ContentType content_type = ContentType::reserved;
  Bytes authenticated_data;
  Bytes encrypted_sender_data;
  Bytes ciphertext;
  SOTTO_TLS_FIELDS(group_id, epoch, content_type, authenticated_data, encrypted_sender_data,
                   ciphertext)
};

// The plaintext of PrivateMessage.encrypted_sender_data (section 6.3.2).
struct SenderData {
  LeafIndex leaf_index;
  uint32_t generation = 0;
  std::array<uint8_t, 4> reuse_guard{};
  SOTTO_TLS_FIELDS(leaf_index, generation, reuse_guard)
};

// The AAD of encrypted_sender_data (section 6.3.2).
struct SenderDataAad {
  Bytes group_id;
  uint64_t epoch = 0;
  ContentType content_type = ContentType::reserved;
  SOTTO_TLS_FIELDS(group_id, epoch, content_type)
};

// The AAD of PrivateMessage.ciphertext (section 6.3.1).
struct PrivateContentAad {
  Bytes group_id;
  uint64_t epoch = 0;
  ContentType content_type = ContentType::reserved;
  Bytes authenticated_data;
  SOTTO_TLS_FIELDS(group_id, epoch, content_type, authenticated_data)
};

// ---- group context, GroupInfo, Welcome (sections 8.1, 12.4.3) --------------------------

struct GroupContext {
  ProtocolVersion version = ProtocolVersion::mls10;
  CipherSuiteId cipher_suite{};
  Bytes group_id;
  uint64_t epoch = 0;
  Bytes tree_hash;
  Bytes confirmed_transcript_hash;
  std::vector<Extension> extensions;
  SOTTO_TLS_FIELDS(version, cipher_suite, group_id, epoch, tree_hash, confirmed_transcript_hash,
                   extensions)
  friend bool operator==(const GroupContext&, const GroupContext&) = default;
};

struct GroupInfo {
  static constexpr WireFormat tls_tag = WireFormat::group_info;

  GroupContext group_context;
  std::vector<Extension> extensions;
  Mac confirmation_tag;
  LeafIndex signer;
  // SignWithLabel(., "GroupInfoTBS", GroupInfoTBS)
  Bytes signature;
  SOTTO_TLS_FIELDS(group_context, extensions, confirmation_tag, signer, signature)
};

struct PathSecret {
  SecureBytes path_secret;
  SOTTO_TLS_FIELDS(path_secret)
};

// The plaintext of EncryptedGroupSecrets.encrypted_group_secrets.
struct GroupSecrets {
  SecureBytes joiner_secret;
  std::optional<PathSecret> path_secret;
  std::vector<PreSharedKeyId> psks;
  SOTTO_TLS_FIELDS(joiner_secret, path_secret, psks)
};

struct EncryptedGroupSecrets {
  KeyPackageRef new_member;
  HpkeCiphertext encrypted_group_secrets;
  SOTTO_TLS_FIELDS(new_member, encrypted_group_secrets)
};

struct Welcome {
  static constexpr WireFormat tls_tag = WireFormat::welcome;

  CipherSuiteId cipher_suite{};
  std::vector<EncryptedGroupSecrets> secrets;
  Bytes encrypted_group_info;
  SOTTO_TLS_FIELDS(cipher_suite, secrets, encrypted_group_info)
};

// ---- the envelope (section 6) ----------------------------------------------------------

struct MlsMessage {
  ProtocolVersion version = ProtocolVersion::mls10;
  std::variant<PublicMessage, PrivateMessage, Welcome, GroupInfo, KeyPackage> content;

  WireFormat wire_format() const;
  void tls_write(tls::Writer& w) const;
  // Errc::invalid_value for a version other than mls10.
  Result<void> tls_read(tls::Reader& r);
};

}  // namespace sotto::mls
