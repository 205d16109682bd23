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
};

struct Config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8443;  // 0: any free port (the listening line names the one chosen)
  std::filesystem::path data_dir = "sottod-data";
  std::filesystem::path tls_cert;  // both empty: a self-signed certificate in data_dir
  std::filesystem::path tls_key;
  unsigned threads = 1;  // threads running the one io_context
  std::string log_level = "info";
  Limits limits;
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
