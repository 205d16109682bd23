// What the fuzz targets and their seed writers share.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "sotto/core/bytes.h"
#include "sotto/core/encoding.h"

namespace sotto::fuzz {

// A value that decoded from `input` must encode back to exactly `input`: a second encoding of
// one value would let two readers disagree about what was signed.
inline void require_same_encoding(const char* what, BytesView input, BytesView again) {
  if (constant_time_equal(again, input)) return;
  std::fprintf(stderr, "%s does not re-encode to its input\n  input:  %s\n  output: %s\n", what,
               to_hex(input).c_str(), to_hex(again).c_str());
  std::abort();
}

// Writes one seed file; false when it cannot.
inline bool write_file(const std::string& path, BytesView bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace sotto::fuzz
