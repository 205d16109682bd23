#include "tls_client.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

namespace sotto::client {

namespace ssl = boost::asio::ssl;

namespace {

std::string fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    if (i) out += ':';
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

}  // namespace

void configure_tls_client(ssl::context& tls, const TlsEndpoint& endpoint) {
  tls.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                  ssl::context::no_tlsv1_1);
  if (endpoint.pinned_fingerprint) {
    const std::string pinned = upper(*endpoint.pinned_fingerprint);
    tls.set_verify_mode(ssl::verify_peer);
    // A pinned certificate is trusted for itself (sottod's is self-signed): only the leaf
    // is compared, and only its fingerprint decides.
    tls.set_verify_callback([pinned](bool, ssl::verify_context& ctx) {
      X509_STORE_CTX* store = ctx.native_handle();
      if (X509_STORE_CTX_get_error_depth(store) != 0) return true;
      X509* cert = X509_STORE_CTX_get_current_cert(store);
      return cert != nullptr && fingerprint(cert) == pinned;
    });
  } else {
    tls.set_default_verify_paths();
    tls.set_verify_mode(ssl::verify_peer);
    tls.set_verify_callback(ssl::host_name_verification(endpoint.name()));
  }
}

bool set_server_name(SSL* ssl, const TlsEndpoint& endpoint) {
  return SSL_set_tlsext_host_name(ssl, endpoint.name().c_str()) == 1;
}

}  // namespace sotto::client
