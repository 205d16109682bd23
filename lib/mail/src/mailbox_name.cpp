#include "sotto/mail/mailbox_name.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/encoding.h"
#include "sotto/core/utf8.h"

namespace sotto::mail {

namespace {

bool is_direct(char32_t c) {
  return c >= 0x20 && c <= 0x7e;  // '&' too, but written as "&-"
}

Error bad(std::string_view why) {
  return Error(Errc::invalid_value, "a mailbox name in modified UTF-7: " + std::string(why));
}

// The UTF-16 code units in base64 with "," for "/" and without padding, between "&" and "-".
void write_shifted(std::string& out, const std::vector<uint16_t>& units) {
  Bytes bytes;
  for (uint16_t u : units) {
    bytes.push_back(static_cast<uint8_t>(u >> 8));
    bytes.push_back(static_cast<uint8_t>(u & 0xff));
  }
  std::string run = to_base64(bytes);
  while (!run.empty() && run.back() == '=') run.pop_back();
  std::replace(run.begin(), run.end(), '/', ',');
  out += '&' + run + '-';
}

// The UTF-16 code units of a shifted run (what stands between "&" and "-"). Base64's own
// strictness (no impossible length, no bits left over) makes one run per sequence of units;
// an odd number of bytes is a code unit cut in half.
Result<std::vector<uint16_t>> read_shifted(std::string_view run) {
  if (run.find_first_of("/=") != std::string_view::npos) {
    return bad("a character outside modified base64");
  }
  std::string padded(run);
  std::replace(padded.begin(), padded.end(), ',', '/');
  padded.append((4 - padded.size() % 4) % 4, '=');
  auto bytes = from_base64(padded);
  if (!bytes.ok() || bytes->size() % 2 != 0) {
    return bad("a shifted run that is not whole UTF-16 in modified base64");
  }
  std::vector<uint16_t> units;
  for (size_t k = 0; k < bytes->size(); k += 2) {
    units.push_back(static_cast<uint16_t>(((*bytes)[k] << 8) | (*bytes)[k + 1]));
  }
  return units;
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
    SOTTO_TRY_ASSIGN(std::vector<uint16_t> units, read_shifted(run));
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
