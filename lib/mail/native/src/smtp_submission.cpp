#include "sotto/mail/smtp_submission.h"

#include <utility>

#include "mail_stream.h"
#include "sotto/mail/sasl.h"
#include "sotto/mail/smtp.h"

namespace sotto::mail {

namespace {

class SmtpClient {
 public:
  explicit SmtpClient(const MailServerEndpoint& endpoint)
      : endpoint_(endpoint), stream_("SMTP", endpoint.step_timeout) {}

  MailStream& stream() { return stream_; }

  Result<smtp::Reply> reply() {
    const auto deadline = Clock::now() + stream_.timeout();
    for (;;) {
      auto r = parser_.next();
      if (!r.ok()) {
        stream_.close();
        return std::move(r).error();
      }
      if (r.value()) return std::move(*r.value());
      SOTTO_TRY_ASSIGN(std::string bytes, stream_.read(deadline));
      if (bytes.empty()) {
        stream_.close();
        return mail_unavailable("SMTP", "the server did not answer in time");
      }
      parser_.feed(bytes);
    }
  }

  // Sends `line` and CRLF; the reply, which must be `expected` (2xx when 0, or the code).
  Result<smtp::Reply> command(std::string line, std::string_view what, int expected = 0) {
    line += "\r\n";
    SOTTO_TRY(stream_.write(line));
    SOTTO_TRY_ASSIGN(smtp::Reply r, reply());
    bool ok = expected == 0 ? (r.code >= 200 && r.code < 300) : r.code == expected;
    if (!ok) return smtp::reply_error(r, what);
    return r;
  }

  size_t buffered() const { return parser_.buffered(); }

 private:
  const MailServerEndpoint& endpoint_;
  MailStream stream_;
  smtp::ReplyParser parser_;
};

// The name this client gives in EHLO: nothing about the user or the machine.
constexpr const char* kEhlo = "EHLO [127.0.0.1]";

// Connects, starts TLS and logs in: the session then takes MAIL FROM.
Result<void> log_in(SmtpClient& c, const MailServerEndpoint& endpoint, const std::string& user,
                    const std::string& password) {
  SOTTO_TRY(c.stream().connect(endpoint));
  const bool implicit = endpoint.security == MailServerEndpoint::Security::implicit_tls;
  if (implicit) SOTTO_TRY(c.stream().start_tls(endpoint));
  SOTTO_TRY_ASSIGN(smtp::Reply greeting, c.reply());
  if (greeting.code != 220) return smtp::reply_error(greeting, "the SMTP server's greeting");
  SOTTO_TRY_ASSIGN(smtp::Reply ehlo, c.command(kEhlo, "EHLO"));
  if (!implicit) {
    if (!ehlo.offers("STARTTLS")) {
      return Error(Errc::unsupported,
                   "the SMTP server does not offer STARTTLS; Sotto sends no password in clear");
    }
    SOTTO_TRY(c.command("STARTTLS", "STARTTLS", 220));
    if (c.buffered() != 0) {
      c.stream().close();
      return Error(Errc::invalid_value, "SMTP: bytes in clear after STARTTLS's answer");
    }
    SOTTO_TRY(c.stream().start_tls(endpoint));
    SOTTO_TRY_ASSIGN(ehlo, c.command(kEhlo, "EHLO"));
  }
  if (!ehlo.offers("AUTH", "PLAIN")) {
    return Error(Errc::unsupported, "the SMTP server does not offer AUTH PLAIN");
  }
  std::string encoded = sasl_plain(user, password);
  std::string line = "AUTH PLAIN " + encoded;
  secure_wipe(encoded.data(), encoded.size());
  auto auth = c.command(std::move(line), "AUTH PLAIN", 235);
  if (!auth.ok()) {
    if (auth.error().code() == Errc::invalid_argument) {
      return Error(Errc::unauthenticated, auth.error().message());
    }
    return std::move(auth).error();
  }
  return success();
}

}  // namespace

Result<void> check_login(const MailServerEndpoint& endpoint, const std::string& user,
                         const std::string& password) {
  SmtpClient c(endpoint);
  SOTTO_TRY(log_in(c, endpoint, user, password));
  (void)c.command("QUIT", "QUIT");
  return success();
}

Result<void> submit(const MailServerEndpoint& endpoint, const std::string& user,
                    const std::string& password, const Envelope& envelope,
                    std::string_view message) {
  SOTTO_TRY(smtp::check_address(envelope.from));
  if (envelope.to.empty()) return Error(Errc::invalid_argument, "a mail without recipients");
  for (const auto& to : envelope.to) SOTTO_TRY(smtp::check_address(to));
  SOTTO_TRY_ASSIGN(std::string body, smtp::data_body(message));

  SmtpClient c(endpoint);
  SOTTO_TRY(log_in(c, endpoint, user, password));
  SOTTO_TRY(c.command("MAIL FROM:<" + envelope.from + ">", "MAIL FROM"));
  for (const auto& to : envelope.to) {
    auto rcpt = c.command("RCPT TO:<" + to + ">", "RCPT TO " + to);
    if (!rcpt.ok()) {
      (void)c.command("RSET", "RSET");
      (void)c.command("QUIT", "QUIT");
      return std::move(rcpt).error();
    }
  }
  SOTTO_TRY(c.command("DATA", "DATA", 354));
  SOTTO_TRY(c.stream().write(body));
  SOTTO_TRY_ASSIGN(smtp::Reply accepted, c.reply());
  if (accepted.code < 200 || accepted.code >= 300) {
    return smtp::reply_error(accepted, "the message");
  }
  (void)c.command("QUIT", "QUIT");
  return success();
}

}  // namespace sotto::mail
