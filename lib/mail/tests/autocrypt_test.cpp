// Autocrypt headers: a key generated here goes out folded and comes back the same; the
// specification's rules for attributes; the key inside must validate.
#include "sotto/mail/autocrypt.h"

#include <gtest/gtest.h>

#include <string>

#include "sotto/core/encoding.h"
#include "sotto/openpgp/cert.h"

namespace sotto::mail {
namespace {

constexpr uint32_t kNow = 1'790'000'000;

Bytes alice_key() {
  auto cert = openpgp::generate_cert("<alice@sotto.test>", kNow - 60);
  EXPECT_TRUE(cert.ok());
  return cert->cert.encode();
}

TEST(Autocrypt, FormattedHeadersFoldAndParseBack) {
  AutocryptHeader h{"alice@sotto.test", true, alice_key()};
  std::string value = format_autocrypt(h);
  EXPECT_EQ(value.rfind("addr=alice@sotto.test; prefer-encrypt=mutual; keydata=\r\n ", 0), 0u);
  // No line of "Autocrypt: <value>" passes 78 characters.
  std::string whole = "Autocrypt: " + value;
  size_t start = 0;
  for (;;) {
    size_t end = whole.find("\r\n", start);
    size_t length = (end == std::string::npos ? whole.size() : end) - start;
    EXPECT_LE(length, 78u);
    if (end == std::string::npos) break;
    start = end + 2;
  }
  auto parsed = parse_autocrypt(value);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->addr, "alice@sotto.test");
  EXPECT_TRUE(parsed->prefer_encrypt_mutual);
  EXPECT_EQ(parsed->keydata, h.keydata);
  auto key = autocrypt_key(*parsed, kNow);
  ASSERT_TRUE(key.ok()) << key.error().to_string();
  EXPECT_EQ(key->encryption_keys.size(), 1u);

  std::string gossip = format_autocrypt(h, true);
  EXPECT_EQ(gossip.find("prefer-encrypt"), std::string::npos);
  auto g = parse_autocrypt(gossip);
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->prefer_encrypt_mutual);
}

TEST(Autocrypt, AttributesFollowTheSpecification) {
  std::string key = to_base64(alice_key());
  // Order, case of names and address, spaces and non-critical attributes do not matter.
  auto a = parse_autocrypt(" _extra=1;Keydata=" + key + " ; ADDR=Alice@Sotto.Test;_x=y;");
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_EQ(a->addr, "alice@sotto.test");
  EXPECT_FALSE(a->prefer_encrypt_mutual);
  auto nopref = parse_autocrypt("addr=a@b.c; prefer-encrypt=nopreference; keydata=" + key);
  ASSERT_TRUE(nopref.ok());
  EXPECT_FALSE(nopref->prefer_encrypt_mutual);

  auto refused = [&](const std::string& value) {
    auto r = parse_autocrypt(value);
    return !r.ok() && r.error().code() == Errc::invalid_value;
  };
  EXPECT_TRUE(refused("keydata=" + key));                                   // no addr
  EXPECT_TRUE(refused("addr=a@b.c"));                                       // no keydata
  EXPECT_TRUE(refused("addr=a@b.c; addr=d@e.f; keydata=" + key));           // two addr
  EXPECT_TRUE(refused("addr=a@b.c; keydata=" + key + "; keydata=" + key));  // two keydata
  EXPECT_TRUE(refused("addr=a@b.c; critical=1; keydata=" + key));           // unknown, critical
  EXPECT_TRUE(refused("addr=a@b.c; keydata=!!!"));
  EXPECT_TRUE(refused("addr=a@b.c; keydata="));
  EXPECT_TRUE(refused("addr=nobody; keydata=" + key));
  EXPECT_TRUE(refused("addr=a b@c.d; keydata=" + key));
  EXPECT_TRUE(refused("addr; keydata=" + key));
  auto huge = parse_autocrypt("addr=a@b.c; keydata=" + std::string(70000, 'A'));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code(), Errc::length_limit);
}

TEST(Autocrypt, TheKeyMustValidate) {
  AutocryptHeader not_a_key{"a@b.c", true, Bytes{0x99, 0x00, 0x01, 0x02}};
  EXPECT_FALSE(autocrypt_key(not_a_key, kNow).ok());
  // A key that expired is refused at a time after it expired.
  openpgp::GenerateOptions options;
  options.expires_after = 3600;
  auto expiring = openpgp::generate_cert("<b@c.d>", kNow, options);
  ASSERT_TRUE(expiring.ok());
  AutocryptHeader h{"b@c.d", true, expiring->cert.encode()};
  EXPECT_TRUE(autocrypt_key(h, kNow + 60).ok());
  auto expired = autocrypt_key(h, kNow + 7200);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code(), Errc::expired);
}

}  // namespace
}  // namespace sotto::mail
