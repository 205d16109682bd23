// The key schedule of RFC 9420 section 8: from the previous epoch's init_secret, the
// commit_secret and the psk_secret, bound to the new epoch's GroupContext, every secret of the
// new epoch; the pre-shared key combiner (8.4); the exporter (8.5); the transcript hashes
// (8.2) and the confirmation tag (6.1).
//
// Inputs that are wire structs (GroupContext, ConfirmedTranscriptHashInput, PreSharedKeyID)
// come in already serialized, so this file depends on the cipher suite alone and the caller
// decides where the bytes come from (tls::encode of the structs in messages.h).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/crypto/cipher_suite.h"

namespace sotto::mls {

// Every secret of one epoch (section 8, the diagram and table 4). Each is Nh bytes.
struct EpochSecrets {
  SecureBytes joiner_secret;
  SecureBytes welcome_secret;
  SecureBytes epoch_secret;
  SecureBytes sender_data_secret;
  SecureBytes encryption_secret;
  SecureBytes exporter_secret;
  SecureBytes external_secret;
  SecureBytes confirmation_key;
  SecureBytes membership_key;
  SecureBytes resumption_psk;
  SecureBytes epoch_authenticator;
  // The init_secret of the next epoch.
  SecureBytes init_secret;
};

// A member's path: joiner_secret = ExpandWithLabel(Extract(init_secret, commit_secret),
// "joiner", GroupContext, Nh), then the rest from it. `commit_secret` is Nh zero bytes for a
// commit without a path, `psk_secret` Nh zero bytes when there are no PSKs; the caller passes
// them explicitly so that a forgotten input is not silently zero. `group_context` is the
// serialized GroupContext of the new epoch.
Result<EpochSecrets> derive_epoch_secrets(const crypto::CipherSuite& suite, BytesView init_secret,
                                          BytesView commit_secret, BytesView psk_secret,
                                          BytesView group_context);

// A joiner's path: the joiner_secret from GroupSecrets and on from there. The result's
// joiner_secret is a copy of the input.
Result<EpochSecrets> derive_epoch_secrets_from_joiner(const crypto::CipherSuite& suite,
                                                      BytesView joiner_secret, BytesView psk_secret,
                                                      BytesView group_context);

// welcome_secret = DeriveSecret(Extract(joiner_secret, psk_secret), "welcome"): what a
// joiner needs to open the GroupInfo before it knows the GroupContext.
Result<SecureBytes> derive_welcome_secret(const crypto::CipherSuite& suite, BytesView joiner_secret,
                                          BytesView psk_secret);

// The public half of DeriveKeyPair(external_secret): the external_pub extension's key.
Result<Bytes> external_pub(const crypto::CipherSuite& suite, BytesView external_secret);

// MLS-Exporter(Label, Context, Length) =
//   ExpandWithLabel(DeriveSecret(exporter_secret, Label), "exported", Hash(Context), Length).
Result<SecureBytes> mls_exporter(const crypto::CipherSuite& suite, BytesView exporter_secret,
                                 std::string_view label, BytesView context, size_t length);

// ---- pre-shared keys (section 8.4) -----------------------------------------------------

struct PskInput {
  // The serialized PreSharedKeyID (tls::encode of mls::PreSharedKeyId).
  Bytes id;
  SecureBytes psk;
};

// psk_secret over `psks` in order: Nh zero bytes for none. Errc::invalid_argument for more
// than 65535 (the count is a uint16 on the wire).
Result<SecureBytes> derive_psk_secret(const crypto::CipherSuite& suite,
                                      const std::vector<PskInput>& psks);

// ---- transcript hashes and the confirmation tag (sections 8.2, 6.1) ---------------------

// confirmed_transcript_hash = Hash(interim_transcript_hash_before ||
//                                  ConfirmedTranscriptHashInput), the input serialized
// (wire_format || FramedContent || signature).
Bytes confirmed_transcript_hash(const crypto::CipherSuite& suite,
                                BytesView interim_transcript_hash_before,
                                BytesView confirmed_input);

// interim_transcript_hash = Hash(confirmed_transcript_hash || InterimTranscriptHashInput),
// where InterimTranscriptHashInput is the confirmation tag as opaque<V>.
Bytes interim_transcript_hash(const crypto::CipherSuite& suite, BytesView confirmed_transcript_hash,
                              BytesView confirmation_tag);

// confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash).
Bytes confirmation_tag(const crypto::CipherSuite& suite, BytesView confirmation_key,
                       BytesView confirmed_transcript_hash);

// Recomputes the tag and compares in constant time.
bool verify_confirmation_tag(const crypto::CipherSuite& suite, BytesView confirmation_key,
                             BytesView confirmed_transcript_hash, BytesView tag);

}  // namespace sotto::mls
