#include "sotto/mail/autoconfig.h"

#include <glib.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>

#include "ascii.h"

namespace sotto::mail {

namespace {

std::string_view domain_of(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

// RFC 3986's unreserved characters stay; every other byte is percent-encoded.
std::string query_value(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (ascii::is_alnum(static_cast<char>(c)) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && ascii::is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && ascii::is_space(s.back())) s.remove_suffix(1);
  return s;
}

// One <incomingServer> or <outgoingServer> as it is read.
struct ServerElement {
  bool imap = false;  // else smtp
  std::string hostname, port, socket_type, username;
  std::vector<std::string> authentication;
};

struct AutoconfigReader {
  std::string_view address;
  std::vector<std::string> stack;
  bool seen_root = false;
  std::optional<ServerElement> server;  // inside a server element of a kind this reads
  std::string text;                     // of the leaf element being read
  ServerCandidates found;
  std::optional<Error> failed;

  void fail(std::string what) {
    if (!failed) failed = Error(Errc::invalid_value, "the autoconfig file " + std::move(what));
  }

  std::string fill(std::string_view value) const {
    std::string out(value);
    const std::string_view domain = domain_of(address);
    const std::string_view local = address.substr(0, address.size() - domain.size() - 1);
    out = replace_all(std::move(out), "%EMAILADDRESS%", address);
    out = replace_all(std::move(out), "%EMAILLOCALPART%", local);
    return replace_all(std::move(out), "%EMAILDOMAIN%", domain);
  }

  // Takes a finished server element when it is one Sotto can use.
  void take(const ServerElement& s) {
    const bool by_password =
        s.authentication.empty() ||
        std::any_of(s.authentication.begin(), s.authentication.end(), [](const std::string& a) {
          return ascii::iequals(a, "password-cleartext") || ascii::iequals(a, "plain");
        });
    const bool tls = ascii::iequals(s.socket_type, "SSL");
    const bool starttls = ascii::iequals(s.socket_type, "STARTTLS");
    if (!by_password || (!tls && !starttls)) return;
    ServerCandidate c;
    c.host = ascii::lower(fill(s.hostname));
    if (!is_host_name(c.host)) return fail("names a server that is not a host name");
    unsigned port = 0;
    auto [end, ec] = std::from_chars(s.port.data(), s.port.data() + s.port.size(), port);
    if (ec != std::errc() || end != s.port.data() + s.port.size() || port == 0 || port > 65535)
      return fail("names a port that is not a number from 1 to 65535");
    c.port = static_cast<uint16_t>(port);
    c.starttls = starttls;
    c.login = s.username.empty() ? std::string(address) : fill(s.username);
    auto& list = s.imap ? found.imap : found.smtp;
    if (list.size() < kMaxAutoconfigServers &&
        std::find(list.begin(), list.end(), c) == list.end()) {
      list.push_back(std::move(c));
    }
  }

  void start(std::string_view name, const gchar** attribute_names, const gchar** attribute_values) {
    if (stack.size() >= 16) return fail("is nested too deep");
    if (stack.empty() && (name != "clientConfig" || seen_root)) {
      return fail("is not a clientConfig");
    }
    if (stack.empty()) seen_root = true;
    text.clear();
    const bool in_provider =
        stack.size() == 2 && stack[0] == "clientConfig" && stack[1] == "emailProvider";
    if (in_provider && (name == "incomingServer" || name == "outgoingServer")) {
      std::string type;
      for (size_t i = 0; attribute_names[i] != nullptr; ++i) {
        if (std::string_view(attribute_names[i]) == "type") type = attribute_values[i];
      }
      if ((name == "incomingServer" && type == "imap") ||
          (name == "outgoingServer" && type == "smtp")) {
        server = ServerElement{};
        server->imap = type == "imap";
      }
    }
    stack.emplace_back(name);
  }

  void end(std::string_view name) {
    if (stack.empty()) return;
    if (server && stack.size() == 4) {
      const std::string value(trim(text));
      if (name == "hostname") server->hostname = value;
      if (name == "port") server->port = value;
      if (name == "socketType") server->socket_type = value;
      if (name == "username") server->username = value;
      if (name == "authentication") server->authentication.push_back(value);
    }
    if (server && stack.size() == 3) {
      take(*server);
      server.reset();
    }
    text.clear();
    stack.pop_back();
  }
};

void on_start(GMarkupParseContext*, const gchar* name, const gchar** attribute_names,
              const gchar** attribute_values, gpointer reader, GError**) {
  static_cast<AutoconfigReader*>(reader)->start(name, attribute_names, attribute_values);
}

void on_end(GMarkupParseContext*, const gchar* name, gpointer reader, GError**) {
  static_cast<AutoconfigReader*>(reader)->end(name);
}

void on_text(GMarkupParseContext*, const gchar* text, gsize length, gpointer reader, GError**) {
  auto* r = static_cast<AutoconfigReader*>(reader);
  if (r->text.size() + length <= 1024) r->text.append(text, length);
}

struct ContextFree {
  void operator()(GMarkupParseContext* c) const { g_markup_parse_context_free(c); }
};

}  // namespace

std::vector<AutoconfigUrl> autoconfig_urls(std::string_view address) {
  const std::string domain(domain_of(address));
  const std::string query = "?emailaddress=" + query_value(address);
  return {{"autoconfig." + domain, "/mail/config-v1.1.xml" + query},
          {domain, "/.well-known/autoconfig/mail/config-v1.1.xml" + query}};
}

bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      if (label == 0 || label > 63 || host[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    const char c = host[i];
    if (!ascii::is_alnum(c) && c != '-') return false;
    if (label == 0 && c == '-') return false;
    ++label;
  }
  return true;
}

Result<ServerCandidates> parse_autoconfig(std::string_view xml, std::string_view address) {
  if (xml.size() > kMaxAutoconfigBytes) {
    return Error(Errc::length_limit, "the autoconfig file is over 64 KiB");
  }
  if (domain_of(address).empty()) return Error(Errc::invalid_argument, "not an e-mail address");
  AutoconfigReader reader{address, {}, false, std::nullopt, {}, {}, std::nullopt};
  GMarkupParser parser{};
  parser.start_element = on_start;
  parser.end_element = on_end;
  parser.text = on_text;
  std::unique_ptr<GMarkupParseContext, ContextFree> context(
      g_markup_parse_context_new(&parser, static_cast<GMarkupParseFlags>(0), &reader, nullptr));
  GError* error = nullptr;
  const bool parsed =
      g_markup_parse_context_parse(context.get(), xml.data(), static_cast<gssize>(xml.size()),
                                   &error) != FALSE &&
      g_markup_parse_context_end_parse(context.get(), &error) != FALSE;
  if (error != nullptr) g_error_free(error);
  if (reader.failed) return *reader.failed;
  if (!parsed) return Error(Errc::invalid_value, "the autoconfig file is not well-formed XML");
  if (reader.found.imap.empty() || reader.found.smtp.empty()) {
    return Error(Errc::not_found,
                 "the autoconfig file names no IMAP or no SMTP server reached over TLS with a "
                 "password");
  }
  return std::move(reader.found);
}

ServerCandidates guess_servers(std::string_view address) {
  const std::string domain(domain_of(address));
  ServerCandidates c;
  for (const std::string& host : {"imap." + domain, "mail." + domain, domain}) {
    c.imap.push_back({host, 993, false, std::string(address)});
    c.imap.push_back({host, 143, true, std::string(address)});
  }
  for (const std::string& host : {"smtp." + domain, "mail." + domain, domain}) {
    c.smtp.push_back({host, 465, false, std::string(address)});
    c.smtp.push_back({host, 587, true, std::string(address)});
  }
  return c;
}

}  // namespace sotto::mail
