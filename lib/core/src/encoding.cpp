#include "sotto/core/encoding.h"

#include <array>

namespace sotto {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::array<int8_t, 256> decode_table(const char* alphabet) {
  std::array<int8_t, 256> table{};
  table.fill(-1);
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  return table;
}

std::string encode64(BytesView in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const size_t rest = in.size() - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{in[i]} << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

// padding: required (base64) or optional (base64url).
Result<Bytes> decode64(std::string_view in, const std::array<int8_t, 256>& table,
                       bool padding_required) {
  size_t padding = 0;
  while (!in.empty() && in.back() == '=' && padding < 2) {
    in.remove_suffix(1);
    ++padding;
  }
  if (padding_required && (in.size() + padding) % 4 != 0) {
    return Error(Errc::invalid_encoding, "base64 length is not a multiple of 4");
  }
  if (in.size() % 4 == 1) return Error(Errc::invalid_encoding, "base64 length is impossible");
  if (padding > 0 && (in.size() + padding) % 4 != 0) {
    return Error(Errc::invalid_encoding, "base64 padding does not fit the length");
  }
  Bytes out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int8_t v = table[static_cast<uint8_t>(c)];
    if (v < 0) return Error(Errc::invalid_encoding, "character outside the base64 alphabet");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return Error(Errc::invalid_encoding, "base64 has non-zero trailing bits");
  return out;
}

}  // namespace

std::string to_hex(BytesView bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kHexDigits[b >> 4];
    out += kHexDigits[b & 15];
  }
  return out;
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<Bytes> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return Error(Errc::invalid_encoding, "hex of odd length");
  Bytes out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit_value(text[2 * i]);
    const int lo = hex_digit_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return Error(Errc::invalid_encoding, "character that is not hex");
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return out;
}

std::string to_base64(BytesView bytes) { return encode64(bytes, kBase64, true); }
std::string to_base64url(BytesView bytes) { return encode64(bytes, kBase64Url, false); }

Result<Bytes> from_base64(std::string_view text) {
  static const auto table = decode_table(kBase64);
  return decode64(text, table, true);
}

Result<Bytes> from_base64url(std::string_view text) {
  static const auto table = decode_table(kBase64Url);
  return decode64(text, table, false);
}

}  // namespace sotto
