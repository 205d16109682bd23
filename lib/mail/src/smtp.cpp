#include "sotto/mail/smtp.h"

#include "ascii.h"

namespace sotto::mail::smtp {

namespace {

constexpr size_t kMaxLine = 2048;
constexpr size_t kMaxLines = 256;

Error malformed(std::string_view what) {
  return Error(Errc::invalid_value, "SMTP reply: " + std::string(what));
}

bool digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

bool Reply::offers(std::string_view keyword, std::string_view parameter) const {
  // The first line is the server's greeting name; extensions follow.
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    size_t space = line.find(' ');
    if (!ascii::iequals(line.substr(0, space), keyword)) continue;
    if (parameter.empty()) return true;
    while (space != std::string_view::npos) {
      line.remove_prefix(space + 1);
      space = line.find(' ');
      if (ascii::iequals(line.substr(0, space), parameter)) return true;
    }
  }
  return false;
}

void ReplyParser::feed(std::string_view bytes) {
  buffer_.append(bytes);
}

Result<std::optional<Reply>> ReplyParser::next() {
  if (failed_) return *failed_;
  auto fail = [&](Error e) -> Result<std::optional<Reply>> {
    failed_ = e;
    return e;
  };
  Reply reply;
  size_t pos = 0;
  for (;;) {
    size_t end = buffer_.find("\r\n", pos);
    if (end == std::string::npos) {
      if (buffer_.size() - pos > kMaxLine) {
        return fail(Error(Errc::length_limit, "an SMTP reply line over 2048 bytes"));
      }
      return std::optional<Reply>();
    }
    std::string_view line = std::string_view(buffer_).substr(pos, end - pos);
    if (line.size() > kMaxLine) {
      return fail(Error(Errc::length_limit, "an SMTP reply line over 2048 bytes"));
    }
    if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) || line[0] < '2' ||
        line[0] > '5') {
      return fail(malformed("a line without a reply code"));
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!reply.lines.empty() && code != reply.code) {
      return fail(malformed("a reply whose lines carry different codes"));
    }
    reply.code = code;
    bool last = line.size() == 3 || line[3] == ' ';
    if (!last && line[3] != '-') return fail(malformed("a reply code without ' ' or '-'"));
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
    for (char c : text) {
      if (c == '\r' || c == '\n' || c == '\0') return fail(malformed("a CR, LF or NUL in text"));
    }
    reply.lines.emplace_back(text);
    if (reply.lines.size() > kMaxLines) {
      return fail(Error(Errc::length_limit, "an SMTP reply over 256 lines"));
    }
    pos = end + 2;
    if (last) break;
  }
  buffer_.erase(0, pos);
  return std::optional<Reply>(std::move(reply));
}

Result<void> check_address(std::string_view address) {
  size_t at = address.rfind('@');
  bool ok = !address.empty() && address.size() <= 254 && at != std::string_view::npos && at > 0 &&
            at + 1 < address.size();
  for (char c : address) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '<' || c == '>') ok = false;
  }
  if (!ok) return Error(Errc::invalid_argument, "not a mail address SMTP can carry");
  return success();
}

Result<std::string> data_body(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 5);
  bool line_start = true;
  for (size_t i = 0; i < message.size(); ++i) {
    char c = message[i];
    if (c == '\0') return Error(Errc::invalid_argument, "a NUL in a message to send");
    if (c == '\n') return Error(Errc::invalid_argument, "a bare LF in a message to send");
    if (c == '\r') {
      if (i + 1 >= message.size() || message[i + 1] != '\n') {
        return Error(Errc::invalid_argument, "a bare CR in a message to send");
      }
      out += "\r\n";
      ++i;
      line_start = true;
      continue;
    }
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = false;
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
  return out;
}

Error reply_error(const Reply& reply, std::string_view what) {
  std::string text;
  for (const auto& line : reply.lines) {
    if (!text.empty()) text += ' ';
    text += ascii::excerpt(line);
  }
  std::string message = std::string(what) + ": " + std::to_string(reply.code) + " " + text;
  if (reply.code >= 400 && reply.code < 500) return Error(Errc::unavailable, message);
  if (reply.code == 530 || reply.code == 535) return Error(Errc::unauthenticated, message);
  if (reply.code == 552) return Error(Errc::too_large, message);
  return Error(Errc::invalid_argument, message);
}

}  // namespace sotto::mail::smtp
