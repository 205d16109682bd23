// sottod's configuration: defaults, then a TOML file, then SOTTOD_* environment variables,
// then command-line flags; each later source overrides the earlier ones key by key.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "sotto/core/result.h"

namespace sotto::server {

struct Limits {
  std::size_t max_message_bytes = 1024 * 1024;  // one WebSocket message, after reassembly
  std::chrono::seconds idle_timeout{60};        // HTTP keep-alive and unanswered WebSocket pings
  std::size_t max_connections = 10000;          // TLS connections open at once
  std::size_t max_send_queue_bytes = 16 * 1024 * 1024;  // per session; over it, it is closed
  std::size_t max_request_body_bytes = 64 * 1024;       // HTTP request bodies
  // The kernel's send buffer of each accepted socket; 0 leaves it to the kernel's autotuning
  // (up to net.ipv4.tcp_wmem's maximum, several MiB per connection that a client leaves unread).
  std::size_t socket_send_buffer_bytes = 0;
};

struct AccountSettings {
  bool open_registration = true;  // false: registration needs an invite code (sottod admin invite)
  std::chrono::seconds session_ttl{30 * 24 * 3600};
};

struct DeliverySettings {
  std::chrono::seconds message_ttl{30 * 24 * 3600};  // unacknowledged messages expire after it
  uint64_t max_queue_messages = 10000;               // per device
  uint64_t max_queue_bytes = uint64_t{256} << 20;    // per device
};

struct FileSettings {
  uint64_t max_file_bytes = uint64_t{100} << 20;  // one upload
  uint64_t quota_bytes = uint64_t{1} << 30;       // all files of one account
  std::chrono::seconds ttl{30 * 24 * 3600};       // files are deleted after it
};

// Where e-mail verification and recovery codes go. No host: they are written to the log.
// A host set: SMTP submission, always over TLS with the server's certificate verified.
struct SmtpSettings {
  std::string host;
  uint16_t port = 587;
  std::string from = "sottod@localhost";
  std::string username;  // empty: no AUTH (a relay that trusts this host)
  std::string password;
  // true: a plain connection that must switch to TLS with STARTTLS before anything else
  // (submission, port 587); false: TLS from the first byte (submissions, port 465). There is
  // no unencrypted mode.
  bool starttls = true;
  // A PEM file of the certificates to trust instead of the system's (a private mail server
  // with its own CA or a self-signed certificate); empty: the system's trust store.
  std::string ca_file;
};

struct PushSettings {
  std::string vapid_subject = "mailto:admin@localhost";  // RFC 8292 "sub"
  unsigned max_per_device_per_minute = 6;                // content-free wake-ups
  bool allow_http_endpoints = false;  // tests only: push to http:// endpoints on loopback
};

// The key directory (key transparency).
struct KtSettings {
  // With no epoch published for this long (no device added or revoked, no account erased),
  // an empty one is: a new signed head over the unchanged directory. Clients that limit the
  // age of heads (VerifierPolicy::max_head_age) need it to be at most half of that limit.
  std::chrono::seconds epoch_interval{3600};
};

// The web client: its built files, served from memory at / (http_web.h).
struct WebSettings {
  std::string root;  // the directory, read once at start; empty: no web client
};

// Tests only: sottod behaves as a malicious server would, so that tests can show clients
// catch it. Never set in production; sottod warns at start when any is.
struct TestingSettings {
  // Claimed key packages of this account are replaced by ones the server made with keys of
  // its own (a man in the middle): clients must refuse them against the key directory.
  std::string swap_key_packages_of;
};

// Token buckets: `per_minute` sustained, bursts up to `burst`.
struct RateLimit {
  unsigned per_minute = 0;
  unsigned burst = 0;
};

struct RateLimits {
  RateLimit login{10, 10};  // per IP: logins, recovery, device linking
  // Per username, from every address together, whether or not an account has it: logins,
  // recovery, password changes and account deletion.
  RateLimit login_username{5, 10};
  RateLimit registration{5, 5};  // per IP
  RateLimit sends{6000, 600};    // per account
  RateLimit uploads{60, 20};     // per account
};

struct Config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8443;  // 0: any free port (the listening line names the one chosen)
  // A second listener without TLS, for a TLS-terminating proxy on the same host; loopback
  // addresses only, off when the host is empty.
  std::string plain_listen_host;
  uint16_t plain_listen_port = 0;
  // On the plain listener, the client's address (for per-IP limits) is the last one in
  // X-Forwarded-For: the one the proxy appended. Only for a proxy that appends it.
  bool plain_forwarded_for = false;
  std::filesystem::path data_dir = "sottod-data";
  std::filesystem::path tls_cert;  // both empty: a self-signed certificate in data_dir
  std::filesystem::path tls_key;
  unsigned threads = 1;  // threads running the one io_context
  std::string log_level = "info";
  Limits limits;
  AccountSettings accounts;
  DeliverySettings delivery;
  FileSettings files;
  SmtpSettings smtp;
  PushSettings push;
  KtSettings kt;
  WebSettings web;
  RateLimits rate_limits;
  TestingSettings testing;
};

// Returns the value of an environment variable, if set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup process_environment();

// "host:port", "[v6]:port" -> host and port.
Result<std::pair<std::string, uint16_t>> parse_listen_address(std::string_view text);

// Applies the TOML document `text` (from `origin`, for messages) on top of `config`.
Result<void> apply_toml(Config& config, std::string_view text, std::string_view origin);

// The whole chain for `sottod ARGS`. Usage (--help) goes to `out` and yields no Config: the
// caller exits 0. An error means a bad configuration: the caller prints it and exits 2.
Result<std::optional<Config>> load_config(int argc, const char* const* argv, const EnvLookup& env,
                                          std::ostream& out);

}  // namespace sotto::server
