// E-mail mode: chats over an IMAP/SMTP account, in Delta Chat's format (docs/mail.md). The
// account, the keys of the people it mails with, the conversations, the messages and the
// outbox live in the same ClientStore as the server mode's; what differs is the way: mails
// sealed with OpenPGP (lib/mail's seal and open) instead of MLS, SMTP submission instead of
// a Send, the inbox read from a cursor instead of a server queue.
//
// Sending is two steps, so that nothing is lost: send_text() seals the mail and stores it as
// a pending message with its outbox entry in one batch; flush_outbox() submits what waits and
// marks each mail sent once the server took it. Receiving stores the messages of each batch of
// mail it read together with the inbox cursor past them: a crash leaves either both or
// neither, so a restart neither loses a message nor shows one twice (and a mail seen again is
// dropped by its Message-ID).
//
// Keys: a mail is sealed only to keys this account has (imported, or learned from an
// Autocrypt header); no plaintext is sent or read. A signed, encrypted mail from an address
// without a key brings its sender's key in its Autocrypt header and is accepted with it, as
// Delta Chat accepts a contact request; a mail from a known address must be signed by the key
// known for it, else it is refused.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sotto/client/client_store.h"
#include "sotto/client/file_vault.h"
#include "sotto/client/mail_invite.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/mail/imap_connection.h"
#include "sotto/mail/mime.h"
#include "sotto/openpgp/cert.h"

namespace sotto::mail {
class ImapConnection;
}

namespace sotto::client {

// Where the account's mail is read and sent.
struct MailServers {
  mail::MailServerEndpoint imap;
  mail::MailServerEndpoint smtp;
  std::string login;  // the user name for both; usually the address
};

// The group id of the 1:1 conversation with `address` (lower case).
Bytes mail_chat_id(const std::string& address);

// A lower-case address that SMTP accepts and that has one '@' between a local part and a
// domain; else Errc::invalid_argument.
Result<std::string> normalize_mail_address(std::string_view address);

// The largest file sent in one mail: encoded twice (base64 inside, the armor outside), it
// still fits in kMaxMailSize.
inline constexpr uint64_t kMaxMailFileBytes = uint64_t{32} << 20;

struct MailReceived {
  std::vector<StoredMessage> messages;  // new ones, in the order read
  // Messages stored before that changed since, as they are now: edited or deleted by their
  // sender, or completed by their file (Delta Chat sends a file over 140,000 bytes as a
  // pre-message with the text and a post-message with the file, shown as one).
  std::vector<StoredMessage> rewritten;
  size_t refused = 0;  // mails not read: plaintext, unknown signer, damaged, not for us
  // SecureJoin: the addresses whose keys were verified by this call (either side's invite),
  // and those a handshake step was answered to.
  std::vector<std::string> verified;
  std::vector<std::string> handshakes;
};

class MailClient {
 public:
  using Clock = std::function<uint64_t()>;  // ms since 1970

  // Makes the account in an empty store: a new OpenPGP key for `address` (Ed25519 and
  // Curve25519, SEIPD v2 advertised). Errc::already_exists when the store has an account.
  static Result<void> create(ClientStore& store, const std::string& address, SecureBytes password,
                             uint64_t now_ms);

  // Errc::not_found when the store holds no mail account. Files that come in mail (and
  // copies of those sent) are kept, encrypted, in `files`.
  static Result<std::unique_ptr<MailClient>> open(ClientStore& store, MailServers servers,
                                                  Clock clock, FileVault files);
  ~MailClient();

  const std::string& address() const { return address_; }
  const openpgp::Cert& public_cert() const { return key_.cert; }

  // Keeps `cert` (binary or armored) as the key of `address`, replacing one learned before.
  // Errors: invalid_argument (a bad address), Cert::parse's and openpgp::validate's (a key
  // that cannot encrypt).
  Result<void> import_key(const std::string& address, std::string_view cert);

  // This account's SecureJoin invite link (mail_invite.h): whoever has it can verify this
  // account's key, and this account theirs, as the handshake runs in receive().
  std::string invite_link() const;
  // The invite link to one of this account's groups (mail_invite.h, with the group's id and
  // name): whoever joins through it is added to the group, verified, and every member told
  // (Secure-Join: vg-member-added). Its secrets are the group's own, made the first time and
  // kept. Errors: not_found (no such group, or one this account left), the store's.
  Result<std::string> group_invite_link(BytesView group_id);
  // Starts SecureJoin as the joiner with someone's invite link: sends the request through
  // the outbox (a v3 link's encrypted under its secret; an older link's in the clear, as
  // that protocol's first step is); receive() does the rest, and
  // reports the inviter in `verified` once their key matched the link. A group's link (one
  // with a group id) asks to join the group: the join ends when the inviter's mail that adds
  // this account (Secure-Join: vg-member-added) comes, and the group with it. Errors:
  // parse_mail_invite's, invalid_argument (this account's own link), the store's.
  Result<void> join(std::string_view link);

  // Seals `text` to `to` (and to this account) and puts it in the outbox with its pending
  // message; returns the message. Errors: not_found (no key for `to`: import one, or wait for
  // a mail from them), invalid_argument, the store's.
  Result<StoredMessage> send_text(const std::string& to, const std::string& text);
  // Sends the regular file at `path` (at most kMaxMailFileBytes) as an attachment, with
  // `caption` as the mail's text, and keeps a copy in the vault for this account's history.
  // `media_type` empty: guessed from the name. Errors: send_text's, and Errc::not_found (no
  // such file), invalid_argument (not a regular file), too_large.
  Result<StoredMessage> send_file(const std::string& to, const std::filesystem::path& path,
                                  const std::string& caption, const std::string& media_type);

  // Groups, as Delta Chat's are: a Chat-Group-ID and name on every mail, the members in To,
  // each member's key gossiped to the others. create_group makes one locally (mail goes out
  // with its first message); every member needs a key. Errors: not_found (a member without a
  // key, no such group, a group left or removed from), invalid_argument, the store's.
  Result<Conversation> create_group(const std::string& name,
                                    const std::vector<std::string>& members);
  Result<StoredMessage> send_group_text(BytesView group_id, const std::string& text);
  Result<StoredMessage> send_group_file(BytesView group_id, const std::filesystem::path& path,
                                        const std::string& caption, const std::string& media_type);
  // Edits and deletes, as Delta Chat's (Chat-Edit, Chat-Delete): a new text for a message
  // this account sent, or the message deleted for everyone (its text and file wiped here, a
  // tombstone kept). The change is stored at once and its mail goes through the outbox.
  // Errors: not_found (no such message in the conversation), invalid_argument (not this
  // account's message, deleted already, an empty text), the store's.
  Result<StoredMessage> edit_message(BytesView group_id, BytesView message_id,
                                     const std::string& text);
  Result<StoredMessage> delete_message(BytesView group_id, BytesView message_id);

  // Marks the conversation's incoming messages as read. With `send_receipts`, a read receipt
  // (RFC 8098, as Delta Chat sends them) goes through the outbox to each sender who asked for
  // one, naming the messages read. Returns how many messages were marked.
  Result<size_t> mark_read(BytesView group_id, bool send_receipts);

  // Renames a group for every member (Chat-Group-Name-Changed, as Delta Chat's), in a
  // message saying so. Errors: not_found, invalid_argument (an empty name), the store's.
  Result<StoredMessage> rename_group(BytesView group_id, const std::string& name);
  // Adds or removes a member, telling every member (and the one removed) in a message.
  Result<StoredMessage> change_member(BytesView group_id, const std::string& member, bool add);

  // Submits the outbox in order. Returns how many mails the server took; stops at the first
  // that it cannot take now (Errc::unavailable, unauthenticated: they wait). A mail the
  // server refuses for good is marked failed and leaves the outbox.
  Result<size_t> flush_outbox();

  // Reads the inbox from where the last call got to, storing what it finds; when nothing is
  // new and `wait` is not zero, waits for mail (IMAP IDLE, or polling) up to `wait` once.
  Result<MailReceived> receive(std::chrono::milliseconds wait);
  // As receive(), for as long as `wait` lasts: a connection that cannot be made or breaks
  // (Errc::unavailable: the server restarting, the network gone) is made again after 1 s,
  // then 2, 4, ... up to 30 s, and the reading goes on from the stored cursor, so nothing is
  // lost or shown twice. `retrying` hears each failure and the pause before the next try.
  // Other errors (a refused password) end it at once, and so does a failure when `wait` is
  // over. IDLE is renewed every 25 minutes while nothing comes.
  using Retrying = std::function<void(const Error& error, std::chrono::seconds pause)>;
  Result<MailReceived> receive_with_reconnect(std::chrono::milliseconds wait,
                                              const Retrying& retrying = {});

 private:
  MailClient(ClientStore& store, MailServers servers, Clock clock, FileVault files,
             MailAccount account, openpgp::SecretCert key);
  // The 1:1 conversation with `address` as it is, or new (`is_new`).
  Result<Conversation> direct(const std::string& address, bool& is_new) const;
  // What one attachment of a received mail makes of `stored`: its file, kept in the vault.
  Result<void> keep_file(const mail::MailAttachment& attachment, StoredMessage& stored);
  Result<void> connect_imap();
  // Reads what is new, in batches, storing each with the cursor.
  Result<void> read_new(MailReceived& out);
  // What one mail adds to `batch` (a message, a conversation, a peer's key), or nothing.
  Result<bool> take(const std::string& raw, ClientStoreBatch& batch, MailReceived& out);
  // SecureJoin (docs/mail.md): the request in the clear, and the encrypted steps.
  Result<bool> take_join_request(const mail::OuterMail& outer, ClientStoreBatch& batch,
                                 MailReceived& out);
  Result<void> take_member_added(const mail::ChatMail& m, const openpgp::Cert& signer,
                                 ClientStoreBatch& batch, MailReceived& out);
  Result<bool> take_handshake(const std::string& step, const mail::ChatMail& m,
                              const openpgp::Cert& signer, ClientStoreBatch& batch,
                              MailReceived& out);
  // A mail that did not open with our keys (`why`): a SecureJoin v3 step, or nothing.
  Result<bool> take_unopened(const std::string& raw, const mail::OuterMail& outer, const Error& why,
                             ClientStoreBatch& batch, MailReceived& out);
  // SecureJoin v3's steps under the link's secret: vc-request-pubkey (to us as the inviter)
  // and vc-pubkey (to us as the joiner).
  Result<bool> take_password_step(const std::string& raw, const mail::OuterMail& outer,
                                  ClientStoreBatch& batch, MailReceived& out);
  Result<void> send_request_with_auth(const MailJoin& join, const openpgp::Cert& inviter,
                                      ClientStoreBatch& batch, MailReceived& out);
  mail::ChatMail password_step(const std::string& to, const std::string& step,
                               const std::string& auth) const;
  Result<Conversation> group(BytesView group_id) const;
  std::vector<std::string> others(const std::vector<std::string>& members) const;
  // Seals `m` (From, To, Message-ID, date and the Chat- headers of `c` set here) to
  // `recipients`, and stores it as a pending message of `c` with its outbox entry; `c` too
  // when `store_conversation`. With `changed` (an edit or a delete), the mail is not a
  // message of its own: `changed` is stored instead, and returned.
  // What queue_message stores, added to `batch` (its file kept already) instead.
  Result<StoredMessage> add_message(ClientStoreBatch& batch, mail::ChatMail m,
                                    const Conversation& c, bool store_conversation,
                                    const std::vector<std::string>& recipients,
                                    const StoredMessage* changed = nullptr);
  Result<void> add_joiner(const Bytes& group_id, const std::string& joiner,
                          ClientStoreBatch& batch);
  Result<StoredMessage> queue_message(mail::ChatMail m, const Conversation& c,
                                      bool store_conversation,
                                      const std::vector<std::string>& recipients,
                                      const StoredMessage* changed = nullptr);
  // The conversation of `group_id` (1:1 or a group this account is in) and this account's
  // message `message_id` in it, for an edit or a delete.
  Result<StoredMessage> own_message(BytesView group_id, BytesView message_id, Conversation& c);
  // The message `id` of `chat` as `batch` leaves it: the one it stores already (`pending`
  // then points at it, to be changed in place), else the store's.
  Result<std::optional<StoredMessage>> batch_message(ClientStoreBatch& batch, const Bytes& chat,
                                                     const Bytes& id,
                                                     StoredMessage*& pending) const;
  // Applies a received Chat-Edit or Chat-Delete of `m` to the messages of `chat` it names.
  Result<void> take_change(const mail::ChatMail& m, const Bytes& chat, ClientStoreBatch& batch,
                           MailReceived& out);
  // A link of this account's (v3) with these secrets: its contact link's, or a group's.
  MailInvite own_invite(const std::string& invite_number, const SecureBytes& auth) const;
  mail::ChatMail handshake_mail(const std::string& to, const std::string& step) const;
  OutboxEntry outbox_entry(const std::string& to, const std::string& message_id,
                           const std::string& raw, uint64_t now) const;
  Result<void> queue_handshake(mail::ChatMail m, const openpgp::Cert& to, ClientStoreBatch& batch,
                               MailReceived& out);

  ClientStore& store_;
  MailServers servers_;
  Clock clock_;
  FileVault files_;
  // The files kept for the batch of mail being read: deleted again if it is not stored.
  std::vector<FileContent> batch_files_;
  // The files of messages the batch deletes: removed once it is stored.
  std::vector<FileContent> deleted_files_;
  std::string address_;
  SecureBytes password_;
  std::string invite_number_;
  SecureBytes invite_auth_;
  openpgp::SecretCert key_;
  std::unique_ptr<mail::ImapConnection> imap_;
};

}  // namespace sotto::client
