#include "mail_commands.h"

#include <poll.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <thread>

#include "qr.h"
#include "sotto/client/mail_client.h"
#include "sotto/client/mail_invite.h"
#include "sotto/core/encoding.h"
#include "sotto/mail/discovery.h"
#include "sotto/openpgp/armor.h"

namespace sotto::cli {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr int kMailSettingsVersion = 1;

// mail.json: the servers (not secret; the password is in the store), and how far `recv`
// has shown each conversation.
struct MailSettings {
  client::MailServers servers;
  std::optional<std::string> key_file;
  std::map<std::string, uint64_t> shown;  // group id (hex) -> messages shown
  bool read_receipts = true;  // whether `history` tells senders who asked that it was read
};

fs::path settings_path(const Profile& profile) {
  return profile.dir() / "mail.json";
}

const char* security_name(mail::MailServerEndpoint::Security s) {
  return s == mail::MailServerEndpoint::Security::starttls ? "starttls" : "tls";
}

Result<mail::MailServerEndpoint::Security> parse_security(const std::string& name, uint16_t port,
                                                          uint16_t starttls_port) {
  if (name.empty()) {
    return port == starttls_port ? mail::MailServerEndpoint::Security::starttls
                                 : mail::MailServerEndpoint::Security::implicit_tls;
  }
  if (name == "tls") return mail::MailServerEndpoint::Security::implicit_tls;
  if (name == "starttls") return mail::MailServerEndpoint::Security::starttls;
  return Error(Errc::invalid_argument, "security is tls or starttls, not " + name);
}

json endpoint_json(const mail::MailServerEndpoint& e) {
  json j = {{"host", e.host}, {"port", e.port}, {"security", security_name(e.security)}};
  if (!e.connect_host.empty()) {
    j["connect_host"] = e.connect_host;
    j["connect_port"] = e.connect_port;
  }
  return j;
}

Result<mail::MailServerEndpoint> endpoint_from(const json& j, const std::string& ca_file,
                                               bool accept_any) {
  mail::MailServerEndpoint e;
  e.host = j.at("host").get<std::string>();
  e.port = j.at("port").get<uint16_t>();
  SOTTO_TRY_ASSIGN(e.security, parse_security(j.at("security").get<std::string>(), e.port, 0));
  e.ca_file = ca_file;
  e.accept_any_certificate = accept_any;
  if (j.contains("connect_host")) {
    e.connect_host = j.at("connect_host").get<std::string>();
    e.connect_port = j.at("connect_port").get<uint16_t>();
  }
  return e;
}

Result<MailSettings> load_settings(const Profile& profile) {
  const fs::path path = settings_path(profile);
  std::ifstream in(path);
  if (!in) return Error(Errc::not_found, "no e-mail profile at " + profile.dir().string());
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Error damaged(Errc::invalid_value, path.string() + " is damaged");
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return damaged;
  try {
    if (j.at("version").get<int>() != kMailSettingsVersion) {
      return Error(Errc::unsupported, path.string() + " was written by another sotto version");
    }
    MailSettings s;
    const std::string ca_file = j.value("ca_file", std::string());
    const bool accept_any = j.value("accept_invalid_certificates", false);
    SOTTO_TRY_ASSIGN(s.servers.imap, endpoint_from(j.at("imap"), ca_file, accept_any));
    SOTTO_TRY_ASSIGN(s.servers.smtp, endpoint_from(j.at("smtp"), ca_file, accept_any));
    s.servers.login = j.at("login").get<std::string>();
    if (j.contains("key_file")) s.key_file = j.at("key_file").get<std::string>();
    s.read_receipts = j.value("read_receipts", true);
    const json shown = j.value("shown", json::object());
    for (const auto& [group, count] : shown.items()) s.shown[group] = count.get<uint64_t>();
    return s;
  } catch (const json::exception&) {
    return damaged;
  }
}

Result<void> save_settings(const Profile& profile, const MailSettings& s) {
  json j = {{"version", kMailSettingsVersion},
            {"imap", endpoint_json(s.servers.imap)},
            {"smtp", endpoint_json(s.servers.smtp)},
            {"login", s.servers.login},
            {"shown", s.shown},
            {"read_receipts", s.read_receipts}};
  if (!s.servers.imap.ca_file.empty()) j["ca_file"] = s.servers.imap.ca_file;
  if (s.servers.imap.accept_any_certificate) j["accept_invalid_certificates"] = true;
  if (s.key_file) j["key_file"] = *s.key_file;
  return write_private_file(settings_path(profile), j.dump(2) + "\n");
}

// Where the files that came in mail are kept, encrypted.
client::FileVault files_of(const Profile& profile) {
  return client::FileVault(profile.dir() / "files");
}

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// An open e-mail profile.
struct MailAccountSession {
  Profile profile{fs::path()};
  MailSettings settings;
  std::unique_ptr<client::SqliteClientStore> store;
  std::unique_ptr<client::MailClient> client;
};

int open_mail(const CommonOptions& common, const Output& out, MailAccountSession& session) {
  session.profile = profile_for(common);
  auto settings = load_settings(session.profile);
  if (!settings) {
    return out.fail(settings.error().code() == Errc::not_found ? Exit::no_account : Exit::failure,
                    settings.error());
  }
  session.settings = std::move(settings).value();
  auto unlock = choose_unlock(common.key_file, session.settings.key_file, false);
  if (!unlock) return out.fail(Exit::bad_unlock, unlock.error());
  auto store = open_store(session.profile, *unlock, false);
  if (!store) return out.fail(exit_for_store_open(store.error()), store.error());
  session.store = std::move(store).value();
  auto client = client::MailClient::open(*session.store, session.settings.servers, now_ms,
                                         files_of(session.profile));
  if (!client) {
    return out.fail(client.error().code() == Errc::not_found ? Exit::no_account : Exit::failure,
                    client.error());
  }
  session.client = std::move(client).value();
  return 0;
}

// As Delta Chat shows it, and as invite links carry it.
std::string fingerprint_text(const openpgp::Cert& cert) {
  return client::format_fingerprint(cert.fingerprint());
}

// Prints the incoming messages not shown yet, oldest first, and moves the marks past them.
Result<size_t> show_new(MailAccountSession& session, const Output& out,
                        const std::vector<client::StoredMessage>& rewritten = {}) {
  SOTTO_TRY_ASSIGN(auto fresh, take_unshown(*session.store, session.settings.shown));
  for (const auto& p : fresh)
    print_stored_message(out, p.conversation, p.message, false, *session.store);
  // Messages shown before that changed since (edited, deleted, or completed by their file):
  // shown again as they are now.
  size_t again = 0;
  for (const auto& m : rewritten) {
    const bool is_fresh = std::any_of(fresh.begin(), fresh.end(), [&](const Unshown& p) {
      return p.message.group_id == m.group_id && p.message.message_id == m.message_id;
    });
    if (is_fresh) continue;
    ++again;
    SOTTO_TRY_ASSIGN(auto c, session.store->conversation(m.group_id));
    if (c) print_stored_message(out, *c, m, false, *session.store);
  }
  SOTTO_TRY(save_settings(session.profile, session.settings));
  return fresh.size() + again;
}

// Says whose keys SecureJoin verified.
void show_verified(const Output& out, const std::vector<std::string>& verified) {
  for (const auto& address : verified) {
    if (out.json()) {
      out.object({{"event", "verified"}, {"address", address}});
    } else {
      out.line("* " + address + "'s key is verified (SecureJoin)");
    }
  }
}

// Sends what waits in the outbox; says so when it cannot (the mails stay there).
void flush(MailAccountSession& session, const Output& out) {
  auto flushed = session.client->flush_outbox();
  if (!flushed) out.warn(flushed.error());
}

// The conversation was shown: its messages are read, and senders who asked hear of it
// (unless `receipts off`); a receipt that cannot leave now waits in the outbox.
int mark_read(MailAccountSession& session, const Output& out, BytesView group_id) {
  auto marked = session.client->mark_read(group_id, session.settings.read_receipts);
  if (!marked) return out.fail(Exit::profile_busy, marked.error());
  if (*marked > 0 && session.settings.read_receipts) flush(session, out);
  return 0;
}

// The servers given with --imap and --smtp.
Result<client::MailServers> given_servers(const MailInitOptions& options,
                                          const std::string& address) {
  client::MailServers servers;
  SOTTO_TRY_ASSIGN(auto imap, parse_server(options.imap));
  SOTTO_TRY_ASSIGN(auto smtp, parse_server(options.smtp));
  SOTTO_TRY_ASSIGN(servers.imap.security, parse_security(options.imap_security, imap.second, 143));
  SOTTO_TRY_ASSIGN(servers.smtp.security, parse_security(options.smtp_security, smtp.second, 587));
  servers.imap.host = imap.first;
  servers.imap.port = imap.second;
  servers.smtp.host = smtp.first;
  servers.smtp.port = smtp.second;
  servers.login = options.login.empty() ? address : options.login;
  return servers;
}

// Finds the servers from the address and logs in to them, saying each try on stderr.
Result<void> find_mail_servers(const Output& out, const std::string& address,
                               const std::string& password, const std::string& ca_file,
                               const MailInitOptions& options,
                               const std::vector<mail::ConnectTo>& connect_to,
                               client::MailServers& servers, std::string& found_by) {
  if (!options.imap_security.empty() || !options.smtp_security.empty() || !options.login.empty()) {
    return Error(Errc::invalid_argument,
                 "--imap-security, --smtp-security and --mail-login go with --imap and --smtp");
  }
  mail::DiscoveryOptions discovery;
  discovery.ca_file = ca_file;
  discovery.accept_any_certificate = options.accept_invalid_certificates;
  discovery.connect_to = connect_to;
  if (!out.json()) {
    discovery.progress = [](const std::string& what) { std::cerr << "sotto: " << what << "\n"; };
  }
  SOTTO_TRY_ASSIGN(auto found, mail::discover_servers(address, password, discovery));
  const mail::MailServerEndpoint defaults;
  found.imap.step_timeout = defaults.step_timeout;
  found.smtp.step_timeout = defaults.step_timeout;
  servers.imap = std::move(found.imap);
  servers.smtp = std::move(found.smtp);
  servers.login = std::move(found.login);
  found_by = std::move(found.found_by);
  return success();
}

std::string server_text(const mail::MailServerEndpoint& e) {
  return e.host + ":" + std::to_string(e.port) + " (" + security_name(e.security) + ")";
}

}  // namespace

bool is_mail_profile(const CommonOptions& common) {
  return fs::exists(settings_path(profile_for(common)));
}

int run_mail_init(const CommonOptions& common, const MailInitOptions& options) {
  const Output out(common.json);
  auto address = client::normalize_mail_address(options.email);
  if (!address) return out.fail(Exit::usage, address.error());
  if (options.imap.empty() != options.smtp.empty()) {
    return out.fail(Exit::usage,
                    "give both mail servers (--imap HOST:PORT and --smtp HOST:PORT), or neither "
                    "to find them from the address");
  }
  std::vector<mail::ConnectTo> connect_to;
  for (const auto& rule : options.connect_to) {
    auto parsed = mail::parse_connect_to(rule);
    if (!parsed) return out.fail(Exit::usage, parsed.error());
    connect_to.push_back(*std::move(parsed));
  }
  MailSettings settings;
  const std::string ca_file = options.ca_file.empty() ? "" : fs::absolute(options.ca_file).string();
  const bool find_servers = options.imap.empty();
  if (!find_servers) {
    auto given = given_servers(options, *address);
    if (!given) return out.fail(Exit::usage, given.error());
    settings.servers = *std::move(given);
    for (auto* e : {&settings.servers.imap, &settings.servers.smtp}) {
      e->ca_file = ca_file;
      e->accept_any_certificate = options.accept_invalid_certificates;
      mail::apply_connect_to(*e, connect_to);
    }
  }

  Profile profile = profile_for(common);
  if (fs::exists(settings_path(profile)) || fs::exists(profile.settings_path())) {
    return out.fail(Exit::exists, "the profile " + profile.dir().string() +
                                      " already holds an account: choose another with --profile");
  }
  auto password = read_secret("SOTTO_MAIL_PASSWORD", "mail password", false);
  if (!password) return out.fail(Exit::usage, password.error());

  // The servers and the password are checked before anything is kept.
  std::string found_by = "given";
  {
    std::string secret(password->begin(), password->end());
    auto checked = find_servers ? find_mail_servers(out, *address, secret, ca_file, options,
                                                    connect_to, settings.servers, found_by)
                                : mail::check_imap_login(settings.servers.imap,
                                                         settings.servers.login, secret);
    sodium_memzero(secret.data(), secret.size());
    if (!checked) {
      const Exit code =
          checked.error().code() == Errc::not_found ? Exit::offline : exit_for(checked.error());
      return out.fail(code, checked.error());
    }
  }

  std::unique_ptr<client::SqliteClientStore> store;
  if (int failed = create_store(common, out, profile, store, settings.key_file)) return failed;
  if (auto made = client::MailClient::create(*store, *address, *std::move(password), now_ms());
      !made) {
    return out.fail(exit_for(made.error()), made.error());
  }
  if (auto saved = save_settings(profile, settings); !saved) {
    return out.fail(Exit::profile_busy, saved.error());
  }
  auto client = client::MailClient::open(*store, settings.servers, now_ms, files_of(profile));
  if (!client) return out.fail(Exit::failure, client.error());
  const std::string fingerprint = fingerprint_text((*client)->public_cert());
  if (out.json()) {
    out.object({{"address", *address},
                {"fingerprint", fingerprint},
                {"imap", endpoint_json(settings.servers.imap)},
                {"smtp", endpoint_json(settings.servers.smtp)},
                {"login", settings.servers.login},
                {"servers_from", found_by},
                {"profile", fs::absolute(profile.dir()).string()}});
  } else {
    if (find_servers) {
      out.line("mail servers: IMAP " + server_text(settings.servers.imap) + ", SMTP " +
               server_text(settings.servers.smtp) +
               (found_by == "guess" ? " (guessed)" : " (from " + found_by + ")"));
    }
    out.line("e-mail account " + *address + " set up; key " + fingerprint);
    out.line(
        "Give people your key (`sotto whoami --public-key`) and add theirs with "
        "`sotto contacts add ADDRESS --key FILE`.");
  }
  return 0;
}

int run_mail_whoami(const CommonOptions& common, bool public_key) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  const auto& cert = session.client->public_cert();
  const std::string armored = openpgp::armor("PUBLIC KEY BLOCK", cert.encode());
  if (out.json()) {
    json j = {{"address", session.client->address()},
              {"fingerprint", fingerprint_text(cert)},
              {"imap", endpoint_json(session.settings.servers.imap)},
              {"smtp", endpoint_json(session.settings.servers.smtp)},
              {"profile", fs::absolute(session.profile.dir()).string()}};
    if (public_key) j["public_key"] = armored;
    out.object(j);
  } else if (public_key) {
    std::string text = armored;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    out.line(text);
  } else {
    out.line(session.client->address() + " (e-mail)");
    out.line("  key " + fingerprint_text(cert));
    out.line("  profile " + session.profile.dir().string());
  }
  return 0;
}

int run_mail_contacts_add(const CommonOptions& common, const std::string& address,
                          const std::string& key_path) {
  const Output out(common.json);
  if (key_path.empty()) {
    return out.fail(Exit::usage,
                    "an e-mail contact needs their key: --key FILE (they print it with "
                    "`sotto whoami --public-key`)");
  }
  std::ifstream in(key_path, std::ios::binary);
  if (!in) return out.fail(Exit::not_found, "cannot read " + key_path);
  const std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  if (auto imported = session.client->import_key(address, key); !imported) {
    const Exit code =
        imported.error().code() == Errc::invalid_argument ? Exit::usage : Exit::untrusted;
    return out.fail(code, imported.error());
  }
  auto peer = session.store->mail_peer(*client::normalize_mail_address(address));
  if (!peer || !*peer) return out.fail(Exit::failure, "the key was not stored");
  auto cert = openpgp::Cert::parse((*peer)->cert);
  const std::string fingerprint = cert ? fingerprint_text(*cert) : "";
  if (out.json()) {
    out.object({{"address", (*peer)->address}, {"fingerprint", fingerprint}});
  } else {
    out.line("added " + (*peer)->address + ", key " + fingerprint);
  }
  return 0;
}

int run_mail_contacts_list(const CommonOptions& common) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  auto peers = session.store->mail_peers();
  if (!peers) return out.fail(Exit::profile_busy, peers.error());
  for (const auto& p : *peers) {
    auto cert = openpgp::Cert::parse(p.cert);
    const std::string fingerprint = cert ? fingerprint_text(*cert) : "(unreadable key)";
    const char* source = p.source == client::MailKeySource::imported    ? "imported"
                         : p.source == client::MailKeySource::autocrypt ? "from their mail"
                                                                        : "from a group mail";
    if (out.json()) {
      out.object({{"address", p.address},
                  {"fingerprint", fingerprint},
                  {"key_source", source},
                  {"verified", p.verified}});
    } else {
      out.line(p.address + "  key " + fingerprint + " (" + source +
               (p.verified ? ", verified" : "") + ")");
    }
  }
  return 0;
}

int run_mail_send(const CommonOptions& common, const std::string& address,
                  std::optional<std::string> text) {
  const Output out(common.json);
  if (!text) text = read_stdin();
  if (text->empty()) return out.fail(Exit::usage, "an empty message");
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  auto queued = session.client->send_text(address, *text);
  if (!queued) return out.fail(exit_for(queued.error()), queued.error());
  auto flushed = session.client->flush_outbox();
  auto stored = session.store->message(queued->group_id, queued->message_id);
  if (!stored || !*stored) return out.fail(Exit::profile_busy, "the message was not stored");
  const client::StoredMessage& m = **stored;
  if (out.json()) {
    out.object({{"message_id", to_hex(m.message_id)},
                {"to", *client::normalize_mail_address(address)},
                {"state", m.state == client::DeliveryState::sent      ? "sent"
                          : m.state == client::DeliveryState::pending ? "pending"
                                                                      : "failed"}});
  } else if (m.state == client::DeliveryState::sent) {
    out.line("sent");
  }
  if (!flushed) return out.fail(exit_for(flushed.error()), flushed.error());
  if (m.state == client::DeliveryState::failed) {
    return out.fail(Exit::failure, "the mail server refused the message");
  }
  return 0;
}

int run_mail_recv(const CommonOptions& common, uint32_t wait_seconds) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  flush(session, out);
  // While waiting, a lost connection is made again (with growing pauses) until the wait is
  // over; without --wait, one try.
  auto received = session.client->receive_with_reconnect(
      std::chrono::seconds(wait_seconds), [&](const Error& error, std::chrono::seconds pause) {
        out.warn(Error(error.code(), error.message() + "; trying again in " +
                                         std::to_string(pause.count()) + " s"));
      });
  if (received) show_verified(out, received->verified);
  // What earlier runs stored is shown all the same.
  auto shown =
      show_new(session, out, received ? received->rewritten : std::vector<client::StoredMessage>{});
  if (!received) return out.fail(exit_for(received.error()), received.error());
  if (!shown) return out.fail(Exit::profile_busy, shown.error());
  if (received->refused > 0 && !out.json()) {
    out.warn(Error(Errc::invalid_value,
                   std::to_string(received->refused) +
                       " mail(s) not shown: not encrypted, or not signed by the sender's key"));
  }
  return 0;
}

int run_mail_history(const CommonOptions& common, const std::string& address) {
  const Output out(common.json);
  auto normalized = client::normalize_mail_address(address);
  if (!normalized) return out.fail(Exit::usage, normalized.error());
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  const Bytes chat = client::mail_chat_id(*normalized);
  auto conversation = session.store->conversation(chat);
  if (!conversation) return out.fail(Exit::profile_busy, conversation.error());
  if (!*conversation) return out.fail(Exit::not_found, "no conversation with " + *normalized);
  auto messages = session.store->messages(chat);
  if (!messages) return out.fail(Exit::profile_busy, messages.error());
  for (const auto& m : *messages) {
    print_stored_message(out, **conversation, m, true, *session.store);
  }
  return mark_read(session, out, chat);
}

namespace {

// The group GROUP names: its id in hex, or its name when one group has it.
Result<client::Conversation> find_group(const MailAccountSession& session,
                                        const std::string& group) {
  SOTTO_TRY_ASSIGN(auto conversations, session.store->conversations());
  std::vector<client::Conversation> named;
  for (auto& c : conversations) {
    if (c.kind != client::ConversationKind::group) continue;
    if (to_hex(c.group_id) == group) return std::move(c);
    if (c.name == group) named.push_back(std::move(c));
  }
  if (named.size() == 1) return std::move(named[0]);
  if (named.empty()) return Error(Errc::not_found, "no group " + group);
  return Error(Errc::invalid_argument, "several groups are called " + group + ": give its id");
}

}  // namespace

int run_mail_invite(const CommonOptions& common, bool qr, const std::string& group) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  std::string link = session.client->invite_link();
  if (!group.empty()) {
    auto c = find_group(session, group);
    if (!c) return out.fail(exit_for(c.error()), c.error());
    auto group_link = session.client->group_invite_link(c->group_id);
    if (!group_link) return out.fail(exit_for(group_link.error()), group_link.error());
    link = *std::move(group_link);
  }
  if (out.json()) {
    out.object({{"link", link}});
    return 0;
  }
  out.line(link);
  if (qr) {
    auto code = terminal_qr(link);
    if (!code) return out.fail(Exit::failure, code.error());
    out.line(*code);
  }
  return 0;
}

int run_mail_join(const CommonOptions& common, const std::string& link, uint32_t wait_seconds) {
  const Output out(common.json);
  auto invite = client::parse_mail_invite(link);
  if (!invite) return out.fail(Exit::usage, invite.error());
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  if (auto joined = session.client->join(link); !joined) {
    return out.fail(exit_for(joined.error()), joined.error());
  }
  auto sent = session.client->flush_outbox();
  if (!sent) return out.fail(exit_for(sent.error()), sent.error());
  const std::string inviter = *client::normalize_mail_address(invite->address);
  // The inviter's client answers by mail; receiving runs the handshake to its end.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto received = session.client->receive(std::min<std::chrono::milliseconds>(left, 10s));
    if (!received) return out.fail(exit_for(received.error()), received.error());
    show_verified(out, received->verified);
    if (std::find(received->verified.begin(), received->verified.end(), inviter) !=
        received->verified.end()) {
      if (auto shown = show_new(session, out); !shown) out.warn(shown.error());
      return 0;
    }
  }
  if (auto shown = show_new(session, out); !shown) out.warn(shown.error());
  if (wait_seconds == 0) {
    if (!out.json()) out.line("request sent to " + inviter + "; `sotto recv` completes the join");
    return 0;
  }
  return out.fail(Exit::offline, inviter +
                                     " has not answered yet; `sotto recv` completes the "
                                     "join when they do");
}

namespace {

void print_group(const Output& out, const client::Conversation& c) {
  const char* membership = c.membership == client::Membership::member ? "member" : "removed";
  if (out.json()) {
    out.object({{"group_id", to_hex(c.group_id)},
                {"name", c.name},
                {"members", c.members},
                {"membership", membership}});
  } else {
    std::string line = c.name + " (" + to_hex(c.group_id) + "):";
    for (const auto& m : c.members) line += " " + m;
    if (c.membership != client::Membership::member) line += " [removed]";
    out.line(line);
  }
}

// After a message was queued: sends the outbox, saying when that could not be done now.
int send_queued(MailAccountSession& session, const Output& out) {
  auto flushed = session.client->flush_outbox();
  if (!flushed) return out.fail(exit_for(flushed.error()), flushed.error());
  return 0;
}

}  // namespace

int run_mail_group_create(const CommonOptions& common, const std::string& name,
                          const std::vector<std::string>& members) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  auto made = session.client->create_group(name, members);
  if (!made) return out.fail(exit_for(made.error()), made.error());
  print_group(out, *made);
  return 0;
}

int run_mail_group_change(const CommonOptions& common, const std::string& group,
                          const std::vector<std::string>& members, bool add) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  auto found = find_group(session, group);
  if (!found) return out.fail(exit_for(found.error()), found.error());
  for (const auto& member : members) {
    auto changed = session.client->change_member(found->group_id, member, add);
    if (!changed) return out.fail(exit_for(changed.error()), changed.error());
  }
  if (int failed = send_queued(session, out)) return failed;
  auto now = session.store->conversation(found->group_id);
  if (now && *now) print_group(out, **now);
  return 0;
}

int run_mail_group_rename(const CommonOptions& common, const std::string& group,
                          const std::string& name) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  auto found = find_group(session, group);
  if (!found) return out.fail(exit_for(found.error()), found.error());
  auto renamed = session.client->rename_group(found->group_id, name);
  if (!renamed) return out.fail(exit_for(renamed.error()), renamed.error());
  if (int failed = send_queued(session, out)) return failed;
  auto now = session.store->conversation(found->group_id);
  if (now && *now) print_group(out, **now);
  return 0;
}

int run_mail_group_list(const CommonOptions& common) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  auto conversations = session.store->conversations();
  if (!conversations) return out.fail(Exit::profile_busy, conversations.error());
  for (const auto& c : *conversations) {
    if (c.kind == client::ConversationKind::group) print_group(out, c);
  }
  return 0;
}

int run_mail_group_send(const CommonOptions& common, const std::string& group,
                        std::optional<std::string> text) {
  const Output out(common.json);
  if (!text) text = read_stdin();
  if (text->empty()) return out.fail(Exit::usage, "an empty message");
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  auto found = find_group(session, group);
  if (!found) return out.fail(exit_for(found.error()), found.error());
  auto queued = session.client->send_group_text(found->group_id, *text);
  if (!queued) return out.fail(exit_for(queued.error()), queued.error());
  if (int failed = send_queued(session, out)) return failed;
  if (out.json()) {
    out.object({{"message_id", to_hex(queued->message_id)}, {"group", found->name}});
  } else {
    out.line("sent");
  }
  return 0;
}

int run_mail_group_history(const CommonOptions& common, const std::string& group) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  auto found = find_group(session, group);
  if (!found) return out.fail(exit_for(found.error()), found.error());
  auto messages = session.store->messages(found->group_id);
  if (!messages) return out.fail(Exit::profile_busy, messages.error());
  for (const auto& m : *messages) print_stored_message(out, *found, m, true, *session.store);
  return mark_read(session, out, found->group_id);
}

int run_mail_logout(const CommonOptions& common, bool confirmed) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  const std::string address = session.client->address();
  const fs::path dir = session.profile.dir();
  if (!confirmed) {
    return out.fail(Exit::usage, "this deletes " + dir.string() + " (the key, the password, " +
                                     "every conversation with " + address +
                                     " on this device); the mail stays on the server. Add --yes");
  }
  session.client.reset();
  session.store.reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return out.fail(Exit::failure, dir.string() + " could not be removed: " + ec.message());
  if (out.json()) {
    out.object({{"logged_out", address}});
  } else {
    out.line("logged out of " + address + "; this device's data is deleted");
  }
  return 0;
}

int run_mail_file_send(const CommonOptions& common, const std::string& address,
                       const std::optional<std::string>& group, const std::string& path,
                       const std::optional<std::string>& caption,
                       const std::optional<std::string>& media_type) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  std::string to = address;
  Result<client::StoredMessage> queued = Error(Errc::internal, "not sent");
  if (group) {
    auto found = find_group(session, *group);
    if (!found) return out.fail(exit_for(found.error()), found.error());
    to = found->name;
    queued = session.client->send_group_file(found->group_id, path, caption.value_or(""),
                                             media_type.value_or(""));
  } else {
    queued =
        session.client->send_file(address, path, caption.value_or(""), media_type.value_or(""));
  }
  if (!queued) return out.fail(exit_for(queued.error()), queued.error());
  if (int failed = send_queued(session, out)) return failed;
  const client::FileContent& file = *queued->file;
  if (out.json()) {
    out.object({{"message_id", to_hex(queued->message_id)}, {"to", to}, {"file", file_json(file)}});
  } else {
    out.line("sent " + file.name + " (" + std::to_string(file.size) + " bytes) to " + to);
  }
  return 0;
}

int run_mail_file_get(const CommonOptions& common, const std::string& message_id,
                      const std::optional<std::string>& output) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  client::StoredMessage found;
  if (int failed = find_file_message(*session.store, out, message_id, found)) return failed;
  fs::path target;
  if (int failed = file_output(*found.file, output, out, target)) return failed;
  return report_saved(out, found, target, files_of(session.profile).save(*found.file, target));
}

namespace {

// The conversation an edit or a delete names (a person's address, or a group), and the
// message's id from hex.
int find_message_target(MailAccountSession& session, const Output& out, const std::string& address,
                        const std::optional<std::string>& group, const std::string& hex,
                        Bytes& group_id, Bytes& message_id) {
  if (group) {
    auto found = find_group(session, *group);
    if (!found) return out.fail(exit_for(found.error()), found.error());
    group_id = found->group_id;
  } else {
    auto normalized = client::normalize_mail_address(address);
    if (!normalized) return out.fail(Exit::usage, normalized.error());
    group_id = client::mail_chat_id(*normalized);
  }
  auto id = from_hex(hex);
  if (!id || id->empty()) {
    return out.fail(Exit::usage, "a message id is hex digits (as `history` shows it)");
  }
  message_id = *std::move(id);
  return 0;
}

int report_changed(MailAccountSession& session, const Output& out,
                   const Result<client::StoredMessage>& changed, const std::string& done) {
  if (!changed) return out.fail(exit_for(changed.error()), changed.error());
  if (int failed = send_queued(session, out)) return failed;
  if (out.json()) {
    out.object({{"message_id", to_hex(changed->message_id)}, {"done", done}});
  } else {
    out.line(done);
  }
  return 0;
}

}  // namespace

namespace {

// An edit (`text` set) or a delete.
int change_message(const CommonOptions& common, const std::string& address,
                   const std::optional<std::string>& group, const std::string& message_id,
                   const std::optional<std::string>& text) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  Bytes group_id, id;
  if (int failed = find_message_target(session, out, address, group, message_id, group_id, id)) {
    return failed;
  }
  if (text) {
    return report_changed(session, out, session.client->edit_message(group_id, id, *text),
                          "edited");
  }
  return report_changed(session, out, session.client->delete_message(group_id, id), "deleted");
}

}  // namespace

int run_mail_edit(const CommonOptions& common, const std::string& address,
                  const std::optional<std::string>& group, const std::string& message_id,
                  const std::string& text) {
  return change_message(common, address, group, message_id, text);
}

int run_mail_delete(const CommonOptions& common, const std::string& address,
                    const std::optional<std::string>& group, const std::string& message_id) {
  return change_message(common, address, group, message_id, std::nullopt);
}

int run_mail_receipts(const CommonOptions& common, const std::string& setting) {
  const Output out(common.json);
  if (setting != "on" && setting != "off") return out.fail(Exit::usage, "give on or off");
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  session.settings.read_receipts = setting == "on";
  if (auto saved = save_settings(session.profile, session.settings); !saved) {
    return out.fail(Exit::profile_busy, saved.error());
  }
  return report_receipts(out, session.settings.read_receipts);
}

// `chat`: a conversation kept open. Lines typed are sent as they come (`/quit` or the end of
// input ends it), and mail that comes is shown at once: the inbox is watched with IDLE in
// slices of a second, between which typed lines are taken. A lost connection is made again
// with growing pauses, lines typed meanwhile waiting in the outbox.
int run_mail_chat(const CommonOptions& common, const std::string& address,
                  const std::optional<std::string>& group) {
  const Output out(common.json);
  MailAccountSession session;
  if (int failed = open_mail(common, out, session)) return failed;
  Bytes chat;
  std::string name;
  if (group) {
    auto found = find_group(session, *group);
    if (found && found->membership != client::Membership::member) {
      found = Error(Errc::not_found, "this account is no longer in the group " + found->name);
    }
    if (!found) return out.fail(exit_for(found.error()), found.error());
    chat = found->group_id;
    name = found->name;
  } else {
    auto normalized = client::normalize_mail_address(address);
    if (!normalized) return out.fail(Exit::usage, normalized.error());
    chat = client::mail_chat_id(*normalized);
    name = *normalized;
  }
  const int input = ::dup(STDIN_FILENO);
  if (input < 0) return out.fail(Exit::usage, "chat reads lines from a terminal or a pipe");
  if (!out.json()) {
    out.line((group ? "chat in the group " : "chat with ") + name +
             ": type a message and Enter; /quit ends");
  }
  flush(session, out);
  std::string typed;  // what was read of a line not yet ended
  bool quit = false;
  std::chrono::seconds pause(0);  // after a lost connection, before the next try
  auto last_try = std::chrono::steady_clock::now();
  int status = 0;
  while (!quit) {
    // Lines typed meanwhile.
    pollfd ready{input, POLLIN, 0};
    while (!quit && ::poll(&ready, 1, 0) > 0) {
      char buffer[4096];
      const ssize_t got = ::read(input, buffer, sizeof buffer);
      if (got <= 0) {
        quit = true;  // end of input (a last line without its end is sent all the same)
        if (!typed.empty()) typed += '\n';
      } else {
        typed.append(buffer, static_cast<size_t>(got));
      }
      for (size_t end = typed.find('\n'); end != std::string::npos; end = typed.find('\n')) {
        std::string line = typed.substr(0, end);
        typed.erase(0, end + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line == "/quit") {
          quit = true;
          break;
        }
        if (line.empty()) continue;
        auto queued = group ? session.client->send_group_text(chat, line)
                            : session.client->send_text(name, line);
        if (!queued) out.warn(std::move(queued).error().with_context("not sent"));
      }
    }
    if (pause.count() == 0 || std::chrono::steady_clock::now() - last_try >= pause) {
      flush(session, out);
      last_try = std::chrono::steady_clock::now();
      auto received = session.client->receive(quit ? 0ms : 1000ms);
      if (!received) {
        if (received.error().code() != Errc::unavailable) {
          status = out.fail(exit_for(received.error()), received.error());
          break;
        }
        pause = std::min<std::chrono::seconds>(std::max(pause * 2, std::chrono::seconds(1)),
                                               std::chrono::seconds(30));
        out.warn(Error(received.error().code(), received.error().message() + "; trying again in " +
                                                    std::to_string(pause.count()) + " s"));
        continue;
      }
      pause = std::chrono::seconds(0);
      show_verified(out, received->verified);
      auto shown = show_new(session, out, received->rewritten);
      if (!shown) {
        status = out.fail(Exit::profile_busy, shown.error());
        break;
      }
      if (*shown > 0) {
        // (A 1:1 conversation nobody has written in yet has nothing to mark.)
        auto here = session.store->conversation(chat);
        if (here && *here) {
          if (int failed = mark_read(session, out, chat)) {
            status = failed;
            break;
          }
        }
      }
    } else {
      std::this_thread::sleep_for(100ms);
    }
  }
  ::close(input);
  if (status == 0) {
    // What was typed last leaves now, or waits in the outbox for the next run.
    auto flushed = session.client->flush_outbox();
    if (!flushed) return out.fail(exit_for(flushed.error()), flushed.error());
  }
  return status;
}

}  // namespace sotto::cli
