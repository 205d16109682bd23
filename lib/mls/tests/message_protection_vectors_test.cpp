// tests/vectors/mls/message-protection.json: RFC 9420 section 6. Each case gives an epoch's
// group context and secrets, a two-member group whose leaf 1 sends, and a proposal, a commit
// and an application message, each as content and as protected messages (public and private;
// application data only private). Per case and per content: the given messages unprotect to
// the content; our own protection of it unprotects again.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <variant>

#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/framing.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/secret_tree.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;
using testing::hex_field;
using testing::Json;
using testing::VectorTally;

constexpr LeafIndex kSender{1};

using testing::same;

struct Epoch {
  FramingKeys keys;
  Bytes encryption_secret;
  Bytes signature_priv;
  Bytes signature_pub;

  SignatureKeyLookup lookup() const {
    return [pub = signature_pub](const Sender& sender) -> std::optional<Bytes> {
      const auto* member = std::get_if<MemberSender>(&sender.content);
      if (member != nullptr && member->leaf_index == kSender) return pub;
      return std::nullopt;
    };
  }

  // A fresh secret tree of the two-member group: each message of the file is the first of
  // its ratchet, so each is read with a tree of its own.
  SecretTree tree(const CipherSuite& suite) const {
    auto leaves = LeafCount::exactly(2);
    auto tree = SecretTree::create(suite, *leaves, encryption_secret);
    EXPECT_TRUE(tree.ok()) << tree.error().to_string();
    return std::move(tree).value();
  }
};

// The content of `authenticated`, serialized as the file gives it: a Proposal, a Commit, or
// the application data itself.
Bytes content_bytes(const AuthenticatedContent& authenticated) {
  return std::visit(
      [](const auto& body) -> Bytes {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, ApplicationData>) {
          return body.data;
        } else {
          return tls::encode(body);
        }
      },
      authenticated.content.content);
}

bool unprotect_given(const CipherSuite& suite, const Epoch& epoch, const Json& v,
                     const std::string& field, BytesView want) {
  auto message = tls::decode<MlsMessage>(hex_field(v, field));
  if (!message.ok()) {
    ADD_FAILURE() << field << ": " << message.error().to_string();
    return false;
  }
  SecretTree tree = epoch.tree(suite);
  auto content = unprotect(suite, epoch.keys, tree, *message, epoch.lookup());
  if (!content.ok()) {
    ADD_FAILURE() << field << ": " << content.error().to_string();
    return false;
  }
  return same(content_bytes(*content), want, field + " content");
}

// Signs, protects, serializes, parses and unprotects `body` as `wire_format`.
bool round_trip(const CipherSuite& suite, const Epoch& epoch,
                std::variant<ApplicationData, Proposal, Commit> body, WireFormat wire_format,
                const std::string& what) {
  FramedContent content;
  content.group_id = epoch.keys.group_context.group_id;
  content.epoch = epoch.keys.group_context.epoch;
  content.sender.content = MemberSender{kSender};
  content.authenticated_data = to_bytes("authenticated data");
  content.content = std::move(body);
  const bool is_commit = content.content_type() == ContentType::commit;
  auto signed_content =
      sign_framed_content(suite, wire_format, std::move(content),
                          tls::encode(epoch.keys.group_context), epoch.signature_priv);
  if (!signed_content.ok()) {
    ADD_FAILURE() << what << ": sign: " << signed_content.error().to_string();
    return false;
  }
  // The file supplies no confirmation tag; any MAC-sized value is carried the same way.
  if (is_commit) signed_content->auth.confirmation_tag = suite.hash(as_bytes("confirmation"));

  MlsMessage message;
  SecretTree sender_tree = epoch.tree(suite);
  if (wire_format == WireFormat::public_message) {
    auto pub = protect_public(suite, epoch.keys, *signed_content);
    if (!pub.ok()) {
      ADD_FAILURE() << what << ": protect: " << pub.error().to_string();
      return false;
    }
    message.content = std::move(*pub);
  } else {
    auto priv = protect_private(suite, epoch.keys, sender_tree, *signed_content,
                                {0x01, 0x02, 0x03, 0x04}, 13);
    if (!priv.ok()) {
      ADD_FAILURE() << what << ": protect: " << priv.error().to_string();
      return false;
    }
    message.content = std::move(*priv);
  }
  auto parsed = tls::decode<MlsMessage>(tls::encode(message));
  if (!parsed.ok()) {
    ADD_FAILURE() << what << ": reparse: " << parsed.error().to_string();
    return false;
  }
  SecretTree receiver_tree = epoch.tree(suite);
  auto opened = unprotect(suite, epoch.keys, receiver_tree, *parsed, epoch.lookup());
  if (!opened.ok()) {
    ADD_FAILURE() << what << ": unprotect: " << opened.error().to_string();
    return false;
  }
  return same(tls::encode(*opened), tls::encode(*signed_content), what + " round trip");
}

TEST(MessageProtectionVectors, File) {
  const auto vectors = testing::load_vectors("mls/message-protection.json");
  ASSERT_TRUE(vectors);
  VectorTally tally("mls/message-protection.json");
  for (const Json& v : *vectors) {
    const uint16_t suite_id = v.at("cipher_suite").get<uint16_t>();
    if (!tally.runs_suite(suite_id, CipherSuite::supported(suite_id))) continue;
    SCOPED_TRACE("suite " + std::to_string(suite_id));
    const auto suite = CipherSuite::create(suite_id);
    ASSERT_TRUE(suite.ok());

    Epoch epoch;
    GroupContext& context = epoch.keys.group_context;
    context.cipher_suite = static_cast<CipherSuiteId>(suite_id);
    context.group_id = hex_field(v, "group_id");
    context.epoch = v.at("epoch").get<uint64_t>();
    context.tree_hash = hex_field(v, "tree_hash");
    context.confirmed_transcript_hash = hex_field(v, "confirmed_transcript_hash");
    epoch.keys.membership_key = SecureBytes(hex_field(v, "membership_key"));
    epoch.keys.sender_data_secret = SecureBytes(hex_field(v, "sender_data_secret"));
    epoch.encryption_secret = hex_field(v, "encryption_secret");
    epoch.signature_priv = hex_field(v, "signature_priv");
    epoch.signature_pub = hex_field(v, "signature_pub");

    const Bytes proposal_bytes = hex_field(v, "proposal");
    const Bytes commit_bytes = hex_field(v, "commit");
    const Bytes application = hex_field(v, "application");
    const auto proposal = tls::decode<Proposal>(proposal_bytes);
    const auto commit = tls::decode<Commit>(commit_bytes);
    ASSERT_TRUE(proposal.ok()) << proposal.error().to_string();
    ASSERT_TRUE(commit.ok()) << commit.error().to_string();

    bool ok = true;
    ok = unprotect_given(*suite, epoch, v, "proposal_pub", proposal_bytes) && ok;
    ok = unprotect_given(*suite, epoch, v, "proposal_priv", proposal_bytes) && ok;
    ok = unprotect_given(*suite, epoch, v, "commit_pub", commit_bytes) && ok;
    ok = unprotect_given(*suite, epoch, v, "commit_priv", commit_bytes) && ok;
    ok = unprotect_given(*suite, epoch, v, "application_priv", application) && ok;

    for (const WireFormat wf : {WireFormat::public_message, WireFormat::private_message}) {
      const std::string how = wf == WireFormat::public_message ? " public" : " private";
      ok = round_trip(*suite, epoch, *proposal, wf, "proposal" + how) && ok;
      ok = round_trip(*suite, epoch, *commit, wf, "commit" + how) && ok;
    }
    ok = round_trip(*suite, epoch, ApplicationData{application}, WireFormat::private_message,
                    "application private") &&
         ok;
    tally.count(ok);
  }
  EXPECT_GT(tally.passed(), 0);
  EXPECT_EQ(tally.failed(), 0);
}

}  // namespace
}  // namespace sotto::mls
