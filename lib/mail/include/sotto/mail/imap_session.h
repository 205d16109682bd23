// The client side of an IMAP conversation without I/O: commands become bytes to send, the
// server's bytes become responses. It numbers the tags, sends a command's synchronizing
// literals only after the server's continuation ("+"), or at once where the server announced
// LITERAL+ (RFC 7888), and keeps the capabilities the server announced last.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/result.h"
#include "sotto/mail/imap_response.h"

namespace sotto::mail::imap {

// A command with its arguments, each encoded as IMAP wants it.
class Command {
 public:
  // `name` is one or more atoms: "SELECT", "UID FETCH".
  explicit Command(std::string_view name);

  // Sent as it is: sequence sets, fetch item lists ("(UID FLAGS BODY.PEEK[])"), flags. Bytes
  // other than printable ASCII make the command invalid.
  Command& raw(std::string_view text);
  // An astring (mailbox names, user names): an atom where it can be one, else a quoted
  // string, else a literal (CR, LF, NUL or 8-bit bytes).
  Command& astring(std::string_view text);
  // Always a literal (APPEND's message).
  Command& literal(std::string_view bytes);

 private:
  friend class Session;
  struct Part {
    std::string text;  // text of the command line, up to the literal that ends this part
    std::optional<std::string> literal;
  };
  std::vector<Part> parts_;
  std::optional<Error> error_;
};

class Session {
 public:
  explicit Session(ParserLimits limits = {}) : parser_(limits) {}

  // Queues `command` and returns its tag ("S1", "S2", ...). Errors: invalid_argument (the
  // command is malformed, or an earlier one still waits for a continuation to send its
  // literal).
  Result<std::string> start(const Command& command);
  // A line of its own (an AUTHENTICATE response, or DONE to end an IDLE).
  Result<void> send_line(std::string_view line);

  // Bytes from the server.
  void receive(std::string_view bytes) { parser_.feed(bytes); }
  // The next response to act on, or nullopt until more bytes come. A continuation that a
  // literal waited for is consumed here (the literal goes to the output); any other one is
  // returned. Errors: the parser's (final).
  Result<std::optional<Response>> next();
  // Bytes to send to the server now; empty when there are none.
  std::string take_output();

  // The server's last announced capabilities (upper case), and one of them.
  const std::set<std::string>& capabilities() const { return capabilities_; }
  bool has(std::string_view capability) const;
  // Forgets the capabilities (after STARTTLS they must be asked again).
  void forget_capabilities() { capabilities_.clear(); }
  // Bytes received and not yet returned (after a STARTTLS OK they must be none).
  size_t buffered() const { return parser_.buffered(); }

 private:
  void write_part(const Command::Part& part, bool non_synchronizing);

  ResponseParser parser_;
  uint32_t next_tag_ = 1;
  std::string output_;
  // The rest of a command waiting for a continuation, and its tag.
  std::vector<Command::Part> waiting_;
  std::string waiting_tag_;
  std::set<std::string> capabilities_;
};

}  // namespace sotto::mail::imap
