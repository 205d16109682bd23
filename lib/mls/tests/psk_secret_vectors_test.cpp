// tests/vectors/mls/psk_secret.json: the PSK combiner of RFC 9420 section 8.4. Each case is
// a list of external PSKs (psk_id, psk_nonce, psk) and the psk_secret they give.
#include <gtest/gtest.h>

#include <string>

#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/key_schedule.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;
using testing::hex_field;
using testing::VectorTally;

// PreSharedKeyID { psktype = external(1); opaque psk_id<V>; opaque psk_nonce<V>; }, written
// here by hand so that this test checks the combiner alone.
Bytes external_psk_id(BytesView psk_id, BytesView psk_nonce) {
  tls::Writer w;
  w.u8(1);
  w.opaque(psk_id);
  w.opaque(psk_nonce);
  return w.take();
}

TEST(PskSecretVectors, EveryCase) {
  const auto vectors = testing::load_vectors("mls/psk_secret.json");
  ASSERT_TRUE(vectors.has_value());
  VectorTally tally("mls/psk_secret.json");
  for (const auto& tc : *vectors) {
    const uint16_t id = tc.at("cipher_suite").get<uint16_t>();
    if (!tally.runs_suite(id, CipherSuite::supported(id))) continue;
    SCOPED_TRACE("cipher_suite " + std::to_string(id) + ", " +
                 std::to_string(tc.at("psks").size()) + " PSKs");
    const auto suite = CipherSuite::create(id);
    ASSERT_TRUE(suite.ok()) << suite.error().to_string();
    std::vector<PskInput> psks;
    for (const auto& p : tc.at("psks")) {
      psks.push_back(PskInput{external_psk_id(hex_field(p, "psk_id"), hex_field(p, "psk_nonce")),
                              SecureBytes(hex_field(p, "psk"))});
    }
    const auto secret = derive_psk_secret(*suite, psks);
    if (!secret.ok()) {
      ADD_FAILURE() << secret.error().to_string();
      tally.fail();
      continue;
    }
    const Bytes want = hex_field(tc, "psk_secret");
    const bool ok = secret->reveal() == want;
    if (!ok) ADD_FAILURE() << "psk_secret: got " << to_hex(*secret) << ", want " << to_hex(want);
    tally.count(ok);
  }
  EXPECT_EQ(tally.failed(), 0);
}

}  // namespace
}  // namespace sotto::mls
