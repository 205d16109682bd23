#include "sotto/mls/framing.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace sotto::mls {
namespace {

constexpr std::string_view kFramedContentTbsLabel = "FramedContentTBS";

bool has_group_context(SenderType type) {
  return type == SenderType::member || type == SenderType::new_member_commit;
}

// The group and epoch checks every received message passes first.
Result<void> check_group_and_epoch(const FramingKeys& keys, BytesView group_id, uint64_t epoch) {
  const Bytes& ours = keys.group_context.group_id;
  if (group_id.size() != ours.size() ||
      !std::equal(group_id.begin(), group_id.end(), ours.begin())) {
    return Error(Errc::invalid_argument,
                 "framing: wrong group id, the message is for another group");
  }
  if (epoch != keys.group_context.epoch) {
    return Error(Errc::invalid_argument, "framing: wrong epoch: message of epoch " +
                                             std::to_string(epoch) + ", group at epoch " +
                                             std::to_string(keys.group_context.epoch));
  }
  return success();
}

Result<void> check_confirmation_tag(const AuthenticatedContent& authenticated) {
  const bool is_commit = authenticated.content.content_type() == ContentType::commit;
  if (is_commit && !authenticated.auth.confirmation_tag) {
    return Error(Errc::invalid_argument, "framing: a commit without its confirmation tag");
  }
  if (!is_commit && authenticated.auth.confirmation_tag) {
    return Error(Errc::invalid_argument, "framing: a confirmation tag on a non-commit");
  }
  return success();
}

Result<Bytes> lookup_signature_key(const SignatureKeyLookup& lookup, const Sender& sender) {
  std::optional<Bytes> key;
  if (lookup) key = lookup(sender);
  if (!key) return Error(Errc::not_found, "framing: unknown sender, no signature key for it");
  return std::move(*key);
}

// Enough room to encode `content` in one allocation when it carries application data, the
// common case; other content grows the writer as usual.
size_t encoded_size_hint(const FramedContent& content) {
  size_t size = 128 + content.group_id.size() + content.authenticated_data.size();
  if (const auto* app = std::get_if<ApplicationData>(&content.content)) size += app->data.size();
  return size;
}

// PrivateMessageContent without its padding.
Bytes private_content_body(const AuthenticatedContent& authenticated) {
  tls::Writer w(encoded_size_hint(authenticated.content));
  const FramedContent& content = authenticated.content;
  std::visit(
      [&w](const auto& body) {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, ApplicationData>) {
          tls::write(w, body.data);
        } else {
          tls::write(w, body);
        }
      },
      content.content);
  authenticated.auth.write_for(w, content.content_type());
  return w.take();
}

// Parses PrivateMessageContent of `content_type` into `content` and `auth`; the padding
// after it must be all zero.
Result<void> parse_private_content(BytesView plaintext, ContentType content_type,
                                   FramedContent& content, FramedContentAuthData& auth) {
  tls::Reader r(plaintext);
  switch (content_type) {
    case ContentType::application: {
      ApplicationData data;
      SOTTO_TRY(tls::read(r, data.data));
      content.content = std::move(data);
      break;
    }
    case ContentType::proposal: {
      Proposal proposal;
      SOTTO_TRY(tls::read(r, proposal));
      content.content = std::move(proposal);
      break;
    }
    case ContentType::commit: {
      Commit commit;
      SOTTO_TRY(tls::read(r, commit));
      content.content = std::move(commit);
      break;
    }
    default:
      return Error(Errc::invalid_value, "framing: PrivateMessage of unknown content type");
  }
  SOTTO_TRY(auth.read_for(r, content_type));
  SOTTO_TRY_ASSIGN(const BytesView padding, r.raw(r.remaining()));
  uint8_t any = 0;
  for (const uint8_t b : padding) any |= b;
  if (any != 0) return Error(Errc::invalid_value, "framing: non-zero padding in PrivateMessage");
  return success();
}

RatchetType ratchet_for(ContentType type) {
  return type == ContentType::application ? RatchetType::application : RatchetType::handshake;
}

// The sender-data key and nonce for `ciphertext`, from the prepared key when there is one.
Result<KeyAndNonce> sender_key_nonce(const crypto::CipherSuite& suite, const FramingKeys& keys,
                                     BytesView ciphertext) {
  if (keys.sender_data_key) return sender_data_key_nonce(suite, *keys.sender_data_key, ciphertext);
  return sender_data_key_nonce(suite, keys.sender_data_secret, ciphertext);
}

// The encoded group context: the prepared one, or encoded into `scratch`.
BytesView encoded_context(const FramingKeys& keys, Bytes& scratch) {
  if (keys.encoded_group_context) return *keys.encoded_group_context;
  scratch = tls::encode(keys.group_context);
  return scratch;
}

void apply_reuse_guard(SecureBytes& nonce, const std::array<uint8_t, 4>& reuse_guard) {
  for (size_t i = 0; i < reuse_guard.size() && i < nonce.size(); ++i) nonce[i] ^= reuse_guard[i];
}

}  // namespace

void AuthenticatedContent::tls_write(tls::Writer& w) const {
  tls::write(w, wire_format);
  tls::write(w, content);
  auth.write_for(w, content.content_type());
}

Result<void> AuthenticatedContent::tls_read(tls::Reader& r) {
  SOTTO_TRY(tls::read(r, wire_format));
  SOTTO_TRY(tls::read(r, content));
  return auth.read_for(r, content.content_type());
}

Bytes framed_content_tbs(WireFormat wire_format, const FramedContent& content,
                         BytesView group_context) {
  tls::Writer w(encoded_size_hint(content) + group_context.size());
  tls::write(w, ProtocolVersion::mls10);
  tls::write(w, wire_format);
  tls::write(w, content);
  if (has_group_context(content.sender.type())) w.raw(group_context);
  return w.take();
}

Result<AuthenticatedContent> sign_framed_content(const crypto::CipherSuite& suite,
                                                 WireFormat wire_format, FramedContent content,
                                                 BytesView group_context,
                                                 BytesView signature_private_key) {
  SOTTO_TRY_ASSIGN(const auto key, crypto::Ed25519SigningKey::from_seed(signature_private_key));
  return sign_framed_content(suite, wire_format, std::move(content), group_context, key);
}

AuthenticatedContent sign_framed_content(const crypto::CipherSuite& suite, WireFormat wire_format,
                                         FramedContent content, BytesView group_context,
                                         const crypto::Ed25519SigningKey& signing_key) {
  AuthenticatedContent out;
  out.wire_format = wire_format;
  out.content = std::move(content);
  out.auth.signature =
      suite.sign_with_label(signing_key, kFramedContentTbsLabel,
                            framed_content_tbs(wire_format, out.content, group_context));
  return out;
}

Result<void> verify_framed_content(const crypto::CipherSuite& suite,
                                   const AuthenticatedContent& authenticated,
                                   BytesView group_context, BytesView signature_public_key) {
  const Bytes tbs =
      framed_content_tbs(authenticated.wire_format, authenticated.content, group_context);
  if (!suite.verify_with_label(signature_public_key, kFramedContentTbsLabel, tbs,
                               authenticated.auth.signature)) {
    return Error(Errc::bad_signature, "framing: the FramedContent signature does not verify");
  }
  return success();
}

Bytes membership_tag(const crypto::CipherSuite& suite, BytesView membership_key,
                     const AuthenticatedContent& authenticated, BytesView group_context) {
  tls::Writer w;
  w.raw(framed_content_tbs(authenticated.wire_format, authenticated.content, group_context));
  authenticated.auth.write_for(w, authenticated.content.content_type());
  return suite.mac(membership_key, w.bytes()).reveal();
}

// ---- PublicMessage ---------------------------------------------------------------------

Result<PublicMessage> protect_public(const crypto::CipherSuite& suite, const FramingKeys& keys,
                                     const AuthenticatedContent& authenticated) {
  if (authenticated.wire_format != WireFormat::public_message) {
    return Error(Errc::invalid_argument, "protect_public: content signed for another wire format");
  }
  if (authenticated.content.content_type() == ContentType::application) {
    return Error(Errc::invalid_argument, "protect_public: application data must be private");
  }
  SOTTO_TRY_CTX(check_confirmation_tag(authenticated), "protect_public");
  SOTTO_TRY_CTX(
      check_group_and_epoch(keys, authenticated.content.group_id, authenticated.content.epoch),
      "protect_public");
  PublicMessage message;
  message.content = authenticated.content;
  message.auth = authenticated.auth;
  if (authenticated.content.sender.type() == SenderType::member) {
    message.membership_tag =
        membership_tag(suite, keys.membership_key, authenticated, tls::encode(keys.group_context));
  }
  return message;
}

Result<AuthenticatedContent> unprotect_public(const crypto::CipherSuite& suite,
                                              const FramingKeys& keys, const PublicMessage& message,
                                              const SignatureKeyLookup& signature_key) {
  SOTTO_TRY(check_group_and_epoch(keys, message.content.group_id, message.content.epoch));
  if (message.content.content_type() == ContentType::application) {
    return Error(Errc::invalid_value, "framing: application data in a PublicMessage");
  }
  AuthenticatedContent out;
  out.wire_format = WireFormat::public_message;
  out.content = message.content;
  out.auth = message.auth;
  SOTTO_TRY_CTX(check_confirmation_tag(out), "unprotect_public");
  const Bytes group_context = tls::encode(keys.group_context);
  if (message.content.sender.type() == SenderType::member) {
    if (!message.membership_tag) {
      return Error(Errc::authentication_failed, "framing: member message without membership tag");
    }
    const Bytes expected = membership_tag(suite, keys.membership_key, out, group_context);
    if (!constant_time_equal(expected, *message.membership_tag)) {
      return Error(Errc::authentication_failed, "framing: bad membership tag");
    }
  }
  SOTTO_TRY_ASSIGN(const Bytes public_key, lookup_signature_key(signature_key, out.content.sender));
  SOTTO_TRY(verify_framed_content(suite, out, group_context, public_key));
  return out;
}

// ---- PrivateMessage --------------------------------------------------------------------

Result<PrivateMessage> protect_private(const crypto::CipherSuite& suite, const FramingKeys& keys,
                                       SecretTree& tree, const AuthenticatedContent& authenticated,
                                       const std::array<uint8_t, 4>& reuse_guard, size_t padding) {
  const FramedContent& content = authenticated.content;
  if (authenticated.wire_format != WireFormat::private_message) {
    return Error(Errc::invalid_argument, "protect_private: content signed for another wire format");
  }
  const auto* member = std::get_if<MemberSender>(&content.sender.content);
  if (member == nullptr) {
    return Error(Errc::invalid_argument, "protect_private: only members send PrivateMessage");
  }
  SOTTO_TRY_CTX(check_confirmation_tag(authenticated), "protect_private");
  SOTTO_TRY_CTX(check_group_and_epoch(keys, content.group_id, content.epoch), "protect_private");
  const ContentType content_type = content.content_type();

  SecureBytes plaintext(private_content_body(authenticated));
  plaintext.resize(plaintext.size() + padding);  // zero-filled

  SOTTO_TRY_ASSIGN(auto generation_key, tree.next(member->leaf_index, ratchet_for(content_type)));
  KeyAndNonce& key_nonce = generation_key.second;
  apply_reuse_guard(key_nonce.nonce, reuse_guard);

  PrivateMessage message;
  message.group_id = content.group_id;
  message.epoch = content.epoch;
  message.content_type = content_type;
  message.authenticated_data = content.authenticated_data;
  const Bytes content_aad = tls::encode(
      PrivateContentAad{content.group_id, content.epoch, content_type, content.authenticated_data});
  SOTTO_TRY_ASSIGN(message.ciphertext,
                   suite.seal(key_nonce.key, key_nonce.nonce, content_aad, plaintext));

  const SenderData sender_data{member->leaf_index, generation_key.first, reuse_guard};
  const Bytes sender_aad =
      tls::encode(SenderDataAad{content.group_id, content.epoch, content_type});
  SOTTO_TRY_ASSIGN(const KeyAndNonce sender_key,
                   sender_key_nonce(suite, keys, message.ciphertext));
  SOTTO_TRY_ASSIGN(message.encrypted_sender_data,
                   suite.seal(sender_key.key, sender_key.nonce, sender_aad,
                              SecureBytes(tls::encode(sender_data))));
  return message;
}

Result<AuthenticatedContent> unprotect_private(const crypto::CipherSuite& suite,
                                               const FramingKeys& keys, SecretTree& tree,
                                               const PrivateMessage& message,
                                               const SignatureKeyLookup& signature_key) {
  SOTTO_TRY(check_group_and_epoch(keys, message.group_id, message.epoch));
  const ContentType content_type = message.content_type;
  if (content_type != ContentType::application && content_type != ContentType::proposal &&
      content_type != ContentType::commit) {
    return Error(Errc::invalid_value, "framing: PrivateMessage of unknown content type");
  }

  // Sender data.
  SOTTO_TRY_ASSIGN(const KeyAndNonce sender_key,
                   sender_key_nonce(suite, keys, message.ciphertext));
  const Bytes sender_aad =
      tls::encode(SenderDataAad{message.group_id, message.epoch, content_type});
  auto sender_plain =
      suite.open(sender_key.key, sender_key.nonce, sender_aad, message.encrypted_sender_data);
  if (!sender_plain.ok()) {
    return Error(Errc::authentication_failed, "framing: sender data does not decrypt");
  }
  SOTTO_TRY_ASSIGN(const SenderData sender_data, tls::decode<SenderData>(*sender_plain));

  AuthenticatedContent out;
  out.wire_format = WireFormat::private_message;
  out.content.group_id = message.group_id;
  out.content.epoch = message.epoch;
  out.content.sender.content = MemberSender{sender_data.leaf_index};
  out.content.authenticated_data = message.authenticated_data;
  SOTTO_TRY_ASSIGN(const Bytes public_key, lookup_signature_key(signature_key, out.content.sender));

  // The key is prepared without touching `tree` and consumed only once every check has
  // passed: a forged or corrupted message must not consume the key of the real one.
  SOTTO_TRY_ASSIGN(
      SecretTree::PendingKey pending,
      tree.prepare(sender_data.leaf_index, ratchet_for(content_type), sender_data.generation));
  KeyAndNonce& key_nonce = pending.key_nonce();
  apply_reuse_guard(key_nonce.nonce, sender_data.reuse_guard);
  const Bytes content_aad = tls::encode(
      PrivateContentAad{message.group_id, message.epoch, content_type, message.authenticated_data});
  auto plaintext = suite.open(key_nonce.key, key_nonce.nonce, content_aad, message.ciphertext);
  if (!plaintext.ok()) {
    return Error(Errc::authentication_failed, "framing: PrivateMessage content does not decrypt");
  }
  SOTTO_TRY_CTX(parse_private_content(*plaintext, content_type, out.content, out.auth),
                "PrivateMessageContent");
  Bytes scratch;
  SOTTO_TRY(verify_framed_content(suite, out, encoded_context(keys, scratch), public_key));
  SOTTO_TRY(tree.consume(std::move(pending)));
  return out;
}

Result<AuthenticatedContent> unprotect(const crypto::CipherSuite& suite, const FramingKeys& keys,
                                       SecretTree& tree, const MlsMessage& message,
                                       const SignatureKeyLookup& signature_key) {
  if (const auto* pub = std::get_if<PublicMessage>(&message.content)) {
    return unprotect_public(suite, keys, *pub, signature_key);
  }
  if (const auto* priv = std::get_if<PrivateMessage>(&message.content)) {
    return unprotect_private(suite, keys, tree, *priv, signature_key);
  }
  return Error(Errc::invalid_argument, "framing: not a PublicMessage or PrivateMessage");
}

}  // namespace sotto::mls
