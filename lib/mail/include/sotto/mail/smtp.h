// SMTP submission (RFC 5321, RFC 6409) without I/O: the server's replies cut from its bytes,
// and the pieces of a transaction that must be exact (addresses, the DATA body).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/result.h"

namespace sotto::mail::smtp {

// One reply: "250-first\r\n250 last\r\n" is code 250 with lines {"first", "last"}.
struct Reply {
  int code = 0;
  std::vector<std::string> lines;

  bool positive() const { return code >= 200 && code < 400; }
  // In an EHLO reply: whether the server offers `keyword` (and, when given, `parameter`
  // among its parameters, as "AUTH PLAIN LOGIN" offers PLAIN). Case-insensitive.
  bool offers(std::string_view keyword, std::string_view parameter = {}) const;
};

class ReplyParser {
 public:
  void feed(std::string_view bytes);
  // The next complete reply, or nullopt until more bytes come. Errors (final): invalid_value
  // (not a reply: a bad code, a line that is not CRLF-terminated, codes that differ within a
  // reply), length_limit (a line over 2048 bytes or a reply over 256 lines).
  Result<std::optional<Reply>> next();
  size_t buffered() const { return buffer_.size(); }

 private:
  std::string buffer_;
  std::optional<Error> failed_;
};

// An address for MAIL FROM and RCPT TO: "local@domain", printable ASCII without spaces or
// angle brackets (what could end the command or the path early). Errors: invalid_argument.
Result<void> check_address(std::string_view address);

// The DATA body of `message` (CRLF line ends): lines that start with "." get another one,
// and the body ends with CRLF "." CRLF. Errors: invalid_argument (a bare CR or LF, or a NUL:
// a message must be canonical before it is sent).
Result<std::string> data_body(std::string_view message);

// What a negative reply means for the sender: unavailable (4xx: try again later),
// unauthenticated (530, 535), too_large (552), invalid_argument (any other 5xx).
Error reply_error(const Reply& reply, std::string_view what);

}  // namespace sotto::mail::smtp
