// What an IMAP server sends (RFC 9051 and RFC 3501, section 7 and the grammar of section 9),
// parsed without I/O: bytes go in as they arrive, complete responses come out. Literals
// ({n} and ~{n}) are read whole; a response that breaks the grammar or a limit is an error
// after which the connection cannot be trusted to be in step and must be closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/result.h"

namespace sotto::mail::imap {

// One value of a response: an atom (flags such as \Seen and fetch items such as
// BODY[HEADER]<0> are atoms too), a number, a string (quoted or literal, as its bytes), NIL or
// a parenthesized list.
struct Value {
  enum class Kind : uint8_t { atom, number, string, nil, list };
  Kind kind = Kind::nil;
  std::string text;  // atom or string
  uint64_t number = 0;
  std::vector<Value> list;

  // An atom equal to `name`, ignoring ASCII case.
  bool is_atom(std::string_view name) const;
  // A number that fits 32 bits (UIDs, sequence numbers, UIDVALIDITY).
  std::optional<uint32_t> as_uint32() const;
  // A string or an atom's text (IMAP lets a server send either as an astring).
  std::optional<std::string_view> as_astring() const;
};

enum class Status : uint8_t { ok, no, bad, bye, preauth };

// The status and text of a tagged or untagged condition: "OK [UIDVALIDITY 3857529045] text".
struct StatusText {
  Status status = Status::ok;
  std::string code;              // the response code's atom in upper case; "" when there is none
  std::vector<Value> code_args;  // its arguments, when they parse as values
  std::string text;              // the human-readable text (never to be parsed)
};

struct Response {
  enum class Kind : uint8_t {
    tagged,        // "A1 OK ...": the end of command A1
    status,        // "* OK ...", "* BYE ...", "* PREAUTH ..."
    numbered,      // "* 23 EXISTS", "* 5 EXPUNGE", "* 12 FETCH (...)"
    data,          // "* CAPABILITY ...", "* FLAGS (...)", "* SEARCH 2 3", "* LIST ..."
    continuation,  // "+ ...": the server waits for the rest of a command
  };
  Kind kind = Kind::status;
  std::string tag;            // tagged
  StatusText status;          // tagged, status
  uint64_t number = 0;        // numbered
  std::string name;           // numbered, data: "EXISTS", "FETCH", "CAPABILITY" (upper case)
  std::vector<Value> values;  // numbered, data: what follows the name
  std::string text;           // continuation: the text after "+ " (a base64 challenge, ...)
};

struct ParserLimits {
  size_t max_line = size_t{64} << 10;      // a response's bytes outside its literals
  size_t max_literals = size_t{64} << 20;  // the sum of one response's literals
  size_t max_depth = 16;                   // lists inside lists
};

// Feeds on the server's bytes and cuts them into responses.
class ResponseParser {
 public:
  explicit ResponseParser(ParserLimits limits = {}) : limits_(limits) {}

  void feed(std::string_view bytes);

  // The next complete response, or nullopt until more bytes arrive. Errors (final; every later
  // call returns the same): invalid_value (the bytes break the grammar), length_limit (a line,
  // a literal or a nesting over the limits).
  Result<std::optional<Response>> next();

  // Bytes received and not yet returned as a response.
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  ParserLimits limits_;
  std::string buffer_;
  size_t offset_ = 0;
  std::optional<Error> failed_;
};

// Parses exactly one complete response (with its CRLF) from `bytes`: the parser's grammar
// without the buffering, for tests and fuzzing. Errors as ResponseParser::next(), and truncated
// when `bytes` end inside the response.
Result<Response> parse_response(std::string_view bytes, const ParserLimits& limits = {});

// ---- reading common responses ----

// The message attributes of a FETCH response ("* 12 FETCH (UID 7 FLAGS (\Seen) BODY[] {..}")
// that Sotto asks for; anything else in it is skipped.
struct FetchedMessage {
  uint32_t sequence = 0;
  std::optional<uint32_t> uid;
  std::optional<std::vector<std::string>> flags;
  std::optional<uint64_t> size;     // RFC822.SIZE
  std::optional<std::string> body;  // BODY[] or BINARY[] (a NIL body stays empty)
};

// Errors: invalid_value (not a FETCH response, or attributes that break the grammar).
Result<FetchedMessage> read_fetch(const Response& response);

// The capabilities a response announces (a CAPABILITY data response or a [CAPABILITY ...]
// response code), in upper case; nullopt when it announces none.
std::optional<std::vector<std::string>> read_capabilities(const Response& response);

}  // namespace sotto::mail::imap
