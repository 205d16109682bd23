// Strict UTF-8: what is refused, and code points written and read back.
#include "sotto/core/utf8.h"

#include <gtest/gtest.h>

namespace sotto {
namespace {

TEST(Utf8, ReadsEachLengthAndWritesItBack) {
  for (char32_t cp : {U'\0', U'a', U'\x7f', U'\x80', U'\xe9', U'\x7ff', U'\x800', U'\x53f0',
                      U'\xffff', U'\x10000', U'\x1f600', U'\x10ffff'}) {
    std::string s;
    ASSERT_TRUE(append_utf8(s, cp));
    size_t i = 0;
    auto back = next_utf8(s, i);
    ASSERT_TRUE(back.has_value()) << static_cast<uint32_t>(cp);
    EXPECT_EQ(*back, cp);
    EXPECT_EQ(i, s.size());
  }
  EXPECT_TRUE(is_valid_utf8("t\xc3\xa9l\xc3\xa9phone \xe5\x8f\xb0\xe5\x8c\x97 \xf0\x9f\x98\x80"));
}

TEST(Utf8, RefusesWhatIsNotUtf8) {
  for (const char* bad :
       {"\x80", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xf8\x88\x80\x80\x80", "\xe5\x8f", "a\xff", "\xc3\x28"}) {
    EXPECT_FALSE(is_valid_utf8(bad)) << bad;
    size_t i = 0;
    std::string_view s(bad);
    while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
    size_t at = i;
    EXPECT_FALSE(next_utf8(s, i).has_value());
    EXPECT_EQ(i, at);  // left where it was
  }
  std::string s;
  EXPECT_FALSE(append_utf8(s, 0xD800));
  EXPECT_FALSE(append_utf8(s, 0x110000));
  EXPECT_TRUE(s.empty());
  size_t end = 0;
  EXPECT_FALSE(next_utf8("", end).has_value());
}

}  // namespace
}  // namespace sotto
