// tests/vectors/mls/welcome.json: RFC 9420 section 12.4.3.1. Each case gives a KeyPackage
// with its init private key, a Welcome for it and the GroupInfo signer's public key; the
// Welcome must open, its GroupInfo verify and its confirmation tag match the derived epoch.
// Then, on the first supported case, each check is made to fail once.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <variant>

#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/welcome.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;
using testing::hex_field;
using testing::Json;
using testing::VectorTally;

struct WelcomeCase {
  uint16_t suite_id = 0;
  Bytes init_priv;
  Bytes signer_pub;
  KeyPackage key_package;
  Welcome welcome;

  GroupInfoSignerLookup signer() const {
    return [pub = signer_pub](const GroupInfo&) -> std::optional<Bytes> { return pub; };
  }
};

template <class T>
std::optional<T> decode_message(const Json& v, const std::string& field) {
  auto message = tls::decode<MlsMessage>(hex_field(v, field));
  if (!message.ok()) {
    ADD_FAILURE() << field << ": " << message.error().to_string();
    return std::nullopt;
  }
  const T* body = std::get_if<T>(&message->content);
  if (body == nullptr) {
    ADD_FAILURE() << field << ": wrong wire format";
    return std::nullopt;
  }
  return *body;
}

std::optional<WelcomeCase> parse_case(const Json& v) {
  WelcomeCase c;
  c.suite_id = v.at("cipher_suite").get<uint16_t>();
  c.init_priv = hex_field(v, "init_priv");
  c.signer_pub = hex_field(v, "signer_pub");
  auto key_package = decode_message<KeyPackage>(v, "key_package");
  auto welcome = decode_message<Welcome>(v, "welcome");
  if (!key_package || !welcome) return std::nullopt;
  c.key_package = std::move(*key_package);
  c.welcome = std::move(*welcome);
  return c;
}

bool check_case(const WelcomeCase& c) {
  const auto joined = join_from_welcome(c.welcome, c.key_package, c.init_priv, c.signer());
  if (!joined.ok()) {
    ADD_FAILURE() << "join_from_welcome: " << joined.error().to_string();
    return false;
  }
  const auto suite = CipherSuite::create(c.suite_id);
  bool ok = joined->epoch_secrets.epoch_secret.size() == suite->hash_size();
  // The tag the joiner checked is the one it can recompute.
  ok = verify_confirmation_tag(*suite, joined->epoch_secrets.confirmation_key,
                               joined->group_info.group_context.confirmed_transcript_hash,
                               joined->group_info.confirmation_tag) &&
       ok;
  EXPECT_TRUE(ok);
  return ok;
}

// Each check of join_from_welcome, made to fail on a good case.
void check_failures(const WelcomeCase& good) {
  const auto suite = CipherSuite::create(good.suite_id);
  ASSERT_TRUE(suite.ok());

  {  // Another KeyPackage: no secrets for it.
    WelcomeCase c = good;
    c.key_package.signature.push_back(0);
    const auto r = join_from_welcome(c.welcome, c.key_package, c.init_priv, c.signer());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::not_found) << r.error().to_string();
  }
  {  // The wrong init key: the GroupSecrets do not open.
    WelcomeCase c = good;
    c.init_priv.back() ^= 1;
    EXPECT_FALSE(join_from_welcome(c.welcome, c.key_package, c.init_priv, c.signer()).ok());
  }
  {  // A corrupted GroupInfo ciphertext. It is also the HPKE context of the GroupSecrets, so
     // the first decryption already fails.
    WelcomeCase c = good;
    c.welcome.encrypted_group_info.back() ^= 1;
    EXPECT_FALSE(join_from_welcome(c.welcome, c.key_package, c.init_priv, c.signer()).ok());
  }
  {  // The wrong signer key.
    WelcomeCase c = good;
    const auto other = crypto::Ed25519SigningKey::from_seed(Bytes(32, 0x33));
    c.signer_pub = other->public_key();
    const auto r = join_from_welcome(c.welcome, c.key_package, c.init_priv, c.signer());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::bad_signature) << r.error().to_string();
  }
  {  // No key for the signer.
    const auto r = join_from_welcome(good.welcome, good.key_package, good.init_priv,
                                     [](const GroupInfo&) { return std::optional<Bytes>(); });
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::not_found) << r.error().to_string();
  }
}

TEST(WelcomeVectors, File) {
  const auto vectors = testing::load_vectors("mls/welcome.json");
  ASSERT_TRUE(vectors);
  VectorTally tally("mls/welcome.json");
  std::optional<WelcomeCase> first;
  for (const Json& v : *vectors) {
    const uint16_t suite_id = v.at("cipher_suite").get<uint16_t>();
    if (!tally.runs_suite(suite_id, CipherSuite::supported(suite_id))) continue;
    SCOPED_TRACE("suite " + std::to_string(suite_id));
    auto c = parse_case(v);
    const bool ok = c && check_case(*c);
    tally.count(ok);
    if (ok && !first) first = std::move(c);
  }
  EXPECT_GT(tally.passed(), 0);
  EXPECT_EQ(tally.failed(), 0);
  if (first) check_failures(*first);
}

TEST(GroupInfoSignature, SignVerifyRoundTrip) {
  const auto suite = CipherSuite::create(0x0003);
  ASSERT_TRUE(suite.ok());
  const auto key = crypto::Ed25519SigningKey::from_seed(Bytes(32, 0x44));
  ASSERT_TRUE(key.ok());
  GroupInfo info;
  info.group_context.cipher_suite = CipherSuiteId::x25519_chacha20poly1305_sha256_ed25519;
  info.group_context.group_id = to_bytes("group");
  info.confirmation_tag = Bytes(32, 0x07);
  info.signer = LeafIndex{3};
  ASSERT_TRUE(sign_group_info(*suite, info, key->seed()).ok());
  EXPECT_TRUE(verify_group_info(*suite, info, key->public_key()).ok());
  info.signer = LeafIndex{2};
  const auto r = verify_group_info(*suite, info, key->public_key());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::bad_signature);
}

}  // namespace
}  // namespace sotto::mls
