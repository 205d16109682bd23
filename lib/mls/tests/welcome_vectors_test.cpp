// tests/vectors/mls/welcome.json: RFC 9420 section 12.4.3.1. Each case gives a KeyPackage
// with its init private key, a Welcome for it and the GroupInfo signer's public key; the
// Welcome must open, its GroupInfo verify and its confirmation tag match the derived epoch.
// The checks are sotto_mls_vectors' (lib/mls/testing). Then, on the first supported case,
// each check is made to fail once.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "expect_vectors.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/messages.h"
#include "sotto/mls/testing/vector_cases.h"
#include "sotto/mls/welcome.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;
using testing::WelcomeCase;

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
    c.init_priv[c.init_priv.size() - 1] ^= 1;
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
  const auto vectors = testing::expect_vectors("welcome");
  ASSERT_TRUE(vectors.has_value());
  // The failure paths on the first case this build runs (it passed: no case failed above).
  for (const nlohmann::json& v : *vectors) {
    const auto suite_id = v.at("cipher_suite").get<uint16_t>();
    if (!CipherSuite::supported(suite_id)) continue;
    const auto c = testing::parse_welcome_case(v);
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    check_failures(*c);
    return;
  }
  ADD_FAILURE() << "no case of welcome.json runs in this build";
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
