// Finding an address's mail servers over the network (native only): the provider's
// autoconfig file over HTTPS, else Delta Chat's guesses (sotto/mail/autoconfig.h); each
// candidate is tried with the password, in order, and the first IMAP and the first SMTP
// server that log in are the account's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/result.h"
#include "sotto/mail/autoconfig.h"
#include "sotto/mail/imap_connection.h"

namespace sotto::mail {

// A rule "connections to host:port go to to_host:to_port" (curl's --connect-to).
struct ConnectTo {
  std::string host;
  uint16_t port = 0;
  std::string to_host;
  uint16_t to_port = 0;
};

// Parses "HOST:PORT:TO_HOST:TO_PORT" (an IPv6 address in brackets). Errors: invalid_argument.
Result<ConnectTo> parse_connect_to(std::string_view rule);
// Sets `endpoint`'s connect_host and connect_port from the first rule for its host and port
// (host names compared without case).
void apply_connect_to(MailServerEndpoint& endpoint, const std::vector<ConnectTo>& rules);

// GET https://host/path: the body of a 200 answer, at most `max_bytes`. The certificate is
// checked as `trust` says (its ca_file, else the system's CAs; never accepted unchecked);
// `trust`'s connect rules and step timeout apply. Redirects are not followed. Errors:
// unavailable (no connection, TLS refused, a timeout), not_found (an answer other than 200),
// length_limit, invalid_value (not HTTP).
Result<std::string> fetch_https(const std::string& host, const std::string& path,
                                const MailServerEndpoint& trust,
                                const std::vector<ConnectTo>& connect_to,
                                size_t max_bytes = kMaxAutoconfigBytes);

// Connects, logs in and logs out: whether the IMAP server takes these credentials.
// Errors: ImapConnection::connect's and login's.
Result<void> check_imap_login(const MailServerEndpoint& endpoint, const std::string& login,
                              const std::string& password);

struct DiscoveryOptions {
  // Trust for the mail servers, as MailServerEndpoint's. The autoconfig file is fetched only
  // from a server whose certificate checks (the CA file or the system's), even when any
  // certificate is accepted for the mail servers: an unchecked file could send the password
  // anywhere.
  std::string ca_file;
  bool accept_any_certificate = false;
  std::vector<ConnectTo> connect_to;
  // Per step of each try; a candidate that does not answer costs this much.
  std::chrono::milliseconds step_timeout{10000};
  // Told each try and its outcome (no password, no login).
  std::function<void(const std::string&)> progress;
};

struct DiscoveredServers {
  MailServerEndpoint imap;
  MailServerEndpoint smtp;
  std::string login;  // the IMAP server's user name; SMTP takes the same
  // "https://autoconfig.example.org/mail/config-v1.1.xml" (no query), or "guess".
  std::string found_by;
};

// Finds the servers and logs in to each with `password`. A server that refuses the password
// ends the search at once (unauthenticated): it is not tried on the next candidates.
// Errors: unauthenticated, not_found (no candidate could be reached or logged in to; the
// message says what the last try met).
Result<DiscoveredServers> discover_servers(const std::string& address, const std::string& password,
                                           const DiscoveryOptions& options);

}  // namespace sotto::mail
