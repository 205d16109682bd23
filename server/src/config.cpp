#include "config.h"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <ostream>
#include <set>
#include <sstream>

namespace sotto::server {
namespace {

Error config_error(std::string message) {
  return Error(Errc::invalid_argument, std::move(message));
}

template <class T>
Result<T> parse_unsigned(std::string_view text, std::string_view what, T min, T max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || v < min || v > max) {
    return config_error(std::string(what) + ": expected a whole number from " +
                        std::to_string(min) + " to " + std::to_string(max) + ", got \"" +
                        std::string(text) + "\"");
  }
  return static_cast<T>(v);
}

const std::set<std::string, std::less<>> kLogLevels = {"trace", "debug",    "info", "warn",
                                                       "error", "critical", "off"};

Result<void> check_log_level(const std::string& level, std::string_view what) {
  if (!kLogLevels.count(level)) {
    return config_error(std::string(what) +
                        ": expected one of trace, debug, info, warn, error, critical, off; got \"" +
                        level + "\"");
  }
  return success();
}

Result<bool> parse_bool(std::string_view text, std::string_view what) {
  if (text == "true" || text == "1" || text == "yes") return true;
  if (text == "false" || text == "0" || text == "no") return false;
  return config_error(std::string(what) + ": expected true or false, got \"" + std::string(text) +
                      "\"");
}

// How a key's value is written in TOML (environment and flags are always text).
enum class Kind { text, number, boolean };

// One settable key: its name in TOML, environment and flags, and how to set it from text.
struct Key {
  const char* toml_table;  // "" for the top level
  const char* toml_name;
  const char* env;
  const char* flag;
  const char* help;
  Kind kind;
  std::function<Result<void>(Config&, const std::string&, std::string_view what)> set;
};

using Setter = std::function<Result<void>(Config&, const std::string&, std::string_view what)>;

// Setters for the common shapes, so that each key below is one line of intent.
template <class Group, class T>
Setter set_number(Group Config::*group, T Group::*field, T min, T max) {
  return [=](Config& c, const std::string& v, std::string_view what) -> Result<void> {
    SOTTO_TRY_ASSIGN(c.*group.*field, parse_unsigned<T>(v, what, min, max));
    return success();
  };
}

template <class Group>
Setter set_seconds(Group Config::*group, std::chrono::seconds Group::*field, uint32_t min,
                   uint32_t max) {
  return [=](Config& c, const std::string& v, std::string_view what) -> Result<void> {
    SOTTO_TRY_ASSIGN(auto s, parse_unsigned<uint32_t>(v, what, min, max));
    c.*group.*field = std::chrono::seconds(s);
    return success();
  };
}

template <class Group>
Setter set_bool(Group Config::*group, bool Group::*field) {
  return [=](Config& c, const std::string& v, std::string_view what) -> Result<void> {
    SOTTO_TRY_ASSIGN(c.*group.*field, parse_bool(v, what));
    return success();
  };
}

template <class Group>
Setter set_text(Group Config::*group, std::string Group::*field) {
  return [=](Config& c, const std::string& v, std::string_view) -> Result<void> {
    c.*group.*field = v;
    return success();
  };
}

Setter set_rate(RateLimit RateLimits::*limit, unsigned RateLimit::*field) {
  return [=](Config& c, const std::string& v, std::string_view what) -> Result<void> {
    SOTTO_TRY_ASSIGN(c.rate_limits.*limit.*field, parse_unsigned<unsigned>(v, what, 1, 1000000));
    return success();
  };
}

const std::vector<Key>& keys() {
  static const std::vector<Key> k = {
      {"", "listen", "SOTTOD_LISTEN", "--listen", "address to listen on, HOST:PORT (port 0: any)",
       Kind::text,
       [](Config& c, const std::string& v, std::string_view what) -> Result<void> {
         auto r = parse_listen_address(v);
         if (!r) return std::move(r).error().with_context(what);
         c.listen_host = r->first;
         c.listen_port = r->second;
         return success();
       }},
      {"", "plain_listen", "SOTTOD_PLAIN_LISTEN", "--plain-listen",
       "also listen WITHOUT TLS on this loopback HOST:PORT, for a TLS-terminating proxy",
       Kind::text,
       [](Config& c, const std::string& v, std::string_view what) -> Result<void> {
         auto r = parse_listen_address(v);
         if (!r) return std::move(r).error().with_context(what);
         boost::system::error_code ec;
         auto address = boost::asio::ip::make_address(r->first, ec);
         if (ec || !address.is_loopback()) {
           return config_error(std::string(what) + ": \"" + v +
                               "\" is not a loopback address; unencrypted traffic must not "
                               "leave the host");
         }
         c.plain_listen_host = r->first;
         c.plain_listen_port = r->second;
         return success();
       }},
      {"", "plain_forwarded_for", "SOTTOD_PLAIN_FORWARDED_FOR", "--plain-forwarded-for",
       "true: on the plain listener, per-IP limits count the last address of X-Forwarded-For "
       "(for a proxy that appends the client's address)",
       Kind::boolean,
       [](Config& c, const std::string& v, std::string_view what) -> Result<void> {
         SOTTO_TRY_ASSIGN(c.plain_forwarded_for, parse_bool(v, what));
         return success();
       }},
      {"", "data_dir", "SOTTOD_DATA_DIR", "--data-dir", "directory for sottod's state", Kind::text,
       [](Config& c, const std::string& v, std::string_view what) -> Result<void> {
         if (v.empty()) return config_error(std::string(what) + ": must not be empty");
         c.data_dir = v;
         return success();
       }},
      {"", "threads", "SOTTOD_THREADS", "--threads", "threads serving connections", Kind::number,
       [](Config& c, const std::string& v, std::string_view what) -> Result<void> {
         SOTTO_TRY_ASSIGN(c.threads, parse_unsigned<unsigned>(v, what, 1, 256));
         return success();
       }},
      {"", "log_level", "SOTTOD_LOG_LEVEL", "--log-level",
       "trace, debug, info, warn, error, critical or off", Kind::text,
       [](Config& c, const std::string& v, std::string_view what) -> Result<void> {
         SOTTO_TRY(check_log_level(v, what));
         c.log_level = v;
         return success();
       }},
      {"tls", "cert", "SOTTOD_TLS_CERT", "--tls-cert", "PEM certificate chain", Kind::text,
       [](Config& c, const std::string& v, std::string_view) -> Result<void> {
         c.tls_cert = v;
         return success();
       }},
      {"tls", "key", "SOTTOD_TLS_KEY", "--tls-key", "PEM private key of the certificate",
       Kind::text,
       [](Config& c, const std::string& v, std::string_view) -> Result<void> {
         c.tls_key = v;
         return success();
       }},
      {"limits", "max_message_bytes", "SOTTOD_MAX_MESSAGE_BYTES", "--max-message-bytes",
       "largest WebSocket message accepted", Kind::number,
       [](Config& c, const std::string& v, std::string_view what) -> Result<void> {
         SOTTO_TRY_ASSIGN(c.limits.max_message_bytes,
                          parse_unsigned<std::size_t>(v, what, 1, std::size_t{1} << 30));
         return success();
       }},
      {"limits", "idle_timeout_seconds", "SOTTOD_IDLE_TIMEOUT_SECONDS", "--idle-timeout-seconds",
       "seconds before an idle connection is closed", Kind::number,
       [](Config& c, const std::string& v, std::string_view what) -> Result<void> {
         SOTTO_TRY_ASSIGN(auto s, parse_unsigned<uint32_t>(v, what, 1, 24 * 3600));
         c.limits.idle_timeout = std::chrono::seconds(s);
         return success();
       }},
      {"limits", "max_connections", "SOTTOD_MAX_CONNECTIONS", "--max-connections",
       "connections open at once", Kind::number,
       [](Config& c, const std::string& v, std::string_view what) -> Result<void> {
         SOTTO_TRY_ASSIGN(c.limits.max_connections,
                          parse_unsigned<std::size_t>(v, what, 1, 1000000));
         return success();
       }},
      {"limits", "max_send_queue_bytes", "SOTTOD_MAX_SEND_QUEUE_BYTES", "--max-send-queue-bytes",
       "bytes queued for one slow client before it is disconnected", Kind::number,
       [](Config& c, const std::string& v, std::string_view what) -> Result<void> {
         SOTTO_TRY_ASSIGN(c.limits.max_send_queue_bytes,
                          parse_unsigned<std::size_t>(v, what, 1, std::size_t{1} << 34));
         return success();
       }},
      {"limits", "socket_send_buffer_bytes", "SOTTOD_SOCKET_SEND_BUFFER_BYTES",
       "--socket-send-buffer-bytes", "kernel send buffer per connection (0: the kernel's choice)",
       Kind::number,
       [](Config& c, const std::string& v, std::string_view what) -> Result<void> {
         SOTTO_TRY_ASSIGN(c.limits.socket_send_buffer_bytes,
                          parse_unsigned<std::size_t>(v, what, 0, std::size_t{1} << 30));
         return success();
       }},
      {"limits", "max_request_body_bytes", "SOTTOD_MAX_REQUEST_BODY_BYTES",
       "--max-request-body-bytes", "largest HTTP request body accepted", Kind::number,
       [](Config& c, const std::string& v, std::string_view what) -> Result<void> {
         SOTTO_TRY_ASSIGN(c.limits.max_request_body_bytes,
                          parse_unsigned<std::size_t>(v, what, 0, std::size_t{1} << 30));
         return success();
       }},
      {"accounts", "open_registration", "SOTTOD_OPEN_REGISTRATION", "--open-registration",
       "true: anyone may register; false: registration needs an invite code", Kind::boolean,
       set_bool(&Config::accounts, &AccountSettings::open_registration)},
      {"accounts", "session_ttl_seconds", "SOTTOD_SESSION_TTL_SECONDS", "--session-ttl-seconds",
       "seconds a session token stays valid", Kind::number,
       set_seconds(&Config::accounts, &AccountSettings::session_ttl, 1, 366 * 24 * 3600)},
      {"delivery", "message_ttl_seconds", "SOTTOD_MESSAGE_TTL_SECONDS", "--message-ttl-seconds",
       "seconds an unacknowledged message is kept", Kind::number,
       set_seconds(&Config::delivery, &DeliverySettings::message_ttl, 60, 366 * 24 * 3600)},
      {"delivery", "max_queue_messages", "SOTTOD_MAX_QUEUE_MESSAGES", "--max-queue-messages",
       "messages queued for one device at most", Kind::number,
       set_number(&Config::delivery, &DeliverySettings::max_queue_messages, uint64_t{1},
                  uint64_t{100000000})},
      {"delivery", "max_queue_bytes", "SOTTOD_MAX_QUEUE_BYTES", "--max-queue-bytes",
       "bytes queued for one device at most", Kind::number,
       set_number(&Config::delivery, &DeliverySettings::max_queue_bytes, uint64_t{1024},
                  uint64_t{1} << 40)},
      {"files", "max_file_bytes", "SOTTOD_MAX_FILE_BYTES", "--max-file-bytes",
       "largest file upload", Kind::number,
       set_number(&Config::files, &FileSettings::max_file_bytes, uint64_t{1}, uint64_t{1} << 40)},
      {"files", "quota_bytes", "SOTTOD_FILE_QUOTA_BYTES", "--file-quota-bytes",
       "bytes of files one account may store", Kind::number,
       set_number(&Config::files, &FileSettings::quota_bytes, uint64_t{0}, uint64_t{1} << 44)},
      {"files", "ttl_seconds", "SOTTOD_FILE_TTL_SECONDS", "--file-ttl-seconds",
       "seconds a file is kept", Kind::number,
       set_seconds(&Config::files, &FileSettings::ttl, 60, 366 * 24 * 3600)},
      {"smtp", "host", "SOTTOD_SMTP_HOST", "--smtp-host",
       "SMTP server for e-mail codes (empty: codes go to the log)", Kind::text,
       set_text(&Config::smtp, &SmtpSettings::host)},
      {"smtp", "port", "SOTTOD_SMTP_PORT", "--smtp-port", "SMTP submission port", Kind::number,
       set_number(&Config::smtp, &SmtpSettings::port, uint16_t{1}, uint16_t{65535})},
      {"smtp", "from", "SOTTOD_SMTP_FROM", "--smtp-from", "sender address of e-mail codes",
       Kind::text, set_text(&Config::smtp, &SmtpSettings::from)},
      {"smtp", "username", "SOTTOD_SMTP_USERNAME", "--smtp-username", "SMTP login name", Kind::text,
       set_text(&Config::smtp, &SmtpSettings::username)},
      {"smtp", "password", "SOTTOD_SMTP_PASSWORD", "--smtp-password",
       "SMTP password (prefer the environment or the file to a flag)", Kind::text,
       set_text(&Config::smtp, &SmtpSettings::password)},
      {"smtp", "starttls", "SOTTOD_SMTP_STARTTLS", "--smtp-starttls",
       "true: STARTTLS, required (port 587); false: implicit TLS (port 465)", Kind::boolean,
       set_bool(&Config::smtp, &SmtpSettings::starttls)},
      {"smtp", "ca_file", "SOTTOD_SMTP_CA_FILE", "--smtp-ca-file",
       "PEM certificates to trust for the SMTP server instead of the system's", Kind::text,
       set_text(&Config::smtp, &SmtpSettings::ca_file)},
      {"push", "vapid_subject", "SOTTOD_VAPID_SUBJECT", "--vapid-subject",
       "contact URI sent to push services (RFC 8292 sub)", Kind::text,
       set_text(&Config::push, &PushSettings::vapid_subject)},
      {"push", "max_per_device_per_minute", "SOTTOD_PUSH_MAX_PER_DEVICE_PER_MINUTE",
       "--push-max-per-device-per-minute", "push wake-ups per device and minute", Kind::number,
       set_number(&Config::push, &PushSettings::max_per_device_per_minute, 1u, 600u)},
      {"push", "allow_http_endpoints", "SOTTOD_PUSH_ALLOW_HTTP_ENDPOINTS",
       "--push-allow-http-endpoints", "tests only: allow http:// push endpoints", Kind::boolean,
       set_bool(&Config::push, &PushSettings::allow_http_endpoints)},
      {"testing", "swap_key_packages_of", "SOTTOD_TESTING_SWAP_KEY_PACKAGES_OF",
       "--testing-swap-key-packages-of",
       "tests only: serve key packages with the server's own keys for this username", Kind::text,
       set_text(&Config::testing, &TestingSettings::swap_key_packages_of)},
      {"kt", "epoch_interval", "SOTTOD_KT_EPOCH_INTERVAL", "--kt-epoch-interval",
       "seconds without a key directory epoch before an empty one is published", Kind::number,
       set_seconds(&Config::kt, &KtSettings::epoch_interval, 1, 366 * 24 * 3600)},
      {"web", "root", "SOTTOD_WEB_ROOT", "--web-root",
       "directory of the web client's files, served at / (empty: no web client)", Kind::text,
       set_text(&Config::web, &WebSettings::root)},
      {"rate_limits", "login_per_minute", "SOTTOD_RATE_LOGIN_PER_MINUTE", "--rate-login-per-minute",
       "logins per minute, per IP", Kind::number,
       set_rate(&RateLimits::login, &RateLimit::per_minute)},
      {"rate_limits", "login_burst", "SOTTOD_RATE_LOGIN_BURST", "--rate-login-burst",
       "logins in a burst", Kind::number, set_rate(&RateLimits::login, &RateLimit::burst)},
      {"rate_limits", "login_username_per_minute", "SOTTOD_RATE_LOGIN_USERNAME_PER_MINUTE",
       "--rate-login-username-per-minute",
       "logins per minute, per username (from every IP together; known or not)", Kind::number,
       set_rate(&RateLimits::login_username, &RateLimit::per_minute)},
      {"rate_limits", "login_username_burst", "SOTTOD_RATE_LOGIN_USERNAME_BURST",
       "--rate-login-username-burst", "logins of one username in a burst", Kind::number,
       set_rate(&RateLimits::login_username, &RateLimit::burst)},
      {"rate_limits", "registration_per_minute", "SOTTOD_RATE_REGISTRATION_PER_MINUTE",
       "--rate-registration-per-minute", "registrations per minute, per IP", Kind::number,
       set_rate(&RateLimits::registration, &RateLimit::per_minute)},
      {"rate_limits", "registration_burst", "SOTTOD_RATE_REGISTRATION_BURST",
       "--rate-registration-burst", "registrations in a burst", Kind::number,
       set_rate(&RateLimits::registration, &RateLimit::burst)},
      {"rate_limits", "sends_per_minute", "SOTTOD_RATE_SENDS_PER_MINUTE", "--rate-sends-per-minute",
       "sends per minute, per account", Kind::number,
       set_rate(&RateLimits::sends, &RateLimit::per_minute)},
      {"rate_limits", "sends_burst", "SOTTOD_RATE_SENDS_BURST", "--rate-sends-burst",
       "sends in a burst", Kind::number, set_rate(&RateLimits::sends, &RateLimit::burst)},
      {"rate_limits", "uploads_per_minute", "SOTTOD_RATE_UPLOADS_PER_MINUTE",
       "--rate-uploads-per-minute", "uploads per minute, per account", Kind::number,
       set_rate(&RateLimits::uploads, &RateLimit::per_minute)},
      {"rate_limits", "uploads_burst", "SOTTOD_RATE_UPLOADS_BURST", "--rate-uploads-burst",
       "uploads in a burst", Kind::number, set_rate(&RateLimits::uploads, &RateLimit::burst)},
  };
  return k;
}

std::string toml_path(const Key& k) {
  return std::string(k.toml_table).empty() ? k.toml_name
                                           : std::string(k.toml_table) + "." + k.toml_name;
}

// A TOML value as the text form the setters take; strings stay strings, integers and booleans
// are printed. Numeric keys must be TOML integers and switches TOML booleans: "1024" or
// "true" in quotes is more likely a mistake than intent.
Result<std::string> toml_value_text(const toml::node& node, const std::string& where, Kind kind) {
  switch (kind) {
    case Kind::text:
      if (auto s = node.as_string()) return s->get();
      return config_error(where + ": expected a string");
    case Kind::number:
      if (auto i = node.as_integer()) {
        if (i->get() < 0) return config_error(where + ": must not be negative");
        return std::to_string(i->get());
      }
      return config_error(where + ": expected an integer");
    case Kind::boolean:
      if (auto b = node.as_boolean()) return std::string(b->get() ? "true" : "false");
      return config_error(where + ": expected true or false");
  }
  return config_error(where + ": unknown kind of key");
}

// The SMTP settings are checked at start, not at the first mail: a typo would otherwise show
// only when a user waits for a code that never comes.
Result<void> validate_smtp(const SmtpSettings& s) {
  if (s.host.empty()) return success();
  for (char ch : s.host) {
    auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u >= 0x7f || ch == '/' || ch == '@' || ch == '?' || ch == '#') {
      return config_error("smtp.host: expected a host name or IP address, got \"" + s.host + "\"");
    }
  }
  auto at = s.from.find('@');
  bool plain = at != std::string::npos && at > 0 && at + 1 < s.from.size() &&
               s.from.find('@', at + 1) == std::string::npos;
  for (char ch : s.from) {
    auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u >= 0x7f ||
        std::string_view("<>()[]\\,;:\"").find(ch) != std::string_view::npos) {
      plain = false;
    }
  }
  if (!plain) {
    return config_error("smtp.from: expected a bare address such as sotto@example.org, got \"" +
                        s.from + "\"");
  }
  if (s.username.empty() != s.password.empty()) {
    return config_error("smtp: set both the username and the password, or neither");
  }
  if (!s.ca_file.empty()) {
    std::ifstream ca(s.ca_file);
    if (!ca) return config_error("smtp.ca_file: cannot read \"" + s.ca_file + "\"");
  }
  return success();
}

Result<void> validate(const Config& c) {
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return config_error("tls: set both the certificate and the key, or neither");
  }
  if (c.plain_forwarded_for && c.plain_listen_host.empty()) {
    return config_error("plain_forwarded_for: set plain_listen too (it only applies there)");
  }
  SOTTO_TRY(validate_smtp(c.smtp));
  return success();
}

}  // namespace

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

Result<std::pair<std::string, uint16_t>> parse_listen_address(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return config_error("listen address \"" + std::string(text) + "\": expected [IPv6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return config_error("listen address \"" + std::string(text) +
                          "\": expected HOST:PORT, e.g. 127.0.0.1:8443 or [::1]:8443");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) {
    return config_error("listen address \"" + std::string(text) + "\": the host is empty");
  }
  SOTTO_TRY_ASSIGN(auto p, parse_unsigned<uint16_t>(port, "listen port", 0, 65535));
  return std::pair<std::string, uint16_t>(std::string(host), p);
}

Result<void> apply_toml(Config& config, std::string_view text, std::string_view origin) {
  toml::table doc;
  try {
    doc = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return config_error(msg.str());
  }
  // Every key must be known: a misspelt limit silently ignored is worse than an error.
  std::set<std::string, std::less<>> known_tables;
  for (const auto& k : keys()) {
    if (std::string(k.toml_table).size()) known_tables.insert(k.toml_table);
  }
  auto is_known = [](std::string_view table, std::string_view name) {
    for (const auto& k : keys()) {
      if (table == k.toml_table && name == k.toml_name) return true;
    }
    return false;
  };
  for (const auto& [name, node] : doc) {
    if (known_tables.count(name.str())) {
      auto* t = node.as_table();
      if (!t)
        return config_error(std::string(origin) + ": [" + std::string(name.str()) +
                            "] must be a table");
      for (const auto& [sub, subnode] : *t) {
        if (!is_known(name.str(), sub.str())) {
          return config_error(std::string(origin) + ": unknown key \"" + std::string(name.str()) +
                              "." + std::string(sub.str()) + "\"");
        }
      }
    } else if (!is_known("", name.str())) {
      return config_error(std::string(origin) + ": unknown key \"" + std::string(name.str()) +
                          "\"");
    }
  }
  for (const auto& k : keys()) {
    const toml::node* node =
        std::string(k.toml_table).empty() ? doc.get(k.toml_name) : doc.at_path(toml_path(k)).node();
    if (!node) continue;
    std::string where = std::string(origin) + ": " + toml_path(k);
    SOTTO_TRY_ASSIGN(auto value, toml_value_text(*node, where, k.kind));
    SOTTO_TRY(k.set(config, value, where));
  }
  return success();
}

Result<std::optional<Config>> load_config(int argc, const char* const* argv, const EnvLookup& env,
                                          std::ostream& out) {
  CLI::App app{
      "sottod: the Sotto server. It relays end-to-end encrypted messages over HTTPS and "
      "WebSocket (wss://HOST:PORT/v1/ws).\nSettings come from defaults, then --config FILE, then "
      "SOTTOD_* environment variables, then these flags.",
      "sottod"};
  std::string config_file;
  auto* config_opt =
      app.add_option("--config", config_file, "TOML configuration file (SOTTOD_CONFIG)");
  std::vector<std::pair<const Key*, std::string>> flag_values(keys().size());
  std::vector<CLI::Option*> flag_opts;
  for (std::size_t i = 0; i < keys().size(); ++i) {
    const Key& k = keys()[i];
    flag_values[i].first = &k;
    flag_opts.push_back(
        app.add_option(k.flag, flag_values[i].second, std::string(k.help) + " (" + k.env + ")"));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return std::optional<Config>();
  } catch (const CLI::ParseError& e) {
    return config_error(std::string(e.what()) + " (see sottod --help)");
  }

  Config config;
  std::optional<std::string> file;
  if (config_opt->count()) {
    file = config_file;
  } else if (auto f = env("SOTTOD_CONFIG")) {
    file = *f;
  }
  if (file) {
    std::ifstream in(*file, std::ios::binary);
    if (!in) return config_error("cannot read the configuration file \"" + *file + "\"");
    std::stringstream buf;
    buf << in.rdbuf();
    SOTTO_TRY(apply_toml(config, buf.str(), *file));
  }
  for (const auto& k : keys()) {
    if (auto v = env(k.env)) SOTTO_TRY(k.set(config, *v, std::string("environment ") + k.env));
  }
  for (std::size_t i = 0; i < keys().size(); ++i) {
    if (flag_opts[i]->count()) {
      SOTTO_TRY(keys()[i].set(config, flag_values[i].second, keys()[i].flag));
    }
  }
  SOTTO_TRY(validate(config));
  return std::optional<Config>(std::move(config));
}

}  // namespace sotto::server
