// Where the native client reaches its server over TLS, and what it trusts there: shared by the
// WebSocket transport and the HTTPS file client, so that both pin the same certificate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sotto::client {

struct TlsEndpoint {
  std::string host = "127.0.0.1";  // name or address to connect to
  uint16_t port = 443;
  // The name for SNI, the Host header and certificate checks; `host` when empty.
  std::string server_name;
  // "AB:CD:..." (SHA-256 of the certificate, as sottod prints it): trust exactly that
  // certificate. When absent, the system's CAs and the server name are checked instead.
  std::optional<std::string> pinned_fingerprint;

  const std::string& name() const { return server_name.empty() ? host : server_name; }
};

}  // namespace sotto::client
