// The vector files of the wire structs: messages.json (decode and re-encode every struct) and
// message-protection.json (RFC 9420 section 6: PublicMessage and PrivateMessage).
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

#include "case_check.h"
#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/framing.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/secret_tree.h"

namespace sotto::mls::testing {

using crypto::CipherSuite;

namespace {

// ---- messages.json: every field of every case decodes as its RFC 9420 struct and
// re-encodes to the same bytes; each field of each case is one case.

// Decodes `field` as T, runs `is_expected` on it, and re-encodes it byte for byte.
template <class T>
bool round_trip(CaseCheck& c, const Json& tc, const char* field,
                const std::function<bool(const T&)>& is_expected = nullptr) {
  const Bytes wire = c.hex(tc, field);
  if (!c.ok()) return false;
  const auto decoded = tls::decode<T>(wire);
  if (!c.succeeded(decoded, std::string(field) + ": decode")) return false;
  if (is_expected && !is_expected(*decoded)) {
    return c.fail(std::string(field) + ": the decoded value is not what the field names");
  }
  const Bytes again = tls::encode(*decoded);
  if (again != wire) {
    return c.fail(std::string(field) + ": re-encoding differs: " + std::to_string(wire.size()) +
                  " bytes in, " + std::to_string(again.size()) + " out");
  }
  return true;
}

std::function<bool(const MlsMessage&)> is_wire_format(WireFormat format) {
  return [format](const MlsMessage& m) { return m.wire_format() == format; };
}

std::function<bool(const MlsMessage&)> is_public(ContentType type) {
  return [type](const MlsMessage& m) {
    const auto* pub = std::get_if<PublicMessage>(&m.content);
    return pub != nullptr && pub->content.content_type() == type;
  };
}

using FieldCheck = std::function<bool(CaseCheck&, const Json&)>;

template <class T>
FieldCheck field_round_trip(const char* field,
                            std::function<bool(const T&)> is_expected = nullptr) {
  return [field, is_expected](CaseCheck& c, const Json& tc) {
    return round_trip<T>(c, tc, field, is_expected);
  };
}

// ---- message-protection.json: per case an epoch's group context and secrets, a two-member
// group whose leaf 1 sends, and a proposal, a commit and an application message, each as
// content and as protected messages (public and private; application data only private).
// The given messages unprotect to the content; our own protection of it unprotects again.

constexpr LeafIndex kSender{1};

struct Epoch {
  FramingKeys keys;
  Bytes encryption_secret;
  SecureBytes signature_priv;
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
  Result<SecretTree> tree(const CipherSuite& suite) const {
    SOTTO_TRY_ASSIGN(const LeafCount leaves, LeafCount::exactly(2));
    return SecretTree::create(suite, leaves, encryption_secret);
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

bool unprotect_given(CaseCheck& c, const CipherSuite& suite, const Epoch& epoch, const Json& v,
                     const std::string& field, BytesView want) {
  const Bytes wire = c.hex(v, field);
  auto message = tls::decode<MlsMessage>(wire);
  if (!c.succeeded(message, field)) return false;
  auto tree = epoch.tree(suite);
  if (!c.succeeded(tree, field + ": secret tree")) return false;
  auto content = unprotect(suite, epoch.keys, *tree, *message, epoch.lookup());
  return c.succeeded(content, field) && c.same(content_bytes(*content), want, field + " content");
}

// Signs, protects, serializes, parses and unprotects `body` as `wire_format`.
bool round_trip_protection(CaseCheck& c, const CipherSuite& suite, const Epoch& epoch,
                           std::variant<ApplicationData, Proposal, Commit> body,
                           WireFormat wire_format, const std::string& what) {
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
  if (!c.succeeded(signed_content, what + ": sign")) return false;
  // The file supplies no confirmation tag; any MAC-sized value is carried the same way.
  if (is_commit) signed_content->auth.confirmation_tag = suite.hash(as_bytes("confirmation"));

  MlsMessage message;
  if (wire_format == WireFormat::public_message) {
    auto pub = protect_public(suite, epoch.keys, *signed_content);
    if (!c.succeeded(pub, what + ": protect")) return false;
    message.content = std::move(*pub);
  } else {
    auto sender_tree = epoch.tree(suite);
    if (!c.succeeded(sender_tree, what + ": secret tree")) return false;
    auto priv = protect_private(suite, epoch.keys, *sender_tree, *signed_content,
                                {0x01, 0x02, 0x03, 0x04}, 13);
    if (!c.succeeded(priv, what + ": protect")) return false;
    message.content = std::move(*priv);
  }
  auto parsed = tls::decode<MlsMessage>(tls::encode(message));
  if (!c.succeeded(parsed, what + ": reparse")) return false;
  auto receiver_tree = epoch.tree(suite);
  if (!c.succeeded(receiver_tree, what + ": secret tree")) return false;
  auto opened = unprotect(suite, epoch.keys, *receiver_tree, *parsed, epoch.lookup());
  return c.succeeded(opened, what + ": unprotect") &&
         c.same(tls::encode(*opened), tls::encode(*signed_content), what + " round trip");
}

bool check_protection_case(CaseCheck& c, const CipherSuite& suite, const Json& v) {
  Epoch epoch;
  GroupContext& context = epoch.keys.group_context;
  context.cipher_suite = static_cast<CipherSuiteId>(suite.id());
  context.group_id = c.hex(v, "group_id");
  context.epoch = v.at("epoch").get<uint64_t>();
  context.tree_hash = c.hex(v, "tree_hash");
  context.confirmed_transcript_hash = c.hex(v, "confirmed_transcript_hash");
  epoch.keys.membership_key = SecureBytes(c.hex(v, "membership_key"));
  epoch.keys.sender_data_secret = SecureBytes(c.hex(v, "sender_data_secret"));
  epoch.encryption_secret = c.hex(v, "encryption_secret");
  epoch.signature_priv = SecureBytes(c.hex(v, "signature_priv"));
  epoch.signature_pub = c.hex(v, "signature_pub");

  const Bytes proposal_bytes = c.hex(v, "proposal");
  const Bytes commit_bytes = c.hex(v, "commit");
  const Bytes application = c.hex(v, "application");
  const auto proposal = tls::decode<Proposal>(proposal_bytes);
  const auto commit = tls::decode<Commit>(commit_bytes);
  if (!c.succeeded(proposal, "proposal") || !c.succeeded(commit, "commit")) return false;

  unprotect_given(c, suite, epoch, v, "proposal_pub", proposal_bytes);
  unprotect_given(c, suite, epoch, v, "proposal_priv", proposal_bytes);
  unprotect_given(c, suite, epoch, v, "commit_pub", commit_bytes);
  unprotect_given(c, suite, epoch, v, "commit_priv", commit_bytes);
  unprotect_given(c, suite, epoch, v, "application_priv", application);
  for (const WireFormat wf : {WireFormat::public_message, WireFormat::private_message}) {
    const std::string how = wf == WireFormat::public_message ? " public" : " private";
    round_trip_protection(c, suite, epoch, *proposal, wf, "proposal" + how);
    round_trip_protection(c, suite, epoch, *commit, wf, "commit" + how);
  }
  round_trip_protection(c, suite, epoch, ApplicationData{application}, WireFormat::private_message,
                        "application private");
  return c.ok();
}

}  // namespace

VectorReport check_messages(const Json& file) {
  struct Field {
    const char* name;
    FieldCheck check;
  };
  const Field fields[] = {
      {"mls_welcome",
       field_round_trip<MlsMessage>("mls_welcome", is_wire_format(WireFormat::welcome))},
      {"mls_group_info",
       field_round_trip<MlsMessage>("mls_group_info", is_wire_format(WireFormat::group_info))},
      {"mls_key_package",
       field_round_trip<MlsMessage>("mls_key_package", is_wire_format(WireFormat::key_package))},
      {"ratchet_tree", field_round_trip<RatchetTree>("ratchet_tree")},
      {"group_secrets", field_round_trip<GroupSecrets>("group_secrets")},
      {"add_proposal", field_round_trip<Add>("add_proposal")},
      {"update_proposal", field_round_trip<Update>("update_proposal")},
      {"remove_proposal", field_round_trip<Remove>("remove_proposal")},
      {"pre_shared_key_proposal", field_round_trip<PreSharedKey>("pre_shared_key_proposal")},
      {"re_init_proposal", field_round_trip<ReInit>("re_init_proposal")},
      {"external_init_proposal", field_round_trip<ExternalInit>("external_init_proposal")},
      {"group_context_extensions_proposal",
       field_round_trip<GroupContextExtensions>("group_context_extensions_proposal")},
      {"commit", field_round_trip<Commit>("commit")},
      {"public_message_application",
       field_round_trip<MlsMessage>("public_message_application",
                                    is_public(ContentType::application))},
      {"public_message_proposal",
       field_round_trip<MlsMessage>("public_message_proposal", is_public(ContentType::proposal))},
      {"public_message_commit",
       field_round_trip<MlsMessage>("public_message_commit", is_public(ContentType::commit))},
      {"private_message", field_round_trip<MlsMessage>(
                              "private_message", is_wire_format(WireFormat::private_message))},
  };
  ReportBuilder report("messages");
  for (size_t i = 0; i < file.size(); ++i) {
    for (const Field& f : fields) {
      report.run("case " + std::to_string(i) + " " + f.name,
                 [&](CaseCheck& c) { return f.check(c, file[i]); });
    }
  }
  return report.take();
}

VectorReport check_message_protection(const Json& file) {
  ReportBuilder report("message-protection");
  for (size_t i = 0; i < file.size(); ++i) {
    const uint16_t id = suite_of(file[i]);
    const std::string name = case_name(i, id);
    if (!report.runs_suite(id, name)) continue;
    report.run(name, [&](CaseCheck& c) {
      auto suite = CipherSuite::create(id);
      return c.succeeded(suite, "cipher suite") && check_protection_case(c, *suite, file[i]);
    });
  }
  return report.take();
}

}  // namespace sotto::mls::testing
