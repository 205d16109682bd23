#include "services/mailer.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"

namespace sotto::server {
namespace {

class LogMailer : public Mailer {
 public:
  void send_code(BytesView account_id, std::string_view, MailPurpose purpose,
                 std::string_view code) override {
    // The address stays out of the log; the operator relays the code by other means.
    spdlog::info("e-mail for account {}: {} code {}", account_log_tag(account_id),
                 purpose == MailPurpose::email_verification ? "verification" : "recovery", code);
  }
};

// Mails waiting for the worker at most: a flood of requests (they are rate limited, but
// across many accounts) must not grow memory without bound while the mail server is down.
constexpr std::size_t kMaxQueuedMails = 100;
// Tries per mail, and the waits between them: a mail server that restarts or greylists
// answers again within seconds; a code older than a few minutes is worth little.
constexpr int kMaxAttempts = 3;
constexpr std::chrono::seconds kFirstRetryDelay{2};
constexpr long kConnectTimeoutSeconds = 15;
constexpr long kTransferTimeoutSeconds = 60;

struct QueuedMail {
  std::string tag;  // account_log_tag, for the log
  std::string to;
  MailPurpose purpose;
  std::string code;
};

// Feeds the message to libcurl's upload.
struct Upload {
  const std::string* text;
  std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  std::size_t n = std::min(size * count, upload->text->size() - upload->offset);
  std::memcpy(buffer, upload->text->data() + upload->offset, n);
  upload->offset += n;
  return n;
}

// Ends a transfer in flight when the mailer stops, instead of waiting for its timeout.
int transfer_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(user)->load() ? 1 : 0;
}

enum class SendOutcome { sent, retry, give_up };

// Errors that another try cannot fix: the settings or the address are wrong, or the server
// refused for good (5xx).
bool is_permanent(CURLcode code, long smtp_status) {
  switch (code) {
    case CURLE_LOGIN_DENIED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_USE_SSL_FAILED:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_NOT_BUILT_IN:
    case CURLE_ABORTED_BY_CALLBACK:
      return true;
    default:
      return smtp_status >= 500;
  }
}

struct CurlListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct CurlEasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

class SmtpMailer : public Mailer {
 public:
  explicit SmtpMailer(SmtpSettings settings)
      : settings_(std::move(settings)), url_(smtp_url(settings_)) {
    worker_ = std::thread([this] { run(); });
  }

  ~SmtpMailer() override {
    std::size_t dropped = 0;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      dropped = queue_.size();
    }
    stop_requested_.store(true);
    wake_.notify_all();
    worker_.join();
    if (dropped > 0) spdlog::warn("smtp: stopped with {} e-mail code(s) not sent", dropped);
  }

  SmtpMailer(const SmtpMailer&) = delete;
  SmtpMailer& operator=(const SmtpMailer&) = delete;

  void send_code(BytesView account_id, std::string_view email, MailPurpose purpose,
                 std::string_view code) override {
    std::string tag = account_log_tag(account_id);
    bool stopping = false;
    {
      std::lock_guard lock(mutex_);
      stopping = stopping_;
      if (!stopping && queue_.size() < kMaxQueuedMails) {
        queue_.push_back(QueuedMail{tag, std::string(email), purpose, std::string(code)});
        wake_.notify_one();
        return;
      }
    }
    spdlog::warn("smtp: {}; e-mail code for account {} dropped",
                 stopping ? "stopping" : "queue full", tag);
  }

 private:
  void run() {
    for (;;) {
      QueuedMail mail;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        mail = std::move(queue_.front());
        queue_.pop_front();
      }
      deliver(mail);
    }
  }

  // Tries `mail` up to kMaxAttempts times, waiting longer after each transient failure.
  void deliver(const QueuedMail& mail) {
    auto delay = kFirstRetryDelay;
    for (int attempt = 1;; ++attempt) {
      std::string reason;
      SendOutcome outcome = send_once(mail, reason);
      if (outcome == SendOutcome::sent) {
        spdlog::info("e-mail code sent for account {}", mail.tag);
        return;
      }
      if (stop_requested_.load()) {
        spdlog::warn("smtp: stopped while sending the e-mail code for account {}", mail.tag);
        return;
      }
      if (outcome == SendOutcome::give_up || attempt == kMaxAttempts) {
        spdlog::warn("smtp: e-mail code for account {} not sent after {} attempt(s): {}", mail.tag,
                     attempt, reason);
        return;
      }
      spdlog::warn("smtp: e-mail code for account {} not sent ({}); retrying in {}s", mail.tag,
                   reason, delay.count());
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, delay, [this] { return stopping_; })) {
        spdlog::warn("smtp: stopped before retrying the e-mail code for account {}", mail.tag);
        return;
      }
      delay *= 4;
    }
  }

  // One SMTP transaction. `reason` says why it failed, in words that hold neither the
  // address nor the code (libcurl's error text, the SMTP status number).
  SendOutcome send_once(const QueuedMail& mail, std::string& reason) {
    auto message = compose_code_mail(settings_.from, mail.to, mail.purpose, mail.code,
                                     std::chrono::system_clock::now(), crypto::random_bytes(16));
    if (!message) {
      reason = "the address cannot be mailed";
      return SendOutcome::give_up;
    }
    std::unique_ptr<CURL, CurlEasyDeleter> curl(curl_easy_init());
    if (!curl) {
      reason = "libcurl could not start a transfer";
      return SendOutcome::retry;
    }
    CURL* c = curl.get();
    std::string mail_from = "<" + settings_.from + ">";
    std::string rcpt_to = "<" + mail.to + ">";
    std::unique_ptr<curl_slist, CurlListDeleter> recipients(
        curl_slist_append(nullptr, rcpt_to.c_str()));
    Upload upload{&*message};
    bool ok = true;
    auto set = [&ok](CURLcode r) { ok = ok && r == CURLE_OK; };
    set(curl_easy_setopt(c, CURLOPT_URL, url_.c_str()));
    // Only SMTP, also across anything the server might suggest.
    set(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps"));
    // With smtp://, STARTTLS is required: no command after EHLO, and so neither the login
    // nor the mail, ever travels unencrypted.
    set(curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL)));
    set(curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)));
    set(curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L));
    set(curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L));
    if (!settings_.ca_file.empty()) {
      set(curl_easy_setopt(c, CURLOPT_CAINFO, settings_.ca_file.c_str()));
    }
    if (!settings_.username.empty()) {
      set(curl_easy_setopt(c, CURLOPT_USERNAME, settings_.username.c_str()));
      set(curl_easy_setopt(c, CURLOPT_PASSWORD, settings_.password.c_str()));
    }
    set(curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str()));
    set(curl_easy_setopt(c, CURLOPT_MAIL_RCPT, recipients.get()));
    set(curl_easy_setopt(c, CURLOPT_UPLOAD, 1L));
    set(curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload));
    set(curl_easy_setopt(c, CURLOPT_READDATA, &upload));
    set(curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message->size())));
    set(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds));
    set(curl_easy_setopt(c, CURLOPT_TIMEOUT, kTransferTimeoutSeconds));
    // No signals from a worker thread (name resolution timeouts would otherwise use SIGALRM).
    set(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L));
    set(curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L));
    set(curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, transfer_progress));
    set(curl_easy_setopt(c, CURLOPT_XFERINFODATA, &stop_requested_));
    if (!ok) {
      reason = "this libcurl lacks an option that sending needs";
      return SendOutcome::give_up;
    }
    CURLcode result = curl_easy_perform(c);
    if (result == CURLE_OK) return SendOutcome::sent;
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    reason = curl_easy_strerror(result);
    if (status > 0) reason += " (SMTP status " + std::to_string(status) + ")";
    return is_permanent(result, status) ? SendOutcome::give_up : SendOutcome::retry;
  }

  const SmtpSettings settings_;
  const std::string url_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<QueuedMail> queue_;
  bool stopping_ = false;
  // stopping_ for libcurl's progress callback, which runs without the lock.
  std::atomic<bool> stop_requested_{false};
  std::thread worker_;
};

// libcurl's global state is set up once, before any worker thread uses it, and kept for the
// life of the process.
void init_curl_once() {
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (result != CURLE_OK)
    spdlog::error("smtp: libcurl did not initialise: {}", curl_easy_strerror(result));
}

constexpr const char* kDayNames[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonthNames[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string_view domain_of(std::string_view address) {
  return address.substr(address.rfind('@') + 1);
}

}  // namespace

std::string account_log_tag(BytesView account_id) {
  return to_hex(crypto::sha256(account_id)).substr(0, 8);
}

bool is_plain_mail_address(std::string_view address) {
  if (address.size() < 3 || address.size() > 254) return false;
  auto at = address.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size() ||
      address.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  for (char ch : address) {
    auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u >= 0x7f) return false;
    if (std::string_view("<>()[]\\,;:\"").find(ch) != std::string_view::npos) return false;
  }
  return true;
}

std::string rfc5322_date(std::chrono::system_clock::time_point time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  // Built by hand: strftime's %a and %b follow the locale, the header must be English.
  char out[40];
  std::snprintf(out, sizeof out, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDayNames[tm.tm_wday],
                tm.tm_mday, kMonthNames[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return out;
}

Result<std::string> compose_code_mail(std::string_view from, std::string_view to,
                                      MailPurpose purpose, std::string_view code,
                                      std::chrono::system_clock::time_point now, BytesView unique) {
  if (!is_plain_mail_address(from)) {
    return Error(Errc::invalid_argument, "the sender is not a plain e-mail address");
  }
  if (!is_plain_mail_address(to)) {
    return Error(Errc::invalid_argument, "the recipient is not a plain e-mail address");
  }
  for (char ch : code) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) {
      return Error(Errc::invalid_argument, "a code is letters and digits");
    }
  }
  bool verification = purpose == MailPurpose::email_verification;
  auto hours = kMailedCodeValidity.count();
  std::string validity = std::to_string(hours) + (hours == 1 ? " hour" : " hours");
  std::string m;
  auto line = [&m](std::string_view text) {
    m += text;
    m += "\r\n";
  };
  line("Date: " + rfc5322_date(now));
  line("From: " + std::string(from));
  line("To: " + std::string(to));
  line(verification ? "Subject: Your Sotto verification code"
                    : "Subject: Your Sotto recovery code");
  line("Message-ID: <" + to_hex(unique) + "@" + std::string(domain_of(from)) + ">");
  line("MIME-Version: 1.0");
  line("Content-Type: text/plain; charset=us-ascii");
  line("Content-Transfer-Encoding: 7bit");
  // RFC 3834: no vacation replies or other auto-responses to this mail.
  line("Auto-Submitted: auto-generated");
  line("");
  if (verification) {
    line("Your code to confirm this e-mail address for your Sotto account:");
  } else {
    line("Your code to recover your Sotto account and set a new password:");
  }
  line("");
  line("    " + std::string(code));
  line("");
  line("It is valid for " + validity + " and can be used once.");
  if (verification) {
    line("If you did not sign up for Sotto, ignore this mail.");
  } else {
    line("If you did not ask to recover your account, ignore this mail: your password");
    line("stays as it is.");
  }
  return m;
}

std::string smtp_url(const SmtpSettings& settings) {
  std::string host =
      settings.host.find(':') != std::string::npos ? "[" + settings.host + "]" : settings.host;
  return std::string(settings.starttls ? "smtp://" : "smtps://") + host + ":" +
         std::to_string(settings.port);
}

std::unique_ptr<Mailer> make_log_mailer() {
  return std::make_unique<LogMailer>();
}

std::unique_ptr<Mailer> make_mailer(const SmtpSettings& settings) {
  if (settings.host.empty()) return make_log_mailer();
  init_curl_once();
  spdlog::info("smtp: e-mail codes are sent through {}", smtp_url(settings));
  return std::make_unique<SmtpMailer>(settings);
}

}  // namespace sotto::server
