#include "sotto/mail/discovery.h"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <charconv>
#include <utility>

#include "mail_stream.h"
#include "sotto/mail/smtp_submission.h"

namespace sotto::mail {

namespace {

namespace http = boost::beast::http;

// "HOST" or "[IPv6]" then ':' at the front of `text`; the host without brackets.
Result<std::string> take_host(std::string_view& text, const Error& usage) {
  std::string host;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return usage;
    host = std::string(text.substr(1, close - 1));
    text.remove_prefix(close + 1);
  } else {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos) return usage;
    host = std::string(text.substr(0, colon));
    text.remove_prefix(colon);
  }
  if (host.empty() || text.empty() || text.front() != ':') return usage;
  text.remove_prefix(1);
  return host;
}

Result<uint16_t> take_port(std::string_view& text, const Error& usage) {
  const size_t colon = text.find(':');
  const std::string_view digits = text.substr(0, colon);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535)
    return usage;
  text.remove_prefix(colon == std::string_view::npos ? text.size() : colon + 1);
  return static_cast<uint16_t>(port);
}

MailServerEndpoint endpoint_for(const ServerCandidate& c, const DiscoveryOptions& options) {
  MailServerEndpoint e;
  e.host = c.host;
  e.port = c.port;
  e.security = c.starttls ? MailServerEndpoint::Security::starttls
                          : MailServerEndpoint::Security::implicit_tls;
  e.ca_file = options.ca_file;
  e.accept_any_certificate = options.accept_any_certificate;
  e.step_timeout = options.step_timeout;
  apply_connect_to(e, options.connect_to);
  return e;
}

std::string describe(const ServerCandidate& c) {
  return c.host + ":" + std::to_string(c.port) + (c.starttls ? " (STARTTLS)" : " (TLS)");
}

void say(const DiscoveryOptions& options, const std::string& what) {
  if (options.progress) options.progress(what);
}

// The autoconfig file's candidates and where it was found; nullopt when no file serves.
std::optional<std::pair<ServerCandidates, std::string>> from_autoconfig(
    const std::string& address, const DiscoveryOptions& options) {
  MailServerEndpoint trust;
  trust.ca_file = options.ca_file;
  trust.step_timeout = options.step_timeout;
  for (const auto& url : autoconfig_urls(address)) {
    const std::string where = "https://" + url.host + url.path.substr(0, url.path.find('?'));
    auto body = fetch_https(url.host, url.path, trust, options.connect_to);
    if (!body) {
      say(options, "no autoconfig file at " + where + ": " + body.error().message());
      continue;
    }
    auto candidates = parse_autoconfig(*body, address);
    if (!candidates) {
      say(options,
          "the autoconfig file at " + where + " is of no use: " + candidates.error().message());
      continue;
    }
    say(options, "found the autoconfig file at " + where);
    return std::make_pair(*std::move(candidates), where);
  }
  return std::nullopt;
}

// Tries each candidate in turn with `log_in`: the first that logs in (its endpoint and
// login), or the refusal of the password, which ends the search.
template <typename LogIn>
Result<std::pair<MailServerEndpoint, std::string>> first_to_log_in(
    const std::string& kind, const std::vector<ServerCandidate>& candidates,
    const DiscoveryOptions& options, const LogIn& log_in) {
  std::string last = "no candidate";
  for (const auto& c : candidates) {
    MailServerEndpoint e = endpoint_for(c, options);
    auto logged_in = log_in(e, c);
    if (!logged_in && logged_in.error().code() == Errc::unauthenticated) {
      return Error(Errc::unauthenticated,
                   kind + " " + describe(c) + " refused the login: " + logged_in.error().message());
    }
    if (!logged_in) {
      last = logged_in.error().message();
      say(options, kind + " " + describe(c) + ": " + last);
      continue;
    }
    say(options, kind + " " + describe(c) + ": logged in");
    return std::make_pair(std::move(e), c.login);
  }
  return Error(Errc::not_found, "found no " + kind + " server to log in to (" + last + ")");
}

}  // namespace

Result<void> check_imap_login(const MailServerEndpoint& endpoint, const std::string& login,
                              const std::string& password) {
  SOTTO_TRY_ASSIGN(auto connection, ImapConnection::connect(endpoint));
  auto logged_in = connection->login(login, password);
  connection->logout();
  return logged_in;
}

Result<ConnectTo> parse_connect_to(std::string_view rule) {
  const Error usage(Errc::invalid_argument,
                    "--connect-to: HOST:PORT:TO_HOST:TO_PORT (IPv6 in brackets), ports from 1 "
                    "to 65535");
  ConnectTo c;
  SOTTO_TRY_ASSIGN(c.host, take_host(rule, usage));
  SOTTO_TRY_ASSIGN(c.port, take_port(rule, usage));
  SOTTO_TRY_ASSIGN(c.to_host, take_host(rule, usage));
  SOTTO_TRY_ASSIGN(c.to_port, take_port(rule, usage));
  if (!rule.empty()) return usage;
  return c;
}

void apply_connect_to(MailServerEndpoint& endpoint, const std::vector<ConnectTo>& rules) {
  for (const auto& r : rules) {
    if (r.port == endpoint.port && ascii::iequals(r.host, endpoint.host)) {
      endpoint.connect_host = r.to_host;
      endpoint.connect_port = r.to_port;
      return;
    }
  }
}

Result<std::string> fetch_https(const std::string& host, const std::string& path,
                                const MailServerEndpoint& trust,
                                const std::vector<ConnectTo>& connect_to, size_t max_bytes) {
  MailServerEndpoint e;
  e.host = host;
  e.port = 443;
  e.ca_file = trust.ca_file;
  e.step_timeout = trust.step_timeout;
  apply_connect_to(e, connect_to);
  if (!is_host_name(host) || path.empty() || path.front() != '/' ||
      path.find_first_of(" \r\n") != std::string::npos) {
    return Error(Errc::invalid_argument, "not a URL this fetches: https://" + host + path);
  }
  MailStream io("HTTPS", e.step_timeout);
  SOTTO_TRY(io.connect(e));
  SOTTO_TRY(io.start_tls(e));
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host +
                        "\r\nUser-Agent: Sotto\r\nAccept: application/xml, text/xml\r\n"
                        "Connection: close\r\n\r\n";
  SOTTO_TRY(io.write(request));

  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(max_bytes);
  parser.eager(true);
  std::string pending;
  const auto deadline = Clock::now() + e.step_timeout;
  while (!parser.is_done()) {
    auto bytes = io.read(deadline);
    boost::system::error_code ec;
    if (!bytes) {
      // The server closed: the end of a body that runs to the close, else cut short.
      parser.put_eof(ec);
      if (ec || !parser.is_done()) return std::move(bytes).error();
      break;
    }
    if (bytes->empty()) return mail_unavailable("HTTPS", host + " did not answer in time");
    pending += *bytes;
    while (!pending.empty() && !parser.is_done()) {
      const size_t used = parser.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more) break;
      if (ec == http::error::body_limit) {
        return Error(Errc::length_limit, "https://" + host + path + " answers with too much");
      }
      if (ec) {
        return Error(Errc::invalid_value,
                     "https://" + host + " does not answer in HTTP: " + ec.message());
      }
    }
  }
  io.close();
  const auto& response = parser.get();
  if (response.result_int() != 200) {
    return Error(Errc::not_found,
                 "https://" + host + " answers " + std::to_string(response.result_int()));
  }
  return response.body();
}

Result<DiscoveredServers> discover_servers(const std::string& address, const std::string& password,
                                           const DiscoveryOptions& options) {
  DiscoveredServers found;
  ServerCandidates candidates;
  if (auto config = from_autoconfig(address, options)) {
    candidates = std::move(config->first);
    found.found_by = std::move(config->second);
  } else {
    say(options, "no autoconfig file: trying the usual host names");
    candidates = guess_servers(address);
    found.found_by = "guess";
  }

  SOTTO_TRY_ASSIGN(auto imap,
                   first_to_log_in("IMAP", candidates.imap, options,
                                   [&](const MailServerEndpoint& e, const ServerCandidate& c) {
                                     return check_imap_login(e, c.login, password);
                                   }));
  found.imap = std::move(imap.first);
  found.login = std::move(imap.second);
  SOTTO_TRY_ASSIGN(auto smtp,
                   first_to_log_in("SMTP", candidates.smtp, options,
                                   [&](const MailServerEndpoint& e, const ServerCandidate&) {
                                     return check_login(e, found.login, password);
                                   }));
  found.smtp = std::move(smtp.first);
  return found;
}

}  // namespace sotto::mail
