// Framing (RFC 9420 section 6) beyond the vectors: each check of unprotect fails with its
// own error, a failure leaves the secret tree as it was, and keys open out of order once.
#include "sotto/mls/framing.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/secret_tree.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;

constexpr LeafIndex kAlice{0};
constexpr LeafIndex kBob{1};
constexpr std::array<uint8_t, 4> kGuard{0xa0, 0xb1, 0xc2, 0xd3};

CipherSuite make_suite() {
  auto suite = CipherSuite::create(0x0003);
  EXPECT_TRUE(suite.ok());
  return std::move(suite).value();
}

crypto::Ed25519SigningKey signing_key(uint8_t fill) {
  const Bytes seed(crypto::kEd25519SeedSize, fill);
  auto key = crypto::Ed25519SigningKey::from_seed(seed);
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

class FramingTest : public ::testing::Test {
 protected:
  FramingTest() : suite_(make_suite()), alice_(signing_key(0x21)), bob_(signing_key(0x42)) {
    keys_.group_context.cipher_suite = CipherSuiteId::x25519_chacha20poly1305_sha256_ed25519;
    keys_.group_context.group_id = to_bytes("group");
    keys_.group_context.epoch = 7;
    keys_.group_context.tree_hash = Bytes(32, 0x01);
    keys_.group_context.confirmed_transcript_hash = Bytes(32, 0x02);
    keys_.membership_key = SecureBytes(Bytes(32, 0x03));
    keys_.sender_data_secret = SecureBytes(Bytes(32, 0x04));
  }

  SecretTree tree() const {
    auto leaves = LeafCount::exactly(2);
    auto tree = SecretTree::create(suite_, *leaves, Bytes(32, 0x05));
    EXPECT_TRUE(tree.ok());
    return std::move(tree).value();
  }

  SignatureKeyLookup lookup() const {
    return [this](const Sender& sender) -> std::optional<Bytes> {
      const auto* member = std::get_if<MemberSender>(&sender.content);
      if (member == nullptr) return std::nullopt;
      if (member->leaf_index == kAlice) return alice_.public_key();
      if (member->leaf_index == kBob) return bob_.public_key();
      return std::nullopt;
    };
  }

  // Bob's content, signed with `key` (Bob's own unless given).
  AuthenticatedContent content(std::variant<ApplicationData, Proposal, Commit> body,
                               WireFormat wire_format,
                               const crypto::Ed25519SigningKey* key = nullptr) const {
    FramedContent framed;
    framed.group_id = keys_.group_context.group_id;
    framed.epoch = keys_.group_context.epoch;
    framed.sender.content = MemberSender{kBob};
    framed.content = std::move(body);
    const bool is_commit = framed.content_type() == ContentType::commit;
    auto signed_content = sign_framed_content(suite_, wire_format, std::move(framed),
                                              tls::encode(keys_.group_context),
                                              (key != nullptr ? key : &bob_)->seed());
    EXPECT_TRUE(signed_content.ok());
    if (is_commit) signed_content->auth.confirmation_tag = Bytes(32, 0x06);
    return std::move(signed_content).value();
  }

  PrivateMessage private_message(SecretTree& sender_tree, const std::string& text) const {
    auto message = protect_private(
        suite_, keys_, sender_tree,
        content(ApplicationData{to_bytes(text)}, WireFormat::private_message), kGuard, 5);
    EXPECT_TRUE(message.ok());
    return std::move(message).value();
  }

  PublicMessage public_message() const {
    auto message = protect_public(suite_, keys_,
                                  content(Proposal{Remove{kAlice}}, WireFormat::public_message));
    EXPECT_TRUE(message.ok());
    return std::move(message).value();
  }

  CipherSuite suite_;
  crypto::Ed25519SigningKey alice_;
  crypto::Ed25519SigningKey bob_;
  FramingKeys keys_;
};

template <class T>
void expect_error(const Result<T>& result, Errc code, const std::string& in_message) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), code) << result.error().to_string();
  EXPECT_NE(result.error().message().find(in_message), std::string::npos)
      << result.error().to_string();
}

Bytes application_data(const Result<AuthenticatedContent>& opened) {
  EXPECT_TRUE(opened.ok()) << opened.error().to_string();
  if (!opened.ok()) return {};
  return std::get<ApplicationData>(opened->content.content).data;
}

TEST_F(FramingTest, PublicMessageRoundTrip) {
  const PublicMessage message = public_message();
  ASSERT_TRUE(message.membership_tag);
  const auto opened = unprotect_public(suite_, keys_, message, lookup());
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(std::get<Remove>(std::get<Proposal>(opened->content.content).content).removed, kAlice);
}

TEST_F(FramingTest, PublicMessageBadMembershipTag) {
  PublicMessage message = public_message();
  message.membership_tag->back() ^= 1;
  expect_error(unprotect_public(suite_, keys_, message, lookup()), Errc::authentication_failed,
               "membership tag");
  message.membership_tag.reset();
  expect_error(unprotect_public(suite_, keys_, message, lookup()), Errc::authentication_failed,
               "membership tag");
}

TEST_F(FramingTest, PublicMessageBadSignature) {
  // Signed by Alice's key in Bob's name; the membership tag is right.
  auto message = protect_public(
      suite_, keys_, content(Proposal{Remove{kAlice}}, WireFormat::public_message, &alice_));
  ASSERT_TRUE(message.ok());
  expect_error(unprotect_public(suite_, keys_, *message, lookup()), Errc::bad_signature,
               "signature");
}

TEST_F(FramingTest, PublicMessageRejectsApplicationDataAndMissingTag) {
  expect_error(protect_public(suite_, keys_,
                              content(ApplicationData{to_bytes("hi")}, WireFormat::public_message)),
               Errc::invalid_argument, "application");
  AuthenticatedContent commit = content(Commit{}, WireFormat::public_message);
  commit.auth.confirmation_tag.reset();
  expect_error(protect_public(suite_, keys_, commit), Errc::invalid_argument, "confirmation tag");
}

TEST_F(FramingTest, WrongGroupAndEpoch) {
  const PublicMessage message = public_message();
  SecretTree sender = tree();
  const PrivateMessage priv = private_message(sender, "hello");

  FramingKeys other_epoch = keys_;
  other_epoch.group_context.epoch = 8;
  FramingKeys other_group = keys_;
  other_group.group_context.group_id = to_bytes("another group");
  SecretTree receiver = tree();
  expect_error(unprotect_public(suite_, other_epoch, message, lookup()), Errc::invalid_argument,
               "wrong epoch");
  expect_error(unprotect_public(suite_, other_group, message, lookup()), Errc::invalid_argument,
               "wrong group id");
  expect_error(unprotect_private(suite_, other_epoch, receiver, priv, lookup()),
               Errc::invalid_argument, "wrong epoch");
  expect_error(unprotect_private(suite_, other_group, receiver, priv, lookup()),
               Errc::invalid_argument, "wrong group id");
  EXPECT_EQ(application_data(unprotect_private(suite_, keys_, receiver, priv, lookup())),
            to_bytes("hello"));
}

TEST_F(FramingTest, UnknownSender) {
  const SignatureKeyLookup nobody = [](const Sender&) { return std::optional<Bytes>(); };
  expect_error(unprotect_public(suite_, keys_, public_message(), nobody), Errc::not_found,
               "unknown sender");
  SecretTree sender = tree();
  SecretTree receiver = tree();
  const PrivateMessage priv = private_message(sender, "hello");
  expect_error(unprotect_private(suite_, keys_, receiver, priv, nobody), Errc::not_found,
               "unknown sender");
  EXPECT_EQ(application_data(unprotect_private(suite_, keys_, receiver, priv, lookup())),
            to_bytes("hello"));
}

TEST_F(FramingTest, PrivateMessageOutOfOrderOnce) {
  SecretTree sender = tree();
  SecretTree receiver = tree();
  const PrivateMessage m0 = private_message(sender, "zero");
  const PrivateMessage m1 = private_message(sender, "one");
  const PrivateMessage m2 = private_message(sender, "two");
  EXPECT_EQ(application_data(unprotect_private(suite_, keys_, receiver, m2, lookup())),
            to_bytes("two"));
  EXPECT_EQ(application_data(unprotect_private(suite_, keys_, receiver, m0, lookup())),
            to_bytes("zero"));
  EXPECT_EQ(application_data(unprotect_private(suite_, keys_, receiver, m1, lookup())),
            to_bytes("one"));
  expect_error(unprotect_private(suite_, keys_, receiver, m0, lookup()), Errc::not_found,
               "already used");
}

TEST_F(FramingTest, FailedDecryptionKeepsTheKey) {
  SecretTree sender = tree();
  SecretTree receiver = tree();
  const PrivateMessage message = private_message(sender, "hello");

  PrivateMessage bad_content = message;
  bad_content.ciphertext.back() ^= 1;
  expect_error(unprotect_private(suite_, keys_, receiver, bad_content, lookup()),
               Errc::authentication_failed, "content does not decrypt");
  PrivateMessage bad_sender_data = message;
  bad_sender_data.encrypted_sender_data.back() ^= 1;
  expect_error(unprotect_private(suite_, keys_, receiver, bad_sender_data, lookup()),
               Errc::authentication_failed, "sender data");
  PrivateMessage bad_aad = message;
  bad_aad.authenticated_data = to_bytes("changed");
  expect_error(unprotect_private(suite_, keys_, receiver, bad_aad, lookup()),
               Errc::authentication_failed, "content does not decrypt");
  // Not only the key: nothing derived on the way (the sender's ratchets, node secrets) was
  // kept either.
  tls::Writer untouched;
  tree().write_state(untouched);
  tls::Writer after_failures;
  receiver.write_state(after_failures);
  EXPECT_EQ(after_failures.bytes(), untouched.bytes());

  EXPECT_EQ(application_data(unprotect_private(suite_, keys_, receiver, message, lookup())),
            to_bytes("hello"));
}

TEST_F(FramingTest, BadSignatureKeepsTheKey) {
  // Two senders with the same tree state: a forgery under generation 0, then the real one.
  SecretTree forger = tree();
  SecretTree sender = tree();
  SecretTree receiver = tree();
  auto forged = protect_private(
      suite_, keys_, forger,
      content(ApplicationData{to_bytes("forged")}, WireFormat::private_message, &alice_), kGuard);
  ASSERT_TRUE(forged.ok());
  expect_error(unprotect_private(suite_, keys_, receiver, *forged, lookup()), Errc::bad_signature,
               "signature");
  EXPECT_EQ(application_data(unprotect_private(suite_, keys_, receiver,
                                               private_message(sender, "real"), lookup())),
            to_bytes("real"));
}

TEST_F(FramingTest, CommitCarriesConfirmationTag) {
  SecretTree sender = tree();
  SecretTree receiver = tree();
  auto message = protect_private(suite_, keys_, sender,
                                 content(Commit{}, WireFormat::private_message), kGuard);
  ASSERT_TRUE(message.ok());
  const auto opened = unprotect_private(suite_, keys_, receiver, *message, lookup());
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  ASSERT_TRUE(opened->auth.confirmation_tag);
  EXPECT_EQ(*opened->auth.confirmation_tag, Bytes(32, 0x06));
}

// Builds a PrivateMessage by hand around `plaintext` (a PrivateMessageContent), as Bob's
// next application message, to reach checks that protect_private never fails.
PrivateMessage encrypt_raw(const CipherSuite& suite, const FramingKeys& keys, SecretTree& tree,
                           BytesView plaintext) {
  auto next = tree.next(kBob, RatchetType::application);
  EXPECT_TRUE(next.ok());
  PrivateMessage message;
  message.group_id = keys.group_context.group_id;
  message.epoch = keys.group_context.epoch;
  message.content_type = ContentType::application;
  const Bytes aad =
      tls::encode(PrivateContentAad{message.group_id, message.epoch, message.content_type, {}});
  message.ciphertext = suite.seal(next->second.key, next->second.nonce, aad, plaintext).value();
  const auto sender_key =
      sender_data_key_nonce(suite, keys.sender_data_secret, message.ciphertext).value();
  const Bytes sender_aad =
      tls::encode(SenderDataAad{message.group_id, message.epoch, message.content_type});
  message.encrypted_sender_data = suite
                                      .seal(sender_key.key, sender_key.nonce, sender_aad,
                                            tls::encode(SenderData{kBob, next->first, {}}))
                                      .value();
  return message;
}

TEST_F(FramingTest, NonZeroPaddingRejected) {
  const AuthenticatedContent signed_content =
      content(ApplicationData{to_bytes("padded")}, WireFormat::private_message);
  tls::Writer w;
  tls::write(w, to_bytes("padded"));
  signed_content.auth.write_for(w, ContentType::application);
  Bytes zero_padded = w.bytes();
  zero_padded.resize(zero_padded.size() + 8, 0);
  Bytes bad_padded = zero_padded;
  bad_padded.back() = 1;

  SecretTree sender = tree();
  SecretTree receiver = tree();
  const PrivateMessage good = encrypt_raw(suite_, keys_, sender, zero_padded);
  const PrivateMessage bad = encrypt_raw(suite_, keys_, sender, bad_padded);
  expect_error(unprotect_private(suite_, keys_, receiver, bad, lookup()), Errc::invalid_value,
               "non-zero padding");
  EXPECT_EQ(application_data(unprotect_private(suite_, keys_, receiver, good, lookup())),
            to_bytes("padded"));
}

TEST_F(FramingTest, UnprotectDispatchesOnWireFormat) {
  SecretTree receiver = tree();
  MlsMessage message;
  message.content = public_message();
  EXPECT_TRUE(unprotect(suite_, keys_, receiver, message, lookup()).ok());
  message.content = Welcome{};
  expect_error(unprotect(suite_, keys_, receiver, message, lookup()), Errc::invalid_argument,
               "not a PublicMessage");
}

}  // namespace
}  // namespace sotto::mls
