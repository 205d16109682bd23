// Message framing and protection of RFC 9420 section 6: the signature over FramedContent,
// the membership tag of PublicMessage, and the encryption of PrivateMessage with keys from the
// secret tree and the sender-data secret.
//
// Sans-IO: the caller passes the epoch's keys, the secret tree (the one piece of state that
// changes) and, for sending, the randomness (the reuse guard). The ratchet tree is not here:
// the signature key of a sender comes from a caller-provided lookup.
//
// Errors of unprotect, by code (the message says which check failed):
//   Errc::invalid_argument       the message is for another group or another epoch, or is
//                                not a PublicMessage / PrivateMessage
//   Errc::invalid_value          malformed content, non-zero padding, application data in a
//                                PublicMessage, a PrivateMessage from a non-member
//   Errc::authentication_failed  the membership tag does not verify, or an AEAD does not open
//   Errc::bad_signature          the FramedContent signature does not verify
//   Errc::not_found              no signature key for the sender, or the generation's key was
//                                already used or dropped from the secret tree's window
//   Errc::message_limit          a generation too far ahead of the secret tree
// A failed unprotect leaves the secret tree as it was: no key is consumed (the key is
// prepared, and consumed only after the content has opened and its signature verified).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/secret_tree.h"

namespace sotto::mls {

// AuthenticatedContent (section 6.1): what a PublicMessage or PrivateMessage carries once
// the protection is taken off, and what the transcript hashes cover.
struct AuthenticatedContent {
  WireFormat wire_format = WireFormat::reserved;
  FramedContent content;
  FramedContentAuthData auth;

  void tls_write(tls::Writer& w) const;
  Result<void> tls_read(tls::Reader& r);
};

// The serialized FramedContentTBS: version, wire_format, content and, for member and
// new_member_commit senders, the serialized GroupContext `group_context`.
Bytes framed_content_tbs(WireFormat wire_format, const FramedContent& content,
                         BytesView group_context);

// The AuthenticatedContent of `content` signed with SignWithLabel(., "FramedContentTBS", .).
// A commit's confirmation tag is computed over the signature, so the caller sets
// auth.confirmation_tag afterwards.
Result<AuthenticatedContent> sign_framed_content(const crypto::CipherSuite& suite,
                                                 WireFormat wire_format, FramedContent content,
                                                 BytesView group_context,
                                                 BytesView signature_private_key);
// The same with the key already expanded: a sender that keeps its Ed25519SigningKey skips
// expanding the seed (a scalar multiplication, about a third of a signature) per message.
AuthenticatedContent sign_framed_content(const crypto::CipherSuite& suite, WireFormat wire_format,
                                         FramedContent content, BytesView group_context,
                                         const crypto::Ed25519SigningKey& signing_key);

// Errc::bad_signature unless `authenticated` is signed by `signature_public_key`.
Result<void> verify_framed_content(const crypto::CipherSuite& suite,
                                   const AuthenticatedContent& authenticated,
                                   BytesView group_context, BytesView signature_public_key);

// MAC(membership_key, AuthenticatedContentTBM), TBM = FramedContentTBS || auth.
Bytes membership_tag(const crypto::CipherSuite& suite, BytesView membership_key,
                     const AuthenticatedContent& authenticated, BytesView group_context);

// The parts of an epoch that framing needs besides the secret tree.
struct FramingKeys {
  GroupContext group_context;
  SecureBytes membership_key;
  SecureBytes sender_data_secret;
  // Optional, made once per epoch by a member that sends and receives many messages:
  // group_context encoded, and sender_data_secret prepared as an HMAC key (not for use by
  // two threads at once). When set they are those of the fields above.
  std::shared_ptr<const Bytes> encoded_group_context = nullptr;
  std::shared_ptr<const crypto::HmacSha256Key> sender_data_key = nullptr;
};

// The signature public key of a sender (a member leaf, an external sender, a new member), or
// nullopt when there is none: the ratchet tree or the group's extensions answer.
using SignatureKeyLookup = std::function<std::optional<Bytes>(const Sender& sender)>;

// ---- PublicMessage (section 6.2) -------------------------------------------------------

// Adds the membership tag for a member sender. `authenticated` must have wire format
// public_message, not be application data, and carry its confirmation tag if a commit.
Result<PublicMessage> protect_public(const crypto::CipherSuite& suite, const FramingKeys& keys,
                                     const AuthenticatedContent& authenticated);

Result<AuthenticatedContent> unprotect_public(const crypto::CipherSuite& suite,
                                              const FramingKeys& keys, const PublicMessage& message,
                                              const SignatureKeyLookup& signature_key);

// ---- PrivateMessage (section 6.3) ------------------------------------------------------

// Encrypts with the next key of the sender's handshake (proposal, commit) or application
// ratchet in `tree`, the reuse guard XORed into the nonce, and `padding` zero bytes after the
// content. The sender must be a member, the wire format private_message.
Result<PrivateMessage> protect_private(const crypto::CipherSuite& suite, const FramingKeys& keys,
                                       SecretTree& tree, const AuthenticatedContent& authenticated,
                                       const std::array<uint8_t, 4>& reuse_guard,
                                       size_t padding = 0);

// Decrypts the sender data, takes the generation's key from `tree` (out of order within its
// window), decrypts, checks the padding and the signature. On failure `tree` is unchanged.
Result<AuthenticatedContent> unprotect_private(const crypto::CipherSuite& suite,
                                               const FramingKeys& keys, SecretTree& tree,
                                               const PrivateMessage& message,
                                               const SignatureKeyLookup& signature_key);

// unprotect_public or unprotect_private by the message's wire format; other wire formats are
// Errc::invalid_argument.
Result<AuthenticatedContent> unprotect(const crypto::CipherSuite& suite, const FramingKeys& keys,
                                       SecretTree& tree, const MlsMessage& message,
                                       const SignatureKeyLookup& signature_key);

}  // namespace sotto::mls
