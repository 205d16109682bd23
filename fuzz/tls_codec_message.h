// A wire struct that uses every feature of the TLS codec, for tls_codec_fuzz and the
// generator of its seed corpus.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"

namespace sotto::fuzz {

enum class Color : uint8_t { red = 1, green = 2 };
enum class ShapeType : uint16_t { circle = 1, label = 2, nothing = 0x0300 };

struct Point {
  uint16_t x = 0;
  uint16_t y = 0;
  SOTTO_TLS_FIELDS(x, y)
};

struct Circle {
  static constexpr ShapeType tls_tag = ShapeType::circle;
  Point center;
  uint32_t radius = 0;
  SOTTO_TLS_FIELDS(center, radius)
};

struct Label {
  static constexpr ShapeType tls_tag = ShapeType::label;
  Bytes text;
  std::optional<Color> color;
  SOTTO_TLS_FIELDS(text, color)
};

// The tag alone: an alternative, and an element of zero length.
struct Nothing {
  static constexpr ShapeType tls_tag = ShapeType::nothing;
  SOTTO_TLS_FIELDS()
};

using Shape = std::variant<Circle, Label, Nothing>;

// Its own rules: a u8 length of at most 4, then the bytes.
struct ShortName {
  Bytes name;
  void tls_write(tls::Writer& w) const {
    w.u8(static_cast<uint8_t>(name.size()));
    w.raw(name);
  }
  Result<void> tls_read(tls::Reader& r) {
    SOTTO_TRY_ASSIGN(const uint8_t n, r.u8());
    if (n > 4) return Error(Errc::invalid_value, "name over 4 bytes");
    SOTTO_TRY_ASSIGN(auto bytes, r.raw(n));
    name = to_bytes(bytes);
    return success();
  }
};

struct Inner {
  uint8_t tag = 0;
  Bytes payload;
  std::vector<uint32_t> numbers;
  std::optional<Point> where;
  SOTTO_TLS_FIELDS(tag, payload, numbers, where)
};

struct CodecMessage {
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  int32_t i32 = 0;
  Color color = Color::red;
  Bytes blob;
  SecureBytes secret;
  std::vector<Inner> inners;
  std::optional<Inner> maybe_inner;
  std::array<Point, 2> corners{};
  std::array<uint8_t, 3> triple{};
  Shape shape;
  std::vector<Shape> shapes;
  std::vector<Nothing> nothings;
  std::vector<std::vector<uint16_t>> grid;
  ShortName name;
  SOTTO_TLS_FIELDS(u8, u16, u32, u64, i32, color, blob, secret, inners, maybe_inner, corners,
                   triple, shape, shapes, nothings, grid, name)
};

}  // namespace sotto::fuzz
