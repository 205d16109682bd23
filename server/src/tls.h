// The server's TLS identity and context: TLS 1.2 and 1.3 only. Without a configured
// certificate, sottod makes a self-signed ECDSA P-256 one in its data directory on first
// start and reuses it afterwards; users pin it by its SHA-256 fingerprint.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <string>

#include "config.h"
#include "sotto/core/result.h"

namespace sotto::server {

struct TlsIdentity {
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  std::string fingerprint_sha256;  // "AB:CD:...", of the leaf certificate's DER
  bool generated = false;          // made on this start
};

// The configured certificate, or the self-signed one in `data_dir`/tls (made if missing).
Result<TlsIdentity> load_or_create_identity(const Config& config);

// A server context with the identity loaded, TLS 1.2+ and forward-secret AEAD ciphers only.
Result<void> configure_server_context(boost::asio::ssl::context& ctx, const TlsIdentity& identity);

}  // namespace sotto::server
