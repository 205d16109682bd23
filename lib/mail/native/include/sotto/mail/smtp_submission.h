// Sending a mail by SMTP submission (RFC 6409) over implicit TLS (port 465) or STARTTLS
// (port 587), with AUTH PLAIN; the same trust rules as IMAP (imap_connection.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/result.h"
#include "sotto/mail/imap_connection.h"

namespace sotto::mail {

struct Envelope {
  std::string from;
  std::vector<std::string> to;
};

// One connection, one message: EHLO, TLS, AUTH PLAIN, MAIL FROM, RCPT TO for each recipient,
// DATA, QUIT. When the server refuses any recipient, nothing is sent to anyone (RSET), so
// that a retry from the outbox cannot deliver twice. Errors: invalid_argument (a bad address
// or message, or a refusal: 5xx), unauthenticated (the credentials), too_large, unavailable
// (no connection, TLS refused, a timeout, a 4xx: try again later), unsupported (no STARTTLS
// or no AUTH PLAIN offered).
Result<void> submit(const MailServerEndpoint& endpoint, const std::string& user,
                    const std::string& password, const Envelope& envelope,
                    std::string_view message);

// Connects, starts TLS, logs in and says QUIT, sending nothing: whether the server takes
// these credentials. Errors: submit()'s.
Result<void> check_login(const MailServerEndpoint& endpoint, const std::string& user,
                         const std::string& password);

}  // namespace sotto::mail
