// What the fuzz targets and their seed writers share.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/encoding.h"

namespace sotto::fuzz {

// A broken invariant: says which, and stops the fuzzer with a crash it keeps.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

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

// Feeds `input` to `feed` as a network would cut it: in chunks of 1 to 64 bytes whose sizes
// come from `sizes` (cycled), or whole when `sizes` is empty. After each chunk `drain` takes
// what is complete; it returns false to stop (a parser that failed).
template <class Feed, class Drain>
void feed_in_chunks(std::string_view input, std::string_view sizes, Feed feed, Drain drain) {
  size_t at = 0;
  size_t k = 0;
  while (at < input.size()) {
    size_t n = sizes.empty() ? input.size()
                             : 1 + static_cast<unsigned char>(sizes[k++ % sizes.size()]) % 64;
    n = n < input.size() - at ? n : input.size() - at;
    feed(input.substr(at, n));
    at += n;
    if (!drain()) return;
  }
}

// What a stream parser made of some input: a summary of each item it yielded, in order, and
// whether it failed.
struct Parsed {
  std::vector<std::string> shapes;
  bool failed = false;
};

// Feeds `input` through feed_in_chunks and takes every complete item with `next` (a
// Result<std::optional<T>>, empty when more bytes are needed), summarised by `shape`. A parser
// that failed must stay failed.
template <class Feed, class Next, class Shape>
Parsed parse_in_chunks(std::string_view input, std::string_view sizes, Feed feed, Next next,
                       Shape shape) {
  Parsed out;
  feed_in_chunks(input, sizes, feed, [&] {
    for (;;) {
      auto r = next();
      if (!r.ok()) {
        out.failed = true;
        if (next().ok()) fail("a failed parser recovered");
        return false;
      }
      if (!r.value()) return true;
      out.shapes.push_back(shape(*r.value()));
    }
  });
  return out;
}

// Splits a fuzz input into chunk sizes (its first 1 to 8 bytes, as its first byte says) and
// the bytes a server sent.
inline std::pair<std::string_view, std::string_view> chunk_sizes_and_input(const uint8_t* data,
                                                                           size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  size_t split = size == 0 ? 0 : (data[0] % 8 < size - 1 ? data[0] % 8 : size - 1) + 1;
  return {all.substr(0, split), all.substr(split)};
}

}  // namespace sotto::fuzz
