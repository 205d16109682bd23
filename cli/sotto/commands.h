// The `sotto` commands. Each returns the process's exit status (output.h) after printing its
// result or its error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "output.h"
#include "profile.h"
#include "sotto/client/engine.h"

namespace sotto::cli {

// Options every command takes.
struct CommonOptions {
  std::optional<std::string> profile;   // --profile DIR
  std::optional<std::string> key_file;  // --key-file PATH
  bool json = false;
};

// `init` and `login`.
struct AccountOptions {
  std::string server;
  std::string fingerprint;
  std::string directory_key;
  std::string vrf_key;
  std::string username;
  std::string email;
  std::string invite_code;
  std::string invite_link;  // someone's invite link: the server and its pins come from it
  std::string device_name = "sotto";
};

// Opens the profile's store, making the profile, the store and a named key file when missing
// (`key_file` is then the key file's absolute path). 0, or the exit status after saying why not.
int create_store(const CommonOptions& common, const Output& out, const Profile& profile,
                 std::unique_ptr<client::SqliteClientStore>& store,
                 std::optional<std::string>& key_file);
Profile profile_for(const CommonOptions& common);
// Reads standard input to its end (a message that is not on the command line), without the
// line ends that close it.
std::string read_stdin();
// The incoming messages `recv` has not shown yet, oldest first, with their conversations;
// `shown` (group id in hex -> messages gone past) moves past them.
struct Unshown {
  client::Conversation conversation;
  client::StoredMessage message;
};
Result<std::vector<Unshown>> take_unshown(const client::ClientStore& store,
                                          std::map<std::string, uint64_t>& shown);
// A message as `recv` and `history` print it (`with_state`: an outgoing one's delivery too).
void print_stored_message(const Output& out, const client::Conversation& conversation,
                          const client::StoredMessage& m, bool with_state,
                          const client::ClientStore& store);

// A file message's description: what `recv` shows and `file send` and `file get` say.
nlohmann::json file_json(const client::FileContent& file);
// `file get`'s steps shared by both modes, each 0 or the exit status after saying why not:
// the stored message with a file whose id is `hex` (as `recv` prints it), in any
// conversation; where to write it (`output`, else the file's own name here), which must not
// exist; and what became of saving it.
int find_file_message(const client::ClientStore& store, const Output& out, const std::string& hex,
                      client::StoredMessage& found);
int file_output(const client::FileContent& file, const std::optional<std::string>& output,
                const Output& out, std::filesystem::path& target);
int report_saved(const Output& out, const client::StoredMessage& m,
                 const std::filesystem::path& target, const Result<void>& saved);

int run_init(const CommonOptions& common, const AccountOptions& account);
int run_login(const CommonOptions& common, const AccountOptions& account);
// `link CODE`: a new profile whose device joins the account of the device that showed CODE.
int run_link(const CommonOptions& common, const AccountOptions& account, const std::string& code);
int run_whoami(const CommonOptions& common);
// `devices link`: shows a link code and waits (up to `wait_seconds`, 0: the code's lifetime)
// until a new device has used it, then adds that device to every conversation.
int run_devices_link(const CommonOptions& common, uint32_t wait_seconds);
int run_devices_list(const CommonOptions& common);
// `devices revoke`: the device whose id starts with `prefix` (hex).
int run_devices_revoke(const CommonOptions& common, const std::string& prefix);
// `username_or_link`: a username, or someone's invite link (`sotto invite`) for this server.
int run_contacts_add(const CommonOptions& common, const std::string& username_or_link);
// Reads a vCard file on this device and adds the accounts its cards name (IMPP:sotto:USER,
// X-SOTTO, or an invite link as URL), each looked up and verified; `dry_run` looks nothing up.
int run_contacts_import(const CommonOptions& common, const std::string& path, bool dry_run);
// Prints this account's invite link (with `qr`, also as a QR code for the terminal).
int run_invite(const CommonOptions& common, bool qr);
int run_contacts_list(const CommonOptions& common);
// `text` unset: the message is read from standard input. With `group` (a group's name or id),
// the message goes to that group and `username` is not used.
// `reply_to`: the hex id of the message this one answers.
int run_send(const CommonOptions& common, const std::string& username,
             const std::optional<std::string>& group, std::optional<std::string> text,
             const std::optional<std::string>& reply_to);
int run_recv(const CommonOptions& common, uint32_t wait_seconds);
int run_history(const CommonOptions& common, const std::string& username,
                const std::optional<std::string>& group);
// With `group` (a group's name or id), the chat is that group's; `username` is not used then.
int run_chat(const CommonOptions& common, const std::string& username,
             const std::optional<std::string>& group);
int run_chat(const CommonOptions& common, const std::string& username);

// Changes of a conversation (the 1:1 one with `username`, or the group `group` names) that
// leave through the outbox: they are stored first, then sent.
using ConversationChange =
    std::function<void(client::Engine& engine, const Bytes& group_id, client::Engine::Done done)>;
int run_conversation_change(const CommonOptions& common, const std::string& username,
                            const std::optional<std::string>& group,
                            const ConversationChange& change, const std::string& done_line);
// `edit`: a new text for a message this account sent (MESSAGE_ID in hex).
int run_edit(const CommonOptions& common, const std::string& username,
             const std::optional<std::string>& group, const std::string& message_id,
             const std::string& text);
// `delete`: deletes a message this account sent, for everyone.
int run_delete(const CommonOptions& common, const std::string& username,
               const std::optional<std::string>& group, const std::string& message_id);
// `receipts on|off`: whether `history` and `chat` tell senders what was read here.
int run_receipts(const CommonOptions& common, const std::string& setting);
// Says what the receipts setting is now (both modes).
int report_receipts(const Output& out, bool on);
// `timer`: the disappearing-message timer, "30s", "5m", "1h", "1d" or "off".
int run_timer(const CommonOptions& common, const std::string& username,
              const std::optional<std::string>& group, const std::string& duration);
// `file send`: encrypts and uploads the file, then sends its key in a message.
// With `group` (a group's name or id), to that group; `username` is not used then.
int run_file_send(const CommonOptions& common, const std::string& username,
                  const std::optional<std::string>& group, const std::string& path,
                  const std::optional<std::string>& caption,
                  const std::optional<std::string>& media_type);
// `file get`: downloads, verifies and decrypts the file of a received (or sent) message.
int run_file_get(const CommonOptions& common, const std::string& message_id,
                 const std::optional<std::string>& output);
// Prints the safety number with `username` from fresh key-directory proofs; `matches` records
// that the user compared it and it matched.
int run_verify(const CommonOptions& common, const std::string& username, bool matches);
// `output` unset: the JSON goes to standard output.
int run_export(const CommonOptions& common, const std::optional<std::string>& output);
// Refuses (Exit::usage) unless `confirmed` (--yes).
int run_account_delete(const CommonOptions& common, bool confirmed);

// `group` subcommands. GROUP is a group's id (hex) or its name when unique.
int run_group_create(const CommonOptions& common, const std::string& name,
                     const std::vector<std::string>& usernames);
// Adds (`add`) or removes every device of each account.
int run_group_change(const CommonOptions& common, const std::string& group,
                     const std::vector<std::string>& usernames, bool add);
int run_group_leave(const CommonOptions& common, const std::string& group);
int run_group_rename(const CommonOptions& common, const std::string& group,
                     const std::string& name);
int run_group_list(const CommonOptions& common);

}  // namespace sotto::cli
