// sotto: the terminal front end of the Sotto client. Each run is one command on one profile;
// the engine in lib/client does the work, this file reads the command line.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "commands.h"
#include "mail_commands.h"
#include "output.h"

namespace {

constexpr const char* kExitStatuses = R"(Exit status:
  0   success
  1   any other failure (the message says which)
  2   a bad command line
  3   no profile, or no account in it (run `sotto init` or `sotto login`)
  4   a wrong passphrase or key file, or none given
  5   the profile is in use by another sotto, or cannot be read
  6   the server cannot be reached or the connection broke (unsent messages wait in the outbox)
  7   the server refused the credentials or ended this device's session
  8   an unknown user or group, no conversation with them, a group left, or no such file
      or file message
  9   the profile already has an account, or the username is taken
  10  the key directory's proof for a user did not verify, or a downloaded file did not
      match its message (changed on the server or on the way)

Secrets never go on the command line: the store's passphrase comes from SOTTO_PASSPHRASE or
the terminal (or use --key-file), the account password from SOTTO_PASSWORD or the terminal.)";

void add_pin_options(CLI::App& command, sotto::cli::AccountOptions& account) {
  // Either these four, as sottod prints them, or someone's invite link, which carries them.
  command.add_option("--server", account.server, "the server, HOST:PORT");
  command.add_option("--fingerprint", account.fingerprint,
                     "SHA-256 of the server's certificate, as sottod prints it (AB:CD:...)");
  command.add_option("--directory-key", account.directory_key,
                     "the key directory's signing key (hex), as sottod prints it");
  command.add_option("--vrf-key", account.vrf_key,
                     "the key directory's VRF key (hex), as sottod prints it");
  command.add_option("--invite-link", account.invite_link,
                     "instead of the four above: someone's invite link (`sotto invite`) to "
                     "their server, who then becomes the first contact");
  command.add_option("--device-name", account.device_name, "a name for this device")
      ->capture_default_str();
}

void add_server_options(CLI::App& command, sotto::cli::AccountOptions& account) {
  add_pin_options(command, account);
  command.add_option("--username", account.username, "the account's username");
}

}  // namespace

int main(int argc, char** argv) {
  // A broken pipe (a reader that went away) is an error to report, not a silent death.
  std::signal(SIGPIPE, SIG_IGN);
  using namespace sotto::cli;

  CLI::App app{"sotto: an end-to-end encrypted messenger for the terminal"};
  app.footer(kExitStatuses);
  app.require_subcommand(1);
  // --profile, --key-file and --json may also follow the command.
  app.fallthrough();
  CommonOptions common;
  app.add_option("--profile", common.profile,
                 "the profile directory (default: $SOTTO_PROFILE, else "
                 "$XDG_DATA_HOME/sotto, else ~/.local/share/sotto)");
  app.add_option("--key-file", common.key_file,
                 "unlock the store with this file of 32 random bytes (mode 0600) instead of a "
                 "passphrase; `init` makes it when missing (also $SOTTO_KEY_FILE)");
  app.add_flag("--json", common.json, "print results as JSON, one object per line");

  AccountOptions account;
  auto* init = app.add_subcommand(
      "init",
      "register a new account with this device as its first; or, with --email but no server or "
      "username, chat through that e-mail account (e-mail mode)");
  add_server_options(*init, account);
  MailInitOptions mail_init;
  init->add_option("--email", account.email, "the account's e-mail address")->required();
  init->add_option("--invite", account.invite_code, "an invite code, when the server asks one");
  init->add_option("--imap", mail_init.imap,
                   "e-mail mode: the IMAP server, HOST:PORT (without --imap and --smtp, they are "
                   "found from the address: the provider's autoconfig file, else the usual names)");
  init->add_option("--smtp", mail_init.smtp, "e-mail mode: the SMTP submission server, HOST:PORT");
  init->add_option("--imap-security", mail_init.imap_security,
                   "tls or starttls (default: starttls on port 143, else tls)");
  init->add_option("--smtp-security", mail_init.smtp_security,
                   "tls or starttls (default: starttls on port 587, else tls)");
  init->add_option("--mail-login", mail_init.login,
                   "the user name for IMAP and SMTP (default: the address)");
  init->add_option("--ca-file", mail_init.ca_file,
                   "trust the mail servers' certificates in this PEM file (a self-hosted server)");
  init->add_flag("--accept-invalid-certificates", mail_init.accept_invalid_certificates,
                 "accept any certificate from the mail servers (only when you know why)");
  init->add_option("--connect-to", mail_init.connect_to,
                   "e-mail mode: HOST:PORT:TO_HOST:TO_PORT, connect there instead (as curl's "
                   "--connect-to; the certificate is still checked for HOST); repeatable");
  auto* login = app.add_subcommand("login", "add this device to an existing account");
  add_server_options(*login, account);

  std::string link_code;
  auto* link = app.add_subcommand(
      "link", "add this device to an account with the code `sotto devices link` shows there");
  add_pin_options(*link, account);
  link->add_option("CODE", link_code, "the link code")->required();

  bool public_key = false;
  auto* whoami = app.add_subcommand("whoami", "show this profile's account and device");
  whoami->add_flag("--public-key", public_key,
                   "e-mail mode: print this account's OpenPGP key, to give to people");

  bool qr = false;
  auto* invite = app.add_subcommand(
      "invite",
      "print a link that lets someone add you, or join your server, without typing its keys");
  invite->add_flag("--qr", qr, "also draw it as a QR code");
  std::string invite_group;
  invite->add_option("--group", invite_group,
                     "e-mail mode: a link to join this group (its name or id) instead; whoever "
                     "joins through it is added, verified");

  bool confirmed = false;
  std::string join_link;
  uint32_t join_wait = 0;
  auto* join = app.add_subcommand(
      "join",
      "e-mail mode: verify each other's keys with someone through their invite link "
      "(SecureJoin, as Delta Chat does)");
  join->add_option("LINK", join_link, "their invite link (`sotto invite`, or Delta Chat's)")
      ->required();
  join->add_option("--wait", join_wait, "wait up to this many seconds for the handshake's end");

  auto* devices = app.add_subcommand("devices", "this account's devices");
  devices->require_subcommand(1);
  uint32_t link_wait = 0;
  auto* devices_link = devices->add_subcommand(
      "link", "show a code to add a new device to this account, and wait for it");
  devices_link->add_option("--wait", link_wait,
                           "give up after this many seconds (default: the code's 10 minutes)");
  auto* devices_list = devices->add_subcommand("list", "the account's devices");
  std::string device_prefix;
  auto* devices_revoke = devices->add_subcommand(
      "revoke", "remove a device from the account and from every conversation");
  devices_revoke->add_option("ID", device_prefix, "the device id, or its first hex digits")
      ->required();

  auto* contacts = app.add_subcommand("contacts", "find people and list them");
  contacts->require_subcommand(1);
  std::string contact_name;
  auto* contacts_add = contacts->add_subcommand(
      "add", "look a user up in the key directory, verify the proof and keep their devices");
  contacts_add->add_option("USERNAME", contact_name, "who: a username or their invite link")
      ->required();
  std::string contact_key;
  contacts_add->add_option("--key", contact_key,
                           "e-mail mode: their OpenPGP key, a file (armored or binary)");
  std::string vcard_path;
  bool dry_run = false;
  auto* contacts_import = contacts->add_subcommand(
      "import",
      "read an address book (vCard file) on this device and add the people whose cards name "
      "their Sotto account (IMPP:sotto:USER, X-SOTTO:USER or an invite link); nothing else "
      "in it leaves the device");
  contacts_import->add_option("FILE", vcard_path, "the .vcf file")->required();
  contacts_import->add_flag("--dry-run", dry_run, "show who would be looked up, look up nobody");
  auto* contacts_list = contacts->add_subcommand("list", "the contacts and their verified devices");

  std::string peer;
  std::optional<std::string> text;
  std::optional<std::string> group_option;
  auto* send = app.add_subcommand(
      "send",
      "send a message (starts the conversation on first use; kept in the outbox until "
      "the server has it)");
  send->add_option("USERNAME", peer, "to whom (left out with --group)");
  send->add_option("TEXT", text, "the message (default: standard input)");
  send->add_option("--group", group_option, "send to this group (its name or id) instead");
  std::optional<std::string> reply_to;
  send->add_option("--reply-to", reply_to,
                   "answer this message (its id, as `history --json` shows it)");

  // USER MESSAGE_ID TEXT, or with --group: MESSAGE_ID TEXT.
  std::vector<std::string> words;
  auto* edit = app.add_subcommand("edit", "change the text of a message you sent, for everyone");
  edit->add_option("ARGS", words, "USERNAME MESSAGE_ID TEXT (USERNAME left out with --group)")
      ->required();
  edit->add_option("--group", group_option, "the message is in this group");
  auto* del = app.add_subcommand("delete", "delete a message you sent, for everyone");
  del->add_option("ARGS", words, "USERNAME MESSAGE_ID (USERNAME left out with --group)")
      ->required();
  del->add_option("--group", group_option, "the message is in this group");
  auto* timer =
      app.add_subcommand("timer",
                         "make new messages of a conversation disappear after a time, for everyone "
                         "(30s, 5m, 1h, 1d; off ends it)");
  timer->add_option("ARGS", words, "USERNAME DURATION (USERNAME left out with --group)")
      ->required();
  timer->add_option("--group", group_option, "the group's timer");
  std::string receipts_setting;
  auto* receipts = app.add_subcommand(
      "receipts", "whether senders hear that you read their messages (default on; offline)");
  receipts->add_option("SETTING", receipts_setting, "on or off")->required();

  uint32_t wait_seconds = 0;
  auto* recv = app.add_subcommand("recv", "fetch and print new messages, oldest first");
  recv->add_option("--wait", wait_seconds,
                   "when nothing is new, wait up to this many seconds for a message");

  auto* history = app.add_subcommand("history", "print the conversation with a user");
  history->add_option("USERNAME", peer, "with whom (left out with --group)");
  history->add_option("--group", group_option, "print this group's conversation instead");

  auto* chat = app.add_subcommand(
      "chat",
      "talk with a user: new messages are printed as they come, each line typed is "
      "sent; /quit ends");
  chat->add_option("USERNAME", peer, "with whom (left out with --group)");
  chat->add_option("--group", group_option, "talk in this group (its name or id) instead");

  auto* group = app.add_subcommand(
      "group", "group conversations (GROUP is the group's name when unique, else its id)");
  group->require_subcommand(1);
  std::string group_name;
  std::vector<std::string> group_users;
  auto* group_create = group->add_subcommand(
      "create", "create a group with these users (every device of each, verified)");
  group_create->add_option("NAME", group_name, "the group's name")->required();
  group_create->add_option("USER", group_users, "who joins")->required();
  auto* group_add = group->add_subcommand("add", "add users (every device of each) to a group");
  group_add->add_option("GROUP", group_name, "the group")->required();
  group_add->add_option("USER", group_users, "who joins")->required();
  auto* group_remove = group->add_subcommand(
      "remove", "remove users (every device of each) from a group; any member may");
  group_remove->add_option("GROUP", group_name, "the group")->required();
  group_remove->add_option("USER", group_users, "who goes")->required();
  auto* group_leave = group->add_subcommand(
      "leave", "leave a group: the next member to read it commits the removal");
  group_leave->add_option("GROUP", group_name, "the group")->required();
  std::string new_name;
  auto* group_rename =
      group->add_subcommand("rename", "rename a group, for every member; any member may");
  group_rename->add_option("GROUP", group_name, "the group")->required();
  group_rename->add_option("NAME", new_name, "its new name")->required();
  auto* group_list = group->add_subcommand("list", "the groups and their members (offline)");

  auto* file = app.add_subcommand("file", "send and fetch encrypted files");
  file->require_subcommand(1);
  std::string file_path;
  std::optional<std::string> caption;
  std::optional<std::string> media_type;
  auto* file_send = file->add_subcommand(
      "send",
      "encrypt a file on this device, upload it and send its key to a user (up to "
      "100 MiB)");
  file_send->add_option("USERNAME", peer, "to whom (left out with --group)")->required();
  file_send->add_option("PATH", file_path, "the file");
  file_send->add_option("--group", group_option, "send to this group (its name or id) instead");
  file_send->add_option("--caption", caption, "a text to go with the file");
  file_send->add_option("--type", media_type,
                        "the media type (default: guessed from the file name's extension)");
  std::string message_id;
  std::optional<std::string> output;
  auto* file_get = file->add_subcommand(
      "get", "download the file of a message (its id as `recv` shows it), check and decrypt it");
  file_get->add_option("MESSAGE_ID", message_id, "the file message's id")->required();
  file_get->add_option("--output,-o", output,
                       "where to write it (default: the sender's file name, in this directory); "
                       "never replaces a file");

  bool matches = false;
  auto* verify = app.add_subcommand(
      "verify",
      "show the safety number with a user, to compare out of band; --matches when it does");
  verify->add_option("USERNAME", peer, "with whom")->required();
  verify->add_flag("--matches", matches,
                   "the number matched: remember their keys and stop sending if they change");

  std::optional<std::string> export_path;
  auto* export_cmd = app.add_subcommand(
      "export",
      "write everything about this account as JSON: what the server holds and this device's "
      "contacts and history (no keys)");
  export_cmd->add_option("--output", export_path,
                         "write to this file, readable by you only (default: standard output)");

  auto* logout = app.add_subcommand(
      "logout",
      "e-mail mode: delete this device's data (key, password, conversations); the "
      "mail stays on the server");
  logout->add_flag("--yes", confirmed, "yes, delete it");

  auto* account_cmd = app.add_subcommand("account", "the account as a whole");
  account_cmd->require_subcommand(1);
  auto* account_delete = account_cmd->add_subcommand(
      "delete",
      "erase the account on the server (all devices, queued messages, files) and delete "
      "this device's data; the password ($SOTTO_PASSWORD or typed) confirms");
  account_delete->add_flag("--yes", confirmed, "yes, erase it for good");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(Exit::usage);
  }

  if (*init) {
    if (account.username.empty() && account.server.empty() && account.invite_link.empty()) {
      mail_init.email = account.email;
      return run_mail_init(common, mail_init);
    }
    if (account.username.empty()) {
      const Output out(common.json);
      return out.fail(Exit::usage, "--username is required");
    }
    return run_init(common, account);
  }
  if (*login && account.username.empty()) {
    const Output out(common.json);
    return out.fail(Exit::usage, "--username is required");
  }
  if (*file_send) {
    // With --group, the one word after `send` is the file.
    if (group_option && file_path.empty()) std::swap(file_path, peer);
    if (file_path.empty() || !peer.empty() == group_option.has_value()) {
      const Output out(common.json);
      return out.fail(Exit::usage, group_option ? "give --group GROUP PATH, without a USERNAME"
                                                : "USERNAME and PATH are required (or --group)");
    }
  }
  if (*chat && peer.empty() == !group_option.has_value()) {
    const Output out(common.json);
    return out.fail(Exit::usage,
                    group_option ? "give either --group or a USERNAME (in e-mail mode an ADDRESS), "
                                   "not both"
                                 : "USERNAME (in e-mail mode an ADDRESS) is required (or --group)");
  }
  if (*edit || *del || *timer) {
    // The words after the conversation: MESSAGE_ID TEXT, MESSAGE_ID, or DURATION.
    const size_t rest = *edit ? 2 : 1;
    const size_t wanted = rest + (group_option ? 0 : 1);
    if (words.size() != wanted) {
      const Output out(common.json);
      return out.fail(Exit::usage, "give " + std::string(group_option ? "" : "USERNAME ") +
                                       (*edit  ? "MESSAGE_ID TEXT"
                                        : *del ? "MESSAGE_ID"
                                               : "DURATION"));
    }
  }
  if (is_mail_profile(common)) {
    if (*whoami) return run_mail_whoami(common, public_key);
    if (*contacts_add) return run_mail_contacts_add(common, contact_name, contact_key);
    if (*contacts_list) return run_mail_contacts_list(common);
    if (*send && group_option)
      return run_mail_group_send(common, *group_option,
                                 peer.empty() ? text : std::optional<std::string>(peer));
    if (*history && group_option) return run_mail_group_history(common, *group_option);
    if (*group_create) return run_mail_group_create(common, group_name, group_users);
    if (*group_add) return run_mail_group_change(common, group_name, group_users, true);
    if (*group_remove) return run_mail_group_change(common, group_name, group_users, false);
    if (*group_rename) return run_mail_group_rename(common, group_name, new_name);
    if (*group_list) return run_mail_group_list(common);
    if (*send && !group_option) return run_mail_send(common, peer, text);
    if (*recv) return run_mail_recv(common, wait_seconds);
    if (*history && !group_option) return run_mail_history(common, peer);
    if (*invite) return run_mail_invite(common, qr, invite_group);
    if (*join) return run_mail_join(common, join_link, join_wait);
    if (*logout) return run_mail_logout(common, confirmed);
    if (*file_send) {
      return run_mail_file_send(common, peer, group_option, file_path, caption, media_type);
    }
    if (*file_get) return run_mail_file_get(common, message_id, output);
    if (*receipts) return run_mail_receipts(common, receipts_setting);
    if (*chat) return run_mail_chat(common, peer, group_option);
    if (*edit || *del) {
      const std::string address = group_option ? std::string() : words[0];
      const size_t at = group_option ? 0 : 1;
      if (*edit) return run_mail_edit(common, address, group_option, words[at], words[at + 1]);
      return run_mail_delete(common, address, group_option, words[at]);
    }
    const Output out(common.json);
    return out.fail(Exit::usage,
                    "an e-mail profile has whoami, invite, join, contacts add/list, send, recv, "
                    "history, chat, edit, delete, file send/get, receipts, group "
                    "create/add/remove/rename/list and logout for now");
  }
  if (*login) return run_login(common, account);
  if (*link) return run_link(common, account, link_code);
  if (*whoami) return run_whoami(common);
  if (*devices_link) return run_devices_link(common, link_wait);
  if (*devices_list) return run_devices_list(common);
  if (*devices_revoke) return run_devices_revoke(common, device_prefix);
  if (*contacts_add) return run_contacts_add(common, contact_name);
  if (*contacts_import) return run_contacts_import(common, vcard_path, dry_run);
  if (*invite && !invite_group.empty()) {
    const Output out(common.json);
    return out.fail(Exit::usage,
                    "invite --group is for e-mail profiles; a server group adds members with "
                    "`group add`");
  }
  if (*invite) return run_invite(common, qr);
  if (*join || *logout) {
    const Output out(common.json);
    return out.fail(Exit::usage,
                    *join ? "join is for e-mail profiles; on a server, `sotto contacts add LINK`"
                          : "logout is for e-mail profiles; on a server, `sotto account delete`");
  }
  if (*contacts_list) return run_contacts_list(common);
  // With --group, the only word after `send` is the message, and `history` takes none.
  const bool one_target = group_option ? (*send ? !text : peer.empty()) : !peer.empty();
  if ((*send || *history) && !one_target) {
    const Output out(common.json);
    return out.fail(Exit::usage, group_option ? "give either --group or a USERNAME, not both"
                                              : "USERNAME is required (or --group)");
  }
  if (*send && group_option && !peer.empty()) text = peer;
  if (*send) return run_send(common, peer, group_option, text, reply_to);
  if (*receipts) return run_receipts(common, receipts_setting);
  if (*edit || *del || *timer) {
    const std::string user = group_option ? std::string() : words[0];
    const size_t at = group_option ? 0 : 1;
    if (*edit) return run_edit(common, user, group_option, words[at], words[at + 1]);
    if (*del) return run_delete(common, user, group_option, words[at]);
    return run_timer(common, user, group_option, words[at]);
  }
  if (*recv) return run_recv(common, wait_seconds);
  if (*history) return run_history(common, peer, group_option);
  if (*group_create) return run_group_create(common, group_name, group_users);
  if (*group_add) return run_group_change(common, group_name, group_users, true);
  if (*group_remove) return run_group_change(common, group_name, group_users, false);
  if (*group_leave) return run_group_leave(common, group_name);
  if (*group_rename) return run_group_rename(common, group_name, new_name);
  if (*group_list) return run_group_list(common);
  if (*chat) return run_chat(common, peer, group_option);
  if (*file_send) {
    return run_file_send(common, peer, group_option, file_path, caption, media_type);
  }
  if (*file_get) return run_file_get(common, message_id, output);
  if (*verify) return run_verify(common, peer, matches);
  if (*export_cmd) return run_export(common, export_path);
  if (*account_delete) return run_account_delete(common, confirmed);
  return static_cast<int>(Exit::usage);
}
