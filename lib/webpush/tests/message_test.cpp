// RFC 8291 message encryption: appendix A reproduced value by value with the example's
// one-time key and salt, the receiver's side, and subscription key validation.
#include <gtest/gtest.h>

#include <string>

#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sotto/webpush/webpush.h"
#include "vectors.h"

namespace sotto::webpush {
namespace {

using sotto::testing::Json;
using sotto::testing::same;

constexpr std::string_view kAppendixA = "webpush/rfc8291_appendixA.json";

Bytes b64(const Json& value) {
  auto decoded = from_base64url(value.get<std::string>());
  EXPECT_TRUE(decoded.ok()) << value;
  return decoded.ok() ? *decoded : Bytes{};
}

TEST(PushMessage, Rfc8291AppendixA) {
  auto file = sotto::testing::load_vectors(kAppendixA);
  ASSERT_TRUE(file);
  const Json& v = *file;
  const Json& mid = v["intermediate"];
  sotto::testing::VectorTally tally{std::string(kAppendixA)};

  auto as_key = P256KeyPair::from_private_key(b64(v["as_private"]));
  auto ua_key = P256KeyPair::from_private_key(b64(v["ua_private"]));
  ASSERT_TRUE(as_key.ok() && ua_key.ok());
  tally.count(same(as_key->public_key(), b64(v["as_public"]), "as_public from as_private"));
  tally.count(same(ua_key->public_key(), b64(v["ua_public"]), "ua_public from ua_private"));

  Bytes auth = b64(v["auth_secret"]);
  Bytes salt = b64(v["salt"]);
  auto secret = ecdh(*as_key, ua_key->public_key());
  auto secret_ua = ecdh(*ua_key, as_key->public_key());
  ASSERT_TRUE(secret.ok() && secret_ua.ok());
  tally.count(same(*secret, b64(mid["ecdh_secret"]), "ecdh_secret (application server)"));
  tally.count(same(*secret_ua, b64(mid["ecdh_secret"]), "ecdh_secret (user agent)"));
  tally.count(same(crypto::hkdf_extract(auth, *secret), b64(mid["PRK_key"]), "PRK_key"));
  tally.count(
      same(key_info(ua_key->public_key(), as_key->public_key()), b64(mid["key_info"]), "key_info"));
  auto ikm = derive_ikm(*secret, auth, ua_key->public_key(), as_key->public_key());
  ASSERT_TRUE(ikm.ok());
  tally.count(same(*ikm, b64(mid["IKM"]), "IKM"));
  tally.count(same(crypto::hkdf_extract(salt, *ikm), b64(mid["PRK"]), "PRK"));
  ContentKeys keys = derive_content_keys(*ikm, salt);
  tally.count(same(keys.cek, b64(mid["CEK"]), "CEK"));
  tally.count(same(keys.nonce, b64(mid["NONCE"]), "NONCE"));

  Bytes plaintext = b64(v["plaintext"]);
  SubscriptionKeys to{ua_key->public_key(), auth};
  auto body = encrypt_push(to, plaintext, *as_key, salt);
  ASSERT_TRUE(body.ok()) << body.error().to_string();
  Bytes header = b64(mid["header"]);
  ASSERT_GE(body->size(), header.size());
  tally.count(same(BytesView(*body).first(header.size()), header, "header"));
  tally.count(same(BytesView(*body).subspan(header.size()), b64(mid["ciphertext"]), "ciphertext"));
  tally.count(same(*body, b64(v["body"]), "body"));
  EXPECT_EQ(parse_content_header(*body)->record_size, v["record_size"].get<uint32_t>());

  auto opened = decrypt_push(*ua_key, auth, b64(v["body"]));
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  tally.count(same(*opened, plaintext, "plaintext decrypted by the user agent"));
  EXPECT_EQ(tally.failed(), 0);
  EXPECT_EQ(tally.passed(), 14);
}

struct Subscriber {
  P256KeyPair key = P256KeyPair::generate().value();
  Bytes auth = crypto::random_bytes(kAuthSecretSize);
  SubscriptionKeys keys() const { return {key.public_key(), auth}; }
};

TEST(PushMessage, RoundTripWithFreshKeys) {
  Subscriber ua;
  Bytes payload = to_bytes(R"({"t":"sotto"})");
  auto a = encrypt_push(ua.keys(), payload);
  auto b = encrypt_push(ua.keys(), payload);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);  // a new one-time key and salt each time
  auto opened = decrypt_push(ua.key, ua.auth, *a);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->reveal(), payload);
  auto header = parse_content_header(*a);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->record_size, kPushRecordSize);
  EXPECT_EQ(header->key_id.size(), kP256PublicKeySize);
}

TEST(PushMessage, OnlyTheSubscriberCanRead) {
  Subscriber ua;
  Subscriber other;
  auto body = encrypt_push(ua.keys(), to_bytes("x"));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(decrypt_push(other.key, ua.auth, *body).error().code(), Errc::authentication_failed);
  EXPECT_EQ(decrypt_push(ua.key, other.auth, *body).error().code(), Errc::authentication_failed);
  EXPECT_EQ(decrypt_push(ua.key, BytesView(ua.auth).first(15), *body).error().code(),
            Errc::invalid_argument);
}

TEST(PushMessage, ReceiverWantsOneRecordKeyedByAPublicKey) {
  Subscriber ua;
  auto as_key = P256KeyPair::generate();
  ASSERT_TRUE(as_key.ok());
  auto secret = ecdh(*as_key, ua.key.public_key());
  auto ikm = derive_ikm(*secret, ua.auth, ua.key.public_key(), as_key->public_key());
  ASSERT_TRUE(ikm.ok());
  ContentHeader h{crypto::random_bytes(kSaltSize), 18, as_key->public_key()};
  auto two_records = ece_encrypt(*ikm, h, to_bytes("ab"));
  ASSERT_TRUE(two_records.ok());
  EXPECT_EQ(decrypt_push(ua.key, ua.auth, *two_records).error().code(), Errc::invalid_value);
  h.record_size = 4096;
  h.key_id = to_bytes("a1");
  auto short_id = ece_encrypt(*ikm, h, to_bytes("ab"));
  EXPECT_EQ(decrypt_push(ua.key, ua.auth, *short_id).error().code(), Errc::invalid_value);
  // A key id that is 65 bytes but no point on the curve.
  h.key_id.assign(kP256PublicKeySize, 0x04);
  auto bad_point = ece_encrypt(*ikm, h, to_bytes("ab"));
  EXPECT_EQ(decrypt_push(ua.key, ua.auth, *bad_point).error().code(), Errc::invalid_argument);
}

TEST(PushMessage, SenderRefusesWhatDoesNotFitOneRecord) {
  Subscriber ua;
  EXPECT_TRUE(encrypt_push(ua.keys(), Bytes(4096 - 18, 'x')).ok());
  EXPECT_EQ(encrypt_push(ua.keys(), Bytes(4096 - 17, 'x')).error().code(), Errc::too_large);
}

TEST(SubscriptionKeys, StrictValidation) {
  Subscriber ua;
  EXPECT_TRUE(check_subscription_keys(ua.key.public_key(), ua.auth).ok());

  auto message = [](BytesView p256dh, BytesView auth) {
    auto r = check_subscription_keys(p256dh, auth);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return std::string();
    EXPECT_EQ(r.error().code(), Errc::invalid_argument);
    return r.error().message();
  };
  Bytes key = ua.key.public_key();
  EXPECT_NE(message(BytesView(key).first(64), ua.auth).find("65 bytes"), std::string::npos);
  EXPECT_NE(message(key, BytesView(ua.auth).first(15)).find("auth"), std::string::npos);
  Bytes auth17 = ua.auth;
  auth17.push_back(0);
  EXPECT_NE(message(key, auth17).find("auth"), std::string::npos);

  Bytes compressed(key.begin(), key.begin() + 33);
  compressed[0] = static_cast<uint8_t>(0x02 | (key[64] & 1));
  EXPECT_NE(message(compressed, ua.auth).find("65 bytes"), std::string::npos);
  Bytes wrong_tag = key;
  wrong_tag[0] = 0x06;  // hybrid form: refused
  EXPECT_NE(message(wrong_tag, ua.auth).find("uncompressed"), std::string::npos);
  Bytes off_curve = key;
  off_curve[64] ^= 1;
  EXPECT_NE(message(off_curve, ua.auth).find("not a point on the curve"), std::string::npos);
  Bytes zero(65, 0);
  zero[0] = 0x04;
  EXPECT_NE(message(zero, ua.auth).find("not a point on the curve"), std::string::npos);
  // Coordinates at or above p are not field elements.
  Bytes big(65, 0xff);
  big[0] = 0x04;
  EXPECT_NE(message(big, ua.auth).find("not a point on the curve"), std::string::npos);
  EXPECT_NE(message(off_curve, ua.auth).find("p256dh"), std::string::npos);  // names the field
}

}  // namespace
}  // namespace sotto::webpush
