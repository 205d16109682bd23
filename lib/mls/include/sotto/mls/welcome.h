// Joining a group from a Welcome (RFC 9420 section 12.4.3.1): find the EncryptedGroupSecrets
// for our KeyPackage, open the GroupSecrets with its init key, open the GroupInfo with the
// welcome secret, check the GroupInfo's signature, derive the epoch's secrets and check the
// confirmation tag. Also the GroupInfo signature (12.4.3) and KeyPackageRef (5.2).
//
// The ratchet tree is not here: the caller names the GroupInfo signer's key (from the
// ratchet_tree extension or from out of band) through a lookup, and builds the tree from the
// returned GroupInfo and path secret.
#pragma once

#include <functional>
#include <optional>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/key_schedule.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/secret_tree.h"

namespace sotto::mls {

// RefHash("MLS 1.0 KeyPackage Reference", KeyPackage).
KeyPackageRef key_package_ref(const crypto::CipherSuite& suite, const KeyPackage& key_package);

// The serialized GroupInfoTBS: the GroupInfo without its signature.
Bytes group_info_tbs(const GroupInfo& group_info);

// Sets group_info.signature = SignWithLabel(., "GroupInfoTBS", GroupInfoTBS).
Result<void> sign_group_info(const crypto::CipherSuite& suite, GroupInfo& group_info,
                             BytesView signature_private_key);

// Errc::bad_signature unless the GroupInfo is signed by `signer_public_key`.
Result<void> verify_group_info(const crypto::CipherSuite& suite, const GroupInfo& group_info,
                               BytesView signer_public_key);

// welcome_key and welcome_nonce: ExpandWithLabel(welcome_secret, "key" / "nonce", "", Nk / Nn).
Result<KeyAndNonce> welcome_key_nonce(const crypto::CipherSuite& suite, BytesView welcome_secret);

// The signature public key of the GroupInfo's signer (leaf group_info.signer), or nullopt.
using GroupInfoSignerLookup = std::function<std::optional<Bytes>(const GroupInfo& group_info)>;

// The PSK a Welcome names by `id`: Errc::not_found when the joiner does not have it.
using PskLookup = std::function<Result<SecureBytes>(const PreSharedKeyId& id)>;

// What a joiner learns from a Welcome, every check passed.
struct JoinedEpoch {
  GroupInfo group_info;
  // The path secret for the joiner's lowest common ancestor with the committer, if any.
  std::optional<PathSecret> path_secret;
  EpochSecrets epoch_secrets;
  // The PSKs the GroupSecrets named, in order (the caller checks what they mean, e.g. ReInit).
  std::vector<PreSharedKeyId> psks;
};

// Processes `welcome` for `key_package`, whose init private key is `init_private_key`.
// PSKs named by the GroupSecrets come from `psk`. Errors: Errc::not_found when no
// EncryptedGroupSecrets is for this KeyPackage, the signer has no key, or a PSK is unknown
// (or named without a `psk` lookup); Errc::invalid_value for a PSK nonce that is not Nh
// bytes or a PSK named twice; Errc::invalid_argument for a cipher suite mismatch;
// Errc::authentication_failed when the GroupInfo does not decrypt; Errc::bad_confirmation_tag
// when the confirmation tag does not verify; Errc::bad_signature; Errc::crypto_failure when
// the GroupSecrets do not decrypt.
Result<JoinedEpoch> join_from_welcome(const Welcome& welcome, const KeyPackage& key_package,
                                      BytesView init_private_key,
                                      const GroupInfoSignerLookup& signer_key,
                                      const PskLookup& psk = {});

}  // namespace sotto::mls
