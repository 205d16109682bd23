// An IMAP connection over TCP and TLS (native only): implicit TLS or STARTTLS, never a
// password over plain text; the certificate checked against the system's CAs and the host
// name, against a given CA file, or accepted as it is only when the user said so. Each call
// blocks until the server answers or the step timeout passes; a timeout or a broken
// connection leaves the connection unusable (Errc::unavailable), as does a response that
// breaks the grammar.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sotto/core/result.h"
#include "sotto/mail/imap_response.h"
#include "sotto/mail/imap_session.h"
#include "sotto/mail/mailbox_cursor.h"

namespace sotto::mail {

class MailStream;

struct MailServerEndpoint {
  enum class Security : uint8_t { implicit_tls, starttls };

  std::string host;
  uint16_t port = 993;
  Security security = Security::implicit_tls;
  // Trust: a PEM file of CA (or self-signed) certificates instead of the system's CAs; and,
  // only when the user asked for it, any certificate at all.
  std::string ca_file;
  bool accept_any_certificate = false;
  std::chrono::milliseconds step_timeout{30000};
  // Where the connection goes instead of host:port, when set (as curl's --connect-to): a
  // name the system cannot resolve, or a server reached through a tunnel. TLS still checks
  // the certificate against `host`.
  std::string connect_host;
  uint16_t connect_port = 0;
};

// What SELECT reports of a mailbox.
struct MailboxState {
  uint32_t uid_validity = 0;
  uint32_t uid_next = 0;  // 0 when the server did not say
  uint32_t exists = 0;
};

// What arrived in a mailbox since a cursor.
struct NewMail {
  std::vector<imap::FetchedMessage> messages;  // in UID order
  // Past every message in `messages` and past the UIDs that vanished between SEARCH and FETCH.
  MailboxCursor cursor;
  bool restarted = false;  // UIDVALIDITY changed: this reads the mailbox again from the start
  bool more = false;       // more messages wait than were asked for: call again
};

class ImapConnection {
 public:
  // Connects, reads the greeting, starts TLS and learns the capabilities. Errors: unavailable
  // (no connection, TLS handshake or certificate refused, timeout, a server saying BYE),
  // unsupported (STARTTLS asked of a server that does not offer it), invalid_value (a response
  // that breaks the grammar).
  static Result<std::unique_ptr<ImapConnection>> connect(const MailServerEndpoint& endpoint);
  ~ImapConnection();
  ImapConnection(const ImapConnection&) = delete;
  ImapConnection& operator=(const ImapConnection&) = delete;

  // AUTHENTICATE PLAIN (with SASL-IR when offered), else LOGIN. Errors: unauthenticated (the
  // server refused the credentials), unsupported (neither mechanism offered, or the server
  // says LOGINDISABLED), and connect()'s.
  Result<void> login(const std::string& user, const std::string& password);

  // Runs `command` to its end. The untagged responses that came meanwhile are in `untagged`.
  // Errors: a NO or BAD answer as Errc::invalid_argument with the server's text (or
  // Errc::quota_exceeded for [OVERQUOTA], Errc::not_found for [NONEXISTENT]), and connect()'s.
  Result<imap::StatusText> run(const imap::Command& command,
                               std::vector<imap::Response>* untagged = nullptr);

  Result<MailboxState> select(const std::string& mailbox);
  // The messages with UIDs from `first_uid` on: UID, flags and the whole message, without
  // setting \Seen.
  Result<std::vector<imap::FetchedMessage>> fetch_from(uint32_t first_uid);
  // SELECTs `mailbox` and fetches, in UID order, at most `max_messages` of the messages at or
  // past `cursor` (none is marked \Seen). The caller stores them, then keeps the returned
  // cursor: a crash in between repeats messages, which it drops by Message-ID, and loses none.
  // Errors: invalid_value for a SEARCH answer that is not a list of UIDs, and run()'s.
  Result<NewMail> fetch_new(const std::string& mailbox, const MailboxCursor& cursor,
                            size_t max_messages = 32);
  // APPENDs `message` and returns its UID when the server says it (UIDPLUS), else 0.
  Result<uint32_t> append(const std::string& mailbox, const std::string& message,
                          const std::string& flags = "");

  // IDLE (RFC 2177) until the server reports something or `wait` passes, then DONE. Returns
  // what the server reported (EXISTS, EXPUNGE, FETCH, ...), empty when nothing happened.
  // Errors: unsupported (no IDLE capability), and connect()'s.
  Result<std::vector<imap::Response>> idle(std::chrono::milliseconds wait);

  // Waits for the selected mailbox to change, at most `wait`: IDLE when the server offers it,
  // else NOOP every `poll_every` (RFC 3501 section 6.1.2: NOOP is how a client without IDLE
  // learns of new mail). Returns what the server reported, empty when nothing changed.
  // Errors: connect()'s.
  Result<std::vector<imap::Response>> wait_for_change(
      std::chrono::milliseconds wait,
      std::chrono::milliseconds poll_every = std::chrono::seconds(30));
  // Whether wait_for_change polls (the server offers no IDLE).
  bool polls() const { return !has("IDLE"); }

  // LOGOUT, then closes; errors are of no consequence to the caller.
  void logout();

  bool has(const std::string& capability) const;
  bool encrypted() const;

 private:
  explicit ImapConnection(std::unique_ptr<MailStream> io);
  // The next response, or nullopt once `deadline` passed (the connection stays usable).
  Result<std::optional<imap::Response>> next_response(
      std::chrono::steady_clock::time_point deadline);
  // The next response within the step timeout; a timeout closes the connection.
  Result<imap::Response> next_response();
  // Untagged responses until the end of the command `tag`, whose status it returns.
  Result<imap::StatusText> wait_for(const std::string& tag, std::vector<imap::Response>* untagged);

  std::unique_ptr<MailStream> io_;
  imap::Session session_;
};

}  // namespace sotto::mail
