// Finding an address's mail servers (sans-IO): the candidates a client tries, in order, from
// the provider's autoconfig file (Thunderbird's clientConfig 1.1, which Delta Chat reads too)
// or, without one, guessed from the address's domain (imap.DOMAIN, mail.DOMAIN, DOMAIN on the
// standard ports). Only servers reached over TLS (implicit or STARTTLS) with a password are
// candidates: Sotto sends no password in clear and does no OAuth.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/result.h"

namespace sotto::mail {

struct ServerCandidate {
  std::string host;
  uint16_t port = 0;
  bool starttls = false;  // else implicit TLS
  std::string login;      // the user name, placeholders filled in

  bool operator==(const ServerCandidate&) const = default;
};

struct ServerCandidates {
  std::vector<ServerCandidate> imap;
  std::vector<ServerCandidate> smtp;  // submission
};

// Where a provider publishes its autoconfig file for `address` (Thunderbird's order, HTTPS
// only: a file over plain HTTP could send the password anywhere): autoconfig.DOMAIN, then
// DOMAIN's well-known path. Each is a host and a path with its query.
struct AutoconfigUrl {
  std::string host;
  std::string path;
};
std::vector<AutoconfigUrl> autoconfig_urls(std::string_view address);

// The most of an autoconfig file this reads, and of the servers it takes from one.
inline constexpr size_t kMaxAutoconfigBytes = size_t{64} << 10;
inline constexpr size_t kMaxAutoconfigServers = 8;

// Reads an autoconfig file for `address`: each <incomingServer type="imap"> and
// <outgoingServer type="smtp"> with a host name, a port, socketType SSL or STARTTLS and
// password authentication (or none said), in the file's order; %EMAILADDRESS%,
// %EMAILLOCALPART% and %EMAILDOMAIN% filled in. Servers of other kinds, over plain text or
// only with OAuth are left out. Errors: invalid_value (not well-formed XML, not a
// clientConfig, a bad host name or port), not_found (no usable IMAP or no usable SMTP
// server), length_limit (over kMaxAutoconfigBytes).
Result<ServerCandidates> parse_autoconfig(std::string_view xml, std::string_view address);

// Delta Chat's guesses when there is no autoconfig file: imap.DOMAIN, mail.DOMAIN and DOMAIN
// on 993 (TLS) then 143 (STARTTLS); smtp.DOMAIN, mail.DOMAIN and DOMAIN on 465 (TLS) then 587
// (STARTTLS); the address as the login.
ServerCandidates guess_servers(std::string_view address);

// Whether `host` is a DNS name (letters, digits, '-', dots between labels) or an IPv4
// address in dotted form.
bool is_host_name(std::string_view host);

}  // namespace sotto::mail
