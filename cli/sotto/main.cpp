// sotto: the terminal front end of the Sotto client. Each run is one command on one profile;
// the engine in lib/client does the work, this file reads the command line.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "commands.h"
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
  8   an unknown user, no conversation with them, or no such file or file message
  9   the profile already has an account, or the username is taken
  10  the key directory's proof for a user did not verify, or a downloaded file did not
      match its message (changed on the server or on the way)

Secrets never go on the command line: the store's passphrase comes from SOTTO_PASSPHRASE or
the terminal (or use --key-file), the account password from SOTTO_PASSWORD or the terminal.)";

void add_server_options(CLI::App& command, sotto::cli::AccountOptions& account) {
  command.add_option("--server", account.server, "the server, HOST:PORT")->required();
  command
      .add_option("--fingerprint", account.fingerprint,
                  "SHA-256 of the server's certificate, as sottod prints it (AB:CD:...)")
      ->required();
  command
      .add_option("--directory-key", account.directory_key,
                  "the key directory's signing key (hex), as sottod prints it")
      ->required();
  command
      .add_option("--vrf-key", account.vrf_key,
                  "the key directory's VRF key (hex), as sottod prints it")
      ->required();
  command.add_option("--username", account.username, "the account's username")->required();
  command.add_option("--device-name", account.device_name, "a name for this device")
      ->capture_default_str();
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
  auto* init = app.add_subcommand("init", "register a new account with this device as its first");
  add_server_options(*init, account);
  init->add_option("--email", account.email, "the account's e-mail address")->required();
  init->add_option("--invite", account.invite_code, "an invite code, when the server asks one");
  auto* login = app.add_subcommand("login", "add this device to an existing account");
  add_server_options(*login, account);

  app.add_subcommand("whoami", "show this profile's account and device");

  auto* contacts = app.add_subcommand("contacts", "find people and list them");
  contacts->require_subcommand(1);
  std::string contact_name;
  auto* contacts_add = contacts->add_subcommand(
      "add", "look a user up in the key directory, verify the proof and keep their devices");
  contacts_add->add_option("USERNAME", contact_name, "who")->required();
  auto* contacts_list = contacts->add_subcommand("list", "the contacts and their verified devices");

  std::string peer;
  std::optional<std::string> text;
  auto* send = app.add_subcommand(
      "send",
      "send a message (starts the conversation on first use; kept in the outbox until "
      "the server has it)");
  send->add_option("USERNAME", peer, "to whom")->required();
  send->add_option("TEXT", text, "the message (default: standard input)");

  uint32_t wait_seconds = 0;
  auto* recv = app.add_subcommand("recv", "fetch and print new messages, oldest first");
  recv->add_option("--wait", wait_seconds,
                   "when nothing is new, wait up to this many seconds for a message");

  auto* history = app.add_subcommand("history", "print the conversation with a user");
  history->add_option("USERNAME", peer, "with whom")->required();

  auto* chat = app.add_subcommand(
      "chat",
      "talk with a user: new messages are printed as they come, each line typed is "
      "sent; /quit ends");
  chat->add_option("USERNAME", peer, "with whom")->required();

  auto* file = app.add_subcommand("file", "send and fetch encrypted files");
  file->require_subcommand(1);
  std::string file_path;
  std::optional<std::string> caption;
  std::optional<std::string> media_type;
  auto* file_send = file->add_subcommand(
      "send",
      "encrypt a file on this device, upload it and send its key to a user (up to "
      "100 MiB)");
  file_send->add_option("USERNAME", peer, "to whom")->required();
  file_send->add_option("PATH", file_path, "the file")->required();
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

  auto* account_cmd = app.add_subcommand("account", "the account as a whole");
  account_cmd->require_subcommand(1);
  bool confirmed = false;
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

  if (*init) return run_init(common, account);
  if (*login) return run_login(common, account);
  if (app.got_subcommand("whoami")) return run_whoami(common);
  if (*contacts_add) return run_contacts_add(common, contact_name);
  if (*contacts_list) return run_contacts_list(common);
  if (*send) return run_send(common, peer, text);
  if (*recv) return run_recv(common, wait_seconds);
  if (*history) return run_history(common, peer);
  if (*chat) return run_chat(common, peer);
  if (*file_send) return run_file_send(common, peer, file_path, caption, media_type);
  if (*file_get) return run_file_get(common, message_id, output);
  if (*verify) return run_verify(common, peer, matches);
  if (*export_cmd) return run_export(common, export_path);
  if (*account_delete) return run_account_delete(common, confirmed);
  return static_cast<int>(Exit::usage);
}
