#include "sotto/mail/imap_session.h"

#include <utility>

#include "ascii.h"

namespace sotto::mail::imap {

namespace {

bool printable(std::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) return false;
  }
  return true;
}

// Characters that may stand in an atom sent as an astring, leaving out those with meanings of
// their own (list wildcards, flags' backslash, sections) so that the server reads a name.
bool plain_atom(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    switch (c) {
      case '(':
      case ')':
      case '{':
      case '}':
      case '"':
      case '\\':
      case '%':
      case '*':
      case '[':
      case ']':
        return false;
      default:
        break;
    }
  }
  return true;
}

// RFC 7888: LITERAL- allows non-synchronizing literals up to 4096 bytes.
constexpr size_t kLiteralMinusLimit = 4096;

}  // namespace

Command::Command(std::string_view name) {
  parts_.push_back({});
  if (name.empty() || !printable(name)) {
    error_ = Error(Errc::invalid_argument, "an IMAP command name must be printable ASCII");
  }
  parts_.back().text = std::string(name);
}

Command& Command::raw(std::string_view text) {
  if (!printable(text)) {
    error_ = Error(Errc::invalid_argument, "an IMAP argument with a control or 8-bit byte");
  }
  parts_.back().text += ' ';
  parts_.back().text += text;
  return *this;
}

Command& Command::astring(std::string_view text) {
  if (plain_atom(text)) return raw(text);
  if (printable(text)) {
    std::string quoted = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    quoted += '"';
    return raw(quoted);
  }
  return literal(text);
}

Command& Command::literal(std::string_view bytes) {
  parts_.back().text += ' ';
  parts_.back().literal = std::string(bytes);
  parts_.push_back({});
  return *this;
}

bool Session::has(std::string_view capability) const {
  return capabilities_.count(ascii::upper(capability)) != 0;
}

void Session::write_part(const Command::Part& part, bool non_synchronizing) {
  output_ += part.text;
  if (!part.literal) return;
  output_ += '{';
  output_ += std::to_string(part.literal->size());
  if (non_synchronizing) output_ += '+';
  output_ += "}\r\n";
}

Result<std::string> Session::start(const Command& command) {
  if (command.error_) return *command.error_;
  if (!waiting_.empty()) {
    return Error(Errc::invalid_argument,
                 "an IMAP command still waits for the server to take its literal");
  }
  std::string tag = "S" + std::to_string(next_tag_++);
  std::vector<Command::Part> parts = command.parts_;
  parts.front().text.insert(0, tag + " ");
  parts.back().text += "\r\n";
  const bool plus = has("LITERAL+");
  const bool minus = has("LITERAL-");
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& part = parts[i];
    bool non_sync = part.literal && (plus || (minus && part.literal->size() <= kLiteralMinusLimit));
    write_part(part, non_sync);
    if (!part.literal) continue;
    if (non_sync) {
      output_ += *part.literal;
      continue;
    }
    // The literal and what follows wait for the server's "+".
    waiting_.assign(parts.begin() + static_cast<std::ptrdiff_t>(i), parts.end());
    waiting_tag_ = tag;
    break;
  }
  return tag;
}

Result<void> Session::send_line(std::string_view line) {
  if (!printable(line)) {
    return Error(Errc::invalid_argument, "an IMAP line with a control or 8-bit byte");
  }
  output_ += line;
  output_ += "\r\n";
  return success();
}

Result<std::optional<Response>> Session::next() {
  for (;;) {
    SOTTO_TRY_ASSIGN(std::optional<Response> r, parser_.next());
    if (!r) return r;
    if (auto caps = read_capabilities(*r)) {
      capabilities_.clear();
      capabilities_.insert(caps->begin(), caps->end());
    }
    if (r->kind == Response::Kind::continuation && !waiting_.empty()) {
      // The literal that waited, then the rest of the command up to its next synchronizing
      // literal.
      output_ += *waiting_.front().literal;
      waiting_.erase(waiting_.begin());
      while (!waiting_.empty()) {
        const auto& part = waiting_.front();
        write_part(part, false);
        if (part.literal) break;
        waiting_.erase(waiting_.begin());
      }
      continue;
    }
    if (r->kind == Response::Kind::tagged && r->tag == waiting_tag_) {
      waiting_.clear();  // refused before its literal was sent
    }
    return r;
  }
}

std::string Session::take_output() {
  return std::exchange(output_, std::string());
}

}  // namespace sotto::mail::imap
