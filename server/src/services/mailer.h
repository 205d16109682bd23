// Where one-time codes (e-mail verification, account recovery) go. With an SMTP host
// configured they are mailed by SMTP submission over TLS, from a worker thread so that the
// network threads never wait for a mail server. Without one, the code is written to the log at
// info level, so that a small server works without mail and tests can read it; the log names
// the account only by a hash of its id.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "config.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::server {

enum class MailPurpose { email_verification, account_recovery };

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Sends `code` to `email`. Never fails to the caller: a lost mail is retried by the user
  // asking again.
  virtual void send_code(BytesView account_id, std::string_view email, MailPurpose purpose,
                         std::string_view code) = 0;
};

// Writes codes to the log.
std::unique_ptr<Mailer> make_log_mailer();
// The mailer the settings ask for: SMTP when a host is set, else the log.
std::unique_ptr<Mailer> make_mailer(const SmtpSettings& settings);

// The first 8 hex digits of SHA-256(account id): enough for an operator to tell accounts
// apart in a log, without the id itself.
std::string account_log_tag(BytesView account_id);

// How long a mailed code stays valid; the mail tells the reader.
inline constexpr std::chrono::hours kMailedCodeValidity{1};

// True for a bare address (local@domain) that is safe in a header and an SMTP command:
// printable ASCII without spaces, angle brackets, commas, quotes or other specials, so that
// no CR/LF or second recipient can be smuggled in.
bool is_plain_mail_address(std::string_view address);

// "Sun, 22 Nov 2026 19:41:21 +0000": the RFC 5322 date of `time`, in UTC.
std::string rfc5322_date(std::chrono::system_clock::time_point time);

// The whole message (headers and a short text/plain body, CRLF line ends) that mails `code`
// for `purpose` from `from` to `to`. `unique` makes the Message-ID's left part (random bytes,
// as hex, from the caller). Fails on an address that is_plain_mail_address rejects.
Result<std::string> compose_code_mail(std::string_view from, std::string_view to,
                                      MailPurpose purpose, std::string_view code,
                                      std::chrono::system_clock::time_point now, BytesView unique);

// The URL libcurl is given: smtp://HOST:PORT (STARTTLS required) or smtps://HOST:PORT
// (implicit TLS), an IPv6 host in brackets.
std::string smtp_url(const SmtpSettings& settings);

}  // namespace sotto::server
