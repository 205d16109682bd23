#include "sotto/mls/group.h"

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <utility>

#include "sotto/core/tls.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/framing.h"
#include "sotto/mls/tree_math.h"
#include "sotto/mls/welcome.h"

namespace sotto::mls {
namespace {

constexpr std::string_view kKeyPackageTbsLabel = "KeyPackageTBS";

SecureBytes random_bytes(const Random& rng, size_t n) {
  SecureBytes out(n);
  rng(std::span<uint8_t>(out.data(), out.size()));
  return out;
}

Bytes key_package_tbs(const KeyPackage& kp) {
  tls::Writer w;
  tls::write(w, kp.version);
  tls::write(w, kp.cipher_suite);
  tls::write(w, kp.init_key);
  tls::write(w, kp.leaf_node);
  tls::write(w, kp.extensions);
  return w.take();
}

Result<Bytes> signature_public_key(BytesView seed) {
  SOTTO_TRY_ASSIGN(auto key, crypto::Ed25519SigningKey::from_seed(seed));
  return key.public_key();
}

// ConfirmedTranscriptHashInput: wire_format, FramedContent, signature.
Bytes confirmed_input(const AuthenticatedContent& ac) {
  tls::Writer w;
  tls::write(w, ac.wire_format);
  tls::write(w, ac.content);
  tls::write(w, ac.auth.signature);
  return w.take();
}

Result<KeyAndNonce> welcome_keys(const crypto::CipherSuite& suite, BytesView joiner_secret,
                                 BytesView psk_secret) {
  SOTTO_TRY_ASSIGN(auto welcome_secret, derive_welcome_secret(suite, joiner_secret, psk_secret));
  return welcome_key_nonce(suite, welcome_secret);
}

// Drops the path secrets whose node no longer carries the key they derive.
Result<void> prune_private_key(const crypto::CipherSuite& suite, const PublicTree& tree,
                               TreePrivateKey& key) {
  for (auto it = key.path_secrets.begin(); it != key.path_secrets.end();) {
    const HpkePublicKey* pub = tree.encryption_key(NodeIndex{it->first});
    bool keep = false;
    if (pub != nullptr) {
      SOTTO_TRY_ASSIGN(auto pair, node_key_pair(suite, it->second));
      keep = pair.public_key == pub->data;
    }
    it = keep ? std::next(it) : key.path_secrets.erase(it);
  }
  return success();
}

// Section 12.1: proposal and extension types defined by RFC 9420 count as supported without
// being listed in Capabilities.
bool is_default_extension(ExtensionType type) {
  const auto v = static_cast<uint16_t>(type);
  return v >= 1 && v <= 5;
}

bool is_default_proposal(ProposalType type) {
  const auto v = static_cast<uint16_t>(type);
  return v >= 1 && v <= 7;
}

template <class T>
bool contains(const std::vector<T>& values, T value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

std::string leaf_name(LeafIndex leaf) {
  return "leaf " + std::to_string(leaf.value);
}

// The group's required_capabilities extension, if any.
Result<std::optional<RequiredCapabilities>> required_capabilities(
    const std::vector<Extension>& extensions) {
  const Extension* ext = find_extension(extensions, ExtensionType::required_capabilities);
  if (ext == nullptr) return std::optional<RequiredCapabilities>();
  auto decoded = tls::decode<RequiredCapabilities>(ext->extension_data);
  if (!decoded.ok()) {
    return std::move(decoded).error().with_context("required_capabilities extension");
  }
  return std::optional<RequiredCapabilities>(std::move(decoded).value());
}

Result<void> check_required(const Capabilities& caps, const RequiredCapabilities& required,
                            const std::string& who) {
  for (const ExtensionType t : required.extension_types) {
    if (!is_default_extension(t) && !contains(caps.extensions, t)) {
      return Error(Errc::missing_capability, who + " does not support extension type " +
                                                 std::to_string(static_cast<unsigned>(t)) +
                                                 ", which the group requires");
    }
  }
  for (const ProposalType t : required.proposal_types) {
    if (!is_default_proposal(t) && !contains(caps.proposals, t)) {
      return Error(Errc::missing_capability, who + " does not support proposal type " +
                                                 std::to_string(static_cast<unsigned>(t)) +
                                                 ", which the group requires");
    }
  }
  for (const CredentialType t : required.credential_types) {
    if (!contains(caps.credentials, t)) {
      return Error(Errc::missing_capability, who + " does not support credential type " +
                                                 std::to_string(static_cast<unsigned>(t)) +
                                                 ", which the group requires");
    }
  }
  return success();
}

// Sections 7.3, 11.1 and 12.1.7 for the tree `tree` after a commit's proposals, whose group
// context extensions are `extensions`: the leaves in `added` support the group's suite,
// version and required capabilities, and every credential type in use (which every member
// must support in turn); when `extensions_changed`, every member supports the required
// capabilities and each non-default extension type.
Result<void> check_capabilities(const PublicTree& tree, CipherSuiteId suite,
                                const std::vector<Extension>& extensions, bool extensions_changed,
                                const std::vector<LeafIndex>& added) {
  SOTTO_TRY_ASSIGN(const auto required, required_capabilities(extensions));
  std::vector<CredentialType> in_use;
  for (uint32_t i = 0; i < tree.leaf_count().value(); ++i) {
    const LeafNode* leaf = tree.leaf(LeafIndex{i});
    if (leaf != nullptr && !contains(in_use, leaf->credential.type())) {
      in_use.push_back(leaf->credential.type());
    }
  }
  for (uint32_t i = 0; i < tree.leaf_count().value(); ++i) {
    const LeafIndex index{i};
    const LeafNode* leaf = tree.leaf(index);
    if (leaf == nullptr) continue;
    const Capabilities& caps = leaf->capabilities;
    const bool is_new = std::find(added.begin(), added.end(), index) != added.end();
    if (is_new) {
      if (!contains(caps.versions, ProtocolVersion::mls10) ||
          !contains(caps.cipher_suites, suite)) {
        return Error(Errc::missing_capability,
                     leaf_name(index) + " does not support the group's version or cipher suite");
      }
    }
    if (required && (is_new || extensions_changed)) {
      SOTTO_TRY(check_required(caps, *required, leaf_name(index)));
    }
    if (extensions_changed) {
      for (const Extension& ext : extensions) {
        if (!is_default_extension(ext.extension_type) &&
            !contains(caps.extensions, ext.extension_type)) {
          return Error(Errc::missing_capability,
                       leaf_name(index) + " does not support group context extension type " +
                           std::to_string(static_cast<unsigned>(ext.extension_type)));
        }
      }
    }
    if (!added.empty()) {
      for (const CredentialType t : in_use) {
        if (!contains(caps.credentials, t)) {
          return Error(Errc::missing_capability,
                       leaf_name(index) + " does not support credential type " +
                           std::to_string(static_cast<unsigned>(t)) + ", which a member uses");
        }
      }
    }
  }
  return success();
}

// The checks of validate_key_package; the lifetime only when `now` is given.
Result<void> check_key_package(const crypto::CipherSuite& suite, const KeyPackage& kp,
                               std::optional<uint64_t> now);

// Who commits: a member (by leaf) or a new member by external commit.
struct Committer {
  std::optional<LeafIndex> member;  // nullopt for an external commit
  bool external() const { return !member.has_value(); }
};

// The proposals of one commit, resolved and grouped in the order they apply (12.4.2).
struct ResolvedProposals {
  std::vector<std::pair<LeafIndex, LeafNode>> updates;
  std::vector<LeafIndex> removes;
  std::vector<KeyPackage> adds;
  std::vector<PreSharedKeyId> psks;
  std::optional<std::vector<Extension>> extensions;
  std::optional<ReInit> reinit;
  std::optional<Bytes> external_init;  // kem_output
  size_t count = 0;
  bool needs_path = false;
};

Error invalid_commit(const std::string& why) {
  return Error(Errc::invalid_commit, "commit: " + why);
}

// One proposal of a commit, checked against section 12.2's rules for the commit as it grows.
// `reinit_psk_allowed` only for the first commit of a group that follows a ReInit.
Result<void> add_proposal(ResolvedProposals& out, const Proposal& p,
                          std::optional<LeafIndex> proposer, bool by_reference,
                          const Committer& committer, size_t hash_size,
                          bool reinit_psk_allowed = false) {
  out.count += 1;
  if (committer.external()) {
    if (by_reference) return invalid_commit("an external commit names a proposal by reference");
    const ProposalType type = p.type();
    if (type != ProposalType::external_init && type != ProposalType::remove &&
        type != ProposalType::psk) {
      return invalid_commit("an external commit carries a proposal of type " +
                            std::to_string(static_cast<unsigned>(type)) +
                            "; only ExternalInit, Remove and PreSharedKey are allowed");
    }
  }
  if (const auto* u = std::get_if<Update>(&p.content)) {
    if (!proposer || proposer == committer.member) {
      return invalid_commit("an Update from the committer or a non-member");
    }
    out.updates.emplace_back(*proposer, u->leaf_node);
    out.needs_path = true;
  } else if (const auto* r = std::get_if<Remove>(&p.content)) {
    if (r->removed == committer.member) return invalid_commit("the committer removes itself");
    if (committer.external() && !out.removes.empty()) {
      return invalid_commit("an external commit with more than one Remove");
    }
    out.removes.push_back(r->removed);
    out.needs_path = true;
  } else if (const auto* a = std::get_if<Add>(&p.content)) {
    out.adds.push_back(a->key_package);
  } else if (const auto* psk = std::get_if<PreSharedKey>(&p.content)) {
    if (psk->psk.psk_nonce.size() != hash_size) {
      return invalid_commit("a PreSharedKey proposal whose nonce is not Nh bytes");
    }
    if (const auto* res = std::get_if<ResumptionPsk>(&psk->psk.content)) {
      const bool reinit = res->usage == ResumptionPskUsage::reinit && reinit_psk_allowed;
      if (res->usage != ResumptionPskUsage::application && !reinit) {
        return invalid_commit("a resumption PSK of usage " +
                              std::to_string(static_cast<unsigned>(res->usage)) +
                              " outside a ReInit or branch");
      }
    }
    const Bytes id = tls::encode(psk->psk.content);
    for (const PreSharedKeyId& other : out.psks) {
      if (tls::encode(other.content) == id) return invalid_commit("one PSK named twice");
    }
    out.psks.push_back(psk->psk);
  } else if (const auto* gce = std::get_if<GroupContextExtensions>(&p.content)) {
    if (out.extensions) return invalid_commit("more than one GroupContextExtensions");
    out.extensions = gce->extensions;
    out.needs_path = true;
  } else if (const auto* reinit = std::get_if<ReInit>(&p.content)) {
    if (out.reinit) return invalid_commit("more than one ReInit");
    out.reinit = *reinit;
  } else if (const auto* ext = std::get_if<ExternalInit>(&p.content)) {
    if (!committer.external()) return invalid_commit("an ExternalInit outside an external commit");
    if (out.external_init) return invalid_commit("an external commit with two ExternalInits");
    out.external_init = ext->kem_output;
    out.needs_path = true;
  }
  return success();
}

// The rules that concern the whole list, once every proposal is in.
Result<void> finish_proposals(ResolvedProposals& out, const Committer& committer) {
  if (out.reinit && out.count > 1) return invalid_commit("a ReInit with other proposals");
  if (committer.external() && !out.external_init) {
    return invalid_commit("an external commit without an ExternalInit");
  }
  if (out.count == 0) out.needs_path = true;  // an empty commit is a self-update
  return success();
}

// Applies the proposals to `tree`; returns the leaves the adds took.
Result<std::vector<LeafIndex>> apply_proposals(const crypto::CipherSuite& suite, PublicTree& tree,
                                               const ResolvedProposals& r, BytesView group_id) {
  std::set<uint32_t> touched;
  for (const auto& [leaf, node] : r.updates) {
    if (!touched.insert(leaf.value).second) {
      return invalid_commit("two proposals change " + leaf_name(leaf));
    }
    if (node.source_type() != LeafNodeSource::update ||
        !verify_leaf_node_signature(suite, node, group_id, leaf)) {
      return Error(Errc::bad_signature, "commit: Update leaf is not a valid update leaf");
    }
    SOTTO_TRY_CTX(tree.update_leaf(leaf, node), "commit: Update");
  }
  for (const LeafIndex leaf : r.removes) {
    if (!touched.insert(leaf.value).second) {
      return invalid_commit("two proposals change " + leaf_name(leaf));
    }
    SOTTO_TRY_CTX(tree.remove_leaf(leaf), "commit: Remove");
  }
  // The added keys against each other, then each member's key against them: O(n log adds)
  // rather than a set of every member's key per commit.
  std::set<Bytes> added_keys;
  for (const KeyPackage& kp : r.adds) {
    if (!added_keys.insert(kp.leaf_node.signature_key.data).second) {
      return invalid_commit("an Add of a signature key already in the group");
    }
  }
  for (uint32_t i = 0; !added_keys.empty() && i < tree.leaf_count().value(); ++i) {
    const LeafNode* leaf = tree.leaf(LeafIndex{i});
    if (leaf != nullptr && added_keys.count(leaf->signature_key.data) != 0) {
      return invalid_commit("an Add of a signature key already in the group");
    }
  }
  std::vector<LeafIndex> added;
  for (const KeyPackage& kp : r.adds) {
    SOTTO_TRY_ASSIGN(LeafIndex leaf, tree.add_leaf(kp.leaf_node));
    added.push_back(leaf);
  }
  return added;
}

// TreeKEM reports a broken parent-hash chain as invalid_value; callers of this library get
// the dedicated code.
Error parent_hash_error(Error error) {
  const std::string& m = error.message();
  if (error.code() == Errc::invalid_value &&
      (m.find("parent hash") != std::string::npos || m.find("parent_hash") != std::string::npos)) {
    return Error(Errc::bad_parent_hash, m);
  }
  return error;
}

// A new or changed leaf's credential against the receiver's policy.
Result<void> check_credential(const LeafNode& leaf, const ProcessOptions& options) {
  if (leaf.credential.type() != CredentialType::x509) return success();
  if (!options.x509_policy) {
    return Error(Errc::unsupported, "an X.509 credential and no policy that accepts X.509");
  }
  if (!options.x509_policy(leaf.credential, leaf.signature_key)) {
    return Error(Errc::forbidden, "the X.509 policy refuses a leaf's credential");
  }
  return success();
}

// init_secret = Export("MLS 1.0 external init secret", Nh) of the HPKE context of
// kem_output under the key pair derived from external_secret (section 8.3).
constexpr std::string_view kExternalInitLabel = "MLS 1.0 external init secret";

}  // namespace

// ---- KeyPackages -----------------------------------------------------------------------

Capabilities default_capabilities() {
  Capabilities caps;
  caps.versions = {ProtocolVersion::mls10};
  caps.cipher_suites = {crypto::SuiteId::x25519_aes128gcm_sha256_ed25519,
                        crypto::SuiteId::x25519_chacha20poly1305_sha256_ed25519};
  caps.credentials = {CredentialType::basic};
  return caps;
}

Result<KeyPackageBundle> create_key_package(crypto::SuiteId suite_id, Credential credential,
                                            BytesView signature_private_key, Lifetime lifetime,
                                            const Random& rng,
                                            const std::optional<Capabilities>& capabilities) {
  SOTTO_TRY_ASSIGN(auto suite, crypto::CipherSuite::create(static_cast<uint16_t>(suite_id)));
  SOTTO_TRY_ASSIGN(auto init, suite.derive_hpke_key_pair(random_bytes(rng, suite.hash_size())));
  SOTTO_TRY_ASSIGN(auto enc, suite.derive_hpke_key_pair(random_bytes(rng, suite.hash_size())));
  SOTTO_TRY_ASSIGN(Bytes sig_pub, signature_public_key(signature_private_key));

  KeyPackageBundle out;
  LeafNode& leaf = out.key_package.leaf_node;
  leaf.encryption_key = HpkePublicKey{enc.public_key};
  leaf.signature_key = SignaturePublicKey{std::move(sig_pub)};
  leaf.credential = std::move(credential);
  leaf.capabilities = capabilities.value_or(default_capabilities());
  leaf.source = KeyPackageLeafSource{lifetime};
  SOTTO_TRY(sign_leaf_node(suite, leaf, signature_private_key, {}, {}));
  out.key_package.cipher_suite = suite_id;
  out.key_package.init_key = HpkePublicKey{init.public_key};
  SOTTO_TRY_ASSIGN(out.key_package.signature,
                   suite.sign_with_label(signature_private_key, kKeyPackageTbsLabel,
                                         key_package_tbs(out.key_package)));
  out.private_keys.init_private_key = std::move(init.private_key);
  out.private_keys.encryption_private_key = std::move(enc.private_key);
  out.private_keys.signature_private_key = SecureBytes(signature_private_key);
  return out;
}

Result<void> validate_key_package(const crypto::CipherSuite& suite, const KeyPackage& kp,
                                  uint64_t now) {
  return check_key_package(suite, kp, now);
}

namespace {

Result<void> check_key_package(const crypto::CipherSuite& suite, const KeyPackage& kp,
                               std::optional<uint64_t> now) {
  if (kp.version != ProtocolVersion::mls10) {
    return Error(Errc::invalid_argument, "KeyPackage: version is not mls10");
  }
  if (static_cast<uint16_t>(kp.cipher_suite) != suite.id()) {
    return Error(Errc::invalid_argument, "KeyPackage: cipher suite " +
                                             std::to_string(static_cast<int>(kp.cipher_suite)) +
                                             " is not the group's " + std::to_string(suite.id()));
  }
  if (!suite.verify_with_label(kp.leaf_node.signature_key.data, kKeyPackageTbsLabel,
                               key_package_tbs(kp), kp.signature)) {
    return Error(Errc::bad_signature, "KeyPackage: signature does not verify");
  }
  const auto* source = std::get_if<KeyPackageLeafSource>(&kp.leaf_node.source);
  if (source == nullptr) {
    return Error(Errc::invalid_value, "KeyPackage: leaf node source is not key_package");
  }
  if (!verify_leaf_node_signature(suite, kp.leaf_node, {}, {})) {
    return Error(Errc::bad_signature, "KeyPackage: leaf node signature does not verify");
  }
  if (now && *now > source->lifetime.not_after) {
    return Error(Errc::outside_lifetime, "KeyPackage: expired (not_after " +
                                             std::to_string(source->lifetime.not_after) +
                                             " is before now " + std::to_string(*now) + ")");
  }
  if (now && *now < source->lifetime.not_before) {
    return Error(Errc::outside_lifetime, "KeyPackage: not yet valid (not_before " +
                                             std::to_string(source->lifetime.not_before) +
                                             " is after now " + std::to_string(*now) + ")");
  }
  if (kp.init_key.data == kp.leaf_node.encryption_key.data) {
    return Error(Errc::invalid_value, "KeyPackage: init key equals the encryption key");
  }
  return success();
}

}  // namespace

// ---- creating and joining --------------------------------------------------------------

Result<Group> Group::create(crypto::SuiteId suite_id, Bytes group_id, Credential credential,
                            BytesView signature_private_key, const Random& rng,
                            const std::optional<Capabilities>& capabilities) {
  SOTTO_TRY_ASSIGN(auto suite, crypto::CipherSuite::create(static_cast<uint16_t>(suite_id)));
  SOTTO_TRY_ASSIGN(auto enc, suite.derive_hpke_key_pair(random_bytes(rng, suite.hash_size())));
  SOTTO_TRY_ASSIGN(Bytes sig_pub, signature_public_key(signature_private_key));

  LeafNode leaf;
  leaf.encryption_key = HpkePublicKey{enc.public_key};
  leaf.signature_key = SignaturePublicKey{std::move(sig_pub)};
  leaf.credential = std::move(credential);
  leaf.capabilities = capabilities.value_or(default_capabilities());
  // A creator's leaf is not from a KeyPackage; a commit source is the closest fit, and its
  // first commit replaces it.
  leaf.source = CommitLeafSource{};
  SOTTO_TRY(sign_leaf_node(suite, leaf, signature_private_key, group_id, LeafIndex{0}));

  PublicTree tree(suite);
  SOTTO_TRY(tree.add_leaf(std::move(leaf)));

  GroupContext context;
  context.cipher_suite = suite_id;
  context.group_id = std::move(group_id);
  context.epoch = 0;
  context.tree_hash = tree.tree_hash();
  // confirmed_transcript_hash of epoch 0 is empty (section 8.2).
  const SecureBytes init_secret = random_bytes(rng, suite.hash_size());
  const SecureBytes zeros(suite.hash_size());
  SOTTO_TRY_ASSIGN(auto secrets,
                   derive_epoch_secrets(suite, init_secret, zeros, zeros, tls::encode(context)));
  SOTTO_TRY_ASSIGN(auto secret_tree,
                   SecretTree::create(suite, tree.leaf_count(), secrets.encryption_secret));

  Group g(suite, std::move(tree), std::move(secret_tree));
  g.context_ = std::move(context);
  g.private_key_.leaf = LeafIndex{0};
  g.private_key_.leaf_private_key = std::move(enc.private_key);
  g.signature_private_key_ = SecureBytes(signature_private_key);
  const Bytes tag = confirmation_tag(suite, secrets.confirmation_key, {});
  g.interim_transcript_hash_ = interim_transcript_hash(suite, {}, tag);
  g.secrets_ = std::move(secrets);
  return g;
}

Result<Group> Group::join(const MlsMessage& message, const KeyPackage& key_package,
                          const KeyPackagePrivateKeys& keys,
                          const std::optional<RatchetTree>& ratchet_tree, const ExternalPsks& psks,
                          const Group* previous) {
  const auto* welcome = std::get_if<Welcome>(&message.content);
  if (welcome == nullptr) return Error(Errc::invalid_argument, "join: message is not a Welcome");
  SOTTO_TRY_ASSIGN(auto suite,
                   crypto::CipherSuite::create(static_cast<uint16_t>(welcome->cipher_suite)));

  // The tree is needed for the signer's key before the GroupInfo is verified, so the lookup
  // builds it and keeps it.
  std::optional<PublicTree> tree;
  Error tree_error(Errc::not_found, "join: no ratchet tree given or in the GroupInfo");
  bool asked = false;
  auto signer = [&](const GroupInfo& info) -> std::optional<Bytes> {
    asked = true;
    RatchetTree nodes;
    if (ratchet_tree) {
      nodes = *ratchet_tree;
    } else if (const Extension* ext =
                   find_extension(info.extensions, ExtensionType::ratchet_tree)) {
      auto decoded = tls::decode<RatchetTree>(ext->extension_data);
      if (!decoded.ok()) {
        tree_error = std::move(decoded).error().with_context("join: ratchet_tree extension");
        return std::nullopt;
      }
      nodes = std::move(*decoded);
    } else {
      return std::nullopt;
    }
    auto built = PublicTree::from_extension(suite, nodes);
    if (!built.ok()) {
      tree_error = std::move(built).error().with_context("join: ratchet tree");
      return std::nullopt;
    }
    tree = std::move(*built);
    const LeafNode* leaf = tree->leaf(info.signer);
    if (leaf == nullptr) return std::nullopt;
    return leaf->signature_key.data;
  };
  PskLookup psk = [&psks, previous](const PreSharedKeyId& id) -> Result<SecureBytes> {
    if (const auto* ext = std::get_if<ExternalPsk>(&id.content)) {
      const auto it = psks.find(ext->psk_id);
      if (it == psks.end()) return Error(Errc::not_found, "join: unknown external psk_id");
      return it->second;
    }
    const auto& res = std::get<ResumptionPsk>(id.content);
    if (previous != nullptr && res.psk_group_id == previous->group_id()) {
      if (const SecureBytes* secret = previous->resumption_psk(res.psk_epoch)) return *secret;
    }
    return Error(Errc::not_found, "join: no resumption PSK for epoch " +
                                      std::to_string(res.psk_epoch) + " of the named group");
  };
  auto joined = join_from_welcome(*welcome, key_package, keys.init_private_key, signer, psk);
  if (!joined.ok()) {
    if (asked && !tree) return tree_error;
    return std::move(joined).error();
  }
  const GroupContext& context = joined->group_info.group_context;
  if (tree->tree_hash() != context.tree_hash) {
    return Error(Errc::invalid_value, "join: the ratchet tree does not match the tree hash");
  }
  if (auto hashes = tree->verify_parent_hashes(); !hashes.ok()) {
    return Error(Errc::bad_parent_hash, "join: " + hashes.error().message());
  }
  SOTTO_TRY_CTX(tree->verify_leaf_signatures(context.group_id), "join");

  // Section 11.2: a reinit PSK ties the new group to the ReInit that closed `previous`.
  bool reinit_psk = false;
  for (const PreSharedKeyId& id : joined->psks) {
    const auto* res = std::get_if<ResumptionPsk>(&id.content);
    if (res == nullptr || res->usage == ResumptionPskUsage::application) continue;
    if (res->usage != ResumptionPskUsage::reinit) {
      return Error(Errc::unsupported, "join: a resumption PSK of usage " +
                                          std::to_string(static_cast<unsigned>(res->usage)));
    }
    if (previous == nullptr || !previous->reinit_ || res->psk_epoch != previous->epoch()) {
      return Error(Errc::invalid_value,
                   "join: a reinit PSK that is not of the last epoch of a group closed by ReInit");
    }
    reinit_psk = true;
  }
  if (previous != nullptr && previous->reinit_) {
    const ReInit& r = *previous->reinit_;
    if (!reinit_psk) {
      return Error(Errc::invalid_value, "join: the Welcome has no reinit PSK of the old group");
    }
    if (context.group_id != r.group_id || context.version != r.version ||
        context.cipher_suite != r.cipher_suite ||
        tls::encode(context.extensions) != tls::encode(r.extensions) || context.epoch != 1) {
      return Error(Errc::invalid_value,
                   "join: the new group does not match the ReInit (group id, version, suite, "
                   "extensions, epoch 1)");
    }
  }

  // Our leaf.
  std::optional<LeafIndex> own;
  for (uint32_t i = 0; i < tree->leaf_count().value(); ++i) {
    const LeafNode* leaf = tree->leaf(LeafIndex{i});
    if (leaf != nullptr && leaf->encryption_key == key_package.leaf_node.encryption_key &&
        leaf->signature_key == key_package.leaf_node.signature_key) {
      own = LeafIndex{i};
      break;
    }
  }
  if (!own) return Error(Errc::not_found, "join: our KeyPackage's leaf is not in the tree");

  TreePrivateKey priv;
  priv.leaf = *own;
  priv.leaf_private_key = keys.encryption_private_key;
  if (joined->path_secret) {
    SOTTO_TRY_ASSIGN(
        NodeIndex at,
        common_ancestor(to_node(*own), to_node(joined->group_info.signer), tree->leaf_count()));
    SOTTO_TRY_ASSIGN(auto path, direct_path(to_node(*own), tree->leaf_count()));
    SecureBytes secret = joined->path_secret->path_secret;
    bool started = false;
    for (const NodeIndex n : path) {
      if (n == at) started = true;
      if (!started || tree->blank(n)) continue;
      priv.path_secrets[n.value] = secret;
      SOTTO_TRY_ASSIGN(secret, suite.derive_secret(secret, "path"));
    }
  }
  SOTTO_TRY_CTX(priv.check_against(*tree), "join: our keys do not match the tree");

  SOTTO_TRY_ASSIGN(auto secret_tree, SecretTree::create(suite, tree->leaf_count(),
                                                        joined->epoch_secrets.encryption_secret));
  Group g(suite, std::move(*tree), std::move(secret_tree));
  g.context_ = context;
  g.private_key_ = std::move(priv);
  g.signature_private_key_ = keys.signature_private_key;
  g.interim_transcript_hash_ = interim_transcript_hash(suite, context.confirmed_transcript_hash,
                                                       joined->group_info.confirmation_tag);
  g.secrets_ = std::move(joined->epoch_secrets);
  return g;
}

// ---- helpers ---------------------------------------------------------------------------

FramingKeys Group::framing_keys() const {
  return FramingKeys{context_, secrets_.membership_key, secrets_.sender_data_secret};
}

const FramingKeys& Group::prepared_framing_keys() const {
  const FramingKeys* cached = framing_cache_.keys.get();
  if (cached == nullptr || !(cached->group_context == context_) ||
      !constant_time_equal(cached->sender_data_secret, secrets_.sender_data_secret) ||
      !constant_time_equal(cached->membership_key, secrets_.membership_key)) {
    auto keys = std::make_unique<FramingKeys>(framing_keys());
    keys->encoded_group_context = std::make_shared<const Bytes>(tls::encode(context_));
    keys->sender_data_key =
        std::make_shared<const crypto::HmacSha256Key>(secrets_.sender_data_secret);
    framing_cache_.keys = std::move(keys);
  }
  return *framing_cache_.keys;
}

Result<AuthenticatedContent> Group::sign(FramedContent content, WireFormat wire_format) const {
  return sign(std::move(content), wire_format, tls::encode(context_));
}

Result<AuthenticatedContent> Group::sign(FramedContent content, WireFormat wire_format,
                                         BytesView encoded_context) const {
  // Expanding the seed costs about a third of a signature: once per state, not per message.
  if (!signing_key_) {
    SOTTO_TRY_ASSIGN(auto key, crypto::Ed25519SigningKey::from_seed(signature_private_key_));
    signing_key_ = std::make_shared<const crypto::Ed25519SigningKey>(std::move(key));
  }
  return sign_framed_content(suite_, wire_format, std::move(content), encoded_context,
                             *signing_key_);
}

const SecureBytes* Group::resumption_psk(uint64_t epoch) const {
  if (epoch == context_.epoch) return &secrets_.resumption_psk;
  const auto it = resumption_psks_.find(epoch);
  return it == resumption_psks_.end() ? nullptr : &it->second;
}

Result<SecureBytes> Group::psk_secret(const std::vector<PreSharedKeyId>& ids,
                                      const ExternalPsks& psks, const Group* previous) const {
  std::vector<PskInput> inputs;
  for (const PreSharedKeyId& id : ids) {
    PskInput input{tls::encode(id), {}};
    if (const auto* ext = std::get_if<ExternalPsk>(&id.content)) {
      const auto it = psks.find(ext->psk_id);
      if (it == psks.end()) return Error(Errc::not_found, "PSK: unknown external psk_id");
      input.psk = it->second;
    } else {
      const auto& res = std::get<ResumptionPsk>(id.content);
      const Group* source = nullptr;
      if (res.psk_group_id == context_.group_id) {
        source = this;
      } else if (previous != nullptr && res.psk_group_id == previous->group_id()) {
        source = previous;
      }
      if (source == nullptr) return Error(Errc::not_found, "PSK: resumption PSK of another group");
      const SecureBytes* secret = source->resumption_psk(res.psk_epoch);
      if (secret == nullptr) {
        return Error(Errc::not_found,
                     "PSK: no resumption PSK for epoch " + std::to_string(res.psk_epoch));
      }
      input.psk = *secret;
    }
    inputs.push_back(std::move(input));
  }
  return derive_psk_secret(suite_, inputs);
}

void Group::carry_over_to(Group& next) const {
  next.signature_private_key_ = signature_private_key_;
  next.handshake_format_ = handshake_format_;
  next.resumption_psks_ = resumption_psks_;
  next.resumption_psks_[context_.epoch] = secrets_.resumption_psk;
  while (next.resumption_psks_.size() > kMaxResumptionPsks) {
    next.resumption_psks_.erase(next.resumption_psks_.begin());
  }
}

// ---- proposals and commits -------------------------------------------------------------

namespace {

Error group_ended(std::string_view what) {
  return Error(Errc::group_ended, std::string(what) + ": a ReInit closed this group");
}

}  // namespace

Result<Proposal> Group::propose_add(const KeyPackage& key_package, uint64_t now) const {
  SOTTO_TRY(validate_key_package(suite_, key_package, now));
  PublicTree tree = tree_;
  SOTTO_TRY_ASSIGN(const LeafIndex leaf, tree.add_leaf(key_package.leaf_node));
  SOTTO_TRY_CTX(check_capabilities(tree, context_.cipher_suite, context_.extensions, false, {leaf}),
                "add");
  return Proposal{Add{key_package}};
}

Result<Proposal> Group::propose_remove(LeafIndex leaf) const {
  if (tree_.leaf(leaf) == nullptr) {
    return Error(Errc::not_found, "remove: leaf " + std::to_string(leaf.value) + " is blank");
  }
  return Proposal{Remove{leaf}};
}

Result<Proposal> Group::propose_external_psk(BytesView psk_id, const Random& rng) const {
  PreSharedKeyId id{ExternalPsk{to_bytes(psk_id)}, random_bytes(rng, suite_.hash_size()).reveal()};
  return Proposal{PreSharedKey{std::move(id)}};
}

Result<Proposal> Group::propose_resumption_psk(uint64_t epoch, const Random& rng) const {
  if (resumption_psk(epoch) == nullptr) {
    return Error(Errc::not_found,
                 "psk: no resumption PSK of epoch " + std::to_string(epoch) + " is kept");
  }
  PreSharedKeyId id{ResumptionPsk{ResumptionPskUsage::application, context_.group_id, epoch},
                    random_bytes(rng, suite_.hash_size()).reveal()};
  return Proposal{PreSharedKey{std::move(id)}};
}

Result<Proposal> Group::propose_reinit(Bytes group_id, crypto::SuiteId suite,
                                       std::vector<Extension> extensions) const {
  if (!crypto::CipherSuite::supported(static_cast<uint16_t>(suite))) {
    return Error(Errc::unsupported, "reinit: cipher suite " +
                                        std::to_string(static_cast<unsigned>(suite)) +
                                        " is not available");
  }
  if (group_id.empty()) return Error(Errc::invalid_argument, "reinit: an empty group id");
  return Proposal{
      ReInit{std::move(group_id), ProtocolVersion::mls10, suite, std::move(extensions)}};
}

Result<SentProposal> Group::propose_update(const Random& rng) const {
  if (reinit_) return group_ended("update");
  const LeafNode* current = tree_.leaf(private_key_.leaf);
  if (current == nullptr) return Error(Errc::internal, "update: our leaf is blank");
  SOTTO_TRY_ASSIGN(auto enc, suite_.derive_hpke_key_pair(random_bytes(rng, suite_.hash_size())));
  LeafNode leaf = *current;
  leaf.encryption_key = HpkePublicKey{enc.public_key};
  leaf.source = UpdateLeafSource{};
  SOTTO_TRY(
      sign_leaf_node(suite_, leaf, signature_private_key_, context_.group_id, private_key_.leaf));
  SOTTO_TRY_ASSIGN(SentProposal sent, send_proposal(Proposal{Update{std::move(leaf)}}, rng));
  sent.next.pending_update_keys_[enc.public_key] = std::move(enc.private_key);
  return sent;
}

Result<void> Group::set_handshake_wire_format(WireFormat format) {
  if (format != WireFormat::public_message && format != WireFormat::private_message) {
    return Error(Errc::invalid_argument,
                 "handshake wire format must be public_message or private_message");
  }
  handshake_format_ = format;
  return success();
}

Result<MlsMessage> Group::protect_handshake(const AuthenticatedContent& ac, SecretTree& tree,
                                            const Random& rng) const {
  if (ac.wire_format == WireFormat::public_message) {
    SOTTO_TRY_ASSIGN(PublicMessage pub, protect_public(suite_, framing_keys(), ac));
    return MlsMessage{ProtocolVersion::mls10, std::move(pub)};
  }
  std::array<uint8_t, 4> guard{};
  rng(std::span<uint8_t>(guard.data(), guard.size()));
  SOTTO_TRY_ASSIGN(PrivateMessage priv, protect_private(suite_, framing_keys(), tree, ac, guard));
  return MlsMessage{ProtocolVersion::mls10, std::move(priv)};
}

Result<SentProposal> Group::send_proposal(const Proposal& proposal, const Random& rng) const {
  if (reinit_) return group_ended("send_proposal");
  FramedContent content;
  content.group_id = context_.group_id;
  content.epoch = context_.epoch;
  content.sender = Sender{MemberSender{private_key_.leaf}};
  content.content = proposal;
  SOTTO_TRY_ASSIGN(AuthenticatedContent ac, sign(std::move(content), handshake_format_));
  Group next = *this;
  SOTTO_TRY_ASSIGN(MlsMessage message, protect_handshake(ac, next.secret_tree_, rng));
  next.proposals_.push_back(CachedProposal{
      suite_.ref_hash("MLS 1.0 Proposal Reference", tls::encode(ac)), proposal, private_key_.leaf});
  return SentProposal{std::move(message), std::move(next)};
}

Result<CommitResult> Group::commit(const std::vector<Proposal>& proposals, const Random& rng,
                                   uint64_t now, const ExternalPsks& psks) const {
  return commit_with(proposals, rng, now, psks, nullptr);
}

Result<CommitResult> Group::commit_with(const std::vector<Proposal>& proposals, const Random& rng,
                                        uint64_t now, const ExternalPsks& psks,
                                        const Group* previous) const {
  if (reinit_) return group_ended("commit");
  const LeafIndex self = private_key_.leaf;
  const Committer committer{self};
  ResolvedProposals resolved;
  Commit commit;
  for (const CachedProposal& cached : proposals_) {
    if (cached.sender == self && cached.proposal.type() == ProposalType::update) continue;
    SOTTO_TRY(add_proposal(resolved, cached.proposal, cached.sender, true, committer,
                           suite_.hash_size()));
    commit.proposals.push_back(ProposalOrRef{cached.ref});
  }
  for (const Proposal& p : proposals) {
    SOTTO_TRY(
        add_proposal(resolved, p, self, false, committer, suite_.hash_size(), previous != nullptr));
    commit.proposals.push_back(ProposalOrRef{p});
  }
  SOTTO_TRY(finish_proposals(resolved, committer));
  for (const KeyPackage& kp : resolved.adds) {
    SOTTO_TRY_CTX(check_key_package(suite_, kp, now), "commit: Add");
  }

  PublicTree tree = tree_;
  SOTTO_TRY_ASSIGN(const auto added, apply_proposals(suite_, tree, resolved, context_.group_id));
  GroupContext next_context = context_;
  next_context.epoch += 1;
  if (resolved.extensions) next_context.extensions = *resolved.extensions;
  SOTTO_TRY_CTX(check_capabilities(tree, context_.cipher_suite, next_context.extensions,
                                   resolved.extensions.has_value(), added),
                "commit");
  SOTTO_TRY_ASSIGN(const SecureBytes psk, psk_secret(resolved.psks, psks, previous));

  const LeafNode* own_leaf = tree.leaf(self);
  if (own_leaf == nullptr) return Error(Errc::internal, "commit: our leaf is blank");
  UpdatePathSecrets fresh{random_bytes(rng, suite_.hash_size()),
                          random_bytes(rng, suite_.hash_size())};
  SOTTO_TRY_ASSIGN(auto created, create_update_path(tree, self, *own_leaf, signature_private_key_,
                                                    next_context, added, fresh));
  commit.path = std::move(created.path);

  FramedContent content;
  content.group_id = context_.group_id;
  content.epoch = context_.epoch;
  content.sender = Sender{MemberSender{self}};
  content.content = std::move(commit);
  SOTTO_TRY_ASSIGN(AuthenticatedContent ac, sign(std::move(content), handshake_format_));

  next_context.tree_hash = created.tree.tree_hash();
  next_context.confirmed_transcript_hash =
      confirmed_transcript_hash(suite_, interim_transcript_hash_, confirmed_input(ac));
  const Bytes next_context_bytes = tls::encode(next_context);
  SOTTO_TRY_ASSIGN(auto secrets,
                   derive_epoch_secrets(suite_, secrets_.init_secret, created.commit_secret, psk,
                                        next_context_bytes));
  const Bytes tag =
      confirmation_tag(suite_, secrets.confirmation_key, next_context.confirmed_transcript_hash);
  ac.auth.confirmation_tag = tag;
  SecretTree scratch = secret_tree_;  // this epoch ends with the commit
  SOTTO_TRY_ASSIGN(MlsMessage message, protect_handshake(ac, scratch, rng));

  CommitOutput output{std::move(message), std::nullopt};

  if (!added.empty()) {
    GroupInfo info;
    info.group_context = next_context;
    info.extensions.push_back(Extension{ExtensionType::ratchet_tree, created.tree.encode()});
    info.confirmation_tag = tag;
    info.signer = self;
    SOTTO_TRY(sign_group_info(suite_, info, signature_private_key_));
    SOTTO_TRY_ASSIGN(auto wkeys, welcome_keys(suite_, secrets.joiner_secret, psk));
    Welcome welcome;
    welcome.cipher_suite = context_.cipher_suite;
    SOTTO_TRY_ASSIGN(welcome.encrypted_group_info,
                     suite_.seal(wkeys.key, wkeys.nonce, {}, tls::encode(info)));
    for (size_t i = 0; i < added.size(); ++i) {
      const KeyPackage& kp = resolved.adds[i];
      GroupSecrets gs;
      gs.joiner_secret = secrets.joiner_secret;
      gs.psks = resolved.psks;
      SOTTO_TRY_ASSIGN(NodeIndex at, common_ancestor(to_node(added[i]), to_node(self),
                                                     created.tree.leaf_count()));
      const auto it = created.private_key.path_secrets.find(at.value);
      if (it != created.private_key.path_secrets.end()) gs.path_secret = PathSecret{it->second};
      SOTTO_TRY_ASSIGN(auto ct,
                       suite_.encrypt_with_label(kp.init_key.data, "Welcome",
                                                 welcome.encrypted_group_info, tls::encode(gs)));
      welcome.secrets.push_back(EncryptedGroupSecrets{
          key_package_ref(suite_, kp),
          HpkeCiphertext{std::move(ct.kem_output), std::move(ct.ciphertext)}});
    }
    output.welcome = MlsMessage{ProtocolVersion::mls10, std::move(welcome)};
  }

  SOTTO_TRY_ASSIGN(auto secret_tree, SecretTree::create(suite_, created.tree.leaf_count(),
                                                        secrets.encryption_secret));
  Group next(suite_, std::move(created.tree), std::move(secret_tree));
  next.context_ = std::move(next_context);
  next.private_key_ = std::move(created.private_key);
  carry_over_to(next);
  next.interim_transcript_hash_ =
      interim_transcript_hash(suite_, next.context_.confirmed_transcript_hash, tag);
  next.secrets_ = std::move(secrets);
  next.reinit_ = std::move(resolved.reinit);
  return CommitResult{std::move(output), std::move(next)};
}

Result<CommitResult> Group::reinit_group(const std::vector<KeyPackage>& key_packages,
                                         const Random& rng, uint64_t now) const {
  if (!reinit_) return Error(Errc::invalid_argument, "reinit: no ReInit closed this group");
  const ReInit& r = *reinit_;
  if (r.version != ProtocolVersion::mls10) {
    return Error(Errc::unsupported,
                 "reinit: protocol version " + std::to_string(static_cast<unsigned>(r.version)));
  }
  const LeafNode* own = tree_.leaf(private_key_.leaf);
  if (own == nullptr) return Error(Errc::internal, "reinit: our leaf is blank");
  SOTTO_TRY_ASSIGN(Group fresh, Group::create(r.cipher_suite, r.group_id, own->credential,
                                              signature_private_key_, rng, own->capabilities));
  fresh.handshake_format_ = handshake_format_;
  std::vector<Proposal> proposals;
  for (const KeyPackage& kp : key_packages) {
    SOTTO_TRY_ASSIGN(Proposal add, fresh.propose_add(kp, now));
    proposals.push_back(std::move(add));
  }
  PreSharedKeyId id{ResumptionPsk{ResumptionPskUsage::reinit, context_.group_id, context_.epoch},
                    random_bytes(rng, fresh.suite_.hash_size()).reveal()};
  proposals.push_back(Proposal{PreSharedKey{std::move(id)}});
  if (!r.extensions.empty()) proposals.push_back(Proposal{GroupContextExtensions{r.extensions}});
  return fresh.commit_with(proposals, rng, now, {}, this);
}

// ---- external joins (section 12.4.3.2) -------------------------------------------------

Result<MlsMessage> Group::group_info(bool with_ratchet_tree) const {
  SOTTO_TRY_ASSIGN(Bytes pub, external_pub(suite_, secrets_.external_secret));
  GroupInfo info;
  info.group_context = context_;
  info.extensions.push_back(
      Extension{ExtensionType::external_pub, tls::encode(ExternalPub{HpkePublicKey{pub}})});
  if (with_ratchet_tree) {
    info.extensions.push_back(Extension{ExtensionType::ratchet_tree, tree_.encode()});
  }
  info.confirmation_tag =
      confirmation_tag(suite_, secrets_.confirmation_key, context_.confirmed_transcript_hash);
  info.signer = private_key_.leaf;
  SOTTO_TRY(sign_group_info(suite_, info, signature_private_key_));
  return MlsMessage{ProtocolVersion::mls10, std::move(info)};
}

Result<ExternalJoinResult> Group::join_external(const MlsMessage& message, Credential credential,
                                                BytesView signature_private_key, const Random& rng,
                                                const ExternalJoinOptions& options) {
  const auto* info = std::get_if<GroupInfo>(&message.content);
  if (info == nullptr) {
    return Error(Errc::invalid_argument, "external join: message is not a GroupInfo");
  }
  const GroupContext& context = info->group_context;
  if (context.version != ProtocolVersion::mls10) {
    return Error(Errc::invalid_value, "external join: the GroupInfo's version is not mls10");
  }
  SOTTO_TRY_ASSIGN(auto suite,
                   crypto::CipherSuite::create(static_cast<uint16_t>(context.cipher_suite)));

  // The tree, checked as a Welcome joiner checks it, then the GroupInfo's signature.
  RatchetTree nodes;
  if (options.ratchet_tree) {
    nodes = *options.ratchet_tree;
  } else if (const Extension* ext = find_extension(info->extensions, ExtensionType::ratchet_tree)) {
    SOTTO_TRY_ASSIGN(nodes, tls::decode<RatchetTree>(ext->extension_data));
  } else {
    return Error(Errc::not_found, "external join: no ratchet tree given or in the GroupInfo");
  }
  SOTTO_TRY_ASSIGN(PublicTree tree, PublicTree::from_extension(suite, nodes));
  if (tree.tree_hash() != context.tree_hash) {
    return Error(Errc::invalid_value,
                 "external join: the ratchet tree does not match the tree hash");
  }
  if (auto hashes = tree.verify_parent_hashes(); !hashes.ok()) {
    return Error(Errc::bad_parent_hash, "external join: " + hashes.error().message());
  }
  SOTTO_TRY_CTX(tree.verify_leaf_signatures(context.group_id), "external join");
  const LeafNode* signer = tree.leaf(info->signer);
  if (signer == nullptr) return Error(Errc::not_found, "external join: the signer's leaf is blank");
  SOTTO_TRY(verify_group_info(suite, *info, signer->signature_key.data));

  const Extension* pub_ext = find_extension(info->extensions, ExtensionType::external_pub);
  if (pub_ext == nullptr) {
    return Error(Errc::not_found, "external join: the GroupInfo has no external_pub extension");
  }
  SOTTO_TRY_ASSIGN(const ExternalPub pub, tls::decode<ExternalPub>(pub_ext->extension_data));
  SOTTO_TRY_ASSIGN(auto sender,
                   suite.hpke().setup_sender(crypto::HpkeMode::base, pub.external_pub.data, {}));
  SOTTO_TRY_ASSIGN(const SecureBytes init_secret,
                   sender.context.export_secret(as_bytes(kExternalInitLabel), suite.hash_size()));

  // Our leaf: a placeholder until the UpdatePath gives it its key, source and signature.
  SOTTO_TRY_ASSIGN(Bytes sig_pub, signature_public_key(signature_private_key));
  LeafNode leaf;
  leaf.signature_key = SignaturePublicKey{std::move(sig_pub)};
  leaf.credential = std::move(credential);
  leaf.capabilities = default_capabilities();
  leaf.source = CommitLeafSource{};

  const Committer committer{};
  ResolvedProposals resolved;
  Commit commit;
  std::vector<Proposal> proposals{Proposal{ExternalInit{sender.enc}}};
  if (options.remove) {
    const LeafNode* old = tree.leaf(*options.remove);
    if (old == nullptr) return Error(Errc::not_found, "external join: the old leaf is blank");
    if (tls::encode(old->credential) != tls::encode(leaf.credential)) {
      return Error(Errc::invalid_argument,
                   "external join: the old leaf does not carry our credential");
    }
    proposals.push_back(Proposal{Remove{*options.remove}});
  }
  for (const Bytes& id : options.psk_ids) {
    proposals.push_back(Proposal{PreSharedKey{
        PreSharedKeyId{ExternalPsk{id}, random_bytes(rng, suite.hash_size()).reveal()}}});
  }
  for (const Proposal& p : proposals) {
    SOTTO_TRY(add_proposal(resolved, p, std::nullopt, false, committer, suite.hash_size()));
    commit.proposals.push_back(ProposalOrRef{p});
  }
  SOTTO_TRY(finish_proposals(resolved, committer));
  // An external commit adds no KeyPackages: only the Remove applies here.
  SOTTO_TRY(apply_proposals(suite, tree, resolved, context.group_id));
  for (uint32_t i = 0; i < tree.leaf_count().value(); ++i) {
    const LeafNode* other = tree.leaf(LeafIndex{i});
    if (other != nullptr && other->signature_key == leaf.signature_key) {
      return Error(Errc::invalid_argument,
                   "external join: our signature key is in the group; resync removes it");
    }
  }
  SOTTO_TRY_ASSIGN(const LeafIndex self, tree.add_leaf(leaf));
  GroupContext next_context = context;
  next_context.epoch += 1;
  SOTTO_TRY_CTX(
      check_capabilities(tree, context.cipher_suite, next_context.extensions, false, {self}),
      "external join");

  std::vector<PskInput> psk_inputs;
  for (const PreSharedKeyId& id : resolved.psks) {
    const auto& ext = std::get<ExternalPsk>(id.content);
    const auto it = options.psks.find(ext.psk_id);
    if (it == options.psks.end()) {
      return Error(Errc::not_found, "external join: unknown external psk_id");
    }
    psk_inputs.push_back(PskInput{tls::encode(id), it->second});
  }
  SOTTO_TRY_ASSIGN(const SecureBytes psk, derive_psk_secret(suite, psk_inputs));

  const SecureBytes seed(signature_private_key);
  UpdatePathSecrets fresh{random_bytes(rng, suite.hash_size()),
                          random_bytes(rng, suite.hash_size())};
  SOTTO_TRY_ASSIGN(auto created,
                   create_update_path(tree, self, *tree.leaf(self), seed, next_context, {}, fresh));
  commit.path = std::move(created.path);

  FramedContent content;
  content.group_id = context.group_id;
  content.epoch = context.epoch;
  content.sender = Sender{NewMemberCommitSender{}};
  content.content = std::move(commit);
  SOTTO_TRY_ASSIGN(AuthenticatedContent ac,
                   sign_framed_content(suite, WireFormat::public_message, std::move(content),
                                       tls::encode(context), signature_private_key));

  // The transcript continues from the GroupInfo's epoch: its interim hash from its tag.
  const Bytes interim =
      interim_transcript_hash(suite, context.confirmed_transcript_hash, info->confirmation_tag);
  next_context.tree_hash = created.tree.tree_hash();
  next_context.confirmed_transcript_hash =
      confirmed_transcript_hash(suite, interim, confirmed_input(ac));
  SOTTO_TRY_ASSIGN(auto secrets, derive_epoch_secrets(suite, init_secret, created.commit_secret,
                                                      psk, tls::encode(next_context)));
  const Bytes tag =
      confirmation_tag(suite, secrets.confirmation_key, next_context.confirmed_transcript_hash);
  ac.auth.confirmation_tag = tag;
  SOTTO_TRY_ASSIGN(PublicMessage pub_message,
                   protect_public(suite, FramingKeys{context, {}, {}}, ac));

  SOTTO_TRY_ASSIGN(auto secret_tree,
                   SecretTree::create(suite, created.tree.leaf_count(), secrets.encryption_secret));
  Group g(suite, std::move(created.tree), std::move(secret_tree));
  g.context_ = std::move(next_context);
  g.private_key_ = std::move(created.private_key);
  g.signature_private_key_ = seed;
  g.interim_transcript_hash_ =
      interim_transcript_hash(suite, g.context_.confirmed_transcript_hash, tag);
  g.secrets_ = std::move(secrets);
  return ExternalJoinResult{MlsMessage{ProtocolVersion::mls10, std::move(pub_message)},
                            std::move(g)};
}

// ---- receiving -------------------------------------------------------------------------

Result<Group> Group::process(const MlsMessage& message, const ExternalPsks& psks) const {
  ProcessOptions options;
  options.psks = psks;
  return process(message, options);
}

Result<Group> Group::process(const MlsMessage& message, const ProcessOptions& options) const {
  if (reinit_) return group_ended("process");
  const auto* pub = std::get_if<PublicMessage>(&message.content);
  const auto* priv = std::get_if<PrivateMessage>(&message.content);
  if (pub == nullptr && priv == nullptr) {
    return Error(Errc::invalid_argument, "process: not a PublicMessage or PrivateMessage");
  }
  const Bytes& group_id = pub != nullptr ? pub->content.group_id : priv->group_id;
  const uint64_t epoch = pub != nullptr ? pub->content.epoch : priv->epoch;
  if (group_id != context_.group_id) {
    return Error(Errc::invalid_argument, "process: message is for another group");
  }
  if (epoch != context_.epoch) {
    return Error(Errc::wrong_epoch, "process: message is for epoch " + std::to_string(epoch) +
                                        ", the group is at epoch " +
                                        std::to_string(context_.epoch));
  }
  const Commit* external_commit = nullptr;
  if (pub != nullptr) {
    const SenderType sender_type = pub->content.sender.type();
    if (sender_type == SenderType::member) {
      // Checked here as well as in framing, for a code of its own.
      const AuthenticatedContent ac{WireFormat::public_message, pub->content, pub->auth};
      const Bytes expected =
          membership_tag(suite_, secrets_.membership_key, ac, tls::encode(context_));
      if (!pub->membership_tag || !constant_time_equal(expected, *pub->membership_tag)) {
        return Error(Errc::bad_membership_tag, "process: the membership tag does not verify");
      }
    } else if (sender_type == SenderType::new_member_commit) {
      external_commit = std::get_if<Commit>(&pub->content.content);
      if (external_commit == nullptr) {
        return Error(Errc::invalid_value, "process: a new_member_commit sender sent no commit");
      }
      // The signer is the path's leaf, so there is nothing to verify without one.
      if (!external_commit->path) return invalid_commit("an external commit without a path");
    } else {
      return Error(Errc::unsupported,
                   "process: messages from external senders and new-member "
                   "proposals are not supported");
    }
  }
  Group next = *this;
  const PublicTree& tree = tree_;
  SignatureKeyLookup lookup = [&tree,
                               external_commit](const Sender& sender) -> std::optional<Bytes> {
    if (const auto* m = std::get_if<MemberSender>(&sender.content)) {
      if (const LeafNode* leaf = tree.leaf(m->leaf_index)) return leaf->signature_key.data;
    }
    if (std::holds_alternative<NewMemberCommitSender>(sender.content) && external_commit) {
      return external_commit->path->leaf_node.signature_key.data;
    }
    return std::nullopt;
  };
  SOTTO_TRY_ASSIGN(AuthenticatedContent ac,
                   mls::unprotect(suite_, framing_keys(), next.secret_tree_, message, lookup));
  if (const auto* proposal = std::get_if<Proposal>(&ac.content.content)) {
    const auto* m = std::get_if<MemberSender>(&ac.content.sender.content);
    if (m == nullptr) {
      return Error(Errc::unsupported, "process: proposals from non-members are not supported");
    }
    SOTTO_TRY_CTX(check_received_proposal(*proposal, options), "process: proposal");
    next.proposals_.push_back(CachedProposal{
        suite_.ref_hash("MLS 1.0 Proposal Reference", tls::encode(ac)), *proposal, m->leaf_index});
    return next;
  }
  if (!std::holds_alternative<Commit>(ac.content.content)) {
    return Error(Errc::invalid_argument, "process: application data; use unprotect()");
  }
  SOTTO_TRY_ASSIGN(Group after, next.apply_commit(ac, options));
  return after;
}

Result<void> Group::check_received_proposal(const Proposal& proposal,
                                            const ProcessOptions& options) const {
  if (const auto* add = std::get_if<Add>(&proposal.content)) {
    SOTTO_TRY_CTX(check_key_package(suite_, add->key_package, options.now), "Add");
    SOTTO_TRY_CTX(check_credential(add->key_package.leaf_node, options), "Add");
    PublicTree tree = tree_;
    SOTTO_TRY_ASSIGN(const LeafIndex leaf, tree.add_leaf(add->key_package.leaf_node));
    return check_capabilities(tree, context_.cipher_suite, context_.extensions, false, {leaf});
  }
  if (const auto* gce = std::get_if<GroupContextExtensions>(&proposal.content)) {
    return check_capabilities(tree_, context_.cipher_suite, gce->extensions, true, {});
  }
  if (const auto* update = std::get_if<Update>(&proposal.content)) {
    SOTTO_TRY_CTX(check_credential(update->leaf_node, options), "Update");
  }
  if (const auto* psk = std::get_if<PreSharedKey>(&proposal.content)) {
    if (psk->psk.psk_nonce.size() != suite_.hash_size()) {
      return Error(Errc::invalid_value, "a PreSharedKey proposal whose nonce is not Nh bytes");
    }
  }
  if (std::holds_alternative<ExternalInit>(proposal.content)) {
    return Error(Errc::invalid_value, "an ExternalInit is only valid inside an external commit");
  }
  return success();
}

Result<Group> Group::apply_commit(const AuthenticatedContent& ac,
                                  const ProcessOptions& options) const {
  Committer committer;
  if (const auto* member = std::get_if<MemberSender>(&ac.content.sender.content)) {
    committer.member = member->leaf_index;
    if (member->leaf_index == private_key_.leaf) {
      return Error(Errc::invalid_argument, "commit: our own commit; use commit()'s next state");
    }
  } else if (!std::holds_alternative<NewMemberCommitSender>(ac.content.sender.content) ||
             ac.wire_format != WireFormat::public_message) {
    return invalid_commit(
        "a commit from a sender that is neither a member nor a new member "
        "in a PublicMessage");
  }
  const Commit& commit = std::get<Commit>(ac.content.content);

  ResolvedProposals resolved;
  for (const ProposalOrRef& por : commit.proposals) {
    if (const auto* p = std::get_if<Proposal>(&por.content)) {
      SOTTO_TRY(add_proposal(resolved, *p, committer.member, false, committer, suite_.hash_size()));
      continue;
    }
    if (committer.external()) {
      return invalid_commit("an external commit names a proposal by reference");
    }
    const ProposalRef& ref = std::get<ProposalRef>(por.content);
    const auto it = std::find_if(proposals_.begin(), proposals_.end(),
                                 [&ref](const CachedProposal& c) { return c.ref == ref; });
    if (it == proposals_.end()) {
      return Error(Errc::not_found, "commit: a proposal reference is not cached");
    }
    SOTTO_TRY(
        add_proposal(resolved, it->proposal, it->sender, true, committer, suite_.hash_size()));
  }
  SOTTO_TRY(finish_proposals(resolved, committer));
  if (resolved.needs_path && !commit.path) {
    return invalid_commit("an UpdatePath is required and missing");
  }
  for (const KeyPackage& kp : resolved.adds) {
    SOTTO_TRY_CTX(check_key_package(suite_, kp, options.now), "commit: Add");
    SOTTO_TRY_CTX(check_credential(kp.leaf_node, options), "commit: Add");
  }
  for (const auto& update : resolved.updates) {
    SOTTO_TRY_CTX(check_credential(update.second, options), "commit: Update");
  }
  if (commit.path) SOTTO_TRY_CTX(check_credential(commit.path->leaf_node, options), "commit: path");
  for (const LeafIndex r : resolved.removes) {
    if (r == private_key_.leaf) {
      return Error(Errc::not_found, "commit: this member is removed by the commit");
    }
    if (committer.external()) {
      // Resync: the joiner may only remove an old leaf of its own (section 12.4.3.2).
      const LeafNode* old = tree_.leaf(r);
      if (old != nullptr &&
          tls::encode(old->credential) != tls::encode(commit.path->leaf_node.credential)) {
        return invalid_commit("an external commit removes a leaf of another credential");
      }
    }
  }

  PublicTree tree = tree_;
  SOTTO_TRY_ASSIGN(auto added, apply_proposals(suite_, tree, resolved, context_.group_id));
  SecureBytes init_secret = secrets_.init_secret;
  if (committer.external()) {
    for (uint32_t i = 0; i < tree.leaf_count().value(); ++i) {
      const LeafNode* other = tree.leaf(LeafIndex{i});
      if (other != nullptr && other->signature_key == commit.path->leaf_node.signature_key) {
        return invalid_commit("an external joiner's signature key is already in the group");
      }
    }
    // The joiner's leaf takes the leftmost free slot; the path then replaces it. Its key is
    // left out until then, or the path's check for fresh keys would find it in the tree.
    LeafNode placeholder = commit.path->leaf_node;
    placeholder.encryption_key = HpkePublicKey{};
    SOTTO_TRY_ASSIGN(const LeafIndex joiner, tree.add_leaf(std::move(placeholder)));
    committer.member = joiner;
    added.push_back(joiner);
    SOTTO_TRY_ASSIGN(auto key_pair, suite_.derive_hpke_key_pair(secrets_.external_secret));
    auto receiver =
        suite_.hpke().setup_receiver(crypto::HpkeMode::base, *resolved.external_init, key_pair, {});
    if (!receiver.ok()) {
      return Error(Errc::crypto_failure, "commit: the ExternalInit's kem_output does not decap");
    }
    SOTTO_TRY_ASSIGN(init_secret,
                     receiver->export_secret(as_bytes(kExternalInitLabel), suite_.hash_size()));
  }
  const LeafIndex sender = *committer.member;
  GroupContext next_context = context_;
  next_context.epoch += 1;
  if (resolved.extensions) next_context.extensions = *resolved.extensions;
  SOTTO_TRY_CTX(check_capabilities(tree, context_.cipher_suite, next_context.extensions,
                                   resolved.extensions.has_value(), added),
                "commit");

  TreePrivateKey priv = private_key_;
  for (const auto& [leaf, node] : resolved.updates) {
    if (!(leaf == priv.leaf)) continue;
    const auto it = pending_update_keys_.find(node.encryption_key.data);
    if (it == pending_update_keys_.end()) {
      return Error(Errc::not_found, "commit: an Update of our leaf that we did not propose");
    }
    priv.leaf_private_key = it->second;
  }
  // The external joiner's leaf is excluded like an Add's: it is the sender, not a receiver.
  std::vector<LeafIndex> excluded = added;
  if (committer.external()) excluded.pop_back();
  SecureBytes commit_secret(suite_.hash_size());
  if (commit.path) {
    auto processed = process_update_path(tree, sender, *commit.path, priv, next_context, excluded);
    if (!processed.ok()) {
      return parent_hash_error(std::move(processed).error()).with_context("commit");
    }
    tree = std::move(processed->tree);
    priv = std::move(processed->private_key);
    commit_secret = std::move(processed->commit_secret);
  }
  SOTTO_TRY(prune_private_key(suite_, tree, priv));

  next_context.tree_hash = tree.tree_hash();
  next_context.confirmed_transcript_hash =
      confirmed_transcript_hash(suite_, interim_transcript_hash_, confirmed_input(ac));
  SOTTO_TRY_ASSIGN(const SecureBytes psk, psk_secret(resolved.psks, options.psks));
  SOTTO_TRY_ASSIGN(auto secrets, derive_epoch_secrets(suite_, init_secret, commit_secret, psk,
                                                      tls::encode(next_context)));
  if (!ac.auth.confirmation_tag ||
      !verify_confirmation_tag(suite_, secrets.confirmation_key,
                               next_context.confirmed_transcript_hash, *ac.auth.confirmation_tag)) {
    return Error(Errc::bad_confirmation_tag, "commit: the confirmation tag does not verify");
  }
  SOTTO_TRY_ASSIGN(auto secret_tree,
                   SecretTree::create(suite_, tree.leaf_count(), secrets.encryption_secret));
  Group next(suite_, std::move(tree), std::move(secret_tree));
  next.context_ = std::move(next_context);
  next.private_key_ = std::move(priv);
  carry_over_to(next);
  next.interim_transcript_hash_ = interim_transcript_hash(
      suite_, next.context_.confirmed_transcript_hash, *ac.auth.confirmation_tag);
  next.secrets_ = std::move(secrets);
  next.reinit_ = std::move(resolved.reinit);
  return next;
}

// ---- application data ------------------------------------------------------------------

Result<MlsMessage> Group::protect(BytesView data, const Random& rng, BytesView authenticated_data) {
  if (reinit_) return group_ended("protect");
  FramedContent content;
  content.group_id = context_.group_id;
  content.epoch = context_.epoch;
  content.sender = Sender{MemberSender{private_key_.leaf}};
  content.authenticated_data = to_bytes(authenticated_data);
  content.content = ApplicationData{to_bytes(data)};
  const FramingKeys& keys = prepared_framing_keys();
  SOTTO_TRY_ASSIGN(AuthenticatedContent ac, sign(std::move(content), WireFormat::private_message,
                                                 *keys.encoded_group_context));
  std::array<uint8_t, 4> guard{};
  rng(std::span<uint8_t>(guard.data(), guard.size()));
  SOTTO_TRY_ASSIGN(PrivateMessage priv, protect_private(suite_, keys, secret_tree_, ac, guard));
  return MlsMessage{ProtocolVersion::mls10, std::move(priv)};
}

Result<ReceivedApplication> Group::unprotect(const MlsMessage& message) {
  const auto* priv = std::get_if<PrivateMessage>(&message.content);
  if (priv == nullptr) {
    return Error(Errc::invalid_argument, "unprotect: application data must be a PrivateMessage");
  }
  if (priv->group_id != context_.group_id) {
    return Error(Errc::invalid_argument, "unprotect: message is for another group");
  }
  if (priv->epoch != context_.epoch) {
    return Error(Errc::wrong_epoch, "unprotect: message is for epoch " +
                                        std::to_string(priv->epoch) + ", the group is at epoch " +
                                        std::to_string(context_.epoch));
  }
  if (priv->content_type != ContentType::application) {
    return Error(Errc::invalid_argument, "unprotect: a handshake message; use process()");
  }
  const PublicTree& tree = tree_;
  SignatureKeyLookup lookup = [&tree](const Sender& sender) -> std::optional<Bytes> {
    if (const auto* m = std::get_if<MemberSender>(&sender.content)) {
      if (const LeafNode* leaf = tree.leaf(m->leaf_index)) return leaf->signature_key.data;
    }
    return std::nullopt;
  };
  SOTTO_TRY_ASSIGN(AuthenticatedContent ac,
                   unprotect_private(suite_, prepared_framing_keys(), secret_tree_, *priv, lookup));
  const auto* app = std::get_if<ApplicationData>(&ac.content.content);
  if (app == nullptr) return Error(Errc::invalid_value, "unprotect: not application data");
  return ReceivedApplication{app->data,
                             std::get<MemberSender>(ac.content.sender.content).leaf_index,
                             ac.content.authenticated_data};
}

// ---- the epoch -------------------------------------------------------------------------

Result<SecureBytes> Group::export_secret(std::string_view label, BytesView context,
                                         size_t length) const {
  return mls_exporter(suite_, secrets_.exporter_secret, label, context, length);
}

std::vector<GroupMember> Group::members() const {
  std::vector<GroupMember> out;
  for (uint32_t i = 0; i < tree_.leaf_count().value(); ++i) {
    if (const LeafNode* leaf = tree_.leaf(LeafIndex{i})) {
      out.push_back(GroupMember{LeafIndex{i}, leaf->credential, leaf->signature_key});
    }
  }
  return out;
}

// ---- state ---------------------------------------------------------------------------

namespace {

// The epoch secrets in a fixed order, for the stored state.
std::array<SecureBytes*, 12> secret_fields(EpochSecrets& s) {
  return {&s.joiner_secret,     &s.welcome_secret,  &s.epoch_secret,        &s.sender_data_secret,
          &s.encryption_secret, &s.exporter_secret, &s.external_secret,     &s.confirmation_key,
          &s.membership_key,    &s.resumption_psk,  &s.epoch_authenticator, &s.init_secret};
}

}  // namespace

Bytes Group::serialize() const {
  tls::Writer w;
  w.u16(kStateVersion);
  w.u16(suite_.id());
  tls::write(w, context_);
  tls::write(w, tree_.to_extension());
  tls::write(w, private_key_.leaf);
  tls::write(w, private_key_.leaf_private_key);
  size_t at = w.begin_vector();
  for (const auto& [node, secret] : private_key_.path_secrets) {
    w.u32(node);
    tls::write(w, secret);
  }
  w.end_vector(at);
  tls::write(w, signature_private_key_);
  EpochSecrets secrets = secrets_;
  for (SecureBytes* s : secret_fields(secrets)) tls::write(w, *s);
  secret_tree_.write_state(w);
  tls::write(w, interim_transcript_hash_);
  tls::write(w, handshake_format_);
  at = w.begin_vector();
  for (const CachedProposal& p : proposals_) {
    tls::write(w, p.ref);
    tls::write(w, p.proposal);
    tls::write(w, p.sender);
  }
  w.end_vector(at);
  at = w.begin_vector();
  for (const auto& [pub, priv] : pending_update_keys_) {
    tls::write(w, pub);
    tls::write(w, priv);
  }
  w.end_vector(at);
  at = w.begin_vector();
  for (const auto& [epoch, psk] : resumption_psks_) {
    w.u64(epoch);
    tls::write(w, psk);
  }
  w.end_vector(at);
  tls::write(w, reinit_);
  return w.take();
}

Result<Group> Group::deserialize(BytesView state) {
  tls::Reader r(state);
  SOTTO_TRY_ASSIGN(const uint16_t version, r.u16());
  // Version 1 is version 2 without the ReInit at the end.
  if (version != kStateVersion && version != 1) {
    return Error(Errc::unsupported, "group state: version " + std::to_string(version) +
                                        " is not 1 or " + std::to_string(kStateVersion));
  }
  SOTTO_TRY_ASSIGN(const uint16_t suite_id, r.u16());
  SOTTO_TRY_ASSIGN(auto suite, crypto::CipherSuite::create(suite_id));
  GroupContext context;
  SOTTO_TRY(tls::read(r, context));
  RatchetTree nodes;
  SOTTO_TRY(tls::read(r, nodes));
  SOTTO_TRY_ASSIGN(auto tree, PublicTree::from_extension(suite, nodes));
  TreePrivateKey priv;
  SOTTO_TRY(tls::read(r, priv.leaf));
  SOTTO_TRY(tls::read(r, priv.leaf_private_key));
  {
    SOTTO_TRY_ASSIGN(auto sub, r.vector());
    while (!sub.empty()) {
      SOTTO_TRY_ASSIGN(const uint32_t node, sub.u32());
      SOTTO_TRY(tls::read(sub, priv.path_secrets[node]));
    }
  }
  SecureBytes signature_private_key;
  SOTTO_TRY(tls::read(r, signature_private_key));
  EpochSecrets secrets;
  for (SecureBytes* s : secret_fields(secrets)) SOTTO_TRY(tls::read(r, *s));
  SOTTO_TRY_ASSIGN(auto secret_tree, SecretTree::read_state(suite, r));
  Group g(suite, std::move(tree), std::move(secret_tree));
  g.context_ = std::move(context);
  g.private_key_ = std::move(priv);
  g.signature_private_key_ = std::move(signature_private_key);
  g.secrets_ = std::move(secrets);
  SOTTO_TRY(tls::read(r, g.interim_transcript_hash_));
  SOTTO_TRY(tls::read(r, g.handshake_format_));
  SOTTO_TRY_CTX(g.set_handshake_wire_format(g.handshake_format_), "group state");
  {
    SOTTO_TRY_ASSIGN(auto sub, r.vector());
    while (!sub.empty()) {
      CachedProposal p;
      SOTTO_TRY(tls::read(sub, p.ref));
      SOTTO_TRY(tls::read(sub, p.proposal));
      SOTTO_TRY(tls::read(sub, p.sender));
      g.proposals_.push_back(std::move(p));
    }
  }
  {
    SOTTO_TRY_ASSIGN(auto sub, r.vector());
    while (!sub.empty()) {
      Bytes pub;
      SOTTO_TRY(tls::read(sub, pub));
      SOTTO_TRY(tls::read(sub, g.pending_update_keys_[pub]));
    }
  }
  {
    SOTTO_TRY_ASSIGN(auto sub, r.vector());
    while (!sub.empty()) {
      SOTTO_TRY_ASSIGN(const uint64_t epoch, sub.u64());
      SOTTO_TRY(tls::read(sub, g.resumption_psks_[epoch]));
    }
  }
  if (version >= 2) SOTTO_TRY(tls::read(r, g.reinit_));
  SOTTO_TRY(r.expect_end());
  if (g.tree_.leaf(g.private_key_.leaf) == nullptr) {
    return Error(Errc::invalid_value, "group state: our leaf is blank");
  }
  SOTTO_TRY_CTX(g.private_key_.check_against(g.tree_), "group state");
  return g;
}

}  // namespace sotto::mls
