// The TLS client setup of the native client (private to lib/client/native): TLS 1.2 or newer,
// and either the endpoint's pinned certificate or the system's CAs and the server name.
#pragma once

#include <boost/asio/ssl.hpp>

#include "sotto/client/tls_endpoint.h"

namespace sotto::client {

// Configures `tls` (a tls_client context) for `endpoint`.
void configure_tls_client(boost::asio::ssl::context& tls, const TlsEndpoint& endpoint);

// Names the server for SNI on a stream about to shake hands; false when OpenSSL refuses.
bool set_server_name(SSL* ssl, const TlsEndpoint& endpoint);

}  // namespace sotto::client
