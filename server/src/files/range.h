// The Range request header of RFC 9110 section 14, for GET /v1/files/<id>: one byte range is
// answered with 206; several ranges and headers this server does not understand are ignored
// (200 with the whole file, which RFC 9110 permits); a range past the end is 416.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sotto::server::files {

// Inclusive on both ends, as in Content-Range.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t length() const { return last - first + 1; }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

struct RangeRequest {
  enum class Kind {
    whole,          // no Range header, or one to ignore: 200 with the whole representation
    partial,        // one satisfiable range: 206 with `range`
    unsatisfiable,  // 416 with "Content-Range: bytes */size"
  };
  Kind kind = Kind::whole;
  ByteRange range;
};

// Interprets `header` (the Range field value, empty when absent) against a representation of
// `size` bytes. Never fails: anything malformed means "whole".
RangeRequest parse_range(std::string_view header, uint64_t size);

// "bytes first-last/size".
std::string content_range(const ByteRange& range, uint64_t size);
// "bytes */size", for a 416.
std::string unsatisfied_content_range(uint64_t size);

}  // namespace sotto::server::files
