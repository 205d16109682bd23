#include "qr.h"

#include <qrencode.h>

#include <memory>
#include <vector>

namespace sotto::cli {

Result<std::string> terminal_qr(std::string_view text) {
  const std::string copy(text);  // qrencode wants a NUL-terminated string
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString8bit(copy.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
  if (!code) return Error(Errc::invalid_argument, "the text does not fit in a QR code");
  constexpr int kQuiet = 4;
  const int width = code->width;
  const int size = width + 2 * kQuiet;
  // Dark modules as true; the quiet zone is light.
  auto dark = [&](int x, int y) {
    x -= kQuiet;
    y -= kQuiet;
    if (x < 0 || y < 0 || x >= width || y >= width) return false;
    return (code->data[y * width + x] & 1) != 0;
  };
  // Light modules are the foreground (bright white) and dark ones the background (black),
  // set on every line, so that the code looks the same on light and dark terminals.
  std::string out;
  for (int y = 0; y < size; y += 2) {
    if (!out.empty()) out += '\n';
    out += "\x1b[97;40m";
    for (int x = 0; x < size; ++x) {
      const bool top = !dark(x, y);
      const bool bottom = y + 1 < size && !dark(x, y + 1);
      out += top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ";
    }
    out += "\x1b[0m";
  }
  return out;
}

}  // namespace sotto::cli
