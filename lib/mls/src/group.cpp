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

Capabilities default_capabilities() {
  Capabilities caps;
  caps.versions = {ProtocolVersion::mls10};
  caps.cipher_suites = {crypto::SuiteId::x25519_aes128gcm_sha256_ed25519,
                        crypto::SuiteId::x25519_chacha20poly1305_sha256_ed25519};
  caps.credentials = {CredentialType::basic};
  return caps;
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

// join_from_welcome for GroupSecrets that name external PSKs, which welcome.h does not take
// yet: the same steps with psk_secret from `psks`. Remove once welcome.h supports PSKs.
Result<JoinedEpoch> join_with_psks(const crypto::CipherSuite& suite, const Welcome& welcome,
                                   const KeyPackage& key_package, BytesView init_private_key,
                                   const GroupInfoSignerLookup& signer_key,
                                   const ExternalPsks& psks) {
  const KeyPackageRef ref = key_package_ref(suite, key_package);
  const auto ours = std::find_if(
      welcome.secrets.begin(), welcome.secrets.end(),
      [&ref](const EncryptedGroupSecrets& s) { return constant_time_equal(s.new_member, ref); });
  if (ours == welcome.secrets.end()) {
    return Error(Errc::not_found, "welcome: no group secrets for this KeyPackage");
  }
  SOTTO_TRY_ASSIGN(const SecureBytes plain,
                   suite.decrypt_with_label(init_private_key, "Welcome", welcome.encrypted_group_info,
                                            ours->encrypted_group_secrets.kem_output,
                                            ours->encrypted_group_secrets.ciphertext));
  SOTTO_TRY_ASSIGN(GroupSecrets secrets, tls::decode<GroupSecrets>(plain));
  std::vector<PskInput> inputs;
  for (const PreSharedKeyId& id : secrets.psks) {
    const auto* ext = std::get_if<ExternalPsk>(&id.content);
    if (ext == nullptr) return Error(Errc::unsupported, "welcome: resumption PSK for a joiner");
    const auto it = psks.find(ext->psk_id);
    if (it == psks.end()) return Error(Errc::not_found, "welcome: unknown external psk_id");
    inputs.push_back(PskInput{tls::encode(id), it->second});
  }
  SOTTO_TRY_ASSIGN(const SecureBytes psk_secret, derive_psk_secret(suite, inputs));
  SOTTO_TRY_ASSIGN(const KeyAndNonce wkeys, welcome_keys(suite, secrets.joiner_secret, psk_secret));
  auto info_plain = suite.open(wkeys.key, wkeys.nonce, {}, welcome.encrypted_group_info);
  if (!info_plain.ok()) {
    return Error(Errc::authentication_failed, "welcome: the GroupInfo does not decrypt");
  }
  SOTTO_TRY_ASSIGN(GroupInfo info, tls::decode<GroupInfo>(*info_plain));
  if (info.group_context.cipher_suite != welcome.cipher_suite) {
    return Error(Errc::invalid_argument, "welcome: GroupInfo cipher suite differs");
  }
  const std::optional<Bytes> signer = signer_key(info);
  if (!signer) return Error(Errc::not_found, "welcome: no signature key for the signer");
  SOTTO_TRY(verify_group_info(suite, info, *signer));
  SOTTO_TRY_ASSIGN(EpochSecrets epoch,
                   derive_epoch_secrets_from_joiner(suite, secrets.joiner_secret, psk_secret,
                                                    tls::encode(info.group_context)));
  if (!verify_confirmation_tag(suite, epoch.confirmation_key,
                               info.group_context.confirmed_transcript_hash,
                               info.confirmation_tag)) {
    return Error(Errc::authentication_failed, "welcome: the confirmation tag does not verify");
  }
  return JoinedEpoch{std::move(info), std::move(secrets.path_secret), std::move(epoch)};
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

// The proposals of one commit, resolved and grouped in the order they apply (12.4.2).
struct ResolvedProposals {
  std::vector<std::pair<LeafIndex, LeafNode>> updates;
  std::vector<LeafIndex> removes;
  std::vector<KeyPackage> adds;
  std::vector<PreSharedKeyId> psks;
  std::optional<std::vector<Extension>> extensions;
  bool needs_path = false;
};

Result<void> add_proposal(ResolvedProposals& out, const Proposal& p,
                          std::optional<LeafIndex> proposer, LeafIndex committer) {
  if (const auto* u = std::get_if<Update>(&p.content)) {
    if (!proposer || *proposer == committer) {
      return Error(Errc::invalid_value, "commit: an Update from the committer or a non-member");
    }
    out.updates.emplace_back(*proposer, u->leaf_node);
    out.needs_path = true;
  } else if (const auto* r = std::get_if<Remove>(&p.content)) {
    if (r->removed == committer) {
      return Error(Errc::invalid_value, "commit: the committer removes itself");
    }
    out.removes.push_back(r->removed);
    out.needs_path = true;
  } else if (const auto* a = std::get_if<Add>(&p.content)) {
    out.adds.push_back(a->key_package);
  } else if (const auto* psk = std::get_if<PreSharedKey>(&p.content)) {
    out.psks.push_back(psk->psk);
  } else if (const auto* gce = std::get_if<GroupContextExtensions>(&p.content)) {
    if (out.extensions) {
      return Error(Errc::invalid_value, "commit: more than one GroupContextExtensions");
    }
    out.extensions = gce->extensions;
    out.needs_path = true;
  } else {
    return Error(Errc::unsupported, "commit: proposal type " +
                                        std::to_string(static_cast<int>(p.type())) +
                                        " is not supported");
  }
  return success();
}

// Applies the proposals to `tree`; returns the leaves the adds took.
Result<std::vector<LeafIndex>> apply_proposals(const crypto::CipherSuite& suite, PublicTree& tree,
                                               const ResolvedProposals& r, BytesView group_id) {
  std::set<uint32_t> touched;
  for (const auto& [leaf, node] : r.updates) {
    if (!touched.insert(leaf.value).second) {
      return Error(Errc::invalid_value, "commit: two proposals change one leaf");
    }
    if (node.source_type() != LeafNodeSource::update ||
        !verify_leaf_node_signature(suite, node, group_id, leaf)) {
      return Error(Errc::bad_signature, "commit: Update leaf is not a valid update leaf");
    }
    SOTTO_TRY_CTX(tree.update_leaf(leaf, node), "commit: Update");
  }
  for (const LeafIndex leaf : r.removes) {
    if (!touched.insert(leaf.value).second) {
      return Error(Errc::invalid_value, "commit: two proposals change one leaf");
    }
    SOTTO_TRY_CTX(tree.remove_leaf(leaf), "commit: Remove");
  }
  std::set<Bytes> signature_keys;
  for (uint32_t i = 0; i < tree.leaf_count().value(); ++i) {
    if (const LeafNode* leaf = tree.leaf(LeafIndex{i})) {
      signature_keys.insert(leaf->signature_key.data);
    }
  }
  std::vector<LeafIndex> added;
  for (const KeyPackage& kp : r.adds) {
    if (!signature_keys.insert(kp.leaf_node.signature_key.data).second) {
      return Error(Errc::invalid_value, "commit: Add of a signature key already in the group");
    }
    SOTTO_TRY_ASSIGN(LeafIndex leaf, tree.add_leaf(kp.leaf_node));
    added.push_back(leaf);
  }
  return added;
}

}  // namespace

// ---- KeyPackages -----------------------------------------------------------------------

Result<KeyPackageBundle> create_key_package(crypto::SuiteId suite_id, Credential credential,
                                            BytesView signature_private_key, Lifetime lifetime,
                                            const Random& rng) {
  SOTTO_TRY_ASSIGN(auto suite, crypto::CipherSuite::create(static_cast<uint16_t>(suite_id)));
  SOTTO_TRY_ASSIGN(auto init, suite.derive_hpke_key_pair(random_bytes(rng, suite.hash_size())));
  SOTTO_TRY_ASSIGN(auto enc, suite.derive_hpke_key_pair(random_bytes(rng, suite.hash_size())));
  SOTTO_TRY_ASSIGN(Bytes sig_pub, signature_public_key(signature_private_key));

  KeyPackageBundle out;
  LeafNode& leaf = out.key_package.leaf_node;
  leaf.encryption_key = HpkePublicKey{enc.public_key};
  leaf.signature_key = SignaturePublicKey{std::move(sig_pub)};
  leaf.credential = std::move(credential);
  leaf.capabilities = default_capabilities();
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
  if (now > source->lifetime.not_after) {
    return Error(Errc::invalid_value, "KeyPackage: expired (not_after " +
                                          std::to_string(source->lifetime.not_after) +
                                          " is before now " + std::to_string(now) + ")");
  }
  if (now < source->lifetime.not_before) {
    return Error(Errc::invalid_value, "KeyPackage: not yet valid (not_before " +
                                          std::to_string(source->lifetime.not_before) +
                                          " is after now " + std::to_string(now) + ")");
  }
  if (kp.init_key.data == kp.leaf_node.encryption_key.data) {
    return Error(Errc::invalid_value, "KeyPackage: init key equals the encryption key");
  }
  return success();
}

// ---- creating and joining --------------------------------------------------------------

Result<Group> Group::create(crypto::SuiteId suite_id, Bytes group_id, Credential credential,
                            BytesView signature_private_key, const Random& rng) {
  SOTTO_TRY_ASSIGN(auto suite, crypto::CipherSuite::create(static_cast<uint16_t>(suite_id)));
  SOTTO_TRY_ASSIGN(auto enc, suite.derive_hpke_key_pair(random_bytes(rng, suite.hash_size())));
  SOTTO_TRY_ASSIGN(Bytes sig_pub, signature_public_key(signature_private_key));

  LeafNode leaf;
  leaf.encryption_key = HpkePublicKey{enc.public_key};
  leaf.signature_key = SignaturePublicKey{std::move(sig_pub)};
  leaf.credential = std::move(credential);
  leaf.capabilities = default_capabilities();
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
                          const std::optional<RatchetTree>& ratchet_tree,
                          const ExternalPsks& psks) {
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
  auto joined = join_from_welcome(*welcome, key_package, keys.init_private_key, signer);
  if (!joined.ok() && joined.error().code() == Errc::unsupported && !asked) {
    joined = join_with_psks(suite, *welcome, key_package, keys.init_private_key, signer, psks);
  }
  if (!joined.ok()) {
    if (asked && !tree) return tree_error;
    return std::move(joined).error();
  }
  const GroupContext& context = joined->group_info.group_context;
  if (tree->tree_hash() != context.tree_hash) {
    return Error(Errc::invalid_value, "join: the ratchet tree does not match the tree hash");
  }
  SOTTO_TRY_CTX(tree->verify_parent_hashes(), "join");
  SOTTO_TRY_CTX(tree->verify_leaf_signatures(context.group_id), "join");

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
    SOTTO_TRY_ASSIGN(NodeIndex at, common_ancestor(to_node(*own), to_node(joined->group_info.signer),
                                                   tree->leaf_count()));
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

Result<AuthenticatedContent> Group::sign(FramedContent content, WireFormat wire_format) const {
  return sign_framed_content(suite_, wire_format, std::move(content), tls::encode(context_),
                             signature_private_key_);
}

Result<SecureBytes> Group::psk_secret(const std::vector<PreSharedKeyId>& ids,
                                      const ExternalPsks& psks) const {
  std::vector<PskInput> inputs;
  for (const PreSharedKeyId& id : ids) {
    PskInput input{tls::encode(id), {}};
    if (const auto* ext = std::get_if<ExternalPsk>(&id.content)) {
      const auto it = psks.find(ext->psk_id);
      if (it == psks.end()) return Error(Errc::not_found, "PSK: unknown external psk_id");
      input.psk = it->second;
    } else {
      const auto& res = std::get<ResumptionPsk>(id.content);
      if (res.psk_group_id != context_.group_id) {
        return Error(Errc::not_found, "PSK: resumption PSK of another group");
      }
      if (res.psk_epoch == context_.epoch) {
        input.psk = secrets_.resumption_psk;
      } else {
        const auto it = resumption_psks_.find(res.psk_epoch);
        if (it == resumption_psks_.end()) {
          return Error(Errc::not_found, "PSK: no resumption PSK for that epoch");
        }
        input.psk = it->second;
      }
    }
    inputs.push_back(std::move(input));
  }
  return derive_psk_secret(suite_, inputs);
}

// ---- proposals and commits -------------------------------------------------------------

Result<Proposal> Group::propose_add(const KeyPackage& key_package, uint64_t now) const {
  SOTTO_TRY(validate_key_package(suite_, key_package, now));
  return Proposal{Add{key_package}};
}

Result<Proposal> Group::propose_remove(LeafIndex leaf) const {
  if (tree_.leaf(leaf) == nullptr) {
    return Error(Errc::not_found, "remove: leaf " + std::to_string(leaf.value) + " is blank");
  }
  return Proposal{Remove{leaf}};
}

Result<SentProposal> Group::propose_update(const Random& rng) const {
  const LeafNode* current = tree_.leaf(private_key_.leaf);
  if (current == nullptr) return Error(Errc::internal, "update: our leaf is blank");
  SOTTO_TRY_ASSIGN(auto enc, suite_.derive_hpke_key_pair(random_bytes(rng, suite_.hash_size())));
  LeafNode leaf = *current;
  leaf.encryption_key = HpkePublicKey{enc.public_key};
  leaf.source = UpdateLeafSource{};
  SOTTO_TRY(sign_leaf_node(suite_, leaf, signature_private_key_, context_.group_id,
                           private_key_.leaf));
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
                                   uint64_t now) const {
  const LeafIndex self = private_key_.leaf;
  ResolvedProposals resolved;
  Commit commit;
  for (const CachedProposal& cached : proposals_) {
    if (cached.sender == self && cached.proposal.type() == ProposalType::update) continue;
    SOTTO_TRY(add_proposal(resolved, cached.proposal, cached.sender, self));
    commit.proposals.push_back(ProposalOrRef{cached.ref});
  }
  for (const Proposal& p : proposals) {
    if (const auto* add = std::get_if<Add>(&p.content)) {
      SOTTO_TRY(validate_key_package(suite_, add->key_package, now));
    }
    SOTTO_TRY(add_proposal(resolved, p, self, self));
    commit.proposals.push_back(ProposalOrRef{p});
  }
  if (!resolved.psks.empty()) {
    return Error(Errc::unsupported, "commit: sending PSK proposals is not supported");
  }

  PublicTree tree = tree_;
  SOTTO_TRY_ASSIGN(const auto added,
                   apply_proposals(suite_, tree, resolved, context_.group_id));
  GroupContext next_context = context_;
  next_context.epoch += 1;
  if (resolved.extensions) next_context.extensions = *resolved.extensions;

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
  const SecureBytes psk(suite_.hash_size());
  SOTTO_TRY_ASSIGN(auto secrets, derive_epoch_secrets(suite_, secrets_.init_secret,
                                                      created.commit_secret, psk,
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
    info.extensions.push_back(
        Extension{ExtensionType::ratchet_tree, tls::encode(created.tree.to_extension())});
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
      SOTTO_TRY_ASSIGN(NodeIndex at, common_ancestor(to_node(added[i]), to_node(self),
                                                     created.tree.leaf_count()));
      const auto it = created.private_key.path_secrets.find(at.value);
      if (it != created.private_key.path_secrets.end()) gs.path_secret = PathSecret{it->second};
      SOTTO_TRY_ASSIGN(auto ct, suite_.encrypt_with_label(kp.init_key.data, "Welcome",
                                                          welcome.encrypted_group_info,
                                                          tls::encode(gs)));
      welcome.secrets.push_back(EncryptedGroupSecrets{
          key_package_ref(suite_, kp), HpkeCiphertext{std::move(ct.kem_output),
                                                      std::move(ct.ciphertext)}});
    }
    output.welcome = MlsMessage{ProtocolVersion::mls10, std::move(welcome)};
  }

  SOTTO_TRY_ASSIGN(auto secret_tree, SecretTree::create(suite_, created.tree.leaf_count(),
                                                        secrets.encryption_secret));
  Group next(suite_, std::move(created.tree), std::move(secret_tree));
  next.context_ = std::move(next_context);
  next.private_key_ = std::move(created.private_key);
  next.signature_private_key_ = signature_private_key_;
  next.handshake_format_ = handshake_format_;
  next.interim_transcript_hash_ =
      interim_transcript_hash(suite_, next.context_.confirmed_transcript_hash, tag);
  next.resumption_psks_ = resumption_psks_;
  next.resumption_psks_[context_.epoch] = secrets_.resumption_psk;
  next.secrets_ = std::move(secrets);
  return CommitResult{std::move(output), std::move(next)};
}

Result<Group> Group::process(const MlsMessage& message, const ExternalPsks& psks) const {
  uint64_t epoch = 0;
  if (const auto* pub = std::get_if<PublicMessage>(&message.content)) {
    epoch = pub->content.epoch;
  } else if (const auto* priv = std::get_if<PrivateMessage>(&message.content)) {
    epoch = priv->epoch;
  } else {
    return Error(Errc::invalid_argument, "process: not a PublicMessage or PrivateMessage");
  }
  if (epoch != context_.epoch) {
    return Error(Errc::invalid_argument, "process: message is for epoch " +
                                             std::to_string(epoch) + ", the group is at epoch " +
                                             std::to_string(context_.epoch));
  }
  Group next = *this;
  const PublicTree& tree = tree_;
  SignatureKeyLookup lookup = [&tree](const Sender& sender) -> std::optional<Bytes> {
    if (const auto* m = std::get_if<MemberSender>(&sender.content)) {
      if (const LeafNode* leaf = tree.leaf(m->leaf_index)) return leaf->signature_key.data;
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
    next.proposals_.push_back(CachedProposal{
        suite_.ref_hash("MLS 1.0 Proposal Reference", tls::encode(ac)), *proposal,
        m->leaf_index});
    return next;
  }
  if (!std::holds_alternative<Commit>(ac.content.content)) {
    return Error(Errc::invalid_argument, "process: application data; use unprotect()");
  }
  SOTTO_TRY_ASSIGN(Group after, next.apply_commit(ac, psks));
  return after;
}

Result<Group> Group::apply_commit(const AuthenticatedContent& ac, const ExternalPsks& psks) const {
  const auto* member = std::get_if<MemberSender>(&ac.content.sender.content);
  if (member == nullptr) {
    return Error(Errc::unsupported, "commit: only member commits are supported");
  }
  const LeafIndex committer = member->leaf_index;
  if (committer == private_key_.leaf) {
    return Error(Errc::invalid_argument, "commit: our own commit; use commit()'s next state");
  }
  const Commit& commit = std::get<Commit>(ac.content.content);

  ResolvedProposals resolved;
  for (const ProposalOrRef& por : commit.proposals) {
    if (const auto* p = std::get_if<Proposal>(&por.content)) {
      SOTTO_TRY(add_proposal(resolved, *p, committer, committer));
      continue;
    }
    const ProposalRef& ref = std::get<ProposalRef>(por.content);
    const auto it = std::find_if(proposals_.begin(), proposals_.end(),
                                 [&ref](const CachedProposal& c) { return c.ref == ref; });
    if (it == proposals_.end()) {
      return Error(Errc::not_found, "commit: a proposal reference is not cached");
    }
    SOTTO_TRY(add_proposal(resolved, it->proposal, it->sender, committer));
  }
  if (commit.proposals.empty()) resolved.needs_path = true;
  if (resolved.needs_path && !commit.path) {
    return Error(Errc::invalid_value, "commit: an UpdatePath is required and missing");
  }
  for (const KeyPackage& kp : resolved.adds) {
    // No clock here: a receiver checks signatures and suite; lifetimes are the committer's.
    auto valid = validate_key_package(suite_, kp, 0);
    if (!valid.ok() && valid.error().message().find("not yet valid") == std::string::npos) {
      SOTTO_TRY_CTX(std::move(valid), "commit: Add");
    }
  }
  for (const LeafIndex r : resolved.removes) {
    if (r == private_key_.leaf) {
      return Error(Errc::not_found, "commit: this member is removed by the commit");
    }
  }

  PublicTree tree = tree_;
  SOTTO_TRY_ASSIGN(const auto added, apply_proposals(suite_, tree, resolved, context_.group_id));
  GroupContext next_context = context_;
  next_context.epoch += 1;
  if (resolved.extensions) next_context.extensions = *resolved.extensions;

  TreePrivateKey priv = private_key_;
  for (const auto& [leaf, node] : resolved.updates) {
    if (!(leaf == priv.leaf)) continue;
    const auto it = pending_update_keys_.find(node.encryption_key.data);
    if (it == pending_update_keys_.end()) {
      return Error(Errc::not_found, "commit: an Update of our leaf that we did not propose");
    }
    priv.leaf_private_key = it->second;
  }
  SecureBytes commit_secret(suite_.hash_size());
  if (commit.path) {
    SOTTO_TRY_ASSIGN(auto processed, process_update_path(tree, committer, *commit.path, priv,
                                                         next_context, added));
    tree = std::move(processed.tree);
    priv = std::move(processed.private_key);
    commit_secret = std::move(processed.commit_secret);
  }
  SOTTO_TRY(prune_private_key(suite_, tree, priv));

  next_context.tree_hash = tree.tree_hash();
  next_context.confirmed_transcript_hash =
      confirmed_transcript_hash(suite_, interim_transcript_hash_, confirmed_input(ac));
  SOTTO_TRY_ASSIGN(const SecureBytes psk, psk_secret(resolved.psks, psks));
  SOTTO_TRY_ASSIGN(auto secrets, derive_epoch_secrets(suite_, secrets_.init_secret, commit_secret,
                                                      psk, tls::encode(next_context)));
  if (!ac.auth.confirmation_tag ||
      !verify_confirmation_tag(suite_, secrets.confirmation_key,
                               next_context.confirmed_transcript_hash, *ac.auth.confirmation_tag)) {
    return Error(Errc::authentication_failed, "commit: the confirmation tag does not verify");
  }
  SOTTO_TRY_ASSIGN(auto secret_tree,
                   SecretTree::create(suite_, tree.leaf_count(), secrets.encryption_secret));
  Group next(suite_, std::move(tree), std::move(secret_tree));
  next.context_ = std::move(next_context);
  next.private_key_ = std::move(priv);
  next.signature_private_key_ = signature_private_key_;
  next.handshake_format_ = handshake_format_;
  next.interim_transcript_hash_ = interim_transcript_hash(
      suite_, next.context_.confirmed_transcript_hash, *ac.auth.confirmation_tag);
  next.resumption_psks_ = resumption_psks_;
  next.resumption_psks_[context_.epoch] = secrets_.resumption_psk;
  next.secrets_ = std::move(secrets);
  return next;
}

// ---- application data ------------------------------------------------------------------

Result<MlsMessage> Group::protect(BytesView data, const Random& rng,
                                  BytesView authenticated_data) {
  FramedContent content;
  content.group_id = context_.group_id;
  content.epoch = context_.epoch;
  content.sender = Sender{MemberSender{private_key_.leaf}};
  content.authenticated_data = to_bytes(authenticated_data);
  content.content = ApplicationData{to_bytes(data)};
  SOTTO_TRY_ASSIGN(AuthenticatedContent ac, sign(std::move(content), WireFormat::private_message));
  std::array<uint8_t, 4> guard{};
  rng(std::span<uint8_t>(guard.data(), guard.size()));
  SOTTO_TRY_ASSIGN(PrivateMessage priv,
                   protect_private(suite_, framing_keys(), secret_tree_, ac, guard));
  return MlsMessage{ProtocolVersion::mls10, std::move(priv)};
}

Result<ReceivedApplication> Group::unprotect(const MlsMessage& message) {
  const auto* priv = std::get_if<PrivateMessage>(&message.content);
  if (priv == nullptr) {
    return Error(Errc::invalid_argument, "unprotect: application data must be a PrivateMessage");
  }
  if (priv->group_id != context_.group_id || priv->epoch != context_.epoch) {
    return Error(Errc::invalid_argument, "unprotect: message is for epoch " +
                                             std::to_string(priv->epoch) +
                                             ", the group is at epoch " +
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
                   unprotect_private(suite_, framing_keys(), secret_tree_, *priv, lookup));
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
  return {&s.joiner_secret,    &s.welcome_secret,     &s.epoch_secret,   &s.sender_data_secret,
          &s.encryption_secret, &s.exporter_secret,   &s.external_secret, &s.confirmation_key,
          &s.membership_key,    &s.resumption_psk,    &s.epoch_authenticator, &s.init_secret};
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
  return w.take();
}

Result<Group> Group::deserialize(BytesView state) {
  tls::Reader r(state);
  SOTTO_TRY_ASSIGN(const uint16_t version, r.u16());
  if (version != kStateVersion) {
    return Error(Errc::unsupported, "group state: version " + std::to_string(version) +
                                        " is not " + std::to_string(kStateVersion));
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
  SOTTO_TRY(r.expect_end());
  if (g.tree_.leaf(g.private_key_.leaf) == nullptr) {
    return Error(Errc::invalid_value, "group state: our leaf is blank");
  }
  SOTTO_TRY_CTX(g.private_key_.check_against(g.tree_), "group state");
  return g;
}

}  // namespace sotto::mls
