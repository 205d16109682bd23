// Bit arithmetic on tree sizes, without <bit> (the wasm build's libc++ 13 lacks parts of it).
#pragma once

#include <cstdint>

namespace sotto::kt::detail {

constexpr bool is_power_of_two(uint64_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

// The largest power of two strictly below n, for n >= 2: the split point k of RFC 9162's
// MTH, PATH and SUBPROOF.
constexpr uint64_t split_point(uint64_t n) {
  return uint64_t{1} << (63 - __builtin_clzll(n - 1));
}

}  // namespace sotto::kt::detail
