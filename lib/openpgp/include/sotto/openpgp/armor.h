// ASCII armor (RFC 9580 section 6): BEGIN/END lines, armor headers, base64 body and the
// optional CRC24 footer. Reading accepts LF or CRLF line ends and a missing CRC24; a CRC24 that
// is present is reported, not enforced, as section 6.1 asks. Writing emits no CRC24.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::openpgp {

struct Armored {
  std::string label;  // "MESSAGE", "PUBLIC KEY BLOCK", "PRIVATE KEY BLOCK", "SIGNATURE"
  std::vector<std::pair<std::string, std::string>> headers;
  Bytes data;
  std::optional<bool> checksum_matches;  // empty when there was no CRC24 footer
};

inline constexpr size_t kMaxArmorSize = size_t{96} << 20;

// The first armored block in `text` (text before it is ignored, as in a mail body).
// Errors: invalid_encoding (no BEGIN line, no END line or a different label, bad base64,
// malformed header line), length_limit (over kMaxArmorSize).
Result<Armored> dearmor(std::string_view text);

std::string armor(std::string_view label, BytesView data,
                  const std::vector<std::pair<std::string, std::string>>& headers = {});

// CRC24 of section 6.1.
uint32_t crc24(BytesView data);

}  // namespace sotto::openpgp
