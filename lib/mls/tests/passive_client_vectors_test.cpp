// RFC 9420 passive-client vectors (mlswg/mls-implementations): join from a Welcome, then
// process each epoch's proposals and commit, comparing epoch authenticators.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>

#include "sotto/mls/group.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using sotto::testing::hex_bytes;
using sotto::testing::hex_field;
using sotto::testing::Json;
using sotto::testing::VectorTally;

// The first mismatch of one case, or "" when it passes.
std::string run_case(const Json& c) {
  ExternalPsks psks;
  for (const Json& p : c.at("external_psks")) {
    psks[hex_field(p, "psk_id")] = SecureBytes(hex_field(p, "psk"));
  }
  auto kp_msg = tls::decode<MlsMessage>(hex_field(c, "key_package"));
  if (!kp_msg.ok()) return "key_package: " + kp_msg.error().to_string();
  const auto* kp = std::get_if<KeyPackage>(&kp_msg->content);
  if (kp == nullptr) return "key_package is not a KeyPackage";
  KeyPackagePrivateKeys keys{SecureBytes(hex_field(c, "init_priv")),
                             SecureBytes(hex_field(c, "encryption_priv")),
                             SecureBytes(hex_field(c, "signature_priv"))};
  auto welcome = tls::decode<MlsMessage>(hex_field(c, "welcome"));
  if (!welcome.ok()) return "welcome: " + welcome.error().to_string();
  std::optional<RatchetTree> tree;
  if (c.contains("ratchet_tree") && !c.at("ratchet_tree").is_null()) {
    auto t = tls::decode<RatchetTree>(hex_field(c, "ratchet_tree"));
    if (!t.ok()) return "ratchet_tree: " + t.error().to_string();
    tree = std::move(*t);
  }
  auto joined = Group::join(*welcome, *kp, keys, tree, psks);
  if (!joined.ok()) return "join: " + joined.error().to_string();
  Group group = std::move(joined).value();
  if (to_bytes(group.epoch_authenticator()) != hex_field(c, "initial_epoch_authenticator")) {
    return "initial epoch authenticator differs";
  }
  size_t i = 0;
  for (const Json& epoch : c.at("epochs")) {
    const std::string where = "epoch " + std::to_string(i++) + ": ";
    for (const Json& p : epoch.at("proposals")) {
      auto msg = tls::decode<MlsMessage>(hex_bytes(p));
      if (!msg.ok()) return where + "proposal: " + msg.error().to_string();
      auto next = group.process(*msg, psks);
      if (!next.ok()) return where + "proposal: " + next.error().to_string();
      group = std::move(next).value();
    }
    auto msg = tls::decode<MlsMessage>(hex_field(epoch, "commit"));
    if (!msg.ok()) return where + "commit: " + msg.error().to_string();
    auto next = group.process(*msg, psks);
    if (!next.ok()) return where + "commit: " + next.error().to_string();
    group = std::move(next).value();
    if (to_bytes(group.epoch_authenticator()) != hex_field(epoch, "epoch_authenticator")) {
      return where + "epoch authenticator differs";
    }
  }
  return {};
}

// suite1_only: the file has suite 1 cases only, which the browser build cannot run.
void run_file(const std::string& file, bool suite1_only = false) {
  auto vectors = sotto::testing::load_vectors("mls/" + file);
  ASSERT_TRUE(vectors.has_value());
  VectorTally tally(file);
  std::map<std::string, int> reasons;
  for (const Json& c : *vectors) {
    const int suite = c.at("cipher_suite").get<int>();
    if (!tally.runs_suite(suite, crypto::CipherSuite::supported(static_cast<uint16_t>(suite)))) continue;
    const std::string mismatch = run_case(c);
    tally.count(mismatch.empty());
    if (!mismatch.empty()) ++reasons[mismatch.substr(0, 120)];
  }
  for (const auto& [reason, n] : reasons) {
    std::printf("  %s: %d failed: %s\n", file.c_str(), n, reason.c_str());
  }
  EXPECT_EQ(tally.failed(), 0);
  if (suite1_only && !crypto::CipherSuite::supported(0x0001)) {
    tally.expect_all_skipped();
  } else {
    EXPECT_GT(tally.passed(), 0);
  }
}

TEST(PassiveClientVectors, Welcome) { run_file("passive-client-welcome.json"); }
TEST(PassiveClientVectors, HandlingCommit) { run_file("passive-client-handling-commit.json"); }
TEST(PassiveClientVectors, Random) { run_file("passive-client-random.json", /*suite1_only=*/true); }

}  // namespace
}  // namespace sotto::mls
