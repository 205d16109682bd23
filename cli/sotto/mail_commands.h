// The `sotto` commands of a profile in e-mail mode (`sotto init --email ADDRESS --imap ...
// --smtp ...`): chats through an IMAP/SMTP account in Delta Chat's format, with
// lib/client's MailClient. The profile holds the encrypted store and mail.json, the servers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"

namespace sotto::cli {

struct MailInitOptions {
  std::string email;
  std::string imap;           // HOST:PORT
  std::string smtp;           // HOST:PORT
  std::string imap_security;  // "tls" or "starttls"; default by port (143: starttls)
  std::string smtp_security;  // "tls" or "starttls"; default by port (587: starttls)
  std::string login;          // default: the address
  std::string ca_file;        // trust these certificates instead of the system's
  bool accept_invalid_certificates = false;
  // "HOST:PORT:TO_HOST:TO_PORT": connections to HOST:PORT go to TO_HOST:TO_PORT (kept for
  // the servers found or given).
  std::vector<std::string> connect_to;
};

// Whether the profile is in e-mail mode.
bool is_mail_profile(const CommonOptions& common);

int run_mail_init(const CommonOptions& common, const MailInitOptions& options);
int run_mail_whoami(const CommonOptions& common, bool public_key);
// Keeps the key in `key_path` (armored or binary) for `address`.
int run_mail_contacts_add(const CommonOptions& common, const std::string& address,
                          const std::string& key_path);
int run_mail_contacts_list(const CommonOptions& common);
int run_mail_send(const CommonOptions& common, const std::string& address,
                  std::optional<std::string> text);
int run_mail_recv(const CommonOptions& common, uint32_t wait_seconds);
int run_mail_history(const CommonOptions& common, const std::string& address);
// `chat`: with `address`, or in `group` when set, until /quit or the end of input.
int run_mail_chat(const CommonOptions& common, const std::string& address,
                  const std::optional<std::string>& group);
// SecureJoin: this account's invite link (and QR code), and joining through someone's.
int run_mail_invite(const CommonOptions& common, bool qr, const std::string& group);
int run_mail_join(const CommonOptions& common, const std::string& link, uint32_t wait_seconds);
// Groups of an e-mail profile (GROUP: its name, or its id in hex as `group list` shows it).
int run_mail_group_create(const CommonOptions& common, const std::string& name,
                          const std::vector<std::string>& members);
int run_mail_group_change(const CommonOptions& common, const std::string& group,
                          const std::vector<std::string>& members, bool add);
int run_mail_group_rename(const CommonOptions& common, const std::string& group,
                          const std::string& name);
int run_mail_group_list(const CommonOptions& common);
int run_mail_group_send(const CommonOptions& common, const std::string& group,
                        std::optional<std::string> text);
int run_mail_group_history(const CommonOptions& common, const std::string& group);

// Files: sent in a mail to a person (`address`) or a group (`group` set), and saved from the
// copy kept on this device when the mail came.
int run_mail_file_send(const CommonOptions& common, const std::string& address,
                       const std::optional<std::string>& group, const std::string& path,
                       const std::optional<std::string>& caption,
                       const std::optional<std::string>& media_type);
int run_mail_file_get(const CommonOptions& common, const std::string& message_id,
                      const std::optional<std::string>& output);

// Edits and deletes (for everyone) a message this account sent, in the conversation with
// `address` or in `group` when set; MESSAGE_ID in hex, as `history` shows it.
int run_mail_edit(const CommonOptions& common, const std::string& address,
                  const std::optional<std::string>& group, const std::string& message_id,
                  const std::string& text);
int run_mail_delete(const CommonOptions& common, const std::string& address,
                    const std::optional<std::string>& group, const std::string& message_id);

// `receipts on|off`: whether `history` sends read receipts to senders who asked for them.
int run_mail_receipts(const CommonOptions& common, const std::string& setting);

// Logs out: deletes this profile's data (store and settings); the mail account and its mail
// stay as they are on the server. Without `confirmed`, only says what it would do.
int run_mail_logout(const CommonOptions& common, bool confirmed);

}  // namespace sotto::cli
