// VAPID (RFC 8292): the JWT's shape and claims, the Authorization header both ways, and the
// checks a push service makes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sotto/core/encoding.h"
#include "sotto/webpush/webpush.h"

namespace sotto::webpush {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::system_clock;

const Clock::time_point kNow = Clock::time_point(seconds(1'800'000'000));

TEST(Vapid, AuthorizationCarriesASignedJwtAndTheKey) {
  auto key = P256KeyPair::generate();
  ASSERT_TRUE(key.ok());
  auto header = vapid_authorization(*key, "https://push.example.net:8443/send/abc",
                                    "mailto:ops@example.org", kNow, std::chrono::hours(12));
  ASSERT_TRUE(header.ok()) << header.error().to_string();
  auto creds = parse_vapid_authorization(*header);
  ASSERT_TRUE(creds.ok()) << creds.error().to_string();
  EXPECT_EQ(creds->public_key, key->public_key());
  EXPECT_EQ(*header, "vapid t=" + creds->jwt + ", k=" + to_base64url(key->public_key()));

  auto jwt = verify_vapid_jwt(creds->jwt, creds->public_key);
  ASSERT_TRUE(jwt.ok()) << jwt.error().to_string();
  auto head = nlohmann::json::parse(jwt->header_json);
  EXPECT_EQ(head, nlohmann::json::parse(R"({"typ":"JWT","alg":"ES256"})"));
  auto claims = nlohmann::json::parse(jwt->claims_json);
  EXPECT_EQ(claims["aud"], "https://push.example.net:8443");
  EXPECT_EQ(claims["exp"], 1'800'000'000 + 12 * 3600);
  EXPECT_EQ(claims["sub"], "mailto:ops@example.org");

  // The signature part is the raw 64-byte r || s.
  auto sig = from_base64url(creds->jwt.substr(creds->jwt.rfind('.') + 1));
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), 64u);
}

TEST(Vapid, LifetimeIsAtMostADay) {
  auto key = P256KeyPair::generate();
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(
      vapid_authorization(*key, "https://p.example/x", "mailto:a@b", kNow, std::chrono::hours(24))
          .ok());
  EXPECT_EQ(vapid_authorization(*key, "https://p.example/x", "mailto:a@b", kNow,
                                std::chrono::hours(24) + seconds(1))
                .error()
                .code(),
            Errc::invalid_argument);
  EXPECT_FALSE(
      vapid_authorization(*key, "https://p.example/x", "mailto:a@b", kNow, seconds(0)).ok());
  EXPECT_FALSE(vapid_authorization(*key, "not a url", "mailto:a@b", kNow).ok());
  EXPECT_FALSE(vapid_authorization(*key, "https://p.example/x", "", kNow).ok());
}

TEST(Vapid, ClaimsAreEscaped) {
  auto key = P256KeyPair::generate();
  ASSERT_TRUE(key.ok());
  auto jwt = vapid_jwt(*key, {"https://p.example", 5, "mailto:\"a\"\\b\n@c"});
  ASSERT_TRUE(jwt.ok());
  auto verified = verify_vapid_jwt(*jwt, key->public_key());
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(nlohmann::json::parse(verified->claims_json)["sub"], "mailto:\"a\"\\b\n@c");
}

TEST(Vapid, PushServiceRejectsForgeries) {
  auto key = P256KeyPair::generate();
  auto other = P256KeyPair::generate();
  ASSERT_TRUE(key.ok() && other.ok());
  auto jwt = vapid_jwt(*key, {"https://p.example", 5, "mailto:a@b"});
  ASSERT_TRUE(jwt.ok());
  EXPECT_EQ(verify_vapid_jwt(*jwt, other->public_key()).error().code(), Errc::bad_signature);
  // Claims swapped for others under the same signature.
  std::string forged = *jwt;
  size_t a = forged.find('.');
  size_t b = forged.find('.', a + 1);
  forged.replace(a + 1, b - a - 1,
                 to_base64url(as_bytes(R"({"aud":"https://q.example","exp":5,"sub":"x"})")));
  EXPECT_EQ(verify_vapid_jwt(forged, key->public_key()).error().code(), Errc::bad_signature);
  EXPECT_FALSE(verify_vapid_jwt("a.b", key->public_key()).ok());
  EXPECT_FALSE(verify_vapid_jwt(*jwt + ".x", key->public_key()).ok());
  EXPECT_FALSE(
      verify_vapid_jwt(forged.substr(0, forged.rfind('.') + 1) + "!!", key->public_key()).ok());
}

TEST(Vapid, AuthorizationHeaderParsing) {
  auto key = P256KeyPair::generate();
  ASSERT_TRUE(key.ok());
  std::string k = to_base64url(key->public_key());
  EXPECT_TRUE(parse_vapid_authorization("vapid t=a.b.c, k=" + k).ok());
  EXPECT_TRUE(parse_vapid_authorization("vapid k=" + k + ",t=a.b.c").ok());
  for (const std::string& bad : std::vector<std::string>{
           "Bearer a.b.c", "vapid t=a.b.c", "vapid k=" + k, "vapid t=a.b.c, k=" + k + ", t=d.e.f",
           "vapid t=a.b.c, k=AAAA", "vapid t=a.b.c, k=" + k + ", x=1", "vapid t=a.b.c k=" + k}) {
    EXPECT_FALSE(parse_vapid_authorization(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace sotto::webpush
