#include "sotto/openpgp/armor.h"

#include "sotto/core/encoding.h"

namespace sotto::openpgp {

namespace {

constexpr std::string_view kDashes = "-----";

Error bad_armor(const std::string& why) { return Error(Errc::invalid_encoding, "armor: " + why); }

// Splits off the next line (without its LF or CRLF); false at the end of the text.
bool next_line(std::string_view& text, std::string_view& line) {
  if (text.empty()) return false;
  const size_t lf = text.find('\n');
  line = text.substr(0, lf);
  text = lf == std::string_view::npos ? std::string_view{} : text.substr(lf + 1);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  return true;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

uint32_t crc24(BytesView data) {
  uint32_t crc = 0xb704ce;
  for (uint8_t byte : data) {
    crc ^= uint32_t{byte} << 16;
    for (int i = 0; i < 8; ++i) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

Result<Armored> dearmor(std::string_view text) {
  if (text.size() > kMaxArmorSize) return Error(Errc::length_limit, "armor over the size limit");
  Armored out;
  std::string_view line;
  bool found = false;
  while (next_line(text, line)) {
    if (starts_with(line, "-----BEGIN PGP ") && line.size() > 20 &&
        line.substr(line.size() - 5) == kDashes) {
      out.label = std::string(line.substr(15, line.size() - 20));
      found = true;
      break;
    }
  }
  if (!found) return bad_armor("no BEGIN PGP line");
  // Armor headers, up to the first empty line.
  bool blank = false;
  while (next_line(text, line)) {
    if (line.empty()) {
      blank = true;
      break;
    }
    const size_t colon = line.find(": ");
    if (colon == std::string_view::npos || colon == 0) {
      return bad_armor("a header line that is not \"Key: Value\"");
    }
    out.headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
  }
  if (!blank) return bad_armor("no blank line after the headers");
  std::string body;
  std::optional<std::string> crc_text;
  const std::string end = "-----END PGP " + out.label + "-----";
  bool ended = false;
  while (next_line(text, line)) {
    if (starts_with(line, kDashes)) {
      if (line != end) return bad_armor("the END line does not match the BEGIN line");
      ended = true;
      break;
    }
    if (crc_text) return bad_armor("text after the checksum line");
    if (starts_with(line, "=")) {
      crc_text = std::string(line.substr(1));
      continue;
    }
    body.append(line);
  }
  if (!ended) return bad_armor("no END line");
  auto data = from_base64(body);
  if (!data.ok()) return bad_armor("the body is not base64");
  out.data = std::move(data).value();
  if (crc_text) {
    auto crc = from_base64(*crc_text);
    if (!crc.ok() || crc->size() != 3) return bad_armor("a malformed checksum line");
    const uint32_t want = (uint32_t{(*crc)[0]} << 16) | (uint32_t{(*crc)[1]} << 8) | (*crc)[2];
    out.checksum_matches = want == crc24(out.data);
  }
  return out;
}

std::string armor(std::string_view label, BytesView data,
                  const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out = "-----BEGIN PGP " + std::string(label) + "-----\n";
  for (const auto& [key, value] : headers) out += key + ": " + value + "\n";
  out += "\n";
  const std::string b64 = to_base64(data);
  for (size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64);
    out += "\n";
  }
  out += "-----END PGP " + std::string(label) + "-----\n";
  return out;
}

}  // namespace sotto::openpgp
