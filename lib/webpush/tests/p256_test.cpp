// P-256 key pairs, ECDH and ES256 through OpenSSL: serialisation round trips, scalar range,
// signatures in the raw r || s form that JWS uses.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sotto/webpush/webpush.h"

namespace sotto::webpush {
namespace {

// The order n of P-256.
const char* kOrderHex = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

TEST(P256, GeneratedKeysAgreeAndRoundTrip) {
  auto a = P256KeyPair::generate();
  auto b = P256KeyPair::generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->public_key().size(), kP256PublicKeySize);
  EXPECT_EQ(a->public_key()[0], 0x04);
  EXPECT_EQ(a->private_key().size(), kP256PrivateKeySize);
  EXPECT_TRUE(check_public_key(a->public_key()).ok());
  EXPECT_NE(a->public_key(), b->public_key());

  auto ab = ecdh(*a, b->public_key());
  auto ba = ecdh(*b, a->public_key());
  ASSERT_TRUE(ab.ok() && ba.ok());
  EXPECT_EQ(*ab, *ba);

  auto again = P256KeyPair::from_private_key(a->private_key());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), a->public_key());

  auto pem = a->to_pem();
  ASSERT_TRUE(pem.ok()) << pem.error().to_string();
  std::string text(pem->begin(), pem->end());
  EXPECT_EQ(text.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  auto from_pem = P256KeyPair::from_pem(text);
  ASSERT_TRUE(from_pem.ok()) << from_pem.error().to_string();
  EXPECT_EQ(from_pem->private_key(), a->private_key());
  EXPECT_EQ(from_pem->public_key(), a->public_key());
}

TEST(P256, ScalarMustBeInRange) {
  Bytes n = from_hex(kOrderHex).value();
  EXPECT_EQ(P256KeyPair::from_private_key(Bytes(32, 0)).error().code(), Errc::invalid_argument);
  EXPECT_EQ(P256KeyPair::from_private_key(n).error().code(), Errc::invalid_argument);
  EXPECT_EQ(P256KeyPair::from_private_key(Bytes(32, 0xff)).error().code(), Errc::invalid_argument);
  EXPECT_EQ(P256KeyPair::from_private_key(Bytes(31, 1)).error().code(), Errc::invalid_argument);
  Bytes n_minus_1 = n;
  n_minus_1.back() -= 1;
  EXPECT_TRUE(P256KeyPair::from_private_key(n_minus_1).ok());
  Bytes one(32, 0);
  one.back() = 1;
  auto g = P256KeyPair::from_private_key(one);
  ASSERT_TRUE(g.ok());
  // 1 * G is the generator.
  EXPECT_EQ(to_hex(g->public_key()),
            "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
}

TEST(P256, PemMustBeAP256PrivateKey) {
  EXPECT_EQ(P256KeyPair::from_pem("not a key").error().code(), Errc::invalid_encoding);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> p384(EVP_EC_gen("P-384"), EVP_PKEY_free);
  ASSERT_TRUE(p384);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), p384.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  auto r = P256KeyPair::from_pem(std::string_view(data, static_cast<size_t>(len)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::invalid_argument);
}

TEST(P256, Es256SignsAndVerifies) {
  auto key = P256KeyPair::generate();
  auto other = P256KeyPair::generate();
  ASSERT_TRUE(key.ok() && other.ok());
  Bytes message = to_bytes("header.claims");
  auto sig = es256_sign(*key, message);
  ASSERT_TRUE(sig.ok());
  ASSERT_EQ(sig->size(), 64u);
  EXPECT_TRUE(es256_verify(key->public_key(), message, *sig));
  EXPECT_FALSE(es256_verify(other->public_key(), message, *sig));
  EXPECT_FALSE(es256_verify(key->public_key(), to_bytes("header.claimz"), *sig));
  Bytes bad = *sig;
  bad[10] ^= 1;
  EXPECT_FALSE(es256_verify(key->public_key(), message, bad));
  EXPECT_FALSE(es256_verify(key->public_key(), message, BytesView(*sig).first(63)));
  EXPECT_FALSE(es256_verify(key->public_key(), message, Bytes(64, 0)));
  Bytes not_a_key = key->public_key();
  not_a_key[64] ^= 1;
  EXPECT_FALSE(es256_verify(not_a_key, message, *sig));
  // ECDSA is randomised: two signatures differ, both verify.
  auto sig2 = es256_sign(*key, message);
  ASSERT_TRUE(sig2.ok());
  EXPECT_NE(*sig, *sig2);
  EXPECT_TRUE(es256_verify(key->public_key(), message, *sig2));
}

TEST(P256, EcdhRefusesBadPoints) {
  auto key = P256KeyPair::generate();
  ASSERT_TRUE(key.ok());
  Bytes bad = key->public_key();
  bad[40] ^= 0x10;
  EXPECT_EQ(ecdh(*key, bad).error().code(), Errc::invalid_argument);
  EXPECT_EQ(ecdh(*key, Bytes(65, 0)).error().code(), Errc::invalid_argument);
}

}  // namespace
}  // namespace sotto::webpush
