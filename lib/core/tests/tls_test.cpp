#include "sotto/core/tls.h"

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sotto/core/encoding.h"

namespace sotto::tls {
namespace {

// ---- wire types that exercise every codec feature ------------------------------------

enum class Color : uint8_t { red = 1, green = 2, blue = 3 };
enum class Wide : uint64_t { small = 1, large = 0xfedcba9876543210 };

struct Point {
  uint16_t x = 0;
  uint16_t y = 0;
  SOTTO_TLS_FIELDS(x, y)
  bool operator==(const Point&) const = default;
};

enum class ShapeType : uint16_t { circle = 1, label = 2, nothing = 0x0300 };

struct Circle {
  static constexpr ShapeType tls_tag = ShapeType::circle;
  Point center;
  uint32_t radius = 0;
  SOTTO_TLS_FIELDS(center, radius)
  bool operator==(const Circle&) const = default;
};

struct Label {
  static constexpr ShapeType tls_tag = ShapeType::label;
  Bytes text;
  std::optional<Color> color;
  SOTTO_TLS_FIELDS(text, color)
  bool operator==(const Label&) const = default;
};

// An alternative with no body: the tag alone.
struct Nothing {
  static constexpr ShapeType tls_tag = ShapeType::nothing;
  SOTTO_TLS_FIELDS()
  bool operator==(const Nothing&) const = default;
};

using Shape = std::variant<Circle, Label, Nothing>;

// A type with its own rules: a u8 length (not a varint) and the bytes, at most 4 of them.
struct ShortName {
  Bytes name;
  void tls_write(Writer& w) const {
    w.u8(static_cast<uint8_t>(name.size()));
    w.raw(name);
  }
  Result<void> tls_read(Reader& r) {
    SOTTO_TRY_ASSIGN(const uint8_t n, r.u8());
    if (n > 4) return Error(Errc::invalid_value, "name over 4 bytes");
    SOTTO_TRY_ASSIGN(auto bytes, r.raw(n));
    name = to_bytes(bytes);
    return success();
  }
  bool operator==(const ShortName&) const = default;
};

struct Inner {
  uint8_t tag = 0;
  Bytes payload;
  std::vector<uint32_t> numbers;
  std::optional<Point> where;
  SOTTO_TLS_FIELDS(tag, payload, numbers, where)
  bool operator==(const Inner&) const = default;
};

struct Everything {
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  int32_t i32 = 0;
  Color color = Color::red;
  Wide wide = Wide::small;
  Bytes blob;
  SecureBytes secret;
  std::vector<Inner> inners;
  std::optional<Inner> maybe_inner;
  std::optional<Inner> no_inner;
  std::array<Point, 2> corners{};
  std::array<uint8_t, 3> triple{};
  Shape shape;
  std::vector<Shape> shapes;
  std::vector<Bytes> blobs;
  std::vector<std::vector<uint16_t>> grid;
  ShortName name;
  SOTTO_TLS_FIELDS(u8, u16, u32, u64, i32, color, wide, blob, secret, inners, maybe_inner, no_inner,
                   corners, triple, shape, shapes, blobs, grid, name)
  bool operator==(const Everything&) const = default;
};

Bytes filled(size_t n, uint8_t start) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(start + i * 7);
  return out;
}

Everything sample() {
  Everything e;
  e.u8 = 0xa1;
  e.u16 = 0xb2c3;
  e.u32 = 0xd4e5f607;
  e.u64 = 0x0817263544536271;
  e.i32 = -2;
  e.color = Color::blue;
  e.wide = Wide::large;
  e.blob = filled(70, 3);  // a 2-byte length
  e.secret = SecureBytes{BytesView(filled(32, 9))};
  e.inners = {
      Inner{1, filled(5, 1), {1, 2, 0xffffffff}, Point{7, 8}},
      Inner{2, {}, {}, std::nullopt},
      Inner{3, filled(63, 2), {0x01020304}, Point{0xffff, 0}},
  };
  e.maybe_inner = Inner{4, {0x00}, {5}, std::nullopt};
  e.corners = {Point{1, 2}, Point{3, 4}};
  e.triple = {0xaa, 0xbb, 0xcc};
  e.shape = Label{to_bytes("hello"), Color::green};
  e.shapes = {Circle{Point{5, 6}, 10}, Label{{}, std::nullopt}, Nothing{}, Circle{}};
  e.blobs = {{1}, {}, filled(64, 0)};
  e.grid = {{1, 2, 3}, {}, {0xffff}};
  e.name.name = to_bytes("abc");
  return e;
}

template <class T>
Errc decode_error(BytesView data, Limits limits = {}) {
  auto r = decode<T>(data, limits);
  if (r.ok()) return Errc::ok;
  EXPECT_FALSE(r.error().message().empty());
  return r.error().code();
}

// Hex with optional spaces between fields, for readable wire images.
Bytes hex(std::string_view spaced) {
  std::string text;
  for (char c : spaced) {
    if (c != ' ') text += c;
  }
  auto r = from_hex(text);
  EXPECT_TRUE(r.ok()) << spaced;
  return r.ok() ? *r : Bytes{};
}

// ---- integers -------------------------------------------------------------------------

TEST(TlsIntegerTest, EveryWidthIsBigEndian) {
  EXPECT_EQ(encode(uint8_t{0xab}), hex("ab"));
  EXPECT_EQ(encode(uint16_t{0x1234}), hex("1234"));
  EXPECT_EQ(encode(uint32_t{0x12345678}), hex("12345678"));
  EXPECT_EQ(encode(uint64_t{0x0102030405060708}), hex("0102030405060708"));
  EXPECT_EQ(encode(int8_t{-1}), hex("ff"));
  EXPECT_EQ(encode(int16_t{-2}), hex("fffe"));
  EXPECT_EQ(encode(int32_t{-3}), hex("fffffffd"));
  EXPECT_EQ(encode(int64_t{-4}), hex("fffffffffffffffc"));

  EXPECT_EQ(*decode<uint8_t>(hex("ab")), 0xab);
  EXPECT_EQ(*decode<uint16_t>(hex("1234")), 0x1234);
  EXPECT_EQ(*decode<uint32_t>(hex("12345678")), 0x12345678u);
  EXPECT_EQ(*decode<uint64_t>(hex("0102030405060708")), 0x0102030405060708u);
  EXPECT_EQ(*decode<int16_t>(hex("fffe")), -2);
  EXPECT_EQ(*decode<int64_t>(hex("fffffffffffffffc")), -4);
}

TEST(TlsIntegerTest, ExtremesRoundTrip) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{0x80}, ~uint64_t{0}}) {
    EXPECT_EQ(*decode<uint64_t>(encode(v)), v);
    EXPECT_EQ(*decode<uint32_t>(encode(static_cast<uint32_t>(v))), static_cast<uint32_t>(v));
    EXPECT_EQ(*decode<uint16_t>(encode(static_cast<uint16_t>(v))), static_cast<uint16_t>(v));
    EXPECT_EQ(*decode<uint8_t>(encode(static_cast<uint8_t>(v))), static_cast<uint8_t>(v));
  }
}

TEST(TlsIntegerTest, ReaderMethods) {
  const Bytes data = hex("01 0203 04050607 08090a0b0c0d0e0f");
  Reader r(data);
  EXPECT_EQ(*r.u8(), 0x01);
  EXPECT_EQ(*r.u16(), 0x0203);
  EXPECT_EQ(*r.u32(), 0x04050607u);
  EXPECT_EQ(r.position(), 7u);
  EXPECT_EQ(*r.u64(), 0x08090a0b0c0d0e0fu);
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(r.expect_end().ok());
  EXPECT_EQ(r.u8().error().code(), Errc::truncated);
}

TEST(TlsIntegerTest, EnumsUseTheirUnderlyingType) {
  EXPECT_EQ(encode(Color::green), hex("02"));
  EXPECT_EQ(encode(Wide::large), hex("fedcba9876543210"));
  EXPECT_EQ(encode(ShapeType::nothing), hex("0300"));
  EXPECT_EQ(*decode<Wide>(hex("fedcba9876543210")), Wide::large);
  // Enums are not checked against their enumerators: a value outside them survives.
  EXPECT_EQ(static_cast<int>(*decode<Color>(hex("7f"))), 0x7f);
}

TEST(TlsIntegerTest, BooleansAreOneStrictByte) {
  EXPECT_EQ(encode(true), hex("01"));
  EXPECT_EQ(encode(false), hex("00"));
  EXPECT_TRUE(*decode<bool>(hex("01")));
  EXPECT_FALSE(*decode<bool>(hex("00")));
  EXPECT_EQ(decode_error<bool>(hex("02")), Errc::invalid_value);
  EXPECT_EQ(decode_error<bool>(hex("ff")), Errc::invalid_value);
  EXPECT_EQ(decode_error<bool>({}), Errc::truncated);
}

TEST(TlsIntegerTest, TruncatedIntegers) {
  EXPECT_EQ(decode_error<uint8_t>({}), Errc::truncated);
  EXPECT_EQ(decode_error<uint16_t>(hex("12")), Errc::truncated);
  EXPECT_EQ(decode_error<uint32_t>(hex("123456")), Errc::truncated);
  EXPECT_EQ(decode_error<uint64_t>(hex("01020304050607")), Errc::truncated);
  EXPECT_EQ(decode_error<uint16_t>(hex("123456")), Errc::trailing_bytes);
}

TEST(TlsIntegerTest, FailedReadDoesNotAdvance) {
  const Bytes data = hex("0102");
  Reader r(data);
  EXPECT_EQ(r.u32().error().code(), Errc::truncated);
  EXPECT_EQ(r.position(), 0u);
  EXPECT_EQ(r.raw(3).error().code(), Errc::truncated);
  EXPECT_EQ(*r.u16(), 0x0102);
}

// ---- varints ---------------------------------------------------------------------------

struct VarintCase {
  size_t value;
  const char* wire;
};

constexpr VarintCase kVarints[] = {
    {0, "00"},
    {1, "01"},
    {37, "25"},  // RFC 9000 section A.1's one-byte example
    {63, "3f"},
    {64, "4040"},
    {15293, "7bbd"},  // RFC 9000 section A.1
    {16383, "7fff"},
    {16384, "80004000"},
    {494878333, "9d7f3e7d"},  // RFC 9000 section A.1
    {kMaxVarint, "bfffffff"},
};

TEST(TlsVarintTest, BoundariesEncodeToOneTwoOrFourBytes) {
  for (const auto& c : kVarints) {
    Writer w;
    w.varint(c.value);
    EXPECT_TRUE(w.ok());
    EXPECT_EQ(to_hex(w.bytes()), c.wire) << c.value;

    const Bytes wire = hex(c.wire);
    Reader r(wire);
    const auto v = r.varint();
    ASSERT_TRUE(v.ok()) << c.wire << ": " << v.error().to_string();
    EXPECT_EQ(*v, c.value);
    EXPECT_TRUE(r.empty());
  }
  EXPECT_EQ(kMaxVarint, (size_t{1} << 30) - 1);
}

TEST(TlsVarintTest, OverTheMaximumMarksWriterFailed) {
  Writer w;
  w.varint(kMaxVarint);
  EXPECT_TRUE(w.ok());
  w.varint(kMaxVarint + 1);
  EXPECT_FALSE(w.ok());
}

TEST(TlsVarintTest, NonMinimalRejected) {
  for (const char* wire :
       {"4000", "4001", "403f", "80000000", "8000003f", "80000040", "80003fff"}) {
    const Bytes data = hex(wire);
    Reader r(data);
    const auto v = r.varint();
    ASSERT_FALSE(v.ok()) << wire;
    EXPECT_EQ(v.error().code(), Errc::non_minimal_varint) << wire;
  }
  // The same inside an opaque<V>.
  EXPECT_EQ(decode_error<Bytes>(hex("4001aa")), Errc::non_minimal_varint);
  EXPECT_EQ(decode_error<std::vector<uint8_t>>(hex("8000000101")), Errc::non_minimal_varint);
}

TEST(TlsVarintTest, ReservedPrefixRejected) {
  for (const char* wire : {"c0", "c0000000", "ffffffff", "c000000000000000"}) {
    const Bytes data = hex(wire);
    Reader r(data);
    const auto v = r.varint();
    ASSERT_FALSE(v.ok()) << wire;
    EXPECT_EQ(v.error().code(), Errc::invalid_value) << wire;
  }
  EXPECT_EQ(decode_error<Bytes>(hex("c1")), Errc::invalid_value);
}

TEST(TlsVarintTest, TruncatedVarints) {
  for (const char* wire : {"", "40", "80", "8000", "800040"}) {
    const Bytes data = hex(wire);
    Reader r(data);
    const auto v = r.varint();
    ASSERT_FALSE(v.ok()) << wire;
    EXPECT_EQ(v.error().code(), Errc::truncated) << wire;
  }
}

// ---- opaque and vectors --------------------------------------------------------------

TEST(TlsOpaqueTest, BytesAndSecureBytesShareTheWireForm) {
  const Bytes content = filled(64, 1);
  const Bytes wire = encode(content);
  ASSERT_EQ(wire.size(), 66u);
  EXPECT_EQ(wire[0], 0x40);
  EXPECT_EQ(wire[1], 0x40);
  EXPECT_EQ(encode(SecureBytes(BytesView(content))), wire);
  EXPECT_EQ(*decode<Bytes>(wire), content);
  EXPECT_TRUE(*decode<SecureBytes>(wire) == SecureBytes(BytesView(content)));
  EXPECT_EQ(encode(Bytes{}), hex("00"));
  EXPECT_TRUE(decode<Bytes>(hex("00"))->empty());
}

TEST(TlsOpaqueTest, LengthBeyondInputIsTruncated) {
  EXPECT_EQ(decode_error<Bytes>(hex("03aabb")), Errc::truncated);
  EXPECT_EQ(decode_error<Bytes>(hex("4040")), Errc::truncated);
  EXPECT_EQ(decode_error<std::vector<uint16_t>>(hex("04aabbcc")), Errc::truncated);
}

TEST(TlsOpaqueTest, LengthOverLimitRejected) {
  const Bytes hundred = encode(filled(100, 0));
  EXPECT_EQ(decode_error<Bytes>(hundred, Limits{99}), Errc::length_limit);
  EXPECT_EQ(decode_error<SecureBytes>(hundred, Limits{99}), Errc::length_limit);
  EXPECT_EQ(decode_error<Bytes>(hundred, Limits{100}), Errc::ok);

  std::vector<Point> points(25);  // 100 bytes of content
  const Bytes list = encode(points);
  EXPECT_EQ(decode_error<std::vector<Point>>(list, Limits{99}), Errc::length_limit);
  EXPECT_EQ(decode_error<std::vector<Point>>(list, Limits{100}), Errc::ok);

  // A nested vector's length is checked against the same limit.
  std::vector<Bytes> nested{filled(10, 0), filled(60, 0)};
  const Bytes nested_wire = encode(nested);
  EXPECT_EQ(decode_error<std::vector<Bytes>>(nested_wire, Limits{72}), Errc::ok);
  EXPECT_EQ(decode_error<std::vector<Bytes>>(nested_wire, Limits{71}), Errc::length_limit);
}

TEST(TlsOpaqueTest, LimitIsCheckedBeforeTheInputLength) {
  // The default limit is 2^24 bytes; 2^30 - 1 is refused without looking for the bytes.
  EXPECT_EQ(decode_error<Bytes>(hex("bfffffff")), Errc::length_limit);
  EXPECT_EQ(decode_error<Bytes>(hex("81000000")), Errc::truncated);  // exactly 2^24
  EXPECT_EQ(decode_error<Bytes>(hex("81000001")), Errc::length_limit);
  EXPECT_EQ(Limits{}.max_vector_bytes, size_t{1} << 24);
}

TEST(TlsVectorTest, LengthCountsBytesNotElements) {
  const std::vector<uint16_t> v{1, 2, 3};
  EXPECT_EQ(encode(v), hex("06000100020003"));
  EXPECT_EQ(*decode<std::vector<uint16_t>>(hex("06000100020003")), v);
  // A length that splits an element.
  EXPECT_EQ(decode_error<std::vector<uint16_t>>(hex("050001000200")), Errc::truncated);
  // Elements that do not fill the declared length exactly are truncated inside it.
  EXPECT_EQ(decode_error<std::vector<uint16_t>>(hex("0400010002ff")), Errc::trailing_bytes);
}

TEST(TlsVectorTest, ZeroLengthElementsRejected) {
  using EmptyArray = std::array<uint8_t, 0>;
  EXPECT_EQ(encode(EmptyArray{}), Bytes{});
  // Any number of empty elements encodes as an empty list...
  EXPECT_EQ(encode(std::vector<EmptyArray>(3)), hex("00"));
  EXPECT_TRUE(decode<std::vector<EmptyArray>>(hex("00"))->empty());
  // ...and a non-empty list of them cannot be parsed: the reader would never advance.
  EXPECT_EQ(decode_error<std::vector<EmptyArray>>(hex("0100")), Errc::invalid_value);
  EXPECT_EQ(decode_error<std::vector<Nothing>>(hex("02aabb")), Errc::invalid_value);
}

TEST(TlsVectorTest, ReaderVectorGivesASubReader) {
  const Bytes data = hex("0301020304");
  Reader r(data, Limits{10});
  auto sub = r.vector();
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->remaining(), 3u);
  EXPECT_EQ(sub->limits().max_vector_bytes, 10u);
  EXPECT_EQ(r.remaining(), 1u);
  EXPECT_EQ(r.expect_end().error().code(), Errc::trailing_bytes);
}

// ---- Writer::begin_vector / end_vector -----------------------------------------------

TEST(TlsWriterTest, BeginEndVectorHeaderSizes) {
  struct Case {
    size_t length;
    size_t header;
  };
  for (const Case c : {Case{0, 1}, Case{1, 1}, Case{63, 1}, Case{64, 2}, Case{16383, 2},
                       Case{16384, 4}, Case{70000, 4}}) {
    const Bytes content = filled(c.length, 5);
    Writer w;
    w.u8(0xee);  // something before, which must stay put
    const size_t at = w.begin_vector();
    EXPECT_EQ(at, 1u);
    w.raw(content);
    w.end_vector(at);
    w.u8(0xdd);  // and something after
    ASSERT_TRUE(w.ok());
    const Bytes& out = w.bytes();
    ASSERT_EQ(out.size(), 1 + c.header + c.length + 1) << c.length;
    EXPECT_EQ(out.front(), 0xee);
    EXPECT_EQ(out.back(), 0xdd);

    // The header is the same as Writer::varint writes.
    Writer expected_header;
    expected_header.varint(c.length);
    EXPECT_EQ(Bytes(out.begin() + 1, out.begin() + 1 + static_cast<ptrdiff_t>(c.header)),
              expected_header.bytes());
    EXPECT_EQ(Bytes(out.begin() + 1 + static_cast<ptrdiff_t>(c.header), out.end() - 1), content);

    // The same bytes as opaque().
    Writer direct;
    direct.u8(0xee);
    direct.opaque(content);
    direct.u8(0xdd);
    EXPECT_EQ(out, direct.bytes());

    Reader r(out);
    EXPECT_EQ(*r.u8(), 0xee);
    auto sub = r.vector();
    ASSERT_TRUE(sub.ok());
    EXPECT_EQ(sub->remaining(), c.length);
    EXPECT_EQ(*r.u8(), 0xdd);
  }
}

TEST(TlsWriterTest, NestedBeginEndVector) {
  Writer w;
  const size_t outer = w.begin_vector();
  const size_t first = w.begin_vector();
  w.raw(filled(100, 1));
  w.end_vector(first);
  const size_t second = w.begin_vector();
  w.end_vector(second);
  w.u16(0xabcd);
  w.end_vector(outer);
  ASSERT_TRUE(w.ok());
  // outer: 2-byte header, then [2 + 100] [1 + 0] [2].
  const Bytes out = w.take();
  ASSERT_EQ(out.size(), 2u + 102 + 1 + 2);
  Reader r(out);
  auto o = r.vector();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(to_bytes(*o->opaque()), filled(100, 1));
  EXPECT_TRUE(o->opaque()->empty());
  EXPECT_EQ(*o->u16(), 0xabcd);
  EXPECT_TRUE(o->empty());
  EXPECT_TRUE(r.empty());
}

TEST(TlsWriterTest, TakeAndSize) {
  Writer w;
  EXPECT_EQ(w.size(), 0u);
  w.u32(1);
  EXPECT_EQ(w.size(), 4u);
  const Bytes taken = w.take();
  EXPECT_EQ(taken, hex("00000001"));
}

// ---- optional ------------------------------------------------------------------------

TEST(TlsOptionalTest, PresenceFlag) {
  EXPECT_EQ(encode(std::optional<uint16_t>{}), hex("00"));
  EXPECT_EQ(encode(std::optional<uint16_t>{0x1234}), hex("011234"));
  EXPECT_FALSE(decode<std::optional<uint16_t>>(hex("00"))->has_value());
  EXPECT_EQ(*decode<std::optional<uint16_t>>(hex("011234")), 0x1234);
}

TEST(TlsOptionalTest, FlagOtherThanZeroOrOneRejected) {
  for (const char* wire : {"02", "021234", "ff1234", "80"}) {
    EXPECT_EQ(decode_error<std::optional<uint16_t>>(hex(wire)), Errc::invalid_value) << wire;
  }
  EXPECT_EQ(decode_error<std::optional<uint16_t>>(hex("01")), Errc::truncated);
  EXPECT_EQ(decode_error<std::optional<uint16_t>>(hex("001234")), Errc::trailing_bytes);
  EXPECT_EQ(decode_error<std::optional<uint16_t>>({}), Errc::truncated);
}

TEST(TlsOptionalTest, OptionalOfStruct) {
  const std::optional<Point> p = Point{1, 2};
  EXPECT_EQ(encode(p), hex("0100010002"));
  EXPECT_EQ(*decode<std::optional<Point>>(hex("0100010002")), p);
}

// ---- variant -------------------------------------------------------------------------

TEST(TlsVariantTest, TagThenAlternative) {
  const Shape circle = Circle{Point{1, 2}, 3};
  EXPECT_EQ(encode(circle), hex("0001 00010002 00000003"));
  const Shape label = Label{to_bytes("hi"), Color::red};
  EXPECT_EQ(encode(label), hex("0002 026869 0101"));
  const Shape nothing = Nothing{};
  EXPECT_EQ(encode(nothing), hex("0300"));

  for (const Shape& s : {circle, label, nothing}) {
    const auto back = decode<Shape>(encode(s));
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    EXPECT_EQ(back->index(), s.index());
    EXPECT_EQ(*back, s);
  }
}

TEST(TlsVariantTest, UnknownTagRejected) {
  for (const char* wire : {"0000", "0003", "0100", "ffff", "0301"}) {
    EXPECT_EQ(decode_error<Shape>(hex(wire)), Errc::invalid_value) << wire;
  }
  EXPECT_EQ(decode_error<Shape>(hex("00")), Errc::truncated);
  EXPECT_EQ(decode_error<Shape>(hex("0001000100")), Errc::truncated);
}

// ---- arrays --------------------------------------------------------------------------

TEST(TlsArrayTest, FixedLengthWithoutPrefix) {
  using Triple = std::array<uint16_t, 3>;
  const Triple a{1, 2, 0xffff};
  EXPECT_EQ(encode(a), hex("00010002ffff"));
  EXPECT_EQ(*decode<Triple>(hex("00010002ffff")), a);
  EXPECT_EQ(decode_error<Triple>(hex("00010002ff")), Errc::truncated);
  EXPECT_EQ(decode_error<Triple>(hex("00010002ffff00")), Errc::trailing_bytes);

  using OpaquePair = std::array<Bytes, 2>;
  const OpaquePair opaque_pair{Bytes{1}, Bytes{}};
  EXPECT_EQ(encode(opaque_pair), hex("010100"));
  EXPECT_EQ(*decode<OpaquePair>(hex("010100")), opaque_pair);
}

// ---- custom codec --------------------------------------------------------------------

TEST(TlsCustomCodecTest, UsesTheTypesOwnRules) {
  EXPECT_EQ(encode(ShortName{to_bytes("ab")}), hex("026162"));
  EXPECT_EQ(decode<ShortName>(hex("026162"))->name, to_bytes("ab"));
  EXPECT_EQ(decode_error<ShortName>(hex("056162636465")), Errc::invalid_value);
  EXPECT_EQ(decode_error<ShortName>(hex("0261")), Errc::truncated);
}

// ---- a nested struct with every feature ----------------------------------------------

TEST(TlsStructTest, FieldsInDeclarationOrder) {
  EXPECT_EQ(encode(Point{0x0102, 0x0304}), hex("01020304"));
  const Inner inner{9, {0xaa}, {7}, Point{1, 1}};
  EXPECT_EQ(encode(inner), hex("09 01aa 0400000007 01 00010001"));
}

TEST(TlsStructTest, NestedRoundTrip) {
  const Everything e = sample();
  const Bytes wire = encode(e);
  const auto back = decode<Everything>(wire);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(*back == e);
  EXPECT_EQ(encode(*back), wire);

  // And a default-constructed one.
  const Everything empty;
  const auto empty_back = decode<Everything>(encode(empty));
  ASSERT_TRUE(empty_back.ok()) << empty_back.error().to_string();
  EXPECT_TRUE(*empty_back == empty);
}

TEST(TlsStructTest, EveryPrefixIsTruncated) {
  const Bytes wire = encode(sample());
  ASSERT_GT(wire.size(), 300u);
  for (size_t n = 0; n < wire.size(); ++n) {
    // A copy of exactly n bytes, so that ASan sees any read past the end.
    const Bytes prefix(wire.begin(), wire.begin() + static_cast<ptrdiff_t>(n));
    const auto r = decode<Everything>(prefix);
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(r.error().code(), Errc::truncated) << n << ": " << r.error().to_string();
  }
}

TEST(TlsStructTest, TrailingBytesRejected) {
  Bytes wire = encode(sample());
  wire.push_back(0);
  EXPECT_EQ(decode_error<Everything>(wire), Errc::trailing_bytes);
  // A Reader can still read the value and leave the rest to the caller.
  Reader r(wire);
  Everything e;
  ASSERT_TRUE(read(r, e).ok());
  EXPECT_EQ(r.remaining(), 1u);
}

TEST(TlsStructTest, LimitAppliesInsideStructs) {
  const Bytes wire = encode(sample());
  EXPECT_EQ(decode_error<Everything>(wire, Limits{69}), Errc::length_limit);
}

// Every single-byte change either fails to decode or decodes to a value whose encoding is
// exactly the changed input: strict decoding makes the encoding canonical.
TEST(TlsStructTest, MutationsFailOrReencodeExactly) {
  const Bytes wire = encode(sample());
  size_t accepted = 0;
  for (size_t i = 0; i < wire.size(); ++i) {
    for (uint8_t flip : {0x01, 0x02, 0x40, 0x80, 0xff}) {
      Bytes mutated = wire;
      mutated[i] ^= flip;
      const auto r = decode<Everything>(mutated);
      if (!r.ok()) continue;
      ++accepted;
      ASSERT_EQ(encode(*r), mutated) << "byte " << i << " ^ " << int{flip};
    }
  }
  EXPECT_GT(accepted, 0u);  // payload bytes change freely
}

}  // namespace
}  // namespace sotto::tls
