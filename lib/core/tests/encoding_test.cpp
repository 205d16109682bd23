#include "sotto/core/encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace sotto {
namespace {

struct TextVector {
  std::string_view input;
  std::string_view encoded;
};

Bytes all_byte_values() {
  Bytes out(256);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i);
  return out;
}

void expect_invalid(const Result<Bytes>& r, std::string_view text) {
  ASSERT_FALSE(r.ok()) << '"' << text << "\" decoded";
  EXPECT_EQ(r.error().code(), Errc::invalid_encoding) << '"' << text << '"';
  EXPECT_FALSE(r.error().message().empty());
}

// ---- hex (RFC 4648 section 10, BASE16) -----------------------------------------------

constexpr TextVector kBase16[] = {
    {"", ""},
    {"f", "66"},
    {"fo", "666F"},
    {"foo", "666F6F"},
    {"foob", "666F6F62"},
    {"fooba", "666F6F6261"},
    {"foobar", "666F6F626172"},
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

TEST(HexTest, Rfc4648Vectors) {
  for (const auto& v : kBase16) {
    EXPECT_EQ(to_hex(as_bytes(v.input)), lower(v.encoded)) << v.input;
    const auto upper = from_hex(v.encoded);
    ASSERT_TRUE(upper.ok()) << v.encoded;
    EXPECT_EQ(*upper, to_bytes(v.input));
    const auto lowered = from_hex(lower(v.encoded));
    ASSERT_TRUE(lowered.ok()) << v.encoded;
    EXPECT_EQ(*lowered, to_bytes(v.input));
  }
}

TEST(HexTest, EveryByteValue) {
  const Bytes bytes = all_byte_values();
  const std::string hex = to_hex(bytes);
  ASSERT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(0x9e * 2, 8), "9e9fa0a1");
  EXPECT_EQ(hex.substr(496), "f8f9fafbfcfdfeff");
  const auto decoded = from_hex(hex);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, bytes);
}

TEST(HexTest, MixedCaseIn) {
  const auto r = from_hex("aBcDeF0f");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (Bytes{0xab, 0xcd, 0xef, 0x0f}));
}

TEST(HexTest, OddLengthRejected) {
  for (std::string_view text : {"0", "abc", "00112"}) expect_invalid(from_hex(text), text);
}

TEST(HexTest, BadCharactersRejected) {
  for (std::string_view text : {"0g", "g0", "zz", "0x00", " 0", "00 ", "0-", "+0", "\xff\xff", "@0",
                                "`a", "G0", "/0", ":0"}) {
    expect_invalid(from_hex(text), text);
  }
  expect_invalid(from_hex(std::string_view("0\0", 2)), "0\\0");
}

// ---- base64 and base64url (RFC 4648 section 10) --------------------------------------

constexpr TextVector kBase64[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

std::string unpadded(std::string_view s) {
  std::string out(s);
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

TEST(Base64Test, Rfc4648Vectors) {
  for (const auto& v : kBase64) {
    EXPECT_EQ(to_base64(as_bytes(v.input)), v.encoded) << v.input;
    const auto decoded = from_base64(v.encoded);
    ASSERT_TRUE(decoded.ok()) << v.encoded << ": " << decoded.error().to_string();
    EXPECT_EQ(*decoded, to_bytes(v.input));
  }
}

TEST(Base64UrlTest, Rfc4648VectorsUnpaddedOutAnyPaddingIn) {
  for (const auto& v : kBase64) {
    const std::string bare = unpadded(v.encoded);
    EXPECT_EQ(to_base64url(as_bytes(v.input)), bare) << v.input;
    for (const std::string& text : {bare, std::string(v.encoded)}) {
      const auto decoded = from_base64url(text);
      ASSERT_TRUE(decoded.ok()) << text << ": " << decoded.error().to_string();
      EXPECT_EQ(*decoded, to_bytes(v.input));
    }
  }
}

TEST(Base64Test, AlphabetsDifferInTheLastTwoSymbols) {
  const Bytes bytes{0xfb, 0xff, 0xbf};  // 111110 111111 111110 111111
  EXPECT_EQ(to_base64(bytes), "+/+/");
  EXPECT_EQ(to_base64url(bytes), "-_-_");
  EXPECT_EQ(*from_base64("+/+/"), bytes);
  EXPECT_EQ(*from_base64url("-_-_"), bytes);
  expect_invalid(from_base64("-_-_"), "-_-_");
  expect_invalid(from_base64url("+/+/"), "+/+/");

  const Bytes two{0xfb, 0xff};
  EXPECT_EQ(to_base64(two), "+/8=");
  EXPECT_EQ(to_base64url(two), "-_8");
}

TEST(Base64Test, EveryByteValueAndLength) {
  const Bytes bytes = all_byte_values();
  for (size_t n = 0; n <= bytes.size(); ++n) {
    const BytesView prefix(bytes.data(), n);
    const std::string std64 = to_base64(prefix);
    EXPECT_EQ(std64.size(), (n + 2) / 3 * 4);
    const auto a = from_base64(std64);
    ASSERT_TRUE(a.ok()) << n;
    EXPECT_EQ(*a, to_bytes(prefix));

    const std::string url = to_base64url(prefix);
    EXPECT_EQ(url.size(), (n * 4 + 2) / 3);
    EXPECT_EQ(url.find('='), std::string::npos);
    const auto b = from_base64url(url);
    ASSERT_TRUE(b.ok()) << n;
    EXPECT_EQ(*b, to_bytes(prefix));
  }
}

TEST(Base64Test, BadCharactersRejected) {
  for (std::string_view text : {"Zm9v!A==", "Zm-v", "Zm_v", "Zm9 v", "Zm9v\n", "\nZm9v",
                                "Zm9v YmFy", "Zm\xc3\xa9v", "Zg=a", "Z=g=", "=Zg="}) {
    expect_invalid(from_base64(text), text);
  }
  expect_invalid(from_base64(std::string_view("Zm9\0", 4)), "Zm9\\0");
}

TEST(Base64Test, BadPaddingRejected) {
  // Padding is required in standard base64 and must make the length a multiple of 4.
  for (std::string_view text : {"Zg", "Zm8", "Zm9vYg", "Zg=", "Zg===", "Zm8==", "Zm9v=", "Zm9v==",
                                "=", "==", "===", "====", "Zg==Zg==", "Zm9vYg=", "Zm9vYmE"}) {
    expect_invalid(from_base64(text), text);
  }
}

TEST(Base64Test, NonZeroTrailingBitsRejected) {
  // "f" is Zg==; Zh.. Zv differ only in the 4 bits that do not belong to a byte.
  for (std::string_view text : {"Zh==", "Zi==", "Zv==", "Zm9=", "Zm+=", "Zm9vYh==", "Zm9vYmF="}) {
    expect_invalid(from_base64(text), text);
  }
}

TEST(Base64Test, ImpossibleLengthsRejected) {
  // One symbol carries 6 bits: never a whole byte.
  for (std::string_view text : {"Z", "Z===", "Zm9vY", "Zm9vY===", "ZZZZZ"}) {
    expect_invalid(from_base64(text), text);
  }
}

TEST(Base64UrlTest, BadInputRejected) {
  for (std::string_view text : {
           "Z",      // impossible length
           "Zm9vY",  // impossible length
           "Zg=",    // partial padding
           "Zg===",  // too much padding
           "Zm8==",  // padding for the wrong length
           "Zm9v=",  // padding after a whole group
           "=", "==",
           "Zh",      // non-zero trailing bits
           "Zm9",     // non-zero trailing bits
           "Zm+v",    // standard alphabet
           "Zm/v",    // standard alphabet
           "Zm9v\n",  // whitespace
           "Zg==Zg",  // padding in the middle
       }) {
    expect_invalid(from_base64url(text), text);
  }
}

}  // namespace
}  // namespace sotto
