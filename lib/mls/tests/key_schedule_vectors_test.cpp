// tests/vectors/mls/key-schedule.json: RFC 9420 section 8 over successive epochs. Each epoch
// of each case is one vector case: its GroupContext, every epoch secret, external_pub and one
// exporter output, with the next epoch chained from this epoch's init_secret.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/key_schedule.h"
#include "sotto/mls/messages.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;
using testing::hex_field;
using testing::Json;
using testing::VectorTally;

using testing::same;

// One epoch; `init_secret` is the previous epoch's and becomes this epoch's.
bool check_epoch(const CipherSuite& suite, const Bytes& group_id, uint64_t epoch, const Json& v,
                 SecureBytes& init_secret) {
  GroupContext context;
  context.cipher_suite = static_cast<CipherSuiteId>(suite.id());
  context.group_id = group_id;
  context.epoch = epoch;
  context.tree_hash = hex_field(v, "tree_hash");
  context.confirmed_transcript_hash = hex_field(v, "confirmed_transcript_hash");
  const Bytes serialized = tls::encode(context);
  bool ok = same(serialized, hex_field(v, "group_context"), "group_context");

  const auto secrets = derive_epoch_secrets(suite, init_secret, hex_field(v, "commit_secret"),
                                            hex_field(v, "psk_secret"), serialized);
  if (!secrets.ok()) {
    ADD_FAILURE() << "derive_epoch_secrets: " << secrets.error().to_string();
    return false;
  }
  const EpochSecrets& s = *secrets;
  ok = same(s.joiner_secret, hex_field(v, "joiner_secret"), "joiner_secret") && ok;
  ok = same(s.welcome_secret, hex_field(v, "welcome_secret"), "welcome_secret") && ok;
  ok = same(s.init_secret, hex_field(v, "init_secret"), "init_secret") && ok;
  ok = same(s.sender_data_secret, hex_field(v, "sender_data_secret"), "sender_data_secret") && ok;
  ok = same(s.encryption_secret, hex_field(v, "encryption_secret"), "encryption_secret") && ok;
  ok = same(s.exporter_secret, hex_field(v, "exporter_secret"), "exporter_secret") && ok;
  ok =
      same(s.epoch_authenticator, hex_field(v, "epoch_authenticator"), "epoch_authenticator") && ok;
  ok = same(s.external_secret, hex_field(v, "external_secret"), "external_secret") && ok;
  ok = same(s.confirmation_key, hex_field(v, "confirmation_key"), "confirmation_key") && ok;
  ok = same(s.membership_key, hex_field(v, "membership_key"), "membership_key") && ok;
  ok = same(s.resumption_psk, hex_field(v, "resumption_psk"), "resumption_psk") && ok;

  // A joiner reaches the same epoch from the joiner_secret.
  const auto joined = derive_epoch_secrets_from_joiner(suite, s.joiner_secret,
                                                       hex_field(v, "psk_secret"), serialized);
  if (!joined.ok() || !(joined->epoch_secret == s.epoch_secret)) {
    ADD_FAILURE() << "derive_epoch_secrets_from_joiner disagrees";
    ok = false;
  }
  const auto welcome = derive_welcome_secret(suite, s.joiner_secret, hex_field(v, "psk_secret"));
  ok =
      welcome.ok() && same(*welcome, hex_field(v, "welcome_secret"), "derive_welcome_secret") && ok;

  const auto pub = external_pub(suite, s.external_secret);
  if (!pub.ok()) {
    ADD_FAILURE() << "external_pub: " << pub.error().to_string();
    ok = false;
  } else {
    ok = same(*pub, hex_field(v, "external_pub"), "external_pub") && ok;
  }

  // The exporter label is the text of the JSON string itself (the generator hex-encoded
  // random bytes to make a printable label), not bytes in hex.
  const Json& exporter = v.at("exporter");
  const auto exported =
      mls_exporter(suite, s.exporter_secret, exporter.at("label").get<std::string>(),
                   hex_field(exporter, "context"), exporter.at("length").get<size_t>());
  if (!exported.ok()) {
    ADD_FAILURE() << "mls_exporter: " << exported.error().to_string();
    ok = false;
  } else {
    ok = same(*exported, hex_field(exporter, "secret"), "exporter") && ok;
  }

  init_secret = s.init_secret;
  return ok;
}

TEST(KeyScheduleVectors, EveryEpoch) {
  const auto vectors = testing::load_vectors("mls/key-schedule.json");
  ASSERT_TRUE(vectors.has_value());
  VectorTally tally("mls/key-schedule.json");
  for (const auto& tc : *vectors) {
    const uint16_t id = tc.at("cipher_suite").get<uint16_t>();
    SCOPED_TRACE("cipher_suite " + std::to_string(id));
    const Json& epochs = tc.at("epochs");
    if (!CipherSuite::supported(id)) {
      for (size_t i = 0; i < epochs.size(); ++i) {
        tally.skip("suite " + std::to_string(id) + " not supported");
      }
      continue;
    }
    const auto suite = CipherSuite::create(id);
    ASSERT_TRUE(suite.ok()) << suite.error().to_string();
    const Bytes group_id = hex_field(tc, "group_id");
    SecureBytes init_secret(hex_field(tc, "initial_init_secret"));
    for (size_t i = 0; i < epochs.size(); ++i) {
      SCOPED_TRACE("epoch " + std::to_string(i));
      tally.count(check_epoch(*suite, group_id, i, epochs[i], init_secret));
    }
  }
  EXPECT_EQ(tally.failed(), 0);
}

TEST(KeySchedule, RejectsSecretsOfTheWrongSize) {
  const auto suite = CipherSuite::create(3);
  ASSERT_TRUE(suite.ok());
  const Bytes nh(32, 1);
  const Bytes short_secret(31, 1);
  EXPECT_EQ(derive_epoch_secrets(*suite, short_secret, nh, nh, {}).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(derive_epoch_secrets(*suite, nh, short_secret, nh, {}).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(derive_epoch_secrets(*suite, nh, nh, short_secret, {}).error().code(),
            Errc::invalid_argument);
  EXPECT_TRUE(derive_epoch_secrets(*suite, nh, nh, nh, {}).ok());
}

}  // namespace
}  // namespace sotto::mls
