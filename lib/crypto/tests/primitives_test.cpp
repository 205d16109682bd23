// Known answers for the primitives, from the RFCs and FIPS documents that define them, and
// the failure paths: tampered AEAD input, wrong sizes, wrong signatures, low-order points.
#include "sotto/crypto/primitives.h"

#include <gtest/gtest.h>

#include <vector>

#include <string>
#include <string_view>

#include "sotto/core/encoding.h"

namespace sotto::crypto {
namespace {

Bytes hex(std::string_view text) {
  auto bytes = from_hex(text);
  EXPECT_TRUE(bytes.ok()) << "bad hex literal in the test: " << text;
  return bytes.ok() ? std::move(bytes).value() : Bytes{};
}

std::string hex_of(BytesView bytes) {
  return to_hex(bytes);
}

// ---- hashes and MACs ---------------------------------------------------------------------

TEST(Sha256, FipsAbc) {
  EXPECT_EQ(hex_of(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, Empty) {
  EXPECT_EQ(hex_of(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha512, FipsAbc) {
  EXPECT_EQ(hex_of(sha512(as_bytes("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  Bytes message(1000);
  for (size_t i = 0; i < message.size(); ++i) message[i] = static_cast<uint8_t>(i * 7 + 1);
  const BytesView all(message);

  Sha256 hasher;
  hasher.update(all.subspan(0, 1));
  hasher.update(all.subspan(1, 0));
  hasher.update(all.subspan(1, 63));
  hasher.update(all.subspan(64, 500));
  hasher.update(all.subspan(564));
  EXPECT_EQ(hasher.finish(), sha256(message));

  Sha256 abc;
  abc.update(as_bytes("a"));
  abc.update(as_bytes("bc"));
  EXPECT_EQ(hex_of(abc.finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HmacSha256, Rfc4231TestCase2) {
  const auto key = as_bytes("Jefe");
  const auto data = as_bytes("what do ya want for nothing?");
  const Bytes expected = hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256(key, data).reveal(), expected);
  EXPECT_TRUE(hmac_sha256_verify(key, data, expected));
}

TEST(HmacSha256, VerifyRejectsWrongOrShortTag) {
  const auto key = as_bytes("Jefe");
  const auto data = as_bytes("what do ya want for nothing?");
  Bytes tag = hmac_sha256(key, data).reveal();
  Bytes flipped = tag;
  flipped[31] ^= 0x01;
  EXPECT_FALSE(hmac_sha256_verify(key, data, flipped));
  EXPECT_FALSE(hmac_sha256_verify(key, data, BytesView(tag).subspan(0, 16)));
  EXPECT_FALSE(hmac_sha256_verify(key, data, {}));
  EXPECT_FALSE(hmac_sha256_verify(as_bytes("Jeff"), data, tag));
}

// RFC 4231 test cases 1 (20-byte key) and 6 (131-byte key, hashed first), through one
// prepared key each, used several times and interleaved with other keys alive on the same
// thread.
TEST(HmacSha256Key, PreparedKeysMatchTheVectorsWhileOthersAreAlive) {
  const Bytes key1(20, 0x0b);
  const auto data1 = as_bytes("Hi There");
  const char* mac1 = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
  const Bytes key6(131, 0xaa);
  const auto data6 = as_bytes("Test Using Larger Than Block-Size Key - Hash Key First");
  const char* mac6 = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";

  const HmacSha256Key first(key1);
  EXPECT_EQ(hex_of(first.mac(data1)), mac1);
  {
    const HmacSha256Key second(key6);
    EXPECT_EQ(hex_of(second.mac(data6)), mac6);
    EXPECT_EQ(hex_of(first.mac(data1)), mac1);
    // One-shot HMACs take and give back contexts while both keys are alive.
    EXPECT_EQ(hex_of(hmac_sha256(key6, data6)), mac6);
    EXPECT_EQ(hex_of(second.mac(data6)), mac6);
  }
  EXPECT_EQ(hex_of(first.mac(data1)), mac1);
  EXPECT_EQ(hex_of(hmac_sha256(key1, data1)), mac1);
  // A different message under the same prepared key is not the same MAC.
  EXPECT_NE(hex_of(first.mac(as_bytes("Hi There!"))), mac1);
}

TEST(HmacSha256Key, ExpandIsHkdfExpand) {
  const Bytes ikm(22, 0x0b);
  const SecureBytes prk = hkdf_extract(hex("000102030405060708090a0b0c"), ikm);
  const HmacSha256Key prepared(prk);
  const Bytes info = hex("f0f1f2f3f4f5f6f7f8f9");
  for (int round = 0; round < 2; ++round) {  // the prepared key is reusable
    auto okm = prepared.expand(info, 42);
    ASSERT_TRUE(okm.ok()) << okm.error().to_string();
    EXPECT_EQ(hex_of(*okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf3400"
                            "7208d5b887185865");
  }
  auto too_long = prepared.expand(info, 255 * kSha256Size + 1);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code(), Errc::invalid_argument);
}

// ---- HKDF ----------------------------------------------------------------------------

TEST(Hkdf, Rfc5869TestCase1) {
  const Bytes ikm(22, 0x0b);
  const Bytes salt = hex("000102030405060708090a0b0c");
  const Bytes info = hex("f0f1f2f3f4f5f6f7f8f9");
  const SecureBytes prk = hkdf_extract(salt, ikm);
  EXPECT_EQ(hex_of(prk), "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  auto okm = hkdf_expand(prk, info, 42);
  ASSERT_TRUE(okm.ok()) << okm.error().to_string();
  EXPECT_EQ(hex_of(*okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Hkdf, Rfc5869TestCase3EmptySaltAndInfo) {
  const Bytes ikm(22, 0x0b);
  const SecureBytes prk = hkdf_extract({}, ikm);
  EXPECT_EQ(hex_of(prk), "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
  auto okm = hkdf_expand(prk, {}, 42);
  ASSERT_TRUE(okm.ok()) << okm.error().to_string();
  EXPECT_EQ(hex_of(*okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(Hkdf, ExpandLengthLimit) {
  const SecureBytes prk = hkdf_extract({}, as_bytes("ikm"));
  auto longest = hkdf_expand(prk, {}, 255 * kSha256Size);
  ASSERT_TRUE(longest.ok()) << longest.error().to_string();
  EXPECT_EQ(longest->size(), 255 * kSha256Size);
  // A prefix of a longer output is the shorter output.
  auto shorter = hkdf_expand(prk, {}, 40);
  ASSERT_TRUE(shorter.ok());
  EXPECT_EQ(Bytes(longest->begin(), longest->begin() + 40), shorter->reveal());

  auto too_long = hkdf_expand(prk, {}, 255 * kSha256Size + 1);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code(), Errc::invalid_argument);

  auto empty = hkdf_expand(prk, {}, 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// ---- AEAD --------------------------------------------------------------------------------

TEST(Aead, ChaCha20Poly1305Rfc8439Section282) {
  Bytes key(32);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(0x80 + i);
  const Bytes nonce = hex("070000004041424344454647");
  const Bytes aad = hex("50515253c0c1c2c3c4c5c6c7");
  const auto plaintext = as_bytes(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.");
  const Bytes expected =
      hex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
          "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
          "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
          "3ff4def08e4b7a9de576d26586cec64b6116"
          "1ae10b594f09e26a7e902ecbd0600691");  // tag

  auto sealed = aead_seal(Aead::chacha20poly1305, key, nonce, aad, plaintext);
  ASSERT_TRUE(sealed.ok()) << sealed.error().to_string();
  EXPECT_EQ(hex_of(*sealed), hex_of(expected));

  auto opened = aead_open(Aead::chacha20poly1305, key, nonce, aad, expected);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->reveal(), to_bytes(plaintext));
}

TEST(Aead, Aes128GcmKnownAnswer) {
  if (!aead_available(Aead::aes128gcm)) {
    // The browser build has no AES-GCM: it must say so, not fail some other way.
    auto refused = aead_seal(Aead::aes128gcm, Bytes(16), Bytes(12), {}, Bytes(16));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code(), Errc::unsupported);
    return;
  }
  // The GCM specification's test case 2: zero key, zero IV, one zero block.
  const Bytes key(16), nonce(12), plaintext(16);
  auto sealed = aead_seal(Aead::aes128gcm, key, nonce, {}, plaintext);
  ASSERT_TRUE(sealed.ok()) << sealed.error().to_string();
  EXPECT_EQ(hex_of(*sealed), "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf");
}

class AeadTest : public ::testing::TestWithParam<Aead> {};

// The AEADs this build has (no AES-GCM in the browser build).
std::vector<Aead> available_aeads() {
  std::vector<Aead> out;
  for (Aead a : {Aead::aes128gcm, Aead::chacha20poly1305}) {
    if (aead_available(a)) out.push_back(a);
  }
  return out;
}

TEST_P(AeadTest, RoundTripAndTamper) {
  const Aead aead = GetParam();
  const Bytes key = random_bytes(aead_key_size(aead));
  const Bytes nonce = random_bytes(kAeadNonceSize);
  const auto aad = as_bytes("header");
  const auto plaintext = as_bytes("attack at dawn");

  auto sealed = aead_seal(aead, key, nonce, aad, plaintext);
  ASSERT_TRUE(sealed.ok()) << sealed.error().to_string();
  ASSERT_EQ(sealed->size(), plaintext.size() + kAeadTagSize);
  auto opened = aead_open(aead, key, nonce, aad, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->reveal(), to_bytes(plaintext));

  auto expect_auth_failure = [&](BytesView k, BytesView n, BytesView a, BytesView c) {
    auto result = aead_open(aead, k, n, a, c);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code(), Errc::authentication_failed);
  };
  for (size_t i : {size_t{0}, plaintext.size() - 1, plaintext.size(), sealed->size() - 1}) {
    Bytes tampered = *sealed;
    tampered[i] ^= 0x80;
    expect_auth_failure(key, nonce, aad, tampered);
  }
  expect_auth_failure(key, nonce, as_bytes("headex"), *sealed);
  expect_auth_failure(key, nonce, {}, *sealed);
  Bytes other_nonce = nonce;
  other_nonce[0] ^= 1;
  expect_auth_failure(key, other_nonce, aad, *sealed);
  Bytes other_key = key;
  other_key[0] ^= 1;
  expect_auth_failure(other_key, nonce, aad, *sealed);
  expect_auth_failure(key, nonce, aad, BytesView(*sealed).subspan(0, sealed->size() - 1));
  expect_auth_failure(key, nonce, aad, BytesView(*sealed).subspan(0, kAeadTagSize - 1));
}

TEST_P(AeadTest, EmptyPlaintext) {
  const Aead aead = GetParam();
  const Bytes key = random_bytes(aead_key_size(aead));
  const Bytes nonce = random_bytes(kAeadNonceSize);
  auto sealed = aead_seal(aead, key, nonce, {}, {});
  ASSERT_TRUE(sealed.ok()) << sealed.error().to_string();
  EXPECT_EQ(sealed->size(), kAeadTagSize);
  auto opened = aead_open(aead, key, nonce, {}, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_TRUE(opened->empty());
}

TEST_P(AeadTest, WrongKeyOrNonceSizeIsInvalidArgument) {
  const Aead aead = GetParam();
  const Bytes key = random_bytes(aead_key_size(aead));
  const Bytes nonce = random_bytes(kAeadNonceSize);
  const Bytes short_key(key.size() - 1), long_key(key.size() + 1);
  const Bytes short_nonce(kAeadNonceSize - 1), long_nonce(kAeadNonceSize + 1);
  const Bytes ciphertext(kAeadTagSize + 4);

  for (const Bytes* k : {&short_key, &long_key}) {
    auto sealed = aead_seal(aead, *k, nonce, {}, as_bytes("x"));
    ASSERT_FALSE(sealed.ok());
    EXPECT_EQ(sealed.error().code(), Errc::invalid_argument);
    auto opened = aead_open(aead, *k, nonce, {}, ciphertext);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code(), Errc::invalid_argument);
  }
  for (const Bytes* n : {&short_nonce, &long_nonce}) {
    auto sealed = aead_seal(aead, key, *n, {}, as_bytes("x"));
    ASSERT_FALSE(sealed.ok());
    EXPECT_EQ(sealed.error().code(), Errc::invalid_argument);
    auto opened = aead_open(aead, key, *n, {}, ciphertext);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code(), Errc::invalid_argument);
  }
}

INSTANTIATE_TEST_SUITE_P(Aeads, AeadTest, ::testing::ValuesIn(available_aeads()),
                         [](const auto& param) {
                           return param.param == Aead::aes128gcm ? "Aes128Gcm" : "ChaCha20Poly1305";
                         });

TEST(Aead, KeySizes) {
  EXPECT_EQ(aead_key_size(Aead::aes128gcm), 16u);
  EXPECT_EQ(aead_key_size(Aead::chacha20poly1305), 32u);
  EXPECT_TRUE(aead_available(Aead::chacha20poly1305));
#ifdef __EMSCRIPTEN__
  EXPECT_FALSE(aead_available(Aead::aes128gcm));
#else
  EXPECT_TRUE(aead_available(Aead::aes128gcm));
#endif
}

// ---- X25519 ------------------------------------------------------------------------------

TEST(X25519, Rfc7748Section61) {
  const Bytes alice_private =
      hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes bob_private = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const std::string alice_public =
      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
  const std::string bob_public = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
  const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

  auto a_pub = x25519_public_key(alice_private);
  auto b_pub = x25519_public_key(bob_private);
  ASSERT_TRUE(a_pub.ok() && b_pub.ok());
  EXPECT_EQ(hex_of(*a_pub), alice_public);
  EXPECT_EQ(hex_of(*b_pub), bob_public);

  auto k_alice = x25519(alice_private, hex(bob_public));
  auto k_bob = x25519(bob_private, hex(alice_public));
  ASSERT_TRUE(k_alice.ok()) << k_alice.error().to_string();
  ASSERT_TRUE(k_bob.ok()) << k_bob.error().to_string();
  EXPECT_EQ(hex_of(*k_alice), shared);
  EXPECT_EQ(hex_of(*k_bob), shared);
}

TEST(X25519, LowOrderPublicKeyIsCryptoFailure) {
  const SecureBytes private_key = random_secret(kX25519Size);
  const Bytes zero(kX25519Size);
  auto result = x25519(private_key, zero);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), Errc::crypto_failure);
  // The point of order 1 (u = 1) gives the all-zero output too.
  Bytes one(kX25519Size);
  one[0] = 1;
  auto result_one = x25519(private_key, one);
  ASSERT_FALSE(result_one.ok());
  EXPECT_EQ(result_one.error().code(), Errc::crypto_failure);
}

TEST(X25519, WrongSizesAreInvalidArgument) {
  const Bytes key(kX25519Size, 0x42);
  const Bytes short_key(kX25519Size - 1, 0x42);
  auto pub = x25519_public_key(short_key);
  ASSERT_FALSE(pub.ok());
  EXPECT_EQ(pub.error().code(), Errc::invalid_argument);
  auto dh1 = x25519(short_key, key);
  ASSERT_FALSE(dh1.ok());
  EXPECT_EQ(dh1.error().code(), Errc::invalid_argument);
  auto dh2 = x25519(key, short_key);
  ASSERT_FALSE(dh2.ok());
  EXPECT_EQ(dh2.error().code(), Errc::invalid_argument);
}

// ---- Ed25519 -----------------------------------------------------------------------------

TEST(Ed25519, Rfc8032Test1) {
  auto key = Ed25519SigningKey::from_seed(
      hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(key.ok()) << key.error().to_string();
  EXPECT_EQ(hex_of(key->public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const Bytes signature = key->sign({});
  EXPECT_EQ(hex_of(signature),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555f"
            "b8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(ed25519_verify(key->public_key(), {}, signature));
  EXPECT_EQ(hex_of(key->seed()),
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
}

TEST(Ed25519, SignVerifyRoundTripAndRejection) {
  const Ed25519SigningKey key = Ed25519SigningKey::generate();
  const auto message = as_bytes("a message to sign");
  Bytes signature = key.sign(message);
  ASSERT_EQ(signature.size(), kEd25519SignatureSize);
  EXPECT_TRUE(ed25519_verify(key.public_key(), message, signature));

  // The same seed gives the same key.
  auto again = Ed25519SigningKey::from_seed(key.seed());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), key.public_key());

  EXPECT_FALSE(ed25519_verify(key.public_key(), as_bytes("a message to sign!"), signature));
  Bytes bad = signature;
  bad[0] ^= 0x01;
  EXPECT_FALSE(ed25519_verify(key.public_key(), message, bad));
  bad = signature;
  bad[63] ^= 0x40;
  EXPECT_FALSE(ed25519_verify(key.public_key(), message, bad));
  const Ed25519SigningKey other = Ed25519SigningKey::generate();
  EXPECT_FALSE(ed25519_verify(other.public_key(), message, signature));
  EXPECT_FALSE(ed25519_verify(key.public_key(), message, BytesView(signature).subspan(0, 63)));
  EXPECT_FALSE(ed25519_verify(BytesView(key.public_key()).subspan(0, 31), message, signature));
}

TEST(Ed25519, WrongSeedSizeIsInvalidArgument) {
  auto key = Ed25519SigningKey::from_seed(Bytes(31));
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code(), Errc::invalid_argument);
}

// ---- randomness ------------------------------------------------------------------------

TEST(Random, SizesAndVariety) {
  EXPECT_EQ(random_bytes(1).size(), 1u);
  EXPECT_EQ(random_bytes(33).size(), 33u);
  EXPECT_EQ(random_secret(32).size(), 32u);
  // 2^-256 chance of a false failure.
  EXPECT_NE(random_bytes(32), random_bytes(32));
}

// An empty vector's data() may be null, which libsodium's randombytes_buf must not see
// (UBSan reports it): random_fill returns early.
TEST(Random, ZeroLength) {
  EXPECT_TRUE(random_bytes(0).empty());
  EXPECT_TRUE(random_secret(0).empty());
}

}  // namespace
}  // namespace sotto::crypto
