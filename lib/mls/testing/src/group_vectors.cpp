// The vector files of joining and following a group: welcome.json (RFC 9420 section 12.4.3.1)
// and the passive-client files (join, then process each epoch's proposals and commit).
#include <optional>
#include <string>
#include <variant>

#include "case_check.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/group.h"
#include "sotto/mls/key_schedule.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/testing/vector_cases.h"
#include "sotto/mls/welcome.h"

namespace sotto::mls::testing {

using crypto::CipherSuite;

namespace {

// `field` holds an MLSMessage whose body is a T.
template <class T>
Result<T> message_body(CaseCheck& c, const Json& v, const char* field) {
  auto message = tls::decode<MlsMessage>(c.hex(v, field));
  if (!message.ok()) return std::move(message).error().with_context(field);
  T* body = std::get_if<T>(&message->content);
  if (body == nullptr)
    return Error(Errc::invalid_value, std::string(field) + ": wrong wire format");
  return std::move(*body);
}

// ---- welcome.json: the Welcome opens with the KeyPackage's init key, its GroupInfo verifies
// under signer_pub, and its confirmation tag matches the derived epoch.

bool check_welcome_case(CaseCheck& c, const CipherSuite& suite, const Json& v) {
  auto parsed = parse_welcome_case(v);
  if (!c.succeeded(parsed, "case")) return false;
  const WelcomeCase& w = *parsed;
  const auto joined = join_from_welcome(w.welcome, w.key_package, w.init_priv, w.signer());
  if (!c.succeeded(joined, "join_from_welcome")) return false;
  c.expect(joined->epoch_secrets.epoch_secret.size() == suite.hash_size(),
           "the epoch secret is not Nh bytes");
  // The tag the joiner checked is the one it can recompute.
  return c.expect(
      verify_confirmation_tag(suite, joined->epoch_secrets.confirmation_key,
                              joined->group_info.group_context.confirmed_transcript_hash,
                              joined->group_info.confirmation_tag),
      "the GroupInfo's confirmation tag does not verify");
}

// ---- passive-client-*.json: join from a Welcome (key_package a whole MLSMessage; the tree
// in the case or in the GroupInfo), then each epoch's proposals and commit; the epoch
// authenticator after the join and after each commit.

bool check_passive_case(CaseCheck& c, const Json& v) {
  ExternalPsks psks;
  for (const Json& p : v.at("external_psks")) {
    psks[c.hex(p, "psk_id")] = SecureBytes(c.hex(p, "psk"));
  }
  auto key_package = message_body<KeyPackage>(c, v, "key_package");
  if (!c.succeeded(key_package, "key_package")) return false;
  const KeyPackagePrivateKeys keys{SecureBytes(c.hex(v, "init_priv")),
                                   SecureBytes(c.hex(v, "encryption_priv")),
                                   SecureBytes(c.hex(v, "signature_priv"))};
  auto welcome = tls::decode<MlsMessage>(c.hex(v, "welcome"));
  if (!c.succeeded(welcome, "welcome")) return false;
  std::optional<RatchetTree> tree;
  if (v.contains("ratchet_tree") && !v.at("ratchet_tree").is_null()) {
    auto t = tls::decode<RatchetTree>(c.hex(v, "ratchet_tree"));
    if (!c.succeeded(t, "ratchet_tree")) return false;
    tree = std::move(*t);
  }
  if (!c.ok()) return false;
  auto joined = Group::join(*welcome, *key_package, keys, tree, psks);
  if (!c.succeeded(joined, "join")) return false;
  Group group = std::move(joined).value();
  if (!c.same(group.epoch_authenticator(), c.hex(v, "initial_epoch_authenticator"),
              "initial epoch authenticator")) {
    return false;
  }
  size_t i = 0;
  for (const Json& epoch : v.at("epochs")) {
    const std::string where = "epoch " + std::to_string(i++) + ": ";
    for (const Json& p : epoch.at("proposals")) {
      auto message = tls::decode<MlsMessage>(c.hex_value(p, "proposal"));
      if (!c.succeeded(message, where + "proposal")) return false;
      auto next = group.process(*message, psks);
      if (!c.succeeded(next, where + "proposal")) return false;
      group = std::move(next).value();
    }
    auto message = tls::decode<MlsMessage>(c.hex(epoch, "commit"));
    if (!c.succeeded(message, where + "commit")) return false;
    auto next = group.process(*message, psks);
    if (!c.succeeded(next, where + "commit")) return false;
    group = std::move(next).value();
    // Later epochs build on this one: the first that differs is the one to report.
    if (!c.same(group.epoch_authenticator(), c.hex(epoch, "epoch_authenticator"),
                where + "epoch authenticator")) {
      return false;
    }
  }
  return c.ok();
}

}  // namespace

GroupInfoSignerLookup WelcomeCase::signer() const {
  return [pub = signer_pub](const GroupInfo&) -> std::optional<Bytes> { return pub; };
}

Result<WelcomeCase> parse_welcome_case(const Json& v) {
  CaseCheck c;
  try {
    WelcomeCase out;
    out.suite_id = suite_of(v);
    out.init_priv = SecureBytes(c.hex(v, "init_priv"));
    out.signer_pub = c.hex(v, "signer_pub");
    SOTTO_TRY_ASSIGN(out.key_package, message_body<KeyPackage>(c, v, "key_package"));
    SOTTO_TRY_ASSIGN(out.welcome, message_body<Welcome>(c, v, "welcome"));
    if (!c.ok()) return Error(Errc::invalid_value, c.take().front());
    return out;
  } catch (const nlohmann::json::exception& e) {
    return Error(Errc::invalid_value, std::string("malformed case: ") + e.what());
  }
}

VectorReport check_welcome(const Json& file) {
  ReportBuilder report("welcome");
  for (size_t i = 0; i < file.size(); ++i) {
    const uint16_t id = suite_of(file[i]);
    const std::string name = case_name(i, id);
    if (!report.runs_suite(id, name)) continue;
    report.run(name, [&](CaseCheck& c) {
      auto suite = CipherSuite::create(id);
      return c.succeeded(suite, "cipher suite") && check_welcome_case(c, *suite, file[i]);
    });
  }
  return report.take();
}

VectorReport check_passive_client(std::string_view kind, const Json& file) {
  ReportBuilder report(kind);
  for (size_t i = 0; i < file.size(); ++i) {
    const uint16_t id = suite_of(file[i]);
    const std::string name = case_name(i, id);
    if (!report.runs_suite(id, name)) continue;
    report.run(name, [&](CaseCheck& c) { return check_passive_case(c, file[i]); });
  }
  return report.take();
}

}  // namespace sotto::mls::testing
