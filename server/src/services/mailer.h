// Where one-time codes (e-mail verification, account recovery) go. Without an SMTP host the
// code is written to the log at info level, so that a small server works without mail and
// tests can read it; the log names the account only by a hash of its id.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config.h"
#include "sotto/core/bytes.h"

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
// The mailer the settings ask for. SMTP submission is not implemented yet: with a host set,
// this warns once and writes codes to the log.
std::unique_ptr<Mailer> make_mailer(const SmtpSettings& settings);

// The first 8 hex digits of SHA-256(account id): enough for an operator to tell accounts
// apart in a log, without the id itself.
std::string account_log_tag(BytesView account_id);

}  // namespace sotto::server
