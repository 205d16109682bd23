#include "sotto/core/tls.h"

#include <cstring>
#include <string>

namespace sotto::tls {

void Writer::u16(uint16_t v) {
  buf_.push_back(static_cast<uint8_t>(v >> 8));
  buf_.push_back(static_cast<uint8_t>(v));
}

void Writer::u32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) buf_.push_back(static_cast<uint8_t>(v >> shift));
}

void Writer::u64(uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) buf_.push_back(static_cast<uint8_t>(v >> shift));
}

void Writer::varint(size_t v) {
  if (v < (1u << 6)) {
    u8(static_cast<uint8_t>(v));
  } else if (v < (1u << 14)) {
    u16(static_cast<uint16_t>(0x4000 | v));
  } else if (v <= kMaxVarint) {
    u32(static_cast<uint32_t>(0x80000000u | v));
  } else {
    ok_ = false;
    u32(0x80000000u);  // keeps the layout parseable; the writer reports failure
  }
}

size_t Writer::begin_vector() {
  const size_t at = buf_.size();
  buf_.resize(at + 4);  // room for the longest header; end_vector() closes any gap
  return at;
}

void Writer::end_vector(size_t at) {
  const size_t length = buf_.size() - at - 4;
  size_t header = 4;
  if (length < (1u << 6)) {
    header = 1;
    buf_[at] = static_cast<uint8_t>(length);
  } else if (length < (1u << 14)) {
    header = 2;
    buf_[at] = static_cast<uint8_t>(0x40 | (length >> 8));
    buf_[at + 1] = static_cast<uint8_t>(length);
  } else {
    if (length > kMaxVarint) ok_ = false;
    const uint32_t v = 0x80000000u | static_cast<uint32_t>(length & kMaxVarint);
    for (int i = 0; i < 4; ++i) buf_[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  }
  if (header < 4) {
    std::memmove(buf_.data() + at + header, buf_.data() + at + 4, length);
    buf_.resize(buf_.size() - (4 - header));
  }
}

namespace {
Error truncated(size_t want, size_t have) {
  return Error(Errc::truncated, "needed " + std::to_string(want) + " bytes, " +
                                    std::to_string(have) + " left");
}
}  // namespace

Result<BytesView> Reader::raw(size_t n) {
  if (n > remaining()) return truncated(n, remaining());
  BytesView out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Result<uint8_t> Reader::u8() {
  SOTTO_TRY_ASSIGN(auto b, raw(1));
  return b[0];
}

Result<uint16_t> Reader::u16() {
  SOTTO_TRY_ASSIGN(auto b, raw(2));
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}

Result<uint32_t> Reader::u32() {
  SOTTO_TRY_ASSIGN(auto b, raw(4));
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

Result<uint64_t> Reader::u64() {
  SOTTO_TRY_ASSIGN(auto b, raw(8));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[i];
  return v;
}

Result<size_t> Reader::varint() {
  if (empty()) return truncated(1, 0);
  const uint8_t prefix = data_[pos_] >> 6;
  switch (prefix) {
    case 0: {
      SOTTO_TRY_ASSIGN(auto b, u8());
      return size_t{b};
    }
    case 1: {
      SOTTO_TRY_ASSIGN(auto v, u16());
      const size_t value = v & 0x3fff;
      if (value < (1u << 6)) return Error(Errc::non_minimal_varint, "varint of 2 bytes for a value under 64");
      return value;
    }
    case 2: {
      SOTTO_TRY_ASSIGN(auto v, u32());
      const size_t value = v & 0x3fffffff;
      if (value < (1u << 14)) return Error(Errc::non_minimal_varint, "varint of 4 bytes for a value under 16384");
      return value;
    }
    default:
      return Error(Errc::invalid_value, "varint with prefix 0b11 (reserved)");
  }
}

Result<BytesView> Reader::opaque() {
  SOTTO_TRY_ASSIGN(const size_t length, varint());
  if (length > limits_.max_vector_bytes) {
    return Error(Errc::length_limit, "vector of " + std::to_string(length) +
                                         " bytes over the limit of " +
                                         std::to_string(limits_.max_vector_bytes));
  }
  return raw(length);
}

Result<Reader> Reader::vector() {
  SOTTO_TRY_ASSIGN(auto contents, opaque());
  return Reader(contents, limits_);
}

Result<void> Reader::expect_end() const {
  if (!empty()) {
    return Error(Errc::trailing_bytes, std::to_string(remaining()) + " bytes after the value");
  }
  return success();
}

}  // namespace sotto::tls
