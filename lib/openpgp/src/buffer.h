// Starting a packet body: the leading octets, with room reserved for what follows. A vector
// built from a short initializer list and then appended to makes g++ 12's -O3 bounds analysis
// report the reallocation as an overflow of the first allocation (a false -Warray-bounds).
#pragma once

#include <initializer_list>

#include "sotto/core/bytes.h"

namespace sotto::openpgp {

inline Bytes start_buffer(std::initializer_list<uint8_t> head, size_t more) {
  Bytes out;
  out.reserve(head.size() + more);
  out.insert(out.end(), head.begin(), head.end());
  return out;
}

}  // namespace sotto::openpgp
