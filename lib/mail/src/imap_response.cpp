#include "sotto/mail/imap_response.h"

#include <utility>

#include "ascii.h"

namespace sotto::mail::imap {

namespace {

// An incomplete response: more bytes may complete it. Never leaves this file as such except
// through parse_response().
Error incomplete() {
  return Error(Errc::truncated, "the response is incomplete");
}

Error malformed(std::string_view what) {
  return Error(Errc::invalid_value, "IMAP response: " + std::string(what));
}

bool is_atom_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;  // CTL, SP, DEL and 8-bit
  switch (c) {
    case '(':
    case ')':
    case '{':
    case '"':
    case ']':
      return false;
    default:
      return true;
  }
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A recursive-descent reader over the bytes received so far. Running out of bytes is
// incomplete(); the limits are checked as it goes, so that an endless line fails early.
class Reader {
 public:
  Reader(std::string_view bytes, const ParserLimits& limits) : s_(bytes), limits_(limits) {}

  size_t position() const { return pos_; }

  Result<Response> response() {
    SOTTO_TRY_ASSIGN(char first, peek());
    Response r;
    if (first == '+') {
      ++pos_;
      r.kind = Response::Kind::continuation;
      SOTTO_TRY_ASSIGN(char c, peek());
      if (c == ' ') ++pos_;
      SOTTO_TRY_ASSIGN(r.text, text_to_crlf());
      return r;
    }
    if (first == '*') {
      ++pos_;
      SOTTO_TRY(expect(' '));
      SOTTO_TRY_ASSIGN(std::string word, atom());
      if (all_digits(word)) {
        SOTTO_TRY_ASSIGN(r.number, number_of(word));
        r.kind = Response::Kind::numbered;
        SOTTO_TRY(expect(' '));
        SOTTO_TRY_ASSIGN(std::string name, atom());
        r.name = ascii::upper(name);
        SOTTO_TRY(data_values(r.values));
        return r;
      }
      if (auto status = status_of(word)) {
        r.kind = Response::Kind::status;
        r.status.status = *status;
        SOTTO_TRY(resp_text(r.status));
        return r;
      }
      r.kind = Response::Kind::data;
      r.name = ascii::upper(word);
      SOTTO_TRY(data_values(r.values));
      return r;
    }
    r.kind = Response::Kind::tagged;
    SOTTO_TRY_ASSIGN(r.tag, atom());
    if (r.tag.find_first_of("+[") != std::string::npos) return malformed("a tag with + or [");
    SOTTO_TRY(expect(' '));
    SOTTO_TRY_ASSIGN(std::string word, atom());
    auto status = status_of(word);
    if (!status || (*status != Status::ok && *status != Status::no && *status != Status::bad)) {
      return malformed("a tagged response that is not OK, NO or BAD");
    }
    r.status.status = *status;
    SOTTO_TRY(resp_text(r.status));
    return r;
  }

  // Values separated by SP up to CRLF, for a response code's arguments.
  Result<std::vector<Value>> values_to_crlf() {
    std::vector<Value> out;
    for (;;) {
      SOTTO_TRY_ASSIGN(Value v, value(0));
      out.push_back(std::move(v));
      SOTTO_TRY_ASSIGN(char c, peek());
      if (c == '\r') break;
      SOTTO_TRY(expect(' '));
    }
    SOTTO_TRY(crlf());
    return out;
  }

 private:
  Result<char> peek() {
    if (pos_ >= s_.size()) return incomplete();
    if (pos_ - literal_bytes_ >= limits_.max_line) {
      return Error(Errc::length_limit,
                   "an IMAP response line over " + std::to_string(limits_.max_line) + " bytes");
    }
    return s_[pos_];
  }

  Result<void> expect(char c) {
    SOTTO_TRY_ASSIGN(char got, peek());
    if (got != c) return malformed(std::string("expected '") + c + "'");
    ++pos_;
    return success();
  }

  Result<void> crlf() {
    SOTTO_TRY(expect('\r'));
    SOTTO_TRY_ASSIGN(char c, peek());
    if (c != '\n') return malformed("a CR without LF");
    ++pos_;
    return success();
  }

  static std::optional<Status> status_of(std::string_view word) {
    if (ascii::iequals(word, "OK")) return Status::ok;
    if (ascii::iequals(word, "NO")) return Status::no;
    if (ascii::iequals(word, "BAD")) return Status::bad;
    if (ascii::iequals(word, "BYE")) return Status::bye;
    if (ascii::iequals(word, "PREAUTH")) return Status::preauth;
    return std::nullopt;
  }

  static Result<uint64_t> number_of(std::string_view digits) {
    uint64_t n = 0;
    for (char c : digits) {
      uint64_t d = static_cast<uint64_t>(c - '0');
      if (n > (UINT64_MAX - d) / 10) return malformed("a number over 64 bits");
      n = n * 10 + d;
    }
    return n;
  }

  // Text up to CRLF, which is consumed. Lone CR or LF and NUL are refused.
  Result<std::string> text_to_crlf() {
    size_t start = pos_;
    for (;;) {
      SOTTO_TRY_ASSIGN(char c, peek());
      if (c == '\r') break;
      if (c == '\n' || c == '\0') return malformed("a bare LF or a NUL in text");
      ++pos_;
    }
    std::string text(s_.substr(start, pos_ - start));
    SOTTO_TRY(crlf());
    return text;
  }

  // An atom: atom characters, where '[' opens a section (of a fetch item such as
  // BODY[HEADER.FIELDS (FROM)]<0>) read up to its ']' and an optional <partial>.
  Result<std::string> atom() {
    size_t start = pos_;
    for (;;) {
      SOTTO_TRY_ASSIGN(char c, peek());
      if (c == '[' && pos_ > start) {
        ++pos_;
        for (;;) {
          SOTTO_TRY_ASSIGN(char d, peek());
          if (d == ']') break;
          if (d == '\r' || d == '\n' || d == '\0' || d == '[') {
            return malformed("an unterminated section");
          }
          ++pos_;
        }
        ++pos_;
        SOTTO_TRY_ASSIGN(char e, peek());
        if (e == '<') {
          ++pos_;
          for (;;) {
            SOTTO_TRY_ASSIGN(char d, peek());
            if (d == '>') break;
            if ((d < '0' || d > '9') && d != '.') return malformed("a bad partial range");
            ++pos_;
          }
          ++pos_;
        }
        break;
      }
      if (!is_atom_char(c)) break;
      ++pos_;
    }
    if (pos_ == start) return malformed("expected an atom");
    return std::string(s_.substr(start, pos_ - start));
  }

  Result<std::string> quoted() {
    ++pos_;  // the opening quote
    std::string out;
    for (;;) {
      SOTTO_TRY_ASSIGN(char c, peek());
      ++pos_;
      if (c == '"') return out;
      if (c == '\\') {
        SOTTO_TRY_ASSIGN(char e, peek());
        if (e != '"' && e != '\\') return malformed("a bad escape in a quoted string");
        ++pos_;
        out += e;
        continue;
      }
      if (c == '\r' || c == '\n' || c == '\0') return malformed("CR, LF or NUL in a quoted string");
      out += c;
    }
  }

  Result<std::string> literal() {
    if (s_[pos_] == '~') ++pos_;  // literal8: binary, read alike
    SOTTO_TRY(expect('{'));
    size_t start = pos_;
    for (;;) {
      SOTTO_TRY_ASSIGN(char c, peek());
      if (c < '0' || c > '9') break;
      ++pos_;
      if (pos_ - start > 19) return malformed("a literal length over 19 digits");
    }
    std::string_view digits = s_.substr(start, pos_ - start);
    if (digits.empty()) return malformed("a literal without a length");
    SOTTO_TRY_ASSIGN(uint64_t length, number_of(digits));
    SOTTO_TRY_ASSIGN(char c, peek());
    if (c == '+') ++pos_;
    SOTTO_TRY(expect('}'));
    SOTTO_TRY(crlf());
    if (length > limits_.max_literals - literal_bytes_) {
      return Error(
          Errc::length_limit,
          "IMAP literals over " + std::to_string(limits_.max_literals) + " bytes in one response");
    }
    if (s_.size() - pos_ < length) return incomplete();
    std::string out(s_.substr(pos_, static_cast<size_t>(length)));
    pos_ += static_cast<size_t>(length);
    literal_bytes_ += static_cast<size_t>(length);
    return out;
  }

  Result<Value> value(size_t depth) {
    SOTTO_TRY_ASSIGN(char c, peek());
    Value v;
    if (c == '(') {
      if (depth >= limits_.max_depth) {
        return Error(Errc::length_limit,
                     "IMAP lists nested deeper than " + std::to_string(limits_.max_depth));
      }
      ++pos_;
      v.kind = Value::Kind::list;
      for (;;) {
        SOTTO_TRY_ASSIGN(char d, peek());
        if (d == ')') break;
        if (!v.list.empty()) SOTTO_TRY(expect(' '));
        SOTTO_TRY_ASSIGN(Value item, value(depth + 1));
        v.list.push_back(std::move(item));
      }
      ++pos_;
      return v;
    }
    if (c == '"') {
      v.kind = Value::Kind::string;
      SOTTO_TRY_ASSIGN(v.text, quoted());
      return v;
    }
    if (c == '{' || c == '~') {
      v.kind = Value::Kind::string;
      SOTTO_TRY_ASSIGN(v.text, literal());
      return v;
    }
    SOTTO_TRY_ASSIGN(std::string word, atom());
    if (ascii::iequals(word, "NIL")) return v;
    if (all_digits(word)) {
      v.kind = Value::Kind::number;
      SOTTO_TRY_ASSIGN(v.number, number_of(word));
      return v;
    }
    v.kind = Value::Kind::atom;
    v.text = std::move(word);
    return v;
  }

  // (SP value)* CRLF after a data name; a trailing space before CRLF is tolerated, as some
  // servers send "* SEARCH " for no results.
  Result<void> data_values(std::vector<Value>& out) {
    for (;;) {
      SOTTO_TRY_ASSIGN(char c, peek());
      if (c == '\r') return crlf();
      SOTTO_TRY(expect(' '));
      SOTTO_TRY_ASSIGN(char d, peek());
      if (d == '\r') return crlf();
      SOTTO_TRY_ASSIGN(Value v, value(0));
      out.push_back(std::move(v));
    }
  }

  // [SP] ["[" code [SP args] "]" SP] text CRLF
  Result<void> resp_text(StatusText& out) {
    SOTTO_TRY_ASSIGN(char c, peek());
    if (c == '\r') return crlf();
    SOTTO_TRY(expect(' '));
    SOTTO_TRY_ASSIGN(char d, peek());
    if (d == '[') {
      ++pos_;
      size_t start = pos_;
      for (;;) {
        SOTTO_TRY_ASSIGN(char e, peek());
        if (e == ']') break;
        if (e == '\r' || e == '\n' || e == '\0') return malformed("an unterminated response code");
        ++pos_;
      }
      std::string_view inside = s_.substr(start, pos_ - start);
      ++pos_;
      size_t space = inside.find(' ');
      out.code = ascii::upper(inside.substr(0, space));
      if (out.code.empty()) return malformed("an empty response code");
      if (space != std::string_view::npos) {
        // Arguments that are not values (free text) are kept out of code_args.
        std::string line = std::string(inside.substr(space + 1)) + "\r\n";
        Reader args(line, limits_);
        auto parsed = args.values_to_crlf();
        if (parsed.ok() && args.position() == line.size()) {
          out.code_args = std::move(parsed).value();
        }
      }
      SOTTO_TRY_ASSIGN(char e, peek());
      if (e == ' ') ++pos_;
    }
    SOTTO_TRY_ASSIGN(out.text, text_to_crlf());
    return success();
  }

  std::string_view s_;
  const ParserLimits& limits_;
  size_t pos_ = 0;
  size_t literal_bytes_ = 0;
};

Result<Response> parse_one(std::string_view bytes, const ParserLimits& limits, size_t& used) {
  Reader reader(bytes, limits);
  SOTTO_TRY_ASSIGN(Response r, reader.response());
  used = reader.position();
  return r;
}

}  // namespace

bool Value::is_atom(std::string_view name) const {
  return kind == Kind::atom && ascii::iequals(text, name);
}

std::optional<uint32_t> Value::as_uint32() const {
  if (kind != Kind::number || number > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(number);
}

std::optional<std::string_view> Value::as_astring() const {
  if (kind == Kind::string || kind == Kind::atom) return std::string_view(text);
  return std::nullopt;
}

void ResponseParser::feed(std::string_view bytes) {
  if (offset_ > 0 && offset_ >= buffer_.size() / 2) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes);
}

Result<std::optional<Response>> ResponseParser::next() {
  if (failed_) return *failed_;
  size_t used = 0;
  auto parsed = parse_one(std::string_view(buffer_).substr(offset_), limits_, used);
  if (!parsed.ok()) {
    if (parsed.error().code() == Errc::truncated) return std::optional<Response>();
    failed_ = parsed.error();
    return *failed_;
  }
  offset_ += used;
  return std::optional<Response>(std::move(parsed).value());
}

Result<Response> parse_response(std::string_view bytes, const ParserLimits& limits) {
  size_t used = 0;
  SOTTO_TRY_ASSIGN(Response r, parse_one(bytes, limits, used));
  if (used != bytes.size()) return Error(Errc::trailing_bytes, "bytes after the response");
  return r;
}

Result<FetchedMessage> read_fetch(const Response& response) {
  if (response.kind != Response::Kind::numbered || response.name != "FETCH" ||
      response.values.size() != 1 || response.values[0].kind != Value::Kind::list) {
    return malformed("not a FETCH response");
  }
  if (response.number == 0 || response.number > UINT32_MAX) {
    return malformed("a FETCH of sequence number 0 or over 32 bits");
  }
  FetchedMessage m;
  m.sequence = static_cast<uint32_t>(response.number);
  const auto& items = response.values[0].list;
  if (items.size() % 2 != 0) return malformed("a FETCH item without a value");
  for (size_t i = 0; i < items.size(); i += 2) {
    const Value& name = items[i];
    const Value& v = items[i + 1];
    if (name.kind != Value::Kind::atom) return malformed("a FETCH item name that is not an atom");
    if (name.is_atom("UID")) {
      auto uid = v.as_uint32();
      if (!uid || *uid == 0) return malformed("a UID that is not a non-zero 32-bit number");
      m.uid = uid;
    } else if (name.is_atom("FLAGS")) {
      if (v.kind != Value::Kind::list) return malformed("FLAGS that are not a list");
      std::vector<std::string> flags;
      for (const auto& f : v.list) {
        if (f.kind != Value::Kind::atom) return malformed("a flag that is not an atom");
        flags.push_back(f.text);
      }
      m.flags = std::move(flags);
    } else if (name.is_atom("RFC822.SIZE")) {
      if (v.kind != Value::Kind::number) return malformed("an RFC822.SIZE that is not a number");
      m.size = v.number;
    } else if (name.is_atom("BODY[]") || name.is_atom("BINARY[]") || name.is_atom("RFC822")) {
      if (v.kind == Value::Kind::nil) {
        m.body = std::string();
      } else if (v.kind == Value::Kind::string) {
        m.body = v.text;
      } else {
        return malformed("a message body that is not a string");
      }
    }
  }
  return m;
}

std::optional<std::vector<std::string>> read_capabilities(const Response& response) {
  const std::vector<Value>* values = nullptr;
  if (response.kind == Response::Kind::data && response.name == "CAPABILITY") {
    values = &response.values;
  } else if ((response.kind == Response::Kind::tagged || response.kind == Response::Kind::status) &&
             response.status.code == "CAPABILITY") {
    values = &response.status.code_args;
  }
  if (values == nullptr) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : *values) {
    if (v.kind == Value::Kind::atom) out.push_back(ascii::upper(v.text));
  }
  return out;
}

}  // namespace sotto::mail::imap
