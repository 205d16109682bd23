// UTF-8 (RFC 3629), strictly: no overlong forms, no surrogates, nothing past U+10FFFF, no
// sequence cut short.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sotto {

// The code point whose UTF-8 form starts at s[i], moving i past it; nullopt, with i left
// where it was, when the bytes there are not UTF-8.
std::optional<char32_t> next_utf8(std::string_view s, size_t& i);

bool is_valid_utf8(std::string_view s);

// Appends the UTF-8 form of `cp`, which must be a Unicode scalar value (at most U+10FFFF, not
// a surrogate); false, appending nothing, otherwise.
bool append_utf8(std::string& out, char32_t cp);

}  // namespace sotto
