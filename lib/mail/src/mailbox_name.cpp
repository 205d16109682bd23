#include "sotto/mail/mailbox_name.h"

#include <cstdint>
#include <vector>

#include "sotto/core/utf8.h"

namespace sotto::mail {

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

bool is_direct(char32_t c) {
  return c >= 0x20 && c <= 0x7e;  // '&' too, but written as "&-"
}

int sextet(char c) {
  size_t at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

Error bad(std::string_view why) {
  return Error(Errc::invalid_value, "a mailbox name in modified UTF-7: " + std::string(why));
}

// The UTF-16 code units as modified base64, without padding.
void write_shifted(std::string& out, const std::vector<uint16_t>& units) {
  out += '&';
  uint32_t bits = 0;
  int count = 0;
  for (uint16_t u : units) {
    bits = (bits << 16) | u;
    count += 16;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 0x3f];
    }
    bits &= (1u << count) - 1;
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 0x3f];
  out += '-';
}

}  // namespace

Result<std::string> encode_mailbox_name(std::string_view utf8) {
  std::string out;
  std::vector<uint16_t> units;
  size_t i = 0;
  while (i < utf8.size()) {
    auto cp = next_utf8(utf8, i);
    if (!cp) return Error(Errc::invalid_value, "a mailbox name that is not UTF-8");
    if (is_direct(*cp)) {
      if (!units.empty()) {
        write_shifted(out, units);
        units.clear();
      }
      out += static_cast<char>(*cp);
      if (*cp == U'&') out += '-';
    } else if (*cp < 0x10000) {
      units.push_back(static_cast<uint16_t>(*cp));
    } else {
      char32_t v = *cp - 0x10000;
      units.push_back(static_cast<uint16_t>(0xD800 + (v >> 10)));
      units.push_back(static_cast<uint16_t>(0xDC00 + (v & 0x3ff)));
    }
  }
  if (!units.empty()) write_shifted(out, units);
  return out;
}

Result<std::string> decode_mailbox_name(std::string_view wire) {
  std::string out;
  bool after_shift = false;  // the last thing read was a shifted run
  size_t i = 0;
  while (i < wire.size()) {
    char c = wire[i];
    if (c < 0x20 || c > 0x7e) return bad("a byte outside printable ASCII");
    if (c != '&') {
      out += c;
      after_shift = false;
      ++i;
      continue;
    }
    size_t end = wire.find('-', i + 1);
    if (end == std::string_view::npos) return bad("a shift without its closing \"-\"");
    std::string_view run = wire.substr(i + 1, end - i - 1);
    i = end + 1;
    if (run.empty()) {
      out += '&';
      after_shift = false;
      continue;
    }
    if (after_shift) return bad("two shifted runs in a row");
    uint32_t bits = 0;
    int count = 0;
    std::vector<uint16_t> units;
    for (char d : run) {
      int v = sextet(d);
      if (v < 0) return bad("a character outside modified base64");
      bits = (bits << 6) | static_cast<uint32_t>(v);
      count += 6;
      if (count >= 16) {
        count -= 16;
        units.push_back(static_cast<uint16_t>(bits >> count));
        bits &= (1u << count) - 1;
      }
    }
    if (count >= 6 || bits != 0) return bad("a shifted run with bits left over");
    for (size_t k = 0; k < units.size(); ++k) {
      char32_t cp = units[k];
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (k + 1 == units.size() || units[k + 1] < 0xDC00 || units[k + 1] > 0xDFFF) {
          return bad("a lone surrogate");
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (units[++k] - 0xDC00);
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return bad("a lone surrogate");
      } else if (is_direct(cp)) {
        return bad("a printable ASCII character that needed no shift");
      }
      append_utf8(out, cp);
    }
    after_shift = true;
  }
  return out;
}

}  // namespace sotto::mail
