#include "commands.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "online.h"
#include "output.h"
#include "profile.h"
#include "qr.h"
#include "sotto/client/file_client.h"
#include "sotto/client/invite_link.h"
#include "sotto/client/safety_number.h"
#include "sotto/client/vcard.h"
#include "sotto/core/encoding.h"

namespace sotto::cli {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// An existing account's profile, opened.
struct Account {
  Profile profile{fs::path()};
  ProfileSettings settings;
  std::unique_ptr<client::SqliteClientStore> store;
  client::Identity identity;
};

// Opens the profile, its store and its account; 0, or the exit status after saying why not.
int open_account(const CommonOptions& common, const Output& out, Account& account) {
  account.profile = profile_for(common);
  auto settings = account.profile.load();
  if (!settings) {
    return out.fail(settings.error().code() == Errc::not_found ? Exit::no_account : Exit::failure,
                    settings.error());
  }
  account.settings = std::move(settings).value();
  auto unlock = choose_unlock(common.key_file, account.settings.key_file, false);
  if (!unlock) return out.fail(Exit::bad_unlock, unlock.error());
  auto store = open_store(account.profile, *unlock, false);
  if (!store) return out.fail(exit_for_store_open(store.error()), store.error());
  account.store = std::move(store).value();
  auto identity = account.store->identity();
  if (!identity) return out.fail(Exit::profile_busy, identity.error());
  if (!*identity) {
    return out.fail(Exit::no_account, "the profile " + account.profile.dir().string() +
                                          " has no account yet: run `sotto init` or `sotto login`");
  }
  account.identity = std::move(**identity);
  return 0;
}

// open_account, for a command about another user: `name` is theirs, normalised.
int open_account_with(const CommonOptions& common, const Output& out, Account& account,
                      const std::string& username, std::string& name) {
  if (int failed = open_account(common, out, account)) return failed;
  name = client::normalize_username(username);
  if (name == account.identity.username) return out.fail(Exit::usage, "that is this account");
  return 0;
}

// Connects and authenticates; 0, or the exit status after saying why not.
int connect_or_fail(Online& online, const Output& out) {
  auto connected = online.connect();
  return connected ? 0 : out.fail(exit_for(connected.error()), connected.error());
}

// The 1:1 conversation with `username`, if there is one.
Result<std::optional<client::Conversation>> direct_conversation(const Account& account,
                                                                const std::string& username) {
  SOTTO_TRY_ASSIGN(auto conversations, account.store->conversations());
  std::vector<std::string> pair = {account.identity.username, username};
  std::sort(pair.begin(), pair.end());
  for (auto& c : conversations) {
    if (c.kind != client::ConversationKind::direct) continue;
    std::vector<std::string> members = c.members;
    std::sort(members.begin(), members.end());
    if (members == pair) return std::optional<client::Conversation>(std::move(c));
  }
  return std::optional<client::Conversation>();
}

// The contacts added by hand and everyone this account shares a conversation with, not itself.
std::set<std::string> known_people(const Account& account,
                                   const std::vector<client::Conversation>& conversations) {
  std::set<std::string> names = account.settings.contacts;
  for (const auto& c : conversations) names.insert(c.members.begin(), c.members.end());
  names.erase(account.identity.username);
  return names;
}

// 0 when messages may go to `name`; else the exit status after saying why not: the user
// confirmed their safety number (`verify --matches`) and their keys have changed since.
int refuse_if_keys_changed(const Account& account, const std::string& name, const Output& out) {
  auto confirmed = account.settings.verified.find(name);
  if (confirmed == account.settings.verified.end()) return 0;
  auto contact = account.store->contact(name);
  if (!contact) return out.fail(Exit::profile_busy, contact.error());
  if (*contact && client::safety_number_side(client::safety_side(name, (*contact)->devices)) ==
                      confirmed->second) {
    return 0;
  }
  return out.fail(Exit::untrusted,
                  name +
                      "'s keys have changed since you verified your safety number with them; "
                      "nothing was sent. Compare the new number with " +
                      name + " (`sotto verify " + name + "`) before writing again");
}

// How a conversation is named in a message's line: the other person's name, or the group's.
struct ConversationLabel {
  std::string name;
  bool group = false;
};

ConversationLabel label_of(const client::Conversation& c) {
  return {c.name, c.kind == client::ConversationKind::group};
}

json message_json(const ConversationLabel& conversation, const client::StoredMessage& m) {
  json j = {{"conversation", conversation.name},
            {"group_id", to_hex(m.group_id)},
            {"message_id", to_hex(m.message_id)},
            {"from", m.sender},
            {"outgoing", m.outgoing},
            {"state", client::delivery_state_name(m.state)},
            {"sent_at", m.sent_at},
            {"accepted_at", m.accepted_at},
            {"text", m.body}};
  if (m.file) j["file"] = file_json(*m.file);
  if (m.reply_to) j["reply_to"] = to_hex(*m.reply_to);
  if (m.edited_at != 0) j["edited_at"] = m.edited_at;
  if (m.deleted) j["deleted"] = true;
  if (m.expires_at != 0) j["expires_at"] = m.expires_at;
  if (m.timer_set_s) j["timer_set_s"] = *m.timer_set_s;
  if (m.outgoing) {
    j["delivered_to"] = m.delivered_to;
    j["read_by"] = m.read_by;
  } else {
    j["read"] = m.read;
  }
  if (conversation.group) j["group"] = conversation.name;
  return j;
}

// "30s", "5m", "1h", "2d" for a timer's length: the largest unit that divides it.
std::string duration_text(uint64_t seconds) {
  if (seconds == 0) return "off";
  if (seconds % 86400 == 0) return std::to_string(seconds / 86400) + "d";
  if (seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  if (seconds % 60 == 0) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds) + "s";
}

// A short quote of the message `m` answers, as history and recv show it before the text.
std::string quote_of(const client::ClientStore* store, const client::StoredMessage& m) {
  if (!m.reply_to) return "";
  std::optional<client::StoredMessage> target;
  if (store != nullptr) {
    if (auto found = store->message(m.group_id, *m.reply_to); found) target = std::move(*found);
  }
  if (!target) return "[reply to a message not here] ";
  if (target->deleted) return "[reply to " + target->sender + ": message deleted] ";
  std::string text = target->file ? "[file] " + target->file->name : target->body;
  constexpr size_t kQuoteBytes = 40;
  if (text.size() > kQuoteBytes) {
    size_t cut = kQuoteBytes;  // at a character boundary
    while (cut > 0 && (static_cast<uint8_t>(text[cut]) & 0xc0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return "[reply to " + target->sender + ": \"" + text + "\"] ";
}

std::string joined(const std::vector<std::string>& names);

// An outgoing message's receipts: two ticks once someone has it, and who has read it.
std::string receipt_marks(const client::StoredMessage& m, bool group) {
  if (!m.outgoing || m.state != client::DeliveryState::sent || m.delivered_to.empty()) return "";
  if (m.read_by.empty()) return " \u2713\u2713";
  return group ? " \u2713\u2713 read by " + joined(m.read_by) : " \u2713\u2713 read";
}

void print_message(const Output& out, const ConversationLabel& conversation,
                   const client::StoredMessage& m, bool with_state,
                   const client::ClientStore* store = nullptr) {
  if (out.json()) return out.object(message_json(conversation, m));
  std::string line = m.sender + ": " + quote_of(store, m) + m.body;
  if (m.timer_set_s) {
    line = "* " + m.sender +
           (*m.timer_set_s == 0 ? std::string(" turned disappearing messages off")
                                : " set disappearing messages to " + duration_text(*m.timer_set_s));
  } else if (m.deleted) {
    line = m.sender + ": (message deleted)";
  } else if (m.file) {
    // The name is safe to print: no control characters (checked on receipt).
    line = m.sender + ": " + quote_of(store, m) + "[file] " + m.file->name + " (" +
           std::to_string(m.file->size) + " bytes, " + m.file->media_type + ") id " +
           to_hex(m.message_id) + (m.body.empty() ? "" : ": " + m.body);
  }
  if (m.edited_at != 0 && !m.deleted) line += " (edited)";
  if (conversation.group) line = "[" + conversation.name + "] " + line;
  if (with_state && m.outgoing && m.state != client::DeliveryState::sent) {
    line += std::string(" [") + client::delivery_state_name(m.state) + "]";
  }
  if (with_state) line += receipt_marks(m, conversation.group);
  out.line(line);
}

}  // namespace

Result<std::vector<Unshown>> take_unshown(const client::ClientStore& store,
                                          std::map<std::string, uint64_t>& shown) {
  std::vector<Unshown> fresh;
  SOTTO_TRY_ASSIGN(auto conversations, store.conversations());
  for (const auto& c : conversations) {
    SOTTO_TRY_ASSIGN(auto messages, store.messages(c.group_id));
    uint64_t& count = shown[to_hex(c.group_id)];
    for (size_t i = static_cast<size_t>(std::min<uint64_t>(count, messages.size()));
         i < messages.size(); ++i) {
      if (!messages[i].outgoing) fresh.push_back({c, std::move(messages[i])});
    }
    count = messages.size();
  }
  // Each conversation's messages are in the order they were stored; across conversations
  // the clock of their arrival orders them.
  std::stable_sort(fresh.begin(), fresh.end(), [](const Unshown& a, const Unshown& b) {
    return a.message.accepted_at < b.message.accepted_at;
  });
  return fresh;
}

void print_stored_message(const Output& out, const client::Conversation& conversation,
                          const client::StoredMessage& m, bool with_state,
                          const client::ClientStore& store) {
  print_message(out, label_of(conversation), m, with_state, &store);
}

namespace {

// Prints the incoming messages `recv` has not shown yet, oldest first, and moves its marks
// past them. Gives how many it printed.
Result<size_t> show_new_messages(Account& account, const Output& out, Online& online) {
  // Expired messages leave the history: the count of those shown shrinks with it (they are
  // the oldest, shown already).
  if (auto expired = online.engine().expire_messages(); !expired) return std::move(expired).error();
  for (const auto& [group, count] : online.take_expired()) {
    uint64_t& shown = account.settings.shown[to_hex(group)];
    shown -= std::min(shown, count);
  }
  SOTTO_TRY_ASSIGN(auto fresh, take_unshown(*account.store, account.settings.shown));
  for (const auto& p : fresh) {
    print_message(out, label_of(p.conversation), p.message, false, account.store.get());
  }
  // Messages shown before that their senders edited or deleted since: shown again as they
  // are now (marked "(edited)" or "(message deleted)").
  size_t rewritten = 0;
  for (const auto& m : online.take_rewritten()) {
    const bool is_fresh = std::any_of(fresh.begin(), fresh.end(), [&](const Unshown& p) {
      return p.message.group_id == m.group_id && p.message.message_id == m.message_id;
    });
    if (is_fresh) continue;
    SOTTO_TRY_ASSIGN(auto c, account.store->conversation(m.group_id));
    if (!c) continue;
    print_message(out, label_of(*c), m, false, account.store.get());
    ++rewritten;
  }
  SOTTO_TRY(account.profile.save(account.settings));
  return fresh.size() + rewritten;
}

json contact_json(const client::Contact& contact) {
  json devices = json::array();
  for (const auto& d : contact.devices) {
    devices.push_back(
        {{"device_id", to_hex(d.device_id)}, {"signature_key", to_hex(d.signature_key)}});
  }
  return {{"username", contact.username},
          {"devices", devices},
          {"directory_version", contact.directory_version},
          {"verified_epoch", contact.verified_epoch}};
}

// `name`: what an imported address book calls them, when it does.
void print_contact(const Output& out, const client::Contact& contact,
                   const std::string& name = {}) {
  if (out.json()) {
    json j = contact_json(contact);
    if (!name.empty()) j["name"] = name;
    return out.object(j);
  }
  out.line(contact.username + (name.empty() ? "" : " (" + name + ")") + ": " +
           std::to_string(contact.devices.size()) +
           (contact.devices.size() == 1 ? " device" : " devices") +
           ", verified in the key directory at epoch " + std::to_string(contact.verified_epoch));
  // The keys people compare, out of band, to know that nobody stands between them.
  for (const auto& d : contact.devices) out.line("  device key " + to_hex(d.signature_key));
}

// The server's address and pins as someone's invite link gives them.
ServerPins pins_of(const client::InviteLink& link) {
  ServerPins pins;
  pins.host = link.host;
  pins.port = link.port;
  pins.fingerprint = parse_fingerprint(to_hex(link.certificate_sha256)).value();
  pins.directory_key = link.directory_key;
  pins.vrf_key = link.vrf_key;
  return pins;
}

Result<ServerPins> pins_from(const AccountOptions& account) {
  const bool any_option = !account.server.empty() || !account.fingerprint.empty() ||
                          !account.directory_key.empty() || !account.vrf_key.empty();
  if (!account.invite_link.empty()) {
    if (any_option) {
      return Error(Errc::invalid_argument,
                   "give either --invite-link or --server, --fingerprint, --directory-key and "
                   "--vrf-key, not both");
    }
    SOTTO_TRY_ASSIGN(auto link, client::parse_invite_link(account.invite_link));
    return pins_of(link);
  }
  if (account.server.empty() || account.fingerprint.empty() || account.directory_key.empty() ||
      account.vrf_key.empty()) {
    return Error(Errc::invalid_argument,
                 "--server, --fingerprint, --directory-key and --vrf-key are all needed (as "
                 "sottod prints them), or someone's --invite-link");
  }
  ServerPins pins;
  SOTTO_TRY_ASSIGN(auto server, parse_server(account.server));
  pins.host = std::move(server.first);
  pins.port = server.second;
  SOTTO_TRY_ASSIGN(pins.fingerprint, parse_fingerprint(account.fingerprint));
  SOTTO_TRY_ASSIGN(pins.directory_key, parse_key(account.directory_key, "--directory-key"));
  SOTTO_TRY_ASSIGN(pins.vrf_key, parse_key(account.vrf_key, "--vrf-key"));
  return pins;
}

}  // namespace

Profile profile_for(const CommonOptions& common) {
  return Profile(common.profile ? fs::path(*common.profile) : Profile::default_dir());
}

int create_store(const CommonOptions& common, const Output& out, const Profile& profile,
                 std::unique_ptr<client::SqliteClientStore>& store,
                 std::optional<std::string>& key_file) {
  if (auto made = profile.create(); !made) return out.fail(Exit::profile_busy, made.error());
  // A key file named on the command line or in the environment is made when missing, and
  // remembered in the profile so that later commands find it.
  const bool new_store = !fs::exists(profile.store_path());
  auto unlock = choose_unlock(common.key_file, std::nullopt, new_store);
  if (!unlock) return out.fail(Exit::bad_unlock, unlock.error());
  if (auto* file = std::get_if<client::StoreKeyFile>(&*unlock)) {
    file->path = fs::absolute(file->path).string();
    key_file = file->path;
    if (!fs::exists(file->path)) {
      if (auto made = client::SqliteClientStore::create_key_file(file->path); !made) {
        return out.fail(Exit::bad_unlock, made.error());
      }
    }
  }
  auto opened = open_store(profile, *unlock, true);
  if (!opened) return out.fail(exit_for_store_open(opened.error()), opened.error());
  store = std::move(opened).value();
  return 0;
}

namespace {

enum class SetUp { register_account, login, link };

// `init`, `login` and `link`: a new profile whose store gets this device's account.
int set_up_account(const CommonOptions& common, const AccountOptions& options, SetUp how,
                   const std::string& code = "") {
  const bool registering = how == SetUp::register_account;
  const Output out(common.json);
  auto pins = pins_from(options);
  if (!pins) return out.fail(Exit::usage, pins.error());
  Profile profile = profile_for(common);
  std::unique_ptr<client::SqliteClientStore> store;
  std::optional<std::string> key_file;
  if (int failed = create_store(common, out, profile, store, key_file)) return failed;
  auto existing = store->identity();
  if (!existing) return out.fail(Exit::profile_busy, existing.error());
  if (*existing) {
    return out.fail(Exit::exists, "the profile " + profile.dir().string() +
                                      " already holds the account " + (*existing)->username +
                                      ": choose another with --profile");
  }
  if (auto mail = store->mail_account(); !mail || *mail) {
    if (!mail) return out.fail(Exit::profile_busy, mail.error());
    return out.fail(Exit::exists, "the profile " + profile.dir().string() +
                                      " already holds the e-mail account " + (*mail)->address +
                                      ": choose another with --profile");
  }

  // A linked device needs no password: the code from the other device is the secret.
  std::optional<Result<SecureBytes>> password;
  if (how != SetUp::link) {
    password = read_secret("SOTTO_PASSWORD", "account password", registering);
    if (!*password) return out.fail(Exit::usage, password->error());
  }
  ProfileSettings settings;
  settings.server = *pins;
  settings.key_file = key_file;
  if (auto saved = profile.save(settings); !saved)
    return out.fail(Exit::profile_busy, saved.error());

  Online online(*pins, *store, out, options.device_name);
  if (int failed = connect_or_fail(online, out)) return failed;
  std::optional<Result<void>> done;
  if (how == SetUp::link) {
    online.engine().link_device_accept(code, [&](Result<void> r2) { done = std::move(r2); });
  } else {
    std::string secret(reinterpret_cast<const char*>((*password)->data()), (*password)->size());
    if (registering) {
      client::Registration r{options.username, options.email, std::move(secret),
                             options.invite_code, std::nullopt};
      online.engine().register_account(std::move(r),
                                       [&](Result<void> r2) { done = std::move(r2); });
    } else {
      online.engine().login(options.username, std::move(secret),
                            [&](Result<void> r2) { done = std::move(r2); });
    }
  }
  auto result = online.wait(done);
  // Whoever shared the invite link is the first contact (looked up and verified like any).
  std::optional<client::Contact> inviter;
  if (result && !options.invite_link.empty()) {
    const std::string name = client::parse_invite_link(options.invite_link).value().username;
    std::optional<Result<client::Contact>> found;
    online.engine().lookup_contact(name, [&](Result<client::Contact> r) { found = std::move(r); });
    auto contact = online.wait(found);
    if (contact) {
      inviter = std::move(*contact);
      settings.contacts.insert(name);
      if (auto saved = profile.save(settings); !saved) out.warn(saved.error());
    } else {
      out.warn(Error(contact.error().code(), "could not add " + name + " from the invite link: " +
                                                 contact.error().message()));
    }
  }
  if (result && how == SetUp::link) {
    if (!out.json()) out.line("waiting for the other device to add this one...");
    // The other device answers when `sotto devices link` there next reads the slot.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(600);
    for (;;) {
      std::optional<Result<bool>> waited;
      online.engine().link_device_wait([&](Result<bool> r2) { waited = std::move(r2); });
      auto linked = online.wait(waited);
      if (!linked) {
        result = std::move(linked).error();
        break;
      }
      if (*linked) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        result = Error(Errc::expired, "the other device did not answer in time");
        break;
      }
      (void)online.run_until([] { return false; }, 1s);
      if (online.lost()) {
        result = Error(Errc::unavailable, "the connection was lost");
        break;
      }
    }
  }
  online.finish();
  if (!result) return out.fail(exit_for(result.error()), result.error());

  auto identity = store->identity();
  if (!identity || !*identity) return out.fail(Exit::failure, "the account was not stored");
  const auto& id = **identity;
  if (out.json()) {
    out.object({{"username", id.username},
                {"account_id", to_hex(id.account_id)},
                {"device_id", to_hex(id.device_id)},
                {"server", pins->host + ":" + std::to_string(pins->port)},
                {"profile", fs::absolute(profile.dir()).string()}});
  } else {
    const char* what = registering          ? "registered "
                       : how == SetUp::link ? "linked to "
                                            : "logged in as ";
    out.line(what + id.username + " on " + pins->host + ":" + std::to_string(pins->port) +
             " (profile " + profile.dir().string() + ")");
    if (inviter) out.line("added " + inviter->username + ", who invited you");
  }
  return 0;
}

}  // namespace

std::string read_stdin() {
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

namespace {

// ---- groups, offline ----------------------------------------------------------------------

const char* membership_name(client::Membership membership) {
  switch (membership) {
    case client::Membership::member:
      return "member";
    case client::Membership::left:
      return "left";
    case client::Membership::removed:
      return "removed";
  }
  return "unknown";
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string lower_case(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The username an invite link names, once the link is for this profile's server with the
// same pins. Accounts reach each other within one server; and a link that pins another
// certificate or key directory for the same server means one side was given false ones.
Result<std::string> invite_username(const Account& account, const client::InviteLink& link) {
  const ServerPins& pins = account.settings.server;
  const std::string ours = pins.host + ":" + std::to_string(pins.port);
  if (lower_case(link.host) != lower_case(pins.host) || link.port != pins.port) {
    return Error(Errc::invalid_argument, "the invite link is for " + link.host + ":" +
                                             std::to_string(link.port) +
                                             ", and this account is on " + ours +
                                             ": accounts reach each other on one "
                                             "server");
  }
  if (pins_of(link).fingerprint != pins.fingerprint || link.directory_key != pins.directory_key ||
      link.vrf_key != pins.vrf_key) {
    return Error(Errc::bad_proof,
                 "the invite link pins another certificate or key directory for " + ours +
                     " than this profile does, so one of them is not that server's; nothing "
                     "was looked up");
  }
  return link.username;
}

// The group that GROUP names: its id in hex, or its name when one group has it (one this
// device is still in, when several have).
Result<client::Conversation> find_group(const Account& account, const std::string& which) {
  SOTTO_TRY_ASSIGN(auto conversations, account.store->conversations());
  std::vector<client::Conversation> named;
  for (auto& c : conversations) {
    if (c.kind != client::ConversationKind::group) continue;
    if (to_hex(c.group_id) == lower_case(which)) return std::move(c);
    if (c.name == which) named.push_back(std::move(c));
  }
  if (named.size() > 1) {
    named.erase(std::remove_if(named.begin(), named.end(),
                               [](const client::Conversation& c) {
                                 return c.membership != client::Membership::member;
                               }),
                named.end());
  }
  if (named.size() == 1) return std::move(named[0]);
  if (named.empty()) return Error(Errc::not_found, "no group " + which);
  return Error(Errc::invalid_argument,
               "several groups are named " + which + ": give its id (`sotto group list`)");
}

// Opens the account and finds GROUP in it; 0, or the exit status after saying why not.
int open_group(const CommonOptions& common, const Output& out, Account& account,
               const std::string& which, client::Conversation& group) {
  if (int failed = open_account(common, out, account)) return failed;
  auto found = find_group(account, which);
  if (!found) return out.fail(exit_for(found.error()), found.error());
  group = std::move(found).value();
  return 0;
}

json group_json(const client::Conversation& c) {
  return {{"group_id", to_hex(c.group_id)},
          {"name", c.name},
          {"members", c.members},
          {"membership", membership_name(c.membership)},
          {"members_verified", c.members_verified}};
}

void print_group(const Output& out, const client::Conversation& c) {
  if (out.json()) return out.object(group_json(c));
  std::string status;
  if (c.membership != client::Membership::member) {
    status = std::string(" (") + membership_name(c.membership) + ")";
  }
  out.line(c.name + status + "  " + to_hex(c.group_id));
  out.line("  members: " + joined(c.members));
}

// The groups as the store holds them, to tell what a run of `recv` changed.
using GroupViews = std::map<Bytes, client::Conversation>;

Result<GroupViews> group_views(const Account& account) {
  SOTTO_TRY_ASSIGN(auto conversations, account.store->conversations());
  GroupViews out;
  for (auto& c : conversations) {
    if (c.kind == client::ConversationKind::group) out.emplace(c.group_id, std::move(c));
  }
  return out;
}

// Says which groups this device joined, left or was removed from since `seen`, and which
// were renamed, and moves `seen` on.
Result<void> show_group_changes(const Account& account, const Output& out, GroupViews& seen) {
  SOTTO_TRY_ASSIGN(auto now, group_views(account));
  for (const auto& [id, c] : now) {
    auto before = seen.find(id);
    const bool was_member =
        before != seen.end() && before->second.membership == client::Membership::member;
    const bool is_member = c.membership == client::Membership::member;
    std::string event;
    if (!was_member && is_member) {
      event = "joined";
    } else if (was_member && !is_member) {
      event = membership_name(c.membership);
    } else if (was_member && before->second.name != c.name) {
      event = "renamed";
    }
    if (event.empty()) continue;
    if (out.json()) {
      json line = group_json(c);
      line["event"] = event;
      out.object(line);
    } else if (event == "joined") {
      out.line("joined the group " + c.name + " (" + joined(c.members) + ")");
    } else if (event == "renamed") {
      out.line("the group " + before->second.name + " is now " + c.name);
    } else {
      out.line(std::string(event == "removed" ? "removed from" : "left") + " the group " + c.name);
    }
  }
  seen = std::move(now);
  return success();
}

}  // namespace

int run_init(const CommonOptions& common, const AccountOptions& account) {
  return set_up_account(common, account, SetUp::register_account);
}

int run_login(const CommonOptions& common, const AccountOptions& account) {
  return set_up_account(common, account, SetUp::login);
}

int run_link(const CommonOptions& common, const AccountOptions& account, const std::string& code) {
  return set_up_account(common, account, SetUp::link, code);
}

int run_whoami(const CommonOptions& common) {
  const Output out(common.json);
  Account account;
  if (int failed = open_account(common, out, account)) return failed;
  const auto& id = account.identity;
  const std::string server =
      account.settings.server.host + ":" + std::to_string(account.settings.server.port);
  if (out.json()) {
    out.object({{"username", id.username},
                {"account_id", to_hex(id.account_id)},
                {"device_id", to_hex(id.device_id)},
                {"server", server},
                {"fingerprint", account.settings.server.fingerprint},
                {"profile", fs::absolute(account.profile.dir()).string()}});
  } else {
    out.line(id.username + " on " + server);
    out.line("  device " + to_hex(id.device_id));
    out.line("  profile " + account.profile.dir().string());
  }
  return 0;
}

// The 1:1 conversation with `name`, once connected: the stored one, one the other person
// started that connecting has just fetched, or a new one. 0, or the exit status after saying
// why not.
int conversation_or_fail(Online& online, const Account& account, const std::string& name,
                         const Output& out, Bytes& group) {
  auto existing = direct_conversation(account, name);
  if (existing && !*existing) {
    // Connecting fetched the queue: a conversation the other person started may be in it.
    (void)online.run_until([&] { return online.engine().idle(); }, 60s);
    existing = direct_conversation(account, name);
  }
  if (!existing) {
    online.finish();
    return out.fail(Exit::profile_busy, existing.error());
  }
  if (*existing) {
    group = (*existing)->group_id;
    return 0;
  }
  std::optional<Result<Bytes>> started;
  online.engine().start_conversation(name, [&](Result<Bytes> r) { started = std::move(r); });
  auto made = online.wait(started);
  if (!made) {
    online.finish();
    const Exit code = exit_for(made.error());
    if (code == Exit::untrusted) {
      // Plainly: the contact's keys could not be trusted, so nothing left this device.
      return out.fail(code, std::string(made.error().message()) + "; nothing was sent to " + name +
                                " (the server may be attacking this conversation)");
    }
    return out.fail(code, made.error());
  }
  group = *made;
  return 0;
}

// The end of a send: waits until the server has message `id` (or the time is up), closes the
// connection, remembers the contact (not for a group) and reports. `more` joins the JSON result.
int report_sent(Online& online, Account& account, const std::string& name, const Bytes& group,
                Result<Bytes> id, const Output& out, json more, const std::string& done_line,
                bool to_group = false) {
  if (!id) {
    online.finish();
    return out.fail(exit_for(id.error()), id.error());
  }
  const bool settled = online.run_until([&] { return online.deliveries().count(*id) > 0; }, 60s);
  online.finish();
  if (!to_group) {
    account.settings.contacts.insert(name);
    if (auto saved = account.profile.save(account.settings); !saved) out.warn(saved.error());
  }
  const auto state = settled ? online.deliveries().at(*id) : client::DeliveryState::pending;
  if (out.json()) {
    more[to_group ? "group" : "to"] = name;
    more["group_id"] = to_hex(group);
    more["message_id"] = to_hex(*id);
    more["state"] = client::delivery_state_name(state);
    out.object(more);
  } else if (state == client::DeliveryState::sent) {
    out.line(done_line);
  }
  if (state == client::DeliveryState::failed) {
    return out.fail(Exit::failure, "the server refused the message for good");
  }
  if (state != client::DeliveryState::sent) {
    return out.fail(Exit::offline,
                    "the server did not confirm the message: it waits in the outbox and leaves "
                    "with the next sotto command that reaches the server");
  }
  return 0;
}

int run_contacts_add(const CommonOptions& common, const std::string& username_or_link) {
  const Output out(common.json);
  std::string username = username_or_link;
  std::optional<client::InviteLink> link;
  if (client::looks_like_invite_link(username_or_link)) {
    auto parsed = client::parse_invite_link(username_or_link);
    if (!parsed) return out.fail(Exit::usage, parsed.error());
    username = parsed->username;
    link = std::move(parsed).value();
  }
  Account account;
  std::string name;
  if (int failed = open_account_with(common, out, account, username, name)) return failed;
  if (link) {
    if (auto checked = invite_username(account, *link); !checked) {
      return out.fail(exit_for(checked.error()), checked.error());
    }
  }
  Online online(account.settings.server, *account.store, out);
  if (int failed = connect_or_fail(online, out)) return failed;
  std::optional<Result<client::Contact>> found;
  online.engine().lookup_contact(name, [&](Result<client::Contact> r) { found = std::move(r); });
  auto contact = online.wait(found);
  online.finish();
  if (!contact) return out.fail(exit_for(contact.error()), contact.error());
  account.settings.contacts.insert(name);
  if (auto saved = account.profile.save(account.settings); !saved) out.warn(saved.error());
  print_contact(out, *contact, account.settings.names[name]);
  return 0;
}

int run_contacts_import(const CommonOptions& common, const std::string& path, bool dry_run) {
  const Output out(common.json);
  Account account;
  if (int failed = open_account(common, out, account)) return failed;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return out.fail(Exit::not_found, "cannot read " + path + ": " + ec.message());
  if (size > client::kMaxVCardFileBytes) {
    return out.fail(Exit::usage, path + " is over " +
                                     std::to_string(client::kMaxVCardFileBytes >> 20) +
                                     " MiB: not an address book this command reads");
  }
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) return out.fail(Exit::failure, "cannot read " + path);
  auto cards = client::parse_vcards(text);
  if (!cards) return out.fail(Exit::usage, path + ": " + cards.error().message());

  // Only the usernames that the cards name are ever looked up; the rest of the address book
  // (names, e-mail addresses, phone numbers) stays on this device.
  std::optional<Online> online;
  if (!dry_run) {
    online.emplace(account.settings.server, *account.store, out);
    if (int failed = connect_or_fail(*online, out)) return failed;
  }
  size_t on_sotto = 0;
  bool untrusted = false;
  for (const auto& card : *cards) {
    std::vector<std::string> names = card.usernames;
    std::vector<std::string> notes;
    for (const auto& link : card.invite_links) {
      auto name = invite_username(account, link);
      if (!name) {
        notes.push_back(name.error().message());
      } else if (std::find(names.begin(), names.end(), *name) == names.end()) {
        names.push_back(*name);
      }
    }
    std::erase(names, account.identity.username);
    const std::string shown = card.name.empty() ? "(a card without a name)" : card.name;
    json found = json::array(), missing = json::array();
    std::string summary;
    for (const auto& name : names) {
      if (dry_run) {
        found.push_back(name);
        summary += (summary.empty() ? "" : ", ") + name;
        continue;
      }
      std::optional<Result<client::Contact>> result;
      online->engine().lookup_contact(name,
                                      [&](Result<client::Contact> r) { result = std::move(r); });
      auto contact = online->wait(result);
      if (!contact) {
        if (contact.error().code() == Errc::unavailable) {
          return out.fail(Exit::offline, contact.error());
        }
        untrusted = untrusted || exit_for(contact.error()) == Exit::untrusted;
        missing.push_back(name);
        summary += (summary.empty() ? "" : ", ") + name + " (" +
                   (contact.error().code() == Errc::not_found ? std::string("no such account")
                                                              : contact.error().message()) +
                   ")";
        continue;
      }
      found.push_back(name);
      account.settings.contacts.insert(name);
      if (!card.name.empty()) account.settings.names[name] = card.name;
      summary += (summary.empty() ? "" : ", ") + name + " (" +
                 std::to_string(contact->devices.size()) +
                 (contact->devices.size() == 1 ? " device" : " devices") + ", verified)";
    }
    if (!found.empty()) ++on_sotto;
    if (out.json()) {
      out.object({{"name", card.name}, {"found", found}, {"missing", missing}, {"notes", notes}});
    } else if (names.empty()) {
      out.line(shown + ": no Sotto account in the card" +
               (notes.empty() ? std::string() : " (" + joined(notes) + ")"));
    } else {
      out.line(shown + ": " + summary);
    }
  }
  if (online) online->finish();
  if (!dry_run) {
    if (auto saved = account.profile.save(account.settings); !saved) out.warn(saved.error());
  }
  if (!out.json()) {
    out.line(std::to_string(cards->size()) + (cards->size() == 1 ? " card, " : " cards, ") +
             std::to_string(on_sotto) + (dry_run ? " naming a Sotto account" : " on Sotto") +
             "; the address book was read on this device only");
  }
  return untrusted ? static_cast<int>(Exit::untrusted) : 0;
}

int run_invite(const CommonOptions& common, bool qr) {
  const Output out(common.json);
  Account account;
  if (int failed = open_account(common, out, account)) return failed;
  const ServerPins& pins = account.settings.server;
  client::InviteLink link;
  link.host = pins.host;
  link.port = pins.port;
  link.username = account.identity.username;
  std::string hex = pins.fingerprint;
  std::erase(hex, ':');
  auto fingerprint = from_hex(hex);
  if (!fingerprint) return out.fail(Exit::failure, "the profile's fingerprint is damaged");
  link.certificate_sha256 = std::move(fingerprint).value();
  link.directory_key = pins.directory_key;
  link.vrf_key = pins.vrf_key;
  auto text = client::format_invite_link(link);
  if (!text) return out.fail(Exit::failure, text.error());
  if (out.json()) {
    out.object({{"link", *text}});
    return 0;
  }
  out.line(*text);
  if (qr) {
    auto code = terminal_qr(*text);
    if (!code) return out.fail(Exit::failure, code.error());
    out.line(*code);
  }
  out.line(
      "Whoever has this link can find you (`sotto contacts add LINK`) or join this server "
      "(`sotto init --invite-link LINK ...`); share it where only they see it.");
  return 0;
}

int run_contacts_list(const CommonOptions& common) {
  const Output out(common.json);
  Account account;
  if (int failed = open_account(common, out, account)) return failed;
  // Those added by hand, and everyone we share a conversation with (the engine stores their
  // verified devices when it checks a conversation's members).
  auto conversations = account.store->conversations();
  if (!conversations) return out.fail(Exit::profile_busy, conversations.error());
  for (const auto& name : known_people(account, *conversations)) {
    auto contact = account.store->contact(name);
    if (!contact) return out.fail(Exit::profile_busy, contact.error());
    auto shown = account.settings.names.find(name);
    if (*contact) {
      print_contact(out, **contact,
                    shown == account.settings.names.end() ? std::string() : shown->second);
    }
  }
  return 0;
}

namespace {

// A message id as `history --json` and `recv --json` print it (hex).
Result<Bytes> message_id_from_hex(const std::string& hex) {
  auto id = from_hex(lower_case(hex));
  if (!id || id->size() != client::kMessageIdSize) {
    return Error(Errc::invalid_argument, "a message id is " +
                                             std::to_string(2 * client::kMessageIdSize) +
                                             " hex digits, as `history --json` shows it");
  }
  return std::move(id).value();
}

void send_text_or_reply(client::Engine& engine, const Bytes& group, const std::string& text,
                        const std::optional<Bytes>& reply_to, std::optional<Result<Bytes>>& sent) {
  auto done = [&sent](Result<Bytes> r) { sent = std::move(r); };
  if (reply_to) return engine.send_reply(group, *reply_to, text, done);
  engine.send_text(group, text, done);
}

}  // namespace

int run_send(const CommonOptions& common, const std::string& username,
             const std::optional<std::string>& group_name, std::optional<std::string> text,
             const std::optional<std::string>& reply_to) {
  const Output out(common.json);
  std::optional<Bytes> answered;
  if (reply_to) {
    auto id = message_id_from_hex(*reply_to);
    if (!id) return out.fail(Exit::usage, id.error());
    answered = std::move(id).value();
  }
  Account account;
  std::string name;
  Result<std::optional<client::Conversation>> existing = std::optional<client::Conversation>();
  if (group_name) {
    client::Conversation group;
    if (int failed = open_group(common, out, account, *group_name, group)) return failed;
    name = group.name;
    existing = std::optional<client::Conversation>(std::move(group));
  } else {
    if (int failed = open_account_with(common, out, account, username, name)) return failed;
    if (int refused = refuse_if_keys_changed(account, name, out)) return refused;
    existing = direct_conversation(account, name);
  }
  if (!text) text = read_stdin();
  if (text->empty()) return out.fail(Exit::usage, "an empty message");
  if (!existing) return out.fail(Exit::profile_busy, existing.error());
  Online online(account.settings.server, *account.store, out);
  std::optional<Bytes> group;
  std::optional<Result<Bytes>> sent;
  if (*existing) {
    // Into the outbox first: the message is kept even if the server cannot be reached now.
    group = (*existing)->group_id;
    send_text_or_reply(online.engine(), *group, *text, answered, sent);
    if (!sent || !*sent) {
      const Error error = sent ? sent->error() : Error(Errc::internal, "send did not complete");
      return out.fail(exit_for(error), error);
    }
  }
  if (auto connected = online.connect(); !connected) {
    const Error error = std::move(connected).error();
    if (group) {
      return out.fail(exit_for(error), error.message() +
                                           "; the message waits in the outbox and leaves with the "
                                           "next sotto command that reaches the server");
    }
    return out.fail(exit_for(error), error);
  }
  if (!group) {
    Bytes made;
    if (int failed = conversation_or_fail(online, account, name, out, made)) return failed;
    if (int refused = refuse_if_keys_changed(account, name, out)) {
      online.finish();
      return refused;
    }
    group = std::move(made);
    send_text_or_reply(online.engine(), *group, *text, answered, sent);
  }
  return report_sent(online, account, name, *group, online.wait(sent), out, json::object(),
                     "sent to " + name, group_name.has_value());
}

int run_recv(const CommonOptions& common, uint32_t wait_seconds) {
  const Output out(common.json);
  Account account;
  if (int failed = open_account(common, out, account)) return failed;
  auto groups_seen = group_views(account);
  if (!groups_seen) return out.fail(Exit::profile_busy, groups_seen.error());
  Online online(account.settings.server, *account.store, out);
  bool incoming = false;
  online.on_stored = [&](const client::StoredMessage& m) { incoming = incoming || !m.outgoing; };
  if (auto connected = online.connect(); !connected) {
    // What other commands fetched is shown all the same.
    if (auto shown = show_new_messages(account, out, online); !shown) out.warn(shown.error());
    return out.fail(exit_for(connected.error()), connected.error());
  }
  // Connecting fetched the queue; what it stored is shown once the engine has settled.
  (void)online.run_until([&] { return online.engine().idle(); }, 60s);
  if (auto changed = show_group_changes(account, out, *groups_seen); !changed) {
    out.warn(changed.error());
  }
  auto shown = show_new_messages(account, out, online);
  if (!shown) {
    online.finish();
    return out.fail(exit_for(shown.error()), shown.error());
  }
  if (*shown == 0 && wait_seconds > 0) {
    incoming = false;
    if (online.run_until([&] { return incoming; }, std::chrono::seconds(wait_seconds))) {
      (void)online.run_until([&] { return online.engine().idle(); }, 10s);
      if (auto changed = show_group_changes(account, out, *groups_seen); !changed) {
        out.warn(changed.error());
      }
      shown = show_new_messages(account, out, online);
    }
  }
  const bool lost = online.lost();
  online.finish();
  if (!shown) return out.fail(exit_for(shown.error()), shown.error());
  if (lost) return out.fail(Exit::offline, "the connection to the server was lost");
  return 0;
}

namespace {

// Opens the account and finds the conversation a command names: the group GROUP names, or
// the 1:1 conversation with `username`. 0, or the exit status after saying why not.
int open_conversation(const CommonOptions& common, const Output& out, Account& account,
                      const std::string& username, const std::optional<std::string>& group_name,
                      client::Conversation& conversation) {
  if (group_name) return open_group(common, out, account, *group_name, conversation);
  if (int failed = open_account(common, out, account)) return failed;
  const std::string name = client::normalize_username(username);
  auto found = direct_conversation(account, name);
  if (!found) return out.fail(Exit::profile_busy, found.error());
  if (!*found) return out.fail(Exit::not_found, "no conversation with " + name);
  conversation = std::move(**found);
  return 0;
}

// How many outbox entries are for `group_id`.
size_t outbox_count(const Account& account, const Bytes& group_id) {
  auto outbox = account.store->outbox();
  if (!outbox) return 0;
  return static_cast<size_t>(
      std::count_if(outbox->begin(), outbox->end(),
                    [&](const client::OutboxEntry& e) { return e.group_id == group_id; }));
}

bool outbox_has(const Account& account, const Bytes& group_id) {
  return outbox_count(account, group_id) != 0;
}

// Sends what waits in the outbox, when the server can be reached; what cannot leave now
// leaves with the next command that reaches it.
void flush_outbox(Online& online) {
  if (!online.connect(std::chrono::seconds(10))) return;
  (void)online.run_until([&] { return online.engine().idle(); }, 60s);
  online.finish();
}

}  // namespace

int run_history(const CommonOptions& common, const std::string& username,
                const std::optional<std::string>& group_name) {
  const Output out(common.json);
  Account account;
  client::Conversation conversation;
  if (int failed = open_conversation(common, out, account, username, group_name, conversation)) {
    return failed;
  }
  Online online(account.settings.server, *account.store, out, "sotto",
                account.settings.read_receipts);
  if (auto expired = online.engine().expire_messages(); !expired) {
    return out.fail(Exit::profile_busy, expired.error());
  }
  for (const auto& [group, count] : online.take_expired()) {
    uint64_t& shown = account.settings.shown[to_hex(group)];
    shown -= std::min(shown, count);
  }
  if (auto saved = account.profile.save(account.settings); !saved) out.warn(saved.error());
  auto messages = account.store->messages(conversation.group_id);
  if (!messages) return out.fail(Exit::profile_busy, messages.error());
  for (const auto& m : *messages) {
    print_message(out, label_of(conversation), m, true, account.store.get());
  }
  // What was shown was read: the senders hear it (a receipt, through the outbox).
  const size_t waiting = outbox_count(account, conversation.group_id);
  std::optional<Result<void>> marked;
  online.engine().mark_read(conversation.group_id, [&](Result<void> r) { marked = std::move(r); });
  if (marked && !*marked) out.warn(marked->error());
  if (outbox_count(account, conversation.group_id) > waiting) flush_outbox(online);
  return 0;
}

int run_conversation_change(const CommonOptions& common, const std::string& username,
                            const std::optional<std::string>& group_name,
                            const ConversationChange& change, const std::string& done_line) {
  const Output out(common.json);
  Account account;
  client::Conversation conversation;
  if (int failed = open_conversation(common, out, account, username, group_name, conversation)) {
    return failed;
  }
  Online online(account.settings.server, *account.store, out);
  // Into the store and the outbox first, as `send` does: it leaves when the server is back.
  std::optional<Result<void>> done;
  change(online.engine(), conversation.group_id, [&](Result<void> r) { done = std::move(r); });
  if (!done) return out.fail(Exit::failure, "the change did not complete");
  if (!*done) return out.fail(exit_for(done->error()), done->error());
  if (auto connected = online.connect(); !connected) {
    return out.fail(exit_for(connected.error()),
                    connected.error().message() +
                        "; the change waits in the outbox and leaves with the next sotto "
                        "command that reaches the server");
  }
  (void)online.run_until([&] { return online.engine().idle(); }, 60s);
  const bool sent = !outbox_has(account, conversation.group_id);
  online.finish();
  if (!sent) {
    return out.fail(Exit::offline, "the server did not confirm the change: it waits in the outbox");
  }
  if (out.json()) {
    out.object({{"group_id", to_hex(conversation.group_id)}, {"done", done_line}});
  } else {
    out.line(done_line);
  }
  return 0;
}

int run_receipts(const CommonOptions& common, const std::string& setting) {
  const Output out(common.json);
  if (setting != "on" && setting != "off") return out.fail(Exit::usage, "give on or off");
  Account account;
  if (int failed = open_account(common, out, account)) return failed;
  account.settings.read_receipts = setting == "on";
  if (auto saved = account.profile.save(account.settings); !saved) {
    return out.fail(Exit::profile_busy, saved.error());
  }
  return report_receipts(out, account.settings.read_receipts);
}

int report_receipts(const Output& out, bool on) {
  if (out.json()) {
    out.object({{"read_receipts", on}});
  } else {
    out.line(std::string("read receipts ") + (on ? "on" : "off"));
  }
  return 0;
}

int run_edit(const CommonOptions& common, const std::string& username,
             const std::optional<std::string>& group_name, const std::string& message_id,
             const std::string& text) {
  const Output out(common.json);
  auto id = message_id_from_hex(message_id);
  if (!id) return out.fail(Exit::usage, id.error());
  if (text.empty()) return out.fail(Exit::usage, "an empty message");
  return run_conversation_change(
      common, username, group_name,
      [&](client::Engine& engine, const Bytes& group, client::Engine::Done done) {
        engine.edit_message(group, *id, text, std::move(done));
      },
      "edited");
}

int run_delete(const CommonOptions& common, const std::string& username,
               const std::optional<std::string>& group_name, const std::string& message_id) {
  const Output out(common.json);
  auto id = message_id_from_hex(message_id);
  if (!id) return out.fail(Exit::usage, id.error());
  return run_conversation_change(
      common, username, group_name,
      [&](client::Engine& engine, const Bytes& group, client::Engine::Done done) {
        engine.delete_messages(group, {*id}, std::move(done));
      },
      "deleted for everyone");
}

Result<uint64_t> parse_duration(const std::string& text) {
  if (text == "off" || text == "0") return uint64_t{0};
  const Error bad(Errc::invalid_argument,
                  "a duration is a number with s, m, h or d (30s, 5m, 1h, 7d), or off");
  if (text.size() < 2 || text.size() > 12) return bad;
  uint64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return bad;
  }
  uint64_t value = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return bad;
    value = value * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (value == 0 || value * unit > client::kMaxDisappearAfterS) {
    return Error(Errc::invalid_argument, "a timer of 1 second to a year, or off");
  }
  return value * unit;
}

int run_timer(const CommonOptions& common, const std::string& username,
              const std::optional<std::string>& group_name, const std::string& duration) {
  const Output out(common.json);
  auto seconds = parse_duration(duration);
  if (!seconds) return out.fail(Exit::usage, seconds.error());
  return run_conversation_change(
      common, username, group_name,
      [&](client::Engine& engine, const Bytes& group, client::Engine::Done done) {
        engine.set_disappearing_timer(group, *seconds, std::move(done));
      },
      *seconds == 0 ? std::string("disappearing messages off")
                    : "messages disappear after " + duration_text(*seconds));
}

namespace {

// What the chat view shows is read.
void mark_read_in_chat(Online& online, const Output& out, const Bytes& group) {
  online.engine().mark_read(group, [&out](Result<void> r) {
    if (!r) out.warn(std::move(r).error().with_context("marking read"));
  });
}

}  // namespace

int run_chat(const CommonOptions& common, const std::string& username,
             const std::optional<std::string>& group_name) {
  const Output out(common.json);
  Account account;
  std::string name;
  Bytes group;
  if (group_name) {
    if (int failed = open_account(common, out, account)) return failed;
  } else if (int failed = open_account_with(common, out, account, username, name)) {
    return failed;
  }

  Online online(account.settings.server, *account.store, out, "sotto",
                account.settings.read_receipts);
  bool incoming = false;
  online.on_stored = [&](const client::StoredMessage& m) { incoming = incoming || !m.outgoing; };
  if (int failed = connect_or_fail(online, out)) return failed;
  if (group_name) {
    // After the first fetch, so that a group whose invitation waits on the server is found.
    (void)online.run_until([&] { return online.engine().idle(); }, 60s);
    auto found = find_group(account, *group_name);
    if (found && found->membership != client::Membership::member) {
      found = Error(Errc::not_found, "this device is no longer in the group " + found->name);
    }
    if (!found) {
      online.finish();
      return out.fail(exit_for(found.error()), found.error());
    }
    name = found->name;
    group = found->group_id;
  } else {
    if (int failed = conversation_or_fail(online, account, name, out, group)) return failed;
    if (int refused = refuse_if_keys_changed(account, name, out)) {
      online.finish();
      return refused;
    }
    account.settings.contacts.insert(name);
  }

  // Lines typed are read on the same event loop as the connection.
  boost::asio::posix::stream_descriptor input(online.io());
  boost::system::error_code assigned;
  input.assign(::dup(STDIN_FILENO), assigned);
  if (assigned) {
    online.finish();
    return out.fail(Exit::usage, "chat reads lines from a terminal or a pipe");
  }
  if (!out.json()) {
    out.line((group_name ? "chat in the group " : "chat with ") + name +
             ": type a message and Enter; /quit ends");
  }
  boost::asio::streambuf buffer;
  bool quit = false;
  std::function<void()> read_line = [&] {
    boost::asio::async_read_until(
        input, buffer, '\n', [&](const boost::system::error_code& ec, size_t size) {
          if (ec) {  // end of input
            quit = true;
            return;
          }
          std::string line(boost::asio::buffers_begin(buffer.data()),
                           boost::asio::buffers_begin(buffer.data()) + static_cast<long>(size));
          buffer.consume(size);
          while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
          if (line == "/quit") {
            quit = true;
            return;
          }
          if (!line.empty()) {
            online.engine().send_text(group, line, [&](Result<Bytes> r) {
              if (!r) out.warn(std::move(r).error().with_context("not sent"));
            });
          }
          read_line();
        });
  };
  (void)online.run_until([&] { return online.engine().idle(); }, 60s);
  auto shown = show_new_messages(account, out, online);
  mark_read_in_chat(online, out, group);
  read_line();
  while (shown && !quit) {
    if (!online.run_until([&] { return quit || incoming; }, 24h)) break;
    if (incoming) {
      incoming = false;
      shown = show_new_messages(account, out, online);
      mark_read_in_chat(online, out, group);
    }
  }
  input.cancel();
  const bool lost = online.lost();
  online.finish();
  if (auto saved = account.profile.save(account.settings); !saved) out.warn(saved.error());
  if (!shown) return out.fail(exit_for(shown.error()), shown.error());
  if (lost) return out.fail(Exit::offline, "the connection to the server was lost");
  return 0;
}

namespace {

// What this device holds, for `export`: the account, contacts and every conversation's
// history. No secret goes in: not the device key, the session token or the group states.
Result<json> local_export(const Account& account) {
  json contacts = json::array();
  SOTTO_TRY_ASSIGN(auto conversations, account.store->conversations());
  for (const auto& name : known_people(account, conversations)) {
    SOTTO_TRY_ASSIGN(auto contact, account.store->contact(name));
    if (contact) contacts.push_back(contact_json(*contact));
  }
  json chats = json::array();
  for (const auto& c : conversations) {
    json messages = json::array();
    SOTTO_TRY_ASSIGN(auto stored, account.store->messages(c.group_id));
    for (const auto& m : stored) messages.push_back(message_json(label_of(c), m));
    chats.push_back({{"group_id", to_hex(c.group_id)},
                     {"name", c.name},
                     {"group", c.kind == client::ConversationKind::group},
                     {"members", c.members},
                     {"messages", std::move(messages)}});
  }
  SOTTO_TRY_ASSIGN(auto outbox, account.store->outbox());
  return json{{"account",
               {{"username", account.identity.username},
                {"account_id", to_hex(account.identity.account_id)},
                {"device_id", to_hex(account.identity.device_id)}}},
              {"server",
               {{"host", account.settings.server.host},
                {"port", account.settings.server.port},
                {"fingerprint", account.settings.server.fingerprint}}},
              {"contacts", std::move(contacts)},
              {"conversations", std::move(chats)},
              {"outbox_messages", outbox.size()}};
}

}  // namespace

int run_export(const CommonOptions& common, const std::optional<std::string>& output) {
  const Output out(common.json);
  Account account;
  if (int failed = open_account(common, out, account)) return failed;
  Online online(account.settings.server, *account.store, out);
  if (int failed = connect_or_fail(online, out)) return failed;
  std::optional<Result<std::string>> exported;
  online.engine().export_account([&](Result<std::string> r) { exported = std::move(r); });
  auto server_json = online.wait(exported);
  online.finish();
  if (!server_json) return out.fail(exit_for(server_json.error()), server_json.error());
  json server_part = json::parse(*server_json, nullptr, false);
  if (server_part.is_discarded()) return out.fail(Exit::failure, "the server's export is not JSON");
  // After connecting: what the connection fetched is in the local part too.
  auto local = local_export(account);
  if (!local) return out.fail(Exit::profile_busy, local.error());
  const json document = {{"format", "sotto-export-1"},
                         {"held_by_server", std::move(server_part)},
                         {"held_on_this_device", std::move(*local)}};
  const std::string text = document.dump(2) + "\n";
  if (!output) {
    std::cout << text << std::flush;
    return 0;
  }
  if (auto written = write_private_file(*output, text); !written) {
    return out.fail(Exit::failure, written.error());
  }
  if (out.json()) {
    out.object({{"exported", *output}, {"bytes", text.size()}});
  } else {
    out.line("exported to " + *output + " (readable by you only)");
  }
  return 0;
}

int run_account_delete(const CommonOptions& common, bool confirmed) {
  const Output out(common.json);
  Account account;
  if (int failed = open_account(common, out, account)) return failed;
  if (!confirmed) {
    return out.fail(Exit::usage, "this erases the account " + account.identity.username +
                                     " on the server and everything on this device, for good; "
                                     "run it again with --yes to go ahead");
  }
  auto password = read_secret("SOTTO_PASSWORD", "account password", false);
  if (!password) return out.fail(Exit::usage, password.error());
  std::string secret(reinterpret_cast<const char*>(password->data()), password->size());

  Online online(account.settings.server, *account.store, out);
  if (int failed = connect_or_fail(online, out)) {
    secure_wipe(reinterpret_cast<uint8_t*>(secret.data()), secret.size());
    return failed;
  }
  std::optional<Result<void>> erased;
  online.engine().delete_account(secret, [&](Result<void> r) { erased = std::move(r); });
  secure_wipe(reinterpret_cast<uint8_t*>(secret.data()), secret.size());
  auto done = online.wait(erased);
  online.finish();
  if (!done) return out.fail(exit_for(done.error()), done.error());

  // The server has forgotten the account; now this device forgets it too.
  const fs::path dir = account.profile.dir();
  account.store.reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) {
    return out.fail(Exit::failure, "the account is erased on the server, but " + dir.string() +
                                       " could not be removed: " + ec.message());
  }
  if (out.json()) {
    out.object({{"deleted", account.identity.username}});
  } else {
    out.line("the account " + account.identity.username +
             " is erased on the server and this device's data is deleted");
    if (account.settings.key_file && fs::exists(*account.settings.key_file)) {
      out.line("the key file " + *account.settings.key_file +
               " unlocked only that data; you may delete it");
    }
  }
  return 0;
}

int run_verify(const CommonOptions& common, const std::string& username, bool matches) {
  const Output out(common.json);
  Account account;
  std::string name;
  if (int failed = open_account_with(common, out, account, username, name)) return failed;
  // Both accounts' keys fresh from the key directory, each proof verified.
  Online online(account.settings.server, *account.store, out);
  if (int failed = connect_or_fail(online, out)) return failed;
  std::optional<Result<client::Contact>> theirs;
  std::optional<Result<client::Contact>> ours;
  online.engine().lookup_contact(name, [&](Result<client::Contact> r) { theirs = std::move(r); });
  auto contact = online.wait(theirs);
  if (contact) {
    online.engine().lookup_contact(account.identity.username,
                                   [&](Result<client::Contact> r) { ours = std::move(r); });
  }
  auto self = contact ? online.wait(ours) : Result<client::Contact>(contact.error());
  online.finish();
  if (!contact) return out.fail(exit_for(contact.error()), contact.error());
  if (!self) return out.fail(exit_for(self.error()), self.error());

  const auto their_side = client::safety_side(name, contact->devices);
  const std::string number =
      client::safety_number(client::safety_side(self->username, self->devices), their_side);
  const std::string their_digits = client::safety_number_side(their_side);
  auto confirmed = account.settings.verified.find(name);
  const bool was_verified =
      confirmed != account.settings.verified.end() && confirmed->second == their_digits;
  if (matches) {
    account.settings.verified[name] = their_digits;
    account.settings.contacts.insert(name);
    if (auto saved = account.profile.save(account.settings); !saved) {
      return out.fail(Exit::profile_busy, saved.error());
    }
  }
  const bool verified = matches || was_verified;
  if (out.json()) {
    out.object({{"username", name}, {"safety_number", number}, {"verified", verified}});
    return 0;
  }
  out.line("safety number with " + name + ":");
  out.line("  " + number.substr(0, 35));
  out.line("  " + number.substr(36));
  if (matches) {
    out.line(name + " is verified: sending stops if their keys change");
  } else if (was_verified) {
    out.line("verified: it is the number you confirmed");
  } else {
    out.line("compare it with " + name +
             " (in person or on a call); when it matches, run `sotto verify " + name +
             " --matches`");
  }
  return 0;
}

// ---- files ----------------------------------------------------------------------------

namespace {

// A file that fails its checks is untrusted, like a proof that fails.
Exit exit_for_transfer(const Error& error) {
  return error.code() == Errc::authentication_failed ? Exit::untrusted : exit_for(error);
}

// The transfer client for this account, with the session token that connecting refreshed.
Result<client::FileClient> file_client(const Account& account) {
  SOTTO_TRY_ASSIGN(auto identity, account.store->identity());
  if (!identity) return Error(Errc::unavailable, "the account is gone from the store");
  return client::FileClient(tls_endpoint(account.settings.server), identity->session_token);
}

}  // namespace

json file_json(const client::FileContent& file) {
  return {{"name", file.name}, {"size", file.size}, {"media_type", file.media_type}};
}

int find_file_message(const client::ClientStore& store, const Output& out, const std::string& hex,
                      client::StoredMessage& found) {
  auto id = from_hex(hex);
  if (!id || id->empty()) {
    return out.fail(Exit::usage, "a message id is hex digits (as `recv` shows it)");
  }
  auto conversations = store.conversations();
  if (!conversations) return out.fail(Exit::profile_busy, conversations.error());
  for (const auto& c : *conversations) {
    auto messages = store.messages(c.group_id);
    if (!messages) return out.fail(Exit::profile_busy, messages.error());
    for (auto& m : *messages) {
      if (m.message_id == *id && m.file) {
        found = std::move(m);
        return 0;
      }
    }
  }
  return out.fail(Exit::not_found, "no file message with the id " + hex +
                                       " (run `sotto recv` to fetch new messages)");
}

int file_output(const client::FileContent& file, const std::optional<std::string>& output,
                const Output& out, fs::path& target) {
  // The received name is checked on receipt; sanitised again before it names a file here.
  target = output ? fs::path(*output) : fs::path(client::sanitize_file_name(file.name));
  std::error_code ec;
  if (fs::exists(fs::symlink_status(target, ec))) {
    return out.fail(Exit::exists, target.string() + " exists already: choose another --output");
  }
  return 0;
}

int report_saved(const Output& out, const client::StoredMessage& m, const fs::path& target,
                 const Result<void>& saved) {
  if (!saved) return out.fail(exit_for_transfer(saved.error()), saved.error());
  const client::FileContent& file = *m.file;
  if (out.json()) {
    json j = file_json(file);
    j["message_id"] = to_hex(m.message_id);
    j["from"] = m.sender;
    j["path"] = fs::absolute(target).string();
    out.object(j);
  } else {
    out.line("saved " + file.name + " (" + std::to_string(file.size) + " bytes) from " + m.sender +
             " to " + target.string());
  }
  return 0;
}

int run_file_send(const CommonOptions& common, const std::string& username,
                  const std::optional<std::string>& group_name, const std::string& path,
                  const std::optional<std::string>& caption,
                  const std::optional<std::string>& media_type) {
  const Output out(common.json);
  Account account;
  std::string name;
  Bytes group;
  if (group_name) {
    client::Conversation found;
    if (int failed = open_group(common, out, account, *group_name, found)) return failed;
    if (found.membership != client::Membership::member) {
      return out.fail(Exit::not_found, "this device is no longer in the group " + found.name);
    }
    name = found.name;
    group = found.group_id;
  } else if (int failed = open_account_with(common, out, account, username, name)) {
    return failed;
  }
  const fs::path file(path);
  // What can be refused before connecting is refused now.
  if (auto size = client::check_uploadable(file); !size) {
    return out.fail(exit_for_transfer(size.error()), size.error());
  }
  const std::string type = media_type.value_or(client::media_type_for(file));
  if (!client::is_valid_media_type(type)) {
    return out.fail(Exit::usage, "--type must be a media type such as image/png");
  }
  if (caption && caption->size() > client::kMaxTextBytes) {
    return out.fail(Exit::usage,
                    "the caption is over " + std::to_string(client::kMaxTextBytes) + " bytes");
  }

  if (!group_name) {
    if (int refused = refuse_if_keys_changed(account, name, out)) return refused;
  }
  Online online(account.settings.server, *account.store, out);
  if (int failed = connect_or_fail(online, out)) return failed;
  if (!group_name) {
    if (int failed = conversation_or_fail(online, account, name, out, group)) return failed;
    if (int refused = refuse_if_keys_changed(account, name, out)) {
      online.finish();
      return refused;
    }
  }
  auto files = file_client(account);
  if (!files) {
    online.finish();
    return out.fail(Exit::profile_busy, files.error());
  }
  Result<client::FileContent> uploaded = Error(Errc::internal, "not uploaded");
  {
    ProgressBar bar(out, "sending " + file.filename().string());
    uploaded = online.run_beside<client::FileContent>([&] {
      return files->upload(file, type,
                           [&](uint64_t done, uint64_t total) { bar.update(done, total); });
    });
  }
  if (!uploaded) {
    online.finish();
    return out.fail(exit_for_transfer(uploaded.error()), uploaded.error());
  }
  uploaded->caption = caption;
  const json more = {{"file", file_json(*uploaded)}};
  const std::string done_line =
      "sent " + uploaded->name + " (" + std::to_string(uploaded->size) + " bytes) to " + name;
  std::optional<Result<Bytes>> sent;
  online.engine().send_file(group, std::move(uploaded).value(),
                            [&](Result<Bytes> r) { sent = std::move(r); });
  return report_sent(online, account, name, group, online.wait(sent), out, more, done_line,
                     group_name.has_value());
}

int run_file_get(const CommonOptions& common, const std::string& message_id,
                 const std::optional<std::string>& output) {
  const Output out(common.json);
  Account account;
  if (int failed = open_account(common, out, account)) return failed;
  client::StoredMessage found;
  if (int failed = find_file_message(*account.store, out, message_id, found)) return failed;
  const client::FileContent& file = *found.file;
  fs::path target;
  if (int failed = file_output(file, output, out, target)) return failed;

  Online online(account.settings.server, *account.store, out);
  if (int failed = connect_or_fail(online, out)) return failed;
  auto files = file_client(account);
  if (!files) {
    online.finish();
    return out.fail(Exit::profile_busy, files.error());
  }
  Result<void> got = Error(Errc::internal, "not downloaded");
  {
    ProgressBar bar(out, "receiving " + file.name);
    got = online.run_beside<void>([&] {
      return files->download(file, target,
                             [&](uint64_t done, uint64_t total) { bar.update(done, total); });
    });
  }
  online.finish();
  return report_saved(out, found, target, got);
}

// ---- groups ------------------------------------------------------------------------------

namespace {

// Connects, lets the engine take in what is queued (a commit another member made would
// otherwise make ours lose its epoch), runs `start` and waits for its completion. 0, or the
// exit status after saying why not.
int run_group_operation(Online& online, const Output& out,
                        const std::function<void(client::Engine::Done)>& start) {
  if (int failed = connect_or_fail(online, out)) return failed;
  (void)online.run_until([&] { return online.engine().idle(); }, 60s);
  std::optional<Result<void>> done;
  start([&](Result<void> r) { done = std::move(r); });
  auto result = online.wait(done);
  online.finish();
  return result ? 0 : out.fail(exit_for(result.error()), result.error());
}

// Prints the group as the store now holds it.
int show_group(const Account& account, const Output& out, const Bytes& group_id) {
  auto now = account.store->conversation(group_id);
  if (!now || !*now) return out.fail(Exit::failure, "the group was not stored");
  print_group(out, **now);
  return 0;
}

}  // namespace

int run_group_create(const CommonOptions& common, const std::string& name,
                     const std::vector<std::string>& usernames) {
  const Output out(common.json);
  Account account;
  if (int failed = open_account(common, out, account)) return failed;
  Online online(account.settings.server, *account.store, out);
  Bytes group;
  const int failed = run_group_operation(online, out, [&](client::Engine::Done done) {
    online.engine().create_group(name, usernames, [&group, done](Result<Bytes> made) {
      if (!made) return done(std::move(made).error());
      group = std::move(made).value();
      done(success());
    });
  });
  return failed ? failed : show_group(account, out, group);
}

namespace {

// An operation on the group GROUP names, once connected; prints the group as it is after it.
using GroupOperation =
    std::function<void(client::Engine& engine, const Bytes& group_id, client::Engine::Done done)>;

int on_group(const CommonOptions& common, const std::string& which, const GroupOperation& start) {
  const Output out(common.json);
  Account account;
  client::Conversation group;
  if (int failed = open_group(common, out, account, which, group)) return failed;
  Online online(account.settings.server, *account.store, out);
  const int failed = run_group_operation(online, out, [&](client::Engine::Done done) {
    start(online.engine(), group.group_id, std::move(done));
  });
  return failed ? failed : show_group(account, out, group.group_id);
}

}  // namespace

int run_group_change(const CommonOptions& common, const std::string& which,
                     const std::vector<std::string>& usernames, bool add) {
  return on_group(common, which, [&](client::Engine& engine, const Bytes& id, auto done) {
    if (add) return engine.add_members(id, usernames, std::move(done));
    engine.remove_members(id, usernames, std::move(done));
  });
}

int run_group_leave(const CommonOptions& common, const std::string& which) {
  return on_group(common, which, [](client::Engine& engine, const Bytes& id, auto done) {
    engine.leave_group(id, std::move(done));
  });
}

int run_group_rename(const CommonOptions& common, const std::string& which,
                     const std::string& name) {
  return on_group(common, which, [&](client::Engine& engine, const Bytes& id, auto done) {
    engine.rename_group(id, name, std::move(done));
  });
}

int run_group_list(const CommonOptions& common) {
  const Output out(common.json);
  Account account;
  if (int failed = open_account(common, out, account)) return failed;
  auto groups = group_views(account);
  if (!groups) return out.fail(Exit::profile_busy, groups.error());
  for (const auto& [id, c] : *groups) print_group(out, c);
  return 0;
}

// ---- devices -----------------------------------------------------------------------------

namespace {

std::string utc_day(uint64_t seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
  return text;
}

std::string utc_time(uint64_t seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
  return text;
}

// Connected to the account's server; 0, or the exit status after saying why not.
int go_online(const CommonOptions& common, const Output& out, Account& account,
              std::unique_ptr<Online>& online) {
  if (int failed = open_account(common, out, account)) return failed;
  online = std::make_unique<Online>(account.settings.server, *account.store, out);
  return connect_or_fail(*online, out);
}

}  // namespace

int run_devices_link(const CommonOptions& common, uint32_t wait_seconds) {
  const Output out(common.json);
  Account account;
  std::unique_ptr<Online> online;
  if (int failed = go_online(common, out, account, online)) return failed;
  std::optional<Result<client::LinkSlot>> offered;
  online->engine().link_device_offer([&](Result<client::LinkSlot> r) { offered = std::move(r); });
  auto slot = online->wait(offered);
  if (!slot) {
    online->finish();
    return out.fail(exit_for(slot.error()), slot.error());
  }
  const ServerPins& pins = account.settings.server;
  const std::string server = pins.host + ":" + std::to_string(pins.port);
  const std::string command = "sotto link --server " + server + " --fingerprint " +
                              pins.fingerprint + " --directory-key " + to_hex(pins.directory_key) +
                              " --vrf-key " + to_hex(pins.vrf_key) + " " + slot->code;
  if (out.json()) {
    out.object({{"code", slot->code},
                {"expires_at", slot->expires_at},
                {"server", server},
                {"fingerprint", pins.fingerprint},
                {"directory_key", to_hex(pins.directory_key)},
                {"vrf_key", to_hex(pins.vrf_key)}});
  } else {
    out.line("link code: " + slot->code);
    out.line("valid until " + utc_time(slot->expires_at) + ". On the new device, run:");
    out.line("  " + command);
    out.line("Anyone with this code can add a device to your account: keep it to yourself.");
  }
  const uint64_t limit_s = wait_seconds > 0 ? wait_seconds : proto::kLinkSlotLifetimeS;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(limit_s);
  std::optional<client::LinkedDevice> linked;
  while (!linked) {
    std::optional<Result<std::optional<client::LinkedDevice>>> polled;
    online->engine().link_device_poll([&](auto r) { polled = std::move(r); });
    auto step = online->wait(polled);
    if (!step) {
      online->finish();
      return out.fail(exit_for(step.error()), step.error());
    }
    if (*step) {
      linked = **step;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      online->finish();
      return out.fail(Exit::failure, "no device used the code in time; run `devices link` again");
    }
    (void)online->run_until([] { return false; }, 1s);
    if (online->lost()) {
      online->finish();
      return out.fail(Exit::offline, "the connection was lost");
    }
  }
  online->finish();
  if (out.json()) {
    out.object({{"linked", linked->name}, {"device_id", to_hex(linked->device_id)}});
  } else {
    out.line("linked the device \"" + linked->name + "\" (" +
             to_hex(linked->device_id).substr(0, 8) + "); it is in your conversations now");
  }
  return 0;
}

int run_devices_list(const CommonOptions& common) {
  const Output out(common.json);
  Account account;
  std::unique_ptr<Online> online;
  if (int failed = go_online(common, out, account, online)) return failed;
  // The key directory's view first: a device there that this one never saw is warned about.
  std::optional<Result<client::Contact>> checked;
  online->engine().check_own_account([&](Result<client::Contact> r) { checked = std::move(r); });
  if (auto own = online->wait(checked); !own) {
    online->finish();
    return out.fail(exit_for(own.error()), own.error());
  }
  std::optional<Result<std::vector<proto::DeviceInfo>>> listed;
  online->engine().list_devices([&](auto r) { listed = std::move(r); });
  auto devices = online->wait(listed);
  online->finish();
  if (!devices) return out.fail(exit_for(devices.error()), devices.error());
  for (const auto& d : *devices) {
    const bool self = d.device_id == account.identity.device_id;
    if (out.json()) {
      out.object({{"device_id", to_hex(d.device_id)},
                  {"name", d.name},
                  {"created_at", d.created_at},
                  {"last_seen", d.last_seen},
                  {"this_device", self}});
    } else {
      out.line(to_hex(d.device_id).substr(0, 8) + "  " + d.name + "  created " +
               utc_day(d.created_at) + "  last seen " + utc_day(d.last_seen) +
               (self ? "  (this device)" : ""));
    }
  }
  return 0;
}

int run_devices_revoke(const CommonOptions& common, const std::string& prefix) {
  const Output out(common.json);
  const std::string wanted = lower_case(prefix);
  if (wanted.size() < 4)
    return out.fail(Exit::usage, "give at least 4 hex digits of the device id");
  Account account;
  std::unique_ptr<Online> online;
  if (int failed = go_online(common, out, account, online)) return failed;
  std::optional<Result<std::vector<proto::DeviceInfo>>> listed;
  online->engine().list_devices([&](auto r) { listed = std::move(r); });
  auto devices = online->wait(listed);
  if (!devices) {
    online->finish();
    return out.fail(exit_for(devices.error()), devices.error());
  }
  std::vector<proto::DeviceInfo> matching;
  for (const auto& d : *devices) {
    if (to_hex(d.device_id).rfind(wanted, 0) == 0) matching.push_back(d);
  }
  if (matching.size() != 1) {
    online->finish();
    return out.fail(matching.empty() ? Exit::not_found : Exit::usage,
                    matching.empty()
                        ? "no device of this account has an id starting " + wanted
                        : "several devices have ids starting " + wanted + ": give more digits");
  }
  const proto::DeviceInfo device = matching.front();
  if (device.device_id == account.identity.device_id) {
    online->finish();
    return out.fail(Exit::usage, "that is this device: revoke it from another one");
  }
  std::optional<Result<void>> revoked;
  online->engine().revoke_device(device.device_id, [&](Result<void> r) { revoked = std::move(r); });
  auto result = online->wait(revoked);
  online->finish();
  if (!result) return out.fail(exit_for(result.error()), result.error());
  if (out.json()) {
    out.object({{"revoked", to_hex(device.device_id)}, {"name", device.name}});
  } else {
    out.line("revoked " + to_hex(device.device_id).substr(0, 8) + " (" + device.name +
             "); it is out of your conversations");
  }
  return 0;
}

}  // namespace sotto::cli
