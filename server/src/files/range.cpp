#include "files/range.h"

#include <limits>
#include <optional>

namespace sotto::server::files {
namespace {

constexpr uint64_t kSaturated = std::numeric_limits<uint64_t>::max();

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// 1*DIGIT; a value too large for 64 bits saturates, which the callers read as "past any
// file" (a first position) or "to the end" (a last position or a suffix length).
std::optional<uint64_t> parse_digits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    auto digit = static_cast<uint64_t>(c - '0');
    if (value > (kSaturated - digit) / 10) {
      value = kSaturated;
    } else {
      value = value * 10 + digit;
    }
  }
  return value;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

RangeRequest parse_range(std::string_view header, uint64_t size) {
  RangeRequest whole;
  header = trim(header);
  auto eq = header.find('=');
  if (eq == std::string_view::npos) return whole;
  if (!equals_ignoring_case(trim(header.substr(0, eq)), "bytes")) return whole;
  std::string_view set = trim(header.substr(eq + 1));
  // Several ranges would need a multipart/byteranges answer; clients of this API fetch one
  // range at a time, so the whole file is the simpler correct answer.
  if (set.find(',') != std::string_view::npos) return whole;
  auto dash = set.find('-');
  if (dash == std::string_view::npos) return whole;
  std::string_view first_text = trim(set.substr(0, dash));
  std::string_view last_text = trim(set.substr(dash + 1));

  RangeRequest unsatisfiable{RangeRequest::Kind::unsatisfiable, {}};
  if (first_text.empty()) {
    // bytes=-n: the last n bytes.
    auto suffix = parse_digits(last_text);
    if (!suffix) return whole;
    if (*suffix == 0 || size == 0) return unsatisfiable;
    uint64_t length = *suffix < size ? *suffix : size;
    return {RangeRequest::Kind::partial, {size - length, size - 1}};
  }
  auto first = parse_digits(first_text);
  if (!first) return whole;
  uint64_t last = kSaturated;
  if (!last_text.empty()) {
    auto parsed = parse_digits(last_text);
    if (!parsed) return whole;
    // RFC 9110 section 14.1.1: last < first makes the range invalid, so the header is ignored.
    if (*parsed < *first) return whole;
    last = *parsed;
  }
  if (*first >= size) return unsatisfiable;
  if (last >= size) last = size - 1;
  return {RangeRequest::Kind::partial, {*first, last}};
}

std::string content_range(const ByteRange& range, uint64_t size) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
         std::to_string(size);
}

std::string unsatisfied_content_range(uint64_t size) {
  return "bytes */" + std::to_string(size);
}

}  // namespace sotto::server::files
