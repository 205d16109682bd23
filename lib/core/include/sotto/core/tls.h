// The TLS presentation language as RFC 9420 section 2.1 uses it.
//
//   integers        uint8/16/32/64, big-endian
//   bool            one byte, 0 or 1
//   enums           their underlying integer type
//   opaque<V>       Bytes / SecureBytes / std::string: a varint length, then the bytes
//                   (a string's bytes are not checked here: its reader validates them)
//   T list<V>       std::vector<T>: a varint length in bytes, then the elements
//   T[N]            std::array<T, N>: N elements, no length
//   optional<T>     std::optional<T>: one byte 0 or 1, then T when 1
//   select (tag)    std::variant<Ts...> where each T has `static constexpr Tag tls_tag`:
//                   the tag, then the alternative
//   struct          its fields in order, declared once with SOTTO_TLS_FIELDS(a, b, c);
//                   a type with unusual rules writes tls_write(Writer&) const and
//                   tls_read(Reader&) itself.
//
// Decoding is strict and never reads past its input: a varint that is not minimal, a length
// beyond the input, a length over Limits::max_vector_bytes, an unknown tag, an optional flag
// other than 0/1, and (for decode()) bytes left over, are each an error with its own code.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

// Inside a struct: the fields that make up its wire form, in wire order.
#define SOTTO_TLS_FIELDS(...)                                  \
  auto tls_fields() { return std::tie(__VA_ARGS__); }         \
  auto tls_fields() const { return std::tie(__VA_ARGS__); }

namespace sotto::tls {

// The largest length a varint header can state (2^30 - 1).
inline constexpr size_t kMaxVarint = (size_t{1} << 30) - 1;

struct Limits {
  // The largest opaque<V> or list<V> accepted, in bytes.
  size_t max_vector_bytes = size_t{1} << 24;
};

class Writer {
 public:
  // Encodings are mostly small and written field by field: one allocation up front saves
  // the vector's doubling from 1 byte on; a larger expected size can be given.
  Writer() { buf_.reserve(kInitialCapacity); }
  explicit Writer(size_t capacity) { buf_.reserve(capacity); }

  void u8(uint8_t v) { buf_.push_back(v); }
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void raw(BytesView bytes) { buf_.insert(buf_.end(), bytes.begin(), bytes.end()); }
  // A varint of RFC 9420 section 2.1.2. A value over kMaxVarint marks the writer failed.
  void varint(size_t v);
  void opaque(BytesView bytes) {
    varint(bytes.size());
    raw(bytes);
  }

  // A length-prefixed region whose length is known only after it is written:
  //   auto at = w.begin_vector(); ...write the contents...; w.end_vector(at);
  size_t begin_vector();
  void end_vector(size_t at);

  // False when something unencodable (a vector of 2^30 bytes or more) was written.
  bool ok() const { return ok_; }
  const Bytes& bytes() const { return buf_; }
  Bytes take() { return std::move(buf_); }
  size_t size() const { return buf_.size(); }

 private:
  static constexpr size_t kInitialCapacity = 128;
  Bytes buf_;
  bool ok_ = true;
};

class Reader {
 public:
  explicit Reader(BytesView data, Limits limits = {}) : data_(data), limits_(limits) {}

  Result<uint8_t> u8();
  Result<uint16_t> u16();
  Result<uint32_t> u32();
  Result<uint64_t> u64();
  Result<BytesView> raw(size_t n);
  Result<size_t> varint();
  // A varint length and that many bytes, checked against the limit.
  Result<BytesView> opaque();
  // The contents of a length-prefixed vector, as a reader of its own.
  Result<Reader> vector();

  bool empty() const { return pos_ == data_.size(); }
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  const Limits& limits() const { return limits_; }
  // Errc::trailing_bytes unless everything was read.
  Result<void> expect_end() const;

 private:
  BytesView data_;
  size_t pos_ = 0;
  Limits limits_;
};

// ---- traits ---------------------------------------------------------------------------

template <class T>
concept HasFields = requires(T& t) { t.tls_fields(); };

template <class T>
concept HasCustomCodec = requires(const T& c, T& m, Writer& w, Reader& r) {
  c.tls_write(w);
  { m.tls_read(r) } -> std::same_as<Result<void>>;
};

template <class T>
concept Tagged = requires { T::tls_tag; };

template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_std_array : std::false_type {};
template <class T, size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};
template <class T>
struct is_std_variant : std::false_type {};
template <class... Ts>
struct is_std_variant<std::variant<Ts...>> : std::true_type {};

template <class T>
void write(Writer& w, const T& v);
template <class T>
void write(Writer& w, const std::optional<T>& v);
template <class T>
Result<void> read(Reader& r, T& v);
template <class T>
Result<void> read(Reader& r, std::optional<T>& v);

namespace detail {

template <class T>
constexpr bool always_false = false;

template <class Int>
void write_int(Writer& w, Int v) {
  if constexpr (sizeof(Int) == 1) {
    w.u8(static_cast<uint8_t>(v));
  } else if constexpr (sizeof(Int) == 2) {
    w.u16(static_cast<uint16_t>(v));
  } else if constexpr (sizeof(Int) == 4) {
    w.u32(static_cast<uint32_t>(v));
  } else {
    w.u64(static_cast<uint64_t>(v));
  }
}

template <class Int>
Result<void> read_int(Reader& r, Int& v) {
  if constexpr (sizeof(Int) == 1) {
    SOTTO_TRY_ASSIGN(auto x, r.u8());
    v = static_cast<Int>(x);
  } else if constexpr (sizeof(Int) == 2) {
    SOTTO_TRY_ASSIGN(auto x, r.u16());
    v = static_cast<Int>(x);
  } else if constexpr (sizeof(Int) == 4) {
    SOTTO_TRY_ASSIGN(auto x, r.u32());
    v = static_cast<Int>(x);
  } else {
    SOTTO_TRY_ASSIGN(auto x, r.u64());
    v = static_cast<Int>(x);
  }
  return success();
}

template <class Variant, size_t I = 0>
Result<void> read_alternative(Reader& r, Variant& v, uint64_t tag) {
  if constexpr (I == std::variant_size_v<Variant>) {
    return Error(Errc::invalid_value, "unknown variant tag " + std::to_string(tag));
  } else {
    using Alt = std::variant_alternative_t<I, Variant>;
    if (static_cast<uint64_t>(Alt::tls_tag) == tag) {
      Alt alt{};
      SOTTO_TRY(read(r, alt));
      v = std::move(alt);
      return success();
    }
    return read_alternative<Variant, I + 1>(r, v, tag);
  }
}

}  // namespace detail

template <class T>
void write(Writer& w, const T& v) {
  if constexpr (HasCustomCodec<T>) {
    v.tls_write(w);
  } else if constexpr (HasFields<T>) {
    std::apply([&w](const auto&... field) { (write(w, field), ...); }, v.tls_fields());
  } else if constexpr (std::is_same_v<T, bool>) {
    w.u8(v ? 1 : 0);
  } else if constexpr (std::is_enum_v<T>) {
    detail::write_int(w, static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    detail::write_int(w, v);
  } else if constexpr (std::is_same_v<T, Bytes> || std::is_same_v<T, SecureBytes>) {
    w.opaque(BytesView(v.data(), v.size()));
  } else if constexpr (std::is_same_v<T, std::string>) {
    w.opaque(as_bytes(v));
  } else if constexpr (is_std_vector<T>::value) {
    const size_t at = w.begin_vector();
    for (const auto& element : v) write(w, element);
    w.end_vector(at);
  } else if constexpr (is_std_array<T>::value) {
    for (const auto& element : v) write(w, element);
  } else if constexpr (is_std_variant<T>::value) {
    std::visit(
        [&w](const auto& alt) {
          write(w, alt.tls_tag);
          write(w, alt);
        },
        v);
  } else {
    static_assert(detail::always_false<T>, "no TLS encoding for this type");
  }
}

template <class T>
void write(Writer& w, const std::optional<T>& v) {
  w.u8(v.has_value() ? 1 : 0);
  if (v) write(w, *v);
}

template <class T>
Result<void> read(Reader& r, T& v) {
  if constexpr (HasCustomCodec<T>) {
    return v.tls_read(r);
  } else if constexpr (HasFields<T>) {
    Result<void> result;
    std::apply(
        [&](auto&... field) {
          // Stops at the first field that fails.
          ((result.ok() ? (void)(result = read(r, field)) : (void)0), ...);
        },
        v.tls_fields());
    return result;
  } else if constexpr (std::is_same_v<T, bool>) {
    SOTTO_TRY_ASSIGN(const uint8_t raw, r.u8());
    if (raw > 1) return Error(Errc::invalid_value, "boolean is not 0 or 1");
    v = raw == 1;
    return success();
  } else if constexpr (std::is_enum_v<T>) {
    std::underlying_type_t<T> raw{};
    SOTTO_TRY(detail::read_int(r, raw));
    v = static_cast<T>(raw);
    return success();
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return detail::read_int(r, v);
  } else if constexpr (std::is_same_v<T, Bytes> || std::is_same_v<T, SecureBytes>) {
    SOTTO_TRY_ASSIGN(auto bytes, r.opaque());
    if constexpr (std::is_same_v<T, Bytes>) {
      v.assign(bytes.begin(), bytes.end());
    } else {
      v = SecureBytes(bytes);
    }
    return success();
  } else if constexpr (std::is_same_v<T, std::string>) {
    SOTTO_TRY_ASSIGN(auto bytes, r.opaque());
    v.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return success();
  } else if constexpr (is_std_vector<T>::value) {
    SOTTO_TRY_ASSIGN(auto sub, r.vector());
    v.clear();
    while (!sub.empty()) {
      const size_t before = sub.remaining();
      typename T::value_type element{};
      SOTTO_TRY(read(sub, element));
      if (sub.remaining() == before) {
        return Error(Errc::invalid_value, "vector element of zero length");
      }
      v.push_back(std::move(element));
    }
    return success();
  } else if constexpr (is_std_array<T>::value) {
    for (auto& element : v) SOTTO_TRY(read(r, element));
    return success();
  } else if constexpr (is_std_variant<T>::value) {
    using Tag = std::remove_cv_t<decltype(std::variant_alternative_t<0, T>::tls_tag)>;
    Tag tag{};
    SOTTO_TRY(read(r, tag));
    return detail::read_alternative(r, v, static_cast<uint64_t>(tag));
  } else {
    static_assert(detail::always_false<T>, "no TLS decoding for this type");
  }
}

template <class T>
Result<void> read(Reader& r, std::optional<T>& v) {
  SOTTO_TRY_ASSIGN(const uint8_t present, r.u8());
  if (present > 1) return Error(Errc::invalid_value, "optional presence flag is not 0 or 1");
  if (present == 0) {
    v.reset();
    return success();
  }
  T value{};
  SOTTO_TRY(read(r, value));
  v = std::move(value);
  return success();
}

// The wire form of a value.
template <class T>
Bytes encode(const T& v) {
  Writer w;
  write(w, v);
  return w.take();
}

// A whole value from `data`: every byte must belong to it.
template <class T>
Result<T> decode(BytesView data, Limits limits = {}) {
  Reader r(data, limits);
  T value{};
  SOTTO_TRY(read(r, value));
  SOTTO_TRY(r.expect_end());
  return value;
}

}  // namespace sotto::tls
