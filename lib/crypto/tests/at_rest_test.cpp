// Encryption at rest: the XChaCha20-Poly1305 known answer of draft-irtf-cfrg-xchacha-03
// (appendix A.3.1) through open_at_rest, sealed values that refuse to open anywhere but where
// they were sealed, and Argon2id's inputs each changing the key.
#include "sotto/crypto/at_rest.h"

#include <gtest/gtest.h>

#include <string_view>

#include "sotto/core/encoding.h"

namespace sotto::crypto {
namespace {

TEST(AtRest, OpensTheDraftKnownAnswer) {
  const Bytes key =
      from_hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f").value();
  const Bytes aad = from_hex("50515253c0c1c2c3c4c5c6c7").value();
  const Bytes sealed =
      concat({from_hex("404142434445464748494a4b4c4d4e4f5051525354555657").value(),
              from_hex("bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
                       "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
                       "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
                       "21f9664c97637da9768812f615c68b13b52e")
                  .value(),
              from_hex("c0875924c1c7987947deafd8780acf49").value()});
  auto opened = open_at_rest(key, aad, sealed);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->reveal(),
            to_bytes("Ladies and Gentlemen of the class of '99: If I could offer you only one "
                     "tip for the future, sunscreen would be it."));
}

TEST(AtRest, OpensOnlyWithItsKeyAadAndBytes) {
  const SecureBytes key(Bytes(kAtRestKeySize, 7));
  const Bytes aad = to_bytes("messages.body");
  auto sealed = seal_at_rest(key, aad, as_bytes("hello"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kAtRestOverhead + 5);
  auto opened = open_at_rest(key, aad, *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->reveal(), to_bytes("hello"));

  // A fresh nonce each time: the same value seals differently.
  EXPECT_NE(seal_at_rest(key, aad, as_bytes("hello")).value(), *sealed);

  EXPECT_EQ(open_at_rest(key, to_bytes("messages.other"), *sealed).error().code(),
            Errc::authentication_failed);
  EXPECT_EQ(open_at_rest(Bytes(kAtRestKeySize, 8), aad, *sealed).error().code(),
            Errc::authentication_failed);
  for (size_t i : {size_t{0}, kAtRestNonceSize, sealed->size() - 1}) {
    Bytes changed = *sealed;
    changed[i] ^= 0x80;
    EXPECT_EQ(open_at_rest(key, aad, changed).error().code(), Errc::authentication_failed) << i;
  }
  EXPECT_EQ(open_at_rest(key, aad, BytesView(sealed->data(), kAtRestOverhead - 1)).error().code(),
            Errc::authentication_failed);
  EXPECT_EQ(seal_at_rest(Bytes(16, 1), aad, as_bytes("x")).error().code(), Errc::invalid_argument);
}

TEST(AtRest, Argon2idKeysDependOnEveryInput) {
  const Bytes salt(kPassphraseSaltSize, 1);
  const PassphraseKdfParams cheap = passphrase_kdf_minimum();
  auto key = derive_key_from_passphrase(as_bytes("passphrase"), salt, cheap);
  ASSERT_TRUE(key.ok()) << key.error().to_string();
  EXPECT_EQ(key->size(), kAtRestKeySize);
  EXPECT_EQ(derive_key_from_passphrase(as_bytes("passphrase"), salt, cheap).value(), *key);
  EXPECT_NE(derive_key_from_passphrase(as_bytes("passphrasf"), salt, cheap).value(), *key);
  EXPECT_NE(derive_key_from_passphrase(as_bytes("passphrase"), Bytes(kPassphraseSaltSize, 2), cheap)
                .value(),
            *key);
  PassphraseKdfParams more = cheap;
  more.ops_limit += 1;
  EXPECT_NE(derive_key_from_passphrase(as_bytes("passphrase"), salt, more).value(), *key);
  EXPECT_TRUE(derive_key_from_passphrase({}, salt, cheap).ok());
}

TEST(AtRest, Argon2idRefusesParametersOutOfRange) {
  const Bytes salt(kPassphraseSaltSize, 1);
  PassphraseKdfParams too_cheap = passphrase_kdf_minimum();
  too_cheap.mem_limit -= 1;
  EXPECT_EQ(derive_key_from_passphrase(as_bytes("p"), salt, too_cheap).error().code(),
            Errc::invalid_argument);
  PassphraseKdfParams too_costly = passphrase_kdf_maximum();
  too_costly.mem_limit += 1;
  EXPECT_EQ(derive_key_from_passphrase(as_bytes("p"), salt, too_costly).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(derive_key_from_passphrase(as_bytes("p"), Bytes(8, 1), passphrase_kdf_minimum())
                .error()
                .code(),
            Errc::invalid_argument);
  const PassphraseKdfParams moderate = passphrase_kdf_moderate();
  EXPECT_GE(moderate.mem_limit, passphrase_kdf_minimum().mem_limit);
  EXPECT_LE(moderate.mem_limit, passphrase_kdf_maximum().mem_limit);
}

}  // namespace
}  // namespace sotto::crypto
