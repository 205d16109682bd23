// QR codes drawn with text, for links a phone or another device should read off the screen.
#pragma once

#include <string>
#include <string_view>

#include "sotto/core/result.h"

namespace sotto::cli {

// `text` as a QR code (error correction M) of Unicode half blocks, two modules per character
// cell vertically, with the four-module quiet zone the standard asks around it. Each line
// sets its colours (light modules bright white on black: ESC[97;40m ... ESC[0m), so that the
// code reads the same on light and dark terminals. Lines end in '\n' except the last.
// Errc::invalid_argument when the text does not fit a QR code.
Result<std::string> terminal_qr(std::string_view text);

}  // namespace sotto::cli
