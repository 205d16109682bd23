// AES-CFB, AES-OCB, AES key wrap and SHA-1 against their published vectors, and their failure
// paths: tampered tags and wrapped keys, wrong key, nonce and input sizes.
#include "sotto/crypto/aes.h"

#include <gtest/gtest.h>

#include <string>

#include "sotto/core/encoding.h"
#include "vectors.h"

namespace sotto::crypto {
namespace {

#ifdef __EMSCRIPTEN__

// The browser build has no OpenSSL: each function says so, and nothing pretends to work.
TEST(Aes, EveryFunctionIsUnsupportedInTheBrowserBuild) {
  EXPECT_FALSE(aes_available());
  const Bytes key(16, 1);
  EXPECT_EQ(aes_cfb_encrypt(key, Bytes(16), Bytes(4)).error().code(), Errc::unsupported);
  EXPECT_EQ(aes_cfb_decrypt(key, Bytes(16), Bytes(4)).error().code(), Errc::unsupported);
  EXPECT_EQ(aes_ocb_seal(key, Bytes(15), {}, Bytes(4)).error().code(), Errc::unsupported);
  EXPECT_EQ(aes_ocb_open(key, Bytes(15), {}, Bytes(20)).error().code(), Errc::unsupported);
  EXPECT_EQ(aes_key_wrap(key, Bytes(16)).error().code(), Errc::unsupported);
  EXPECT_EQ(aes_key_unwrap(key, Bytes(24)).error().code(), Errc::unsupported);
  EXPECT_EQ(sha1(Bytes(3)).error().code(), Errc::unsupported);
}

#else

using sotto::testing::hex_bytes;
using sotto::testing::hex_field;
using sotto::testing::load_vectors;
using sotto::testing::same;
using sotto::testing::VectorTally;

TEST(AesCfb, Sp80038aVectors) {
  ASSERT_TRUE(aes_available());
  const auto vectors = load_vectors("aes/sp800_38a_cfb128.json");
  ASSERT_TRUE(vectors);
  VectorTally tally("aes/sp800_38a_cfb128.json");
  const Bytes plaintext = hex_field(*vectors, "plaintext");
  const Bytes iv = hex_field(*vectors, "iv");
  for (const auto& c : (*vectors)["cases"]) {
    const Bytes key = hex_field(c, "key");
    const Bytes want = hex_field(c, "ciphertext");
    const std::string name = c["name"].get<std::string>();
    auto ct = aes_cfb_encrypt(key, iv, plaintext);
    ASSERT_TRUE(ct.ok()) << ct.error().to_string();
    auto pt = aes_cfb_decrypt(key, iv, want);
    ASSERT_TRUE(pt.ok()) << pt.error().to_string();
    // A length that is not a whole number of blocks, as OpenPGP's CFB has.
    auto partial = aes_cfb_encrypt(key, iv, BytesView(plaintext).subspan(0, 37));
    ASSERT_TRUE(partial.ok());
    tally.count(same(*ct, want, name) && same(pt->reveal(), plaintext, name + " decrypt") &&
                same(*partial, BytesView(want).subspan(0, 37), name + " partial"));
  }
  EXPECT_EQ(tally.passed(), 3);
}

TEST(AesCfb, RejectsBadKeyAndIvSizes) {
  const Bytes iv(16);
  EXPECT_EQ(aes_cfb_encrypt(Bytes(15), iv, Bytes(4)).error().code(), Errc::invalid_argument);
  EXPECT_EQ(aes_cfb_encrypt(Bytes(16), Bytes(8), Bytes(4)).error().code(),
            Errc::invalid_argument);
  auto empty = aes_cfb_encrypt(Bytes(16), iv, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(AesOcb, Rfc7253Vectors) {
  const auto vectors = load_vectors("aes/rfc7253_ocb.json");
  ASSERT_TRUE(vectors);
  VectorTally tally("aes/rfc7253_ocb.json");
  const Bytes key = hex_field(*vectors, "key");
  for (const auto& c : (*vectors)["cases"]) {
    const Bytes nonce = hex_field(c, "nonce");
    const Bytes aad = hex_field(c, "aad");
    const Bytes plaintext = hex_field(c, "plaintext");
    const Bytes sealed = hex_field(c, "sealed");
    const std::string name = "nonce " + to_hex(nonce);
    auto got = aes_ocb_seal(key, nonce, aad, plaintext);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    auto opened = aes_ocb_open(key, nonce, aad, sealed);
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    tally.count(same(*got, sealed, name) && same(opened->reveal(), plaintext, name + " open"));
  }
  EXPECT_EQ(tally.passed(), 7);
}

TEST(AesOcb, FifteenByteNonceRoundTripAndTamper) {
  const Bytes key(16, 0x42);
  const Bytes nonce(15, 0x07);
  const Bytes aad = to_bytes("header");
  const Bytes plaintext(1000, 0x5a);
  auto sealed = aes_ocb_seal(key, nonce, aad, plaintext);
  ASSERT_TRUE(sealed.ok());
  ASSERT_EQ(sealed->size(), plaintext.size() + kOcbTagSize);
  auto opened = aes_ocb_open(key, nonce, aad, *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->reveal(), plaintext);

  for (size_t at : {size_t{0}, size_t{999}, size_t{1000}, sealed->size() - 1}) {
    Bytes bad = *sealed;
    bad[at] ^= 0x01;
    EXPECT_EQ(aes_ocb_open(key, nonce, aad, bad).error().code(), Errc::authentication_failed)
        << "byte " << at;
  }
  EXPECT_EQ(aes_ocb_open(key, nonce, to_bytes("headex"), *sealed).error().code(),
            Errc::authentication_failed);
  Bytes other_nonce = nonce;
  other_nonce[14] ^= 1;
  EXPECT_EQ(aes_ocb_open(key, other_nonce, aad, *sealed).error().code(),
            Errc::authentication_failed);
  EXPECT_EQ(aes_ocb_open(key, nonce, aad, Bytes(15)).error().code(),
            Errc::authentication_failed);
  EXPECT_EQ(aes_ocb_seal(key, Bytes(16), aad, plaintext).error().code(), Errc::invalid_argument);
  EXPECT_EQ(aes_ocb_seal(key, {}, aad, plaintext).error().code(), Errc::invalid_argument);
}

TEST(AesKeyWrap, Rfc3394Vectors) {
  const auto vectors = load_vectors("aes/rfc3394_keywrap.json");
  ASSERT_TRUE(vectors);
  VectorTally tally("aes/rfc3394_keywrap.json");
  for (const auto& c : (*vectors)["cases"]) {
    const Bytes kek = hex_field(c, "kek");
    const Bytes key = hex_field(c, "key");
    const Bytes wrapped = hex_field(c, "wrapped");
    const std::string name = c["name"].get<std::string>();
    auto got = aes_key_wrap(kek, key);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    auto back = aes_key_unwrap(kek, wrapped);
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    tally.count(same(*got, wrapped, name) && same(back->reveal(), key, name + " unwrap"));

    Bytes bad = wrapped;
    bad[wrapped.size() / 2] ^= 0x80;
    EXPECT_EQ(aes_key_unwrap(kek, bad).error().code(), Errc::authentication_failed);
  }
  EXPECT_EQ(tally.passed(), 2);
}

TEST(AesKeyWrap, RejectsBadSizes) {
  const Bytes kek(16, 1);
  EXPECT_EQ(aes_key_wrap(kek, Bytes(8)).error().code(), Errc::invalid_argument);
  EXPECT_EQ(aes_key_wrap(kek, Bytes(20)).error().code(), Errc::invalid_argument);
  EXPECT_EQ(aes_key_wrap(Bytes(17), Bytes(16)).error().code(), Errc::invalid_argument);
  EXPECT_EQ(aes_key_unwrap(kek, Bytes(16)).error().code(), Errc::invalid_argument);
  EXPECT_EQ(aes_key_unwrap(kek, Bytes(25)).error().code(), Errc::invalid_argument);
  EXPECT_EQ(aes_key_unwrap(kek, Bytes(24)).error().code(), Errc::authentication_failed);
}

TEST(Sha1, Fips180Abc) {
  auto digest = sha1(as_bytes("abc"));
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(to_hex(*digest), "a9993e364706816aba3e25717850c26c9cd0d89d");
  auto empty = sha1({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(to_hex(*empty), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

#endif  // __EMSCRIPTEN__

}  // namespace
}  // namespace sotto::crypto
