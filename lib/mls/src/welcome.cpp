#include "sotto/mls/welcome.h"

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "sotto/core/tls.h"

namespace sotto::mls {
namespace {

constexpr std::string_view kGroupInfoTbsLabel = "GroupInfoTBS";

}  // namespace

KeyPackageRef key_package_ref(const crypto::CipherSuite& suite, const KeyPackage& key_package) {
  return suite.ref_hash("MLS 1.0 KeyPackage Reference", tls::encode(key_package));
}

Bytes group_info_tbs(const GroupInfo& group_info) {
  tls::Writer w;
  tls::write(w, group_info.group_context);
  tls::write(w, group_info.extensions);
  tls::write(w, group_info.confirmation_tag);
  tls::write(w, group_info.signer);
  return w.take();
}

Result<void> sign_group_info(const crypto::CipherSuite& suite, GroupInfo& group_info,
                             BytesView signature_private_key) {
  SOTTO_TRY_ASSIGN(
      group_info.signature,
      suite.sign_with_label(signature_private_key, kGroupInfoTbsLabel, group_info_tbs(group_info)));
  return success();
}

Result<void> verify_group_info(const crypto::CipherSuite& suite, const GroupInfo& group_info,
                               BytesView signer_public_key) {
  if (!suite.verify_with_label(signer_public_key, kGroupInfoTbsLabel, group_info_tbs(group_info),
                               group_info.signature)) {
    return Error(Errc::bad_signature, "welcome: the GroupInfo signature does not verify");
  }
  return success();
}

Result<KeyAndNonce> welcome_key_nonce(const crypto::CipherSuite& suite, BytesView welcome_secret) {
  KeyAndNonce out;
  SOTTO_TRY_ASSIGN(out.key,
                   suite.expand_with_label(welcome_secret, "key", {}, suite.aead_key_size()));
  SOTTO_TRY_ASSIGN(out.nonce,
                   suite.expand_with_label(welcome_secret, "nonce", {}, suite.aead_nonce_size()));
  return out;
}

Result<JoinedEpoch> join_from_welcome(const Welcome& welcome, const KeyPackage& key_package,
                                      BytesView init_private_key,
                                      const GroupInfoSignerLookup& signer_key,
                                      const PskLookup& psk) {
  if (welcome.cipher_suite != key_package.cipher_suite) {
    return Error(Errc::invalid_argument,
                 "welcome: the Welcome and the KeyPackage use different cipher suites");
  }
  SOTTO_TRY_ASSIGN(const auto suite,
                   crypto::CipherSuite::create(static_cast<uint16_t>(welcome.cipher_suite)));

  // Our EncryptedGroupSecrets.
  const KeyPackageRef ref = key_package_ref(suite, key_package);
  const auto ours = std::find_if(
      welcome.secrets.begin(), welcome.secrets.end(),
      [&ref](const EncryptedGroupSecrets& s) { return constant_time_equal(s.new_member, ref); });
  if (ours == welcome.secrets.end()) {
    return Error(Errc::not_found, "welcome: no group secrets for this KeyPackage");
  }
  SOTTO_TRY_ASSIGN(
      const SecureBytes secrets_plain,
      suite.decrypt_with_label(init_private_key, "Welcome", welcome.encrypted_group_info,
                               ours->encrypted_group_secrets.kem_output,
                               ours->encrypted_group_secrets.ciphertext));
  SOTTO_TRY_ASSIGN(GroupSecrets secrets, tls::decode<GroupSecrets>(secrets_plain));
  std::vector<PskInput> inputs;
  std::set<Bytes> seen;
  for (const PreSharedKeyId& id : secrets.psks) {
    if (id.psk_nonce.size() != suite.hash_size()) {
      return Error(Errc::invalid_value, "welcome: a PSK nonce is not Nh bytes");
    }
    Bytes encoded = tls::encode(id);
    // Two ids differing only in their nonce are still the same PSK (section 12.2).
    if (!seen.insert(tls::encode(id.content)).second) {
      return Error(Errc::invalid_value, "welcome: the GroupSecrets name one PSK twice");
    }
    if (!psk) return Error(Errc::not_found, "welcome: the GroupSecrets name PSKs, none given");
    SOTTO_TRY_ASSIGN(SecureBytes value, psk(id));
    inputs.push_back(PskInput{std::move(encoded), std::move(value)});
  }
  SOTTO_TRY_ASSIGN(const SecureBytes psk_secret, derive_psk_secret(suite, inputs));

  // The GroupInfo.
  SOTTO_TRY_ASSIGN(const SecureBytes welcome_secret,
                   derive_welcome_secret(suite, secrets.joiner_secret, psk_secret));
  SOTTO_TRY_ASSIGN(const KeyAndNonce welcome_key, welcome_key_nonce(suite, welcome_secret));
  auto info_plain =
      suite.open(welcome_key.key, welcome_key.nonce, {}, welcome.encrypted_group_info);
  if (!info_plain.ok()) {
    return Error(Errc::authentication_failed, "welcome: the GroupInfo does not decrypt");
  }
  SOTTO_TRY_ASSIGN(GroupInfo group_info, tls::decode<GroupInfo>(*info_plain));
  const GroupContext& context = group_info.group_context;
  if (context.version != ProtocolVersion::mls10 || context.cipher_suite != welcome.cipher_suite) {
    return Error(Errc::invalid_argument,
                 "welcome: the GroupInfo's version or cipher suite differs from the Welcome's");
  }
  std::optional<Bytes> signer;
  if (signer_key) signer = signer_key(group_info);
  if (!signer) {
    return Error(Errc::not_found, "welcome: no signature key for GroupInfo signer leaf " +
                                      std::to_string(group_info.signer.value));
  }
  SOTTO_TRY(verify_group_info(suite, group_info, *signer));

  // The epoch, checked against the confirmation tag.
  SOTTO_TRY_ASSIGN(EpochSecrets epoch_secrets,
                   derive_epoch_secrets_from_joiner(suite, secrets.joiner_secret, psk_secret,
                                                    tls::encode(context)));
  if (!verify_confirmation_tag(suite, epoch_secrets.confirmation_key,
                               context.confirmed_transcript_hash, group_info.confirmation_tag)) {
    return Error(Errc::bad_confirmation_tag, "welcome: the confirmation tag does not verify");
  }
  return JoinedEpoch{std::move(group_info), std::move(secrets.path_secret),
                     std::move(epoch_secrets), std::move(secrets.psks)};
}

}  // namespace sotto::mls
