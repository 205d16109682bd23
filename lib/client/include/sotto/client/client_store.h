// Where the engine keeps everything that must outlive a restart, behind one interface with
// domain methods (a memory implementation for tests, SQLite and IndexedDB ones later). Writes
// that belong together go through one apply(ClientStoreBatch): a store applies a batch
// entirely or not at all, so that e.g. a new group state, the message it decrypted and the
// queue position it came from can never be split by a crash.
//
// Secrets (the device key, the session token, group states, key-package private keys) are
// SecureBytes; a persistent store encrypts them at rest.
//
// Every struct here lists its fields in SOTTO_TLS_FIELDS, in order (encode_batch): a field
// added to one goes into its list too, or a store that keeps batches loses it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sotto/client/app_message.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"

namespace sotto::client {

// This device's account and credentials.
struct Identity {
  std::string username;
  Bytes account_id;
  Bytes device_id;
  SecureBytes signature_seed;  // the device's Ed25519 seed
  SecureBytes session_token;
  uint64_t session_expires_at = 0;  // seconds since the Unix epoch
  SOTTO_TLS_FIELDS(username, account_id, device_id, signature_seed, session_token,
                   session_expires_at)
};

// The private half of a KeyPackage this device uploaded, found again by its reference when a
// Welcome names it.
struct StoredKeyPackage {
  Bytes ref;                 // KeyPackageRef
  Bytes key_package;         // the TLS-encoded mls::KeyPackage
  SecureBytes private_keys;  // TLS-encoded init, encryption and signature private keys
  bool last_resort = false;  // kept after use: the server hands it out until replaced
  SOTTO_TLS_FIELDS(ref, key_package, private_keys, last_resort)
};

struct ContactDevice {
  Bytes device_id;
  Bytes signature_key;  // Ed25519 public key
  friend bool operator==(const ContactDevice&, const ContactDevice&) = default;
  SOTTO_TLS_FIELDS(device_id, signature_key)
};

// An account whose devices were proven by a key-directory lookup.
struct Contact {
  std::string username;
  std::vector<ContactDevice> devices;
  uint32_t directory_version = 0;  // the label's version the proof showed
  uint64_t verified_epoch = 0;     // the directory epoch of that proof
  SOTTO_TLS_FIELDS(username, devices, directory_version, verified_epoch)
};

enum class ConversationKind : uint8_t {
  direct = 1,  // a 1:1 conversation, named after the other person
  group = 2,   // a named group (its name travels in the group's metadata messages)
};

// Whether this device still takes part. A conversation left or removed from keeps its
// history; its group state is the last one this device had, and sends are refused.
enum class Membership : uint8_t {
  member = 1,
  left = 2,     // this account asked to leave (from this device or another of its devices)
  removed = 3,  // another member committed this device's removal
};

// A former member of an e-mail group, kept for a while (Chat-Group-Past-Members).
struct PastMember {
  std::string address;
  uint64_t removed_at = 0;  // s since 1970

  bool operator==(const PastMember&) const = default;
  SOTTO_TLS_FIELDS(address, removed_at)
};

struct Conversation {
  Bytes group_id;
  std::string name;
  std::vector<std::string> members;  // usernames, ours included
  SecureBytes group_state;           // mls::Group::serialize()
  // Every member's leaf key matched its account's devices in a verified directory lookup.
  // A joined conversation starts unverified until the engine has looked its members up.
  bool members_verified = false;
  ConversationKind kind = ConversationKind::direct;
  Membership membership = Membership::member;
  // Messages stored while this is on disappear this many seconds after they were stored
  // (0: off). Any member may change it for everyone (ConversationSettingsContent).
  uint64_t disappear_after_s = 0;
  // The group state of the epoch before group_state's, kept for a short while after a commit
  // so that application messages its members sent before they saw the commit still open
  // (docs/groups.md, "Messages across a commit"); empty when none is kept. Until when, on
  // the server's clock (ms): messages the server took later are not opened with it.
  SecureBytes previous_group_state{};
  uint64_t previous_epoch_until = 0;
  // The key-directory head this device last sent to the conversation (its log size) and when
  // (ms, 0: never): heads are exchanged inside conversations (docs/key-transparency.md).
  uint64_t head_sent_size = 0;
  uint64_t head_sent_at = 0;
  // E-mail groups, as Delta Chat keeps them (Chat-Group-Member-Timestamps): when each of
  // `members` was last added (s since 1970; 0 when not known), in the same order (missing
  // entries are 0), and the members removed since, with when (sotto/client/mail_members.h).
  std::vector<uint64_t> members_added_at{};
  std::vector<PastMember> past_members{};
  SOTTO_TLS_FIELDS(group_id, name, members, group_state, members_verified, kind, membership,
                   disappear_after_s, previous_group_state, previous_epoch_until, head_sent_size,
                   head_sent_at, members_added_at, past_members)
};

enum class DeliveryState : uint8_t {
  pending = 1,   // in the outbox
  sent = 2,      // the server holds it for every recipient
  received = 3,  // an incoming message
  failed = 4,    // the server refused it for good
};

// "pending", "sent", "received" or "failed", as front ends show it.
const char* delivery_state_name(DeliveryState state);

struct StoredMessage {
  Bytes group_id;
  Bytes message_id;
  std::string sender;  // username
  Bytes sender_device;
  bool outgoing = false;
  uint64_t sent_at = 0;      // the sender's clock, ms
  uint64_t accepted_at = 0;  // the server's clock, ms (0 until known)
  DeliveryState state = DeliveryState::pending;
  std::string body;                 // the text, or a file's caption
  std::optional<FileContent> file;  // a file message: what fetching and opening it takes
  std::optional<Bytes> reply_to;    // the message this one answers
  uint64_t edited_at = 0;           // the last edit's sent_at, ms (0: never edited)
  // Deleted for everyone by its sender: body and file are wiped, the record stays as a
  // tombstone so that replies to it still point somewhere.
  bool deleted = false;
  uint64_t expires_at = 0;  // ms; the engine deletes it from then on (0: never)
  // A system line instead of a text: the sender set the disappearing timer to this.
  std::optional<uint64_t> timer_set_s;
  // An incoming message this account has seen (on any of its devices): a read receipt went
  // out for it, or needs not.
  bool read = false;
  // E-mail mode: an incoming message whose sender asked for a read receipt (Delta Chat's
  // Chat-Disposition-Notification-To); one goes out when it is read, if the user allows.
  bool receipt_requested = false;
  // An outgoing message's receipts: the accounts that have it, and those that have read it
  // (a read implies delivered; each name once, in the order they came).
  std::vector<std::string> delivered_to;
  std::vector<std::string> read_by;
  SOTTO_TLS_FIELDS(group_id, message_id, sender, sender_device, outgoing, sent_at, accepted_at,
                   state, body, file, reply_to, edited_at, deleted, expires_at, timer_set_s, read,
                   receipt_requested, delivered_to, read_by)
};

// A protected message waiting for the server's SentResponse. The payload is kept as sent, so
// that a retry after a lost connection is the same Send (the server deduplicates by id).
// An application message also keeps its encoded AppMessage and the epoch it was protected
// in: when the group has moved on before it could leave, it is protected again in the new
// epoch (members that moved on could not open it). Handshake messages and Welcomes keep
// neither: they belong to their epoch.
struct OutboxEntry {
  Bytes message_id;
  Bytes group_id;
  std::vector<Bytes> recipients;
  Bytes payload;
  uint64_t created_at = 0;  // ms
  SecureBytes content{};    // the encoded AppMessage; empty for a handshake message
  uint64_t epoch = 0;       // the epoch `payload` was protected in (with `content`)
  SOTTO_TLS_FIELDS(message_id, group_id, recipients, payload, created_at, content, epoch)
};

struct DeliveryUpdate {
  Bytes group_id;
  Bytes message_id;
  DeliveryState state = DeliveryState::sent;
  uint64_t accepted_at = 0;
  SOTTO_TLS_FIELDS(group_id, message_id, state, accepted_at)
};

// E-mail mode (docs/mail.md): the mail account this profile chats through. Its
// conversations, messages and outbox are the ones above: a conversation's group id is
// mail_chat_id()'s, a message id is the mail's Message-ID, and an outbox entry's payload is
// the sealed mail and its recipients the addresses.
struct MailAccount {
  std::string address;     // lower case
  SecureBytes password;    // for IMAP and SMTP submission
  SecureBytes secret_key;  // the OpenPGP transferable secret key
  // This account's SecureJoin invite (its link carries both): the number that opens the
  // handshake, and the secret that proves the joiner saw the link.
  std::string invite_number;
  SecureBytes invite_auth;
  SOTTO_TLS_FIELDS(address, password, secret_key, invite_number, invite_auth)
};

// Where a mail peer's key came from.
enum class MailKeySource : uint8_t {
  imported = 1,   // given by this user (a key file)
  autocrypt = 2,  // the Autocrypt header of a signed, encrypted mail from them
  gossip = 3,     // an Autocrypt-Gossip header in a group mail from someone known
};

// Someone this account mails with, and the key its mails to them are encrypted to.
struct MailPeer {
  std::string address;  // lower case
  Bytes cert;           // the transferable public key
  MailKeySource source = MailKeySource::imported;
  uint64_t updated_at = 0;  // ms
  // The key was verified by SecureJoin (either side's invite), not merely seen.
  bool verified = false;
  SOTTO_TLS_FIELDS(address, cert, source, updated_at, verified)
};

// A SecureJoin this account started as the joiner, waiting for the inviter's answers.
struct MailJoin {
  std::string address;  // the inviter's, lower case
  Bytes fingerprint;    // the inviter's key, as the invite link gives it
  std::string invite_number;
  SecureBytes auth;
  uint64_t started_at = 0;  // ms
  // The group the invite was to (its Chat-Group-ID), or empty for a contact's invite.
  std::string group_id;
  SOTTO_TLS_FIELDS(address, fingerprint, invite_number, auth, started_at, group_id)
};

// The secrets of an invite link to one of this account's e-mail groups (SecureJoin's
// Secure-Join-Group): whoever shows them is added to the group. Made when a link is first
// asked for, kept until withdrawn.
struct MailGroupInvite {
  Bytes group_id;  // the conversation's
  std::string invite_number;
  SecureBytes auth;
  uint64_t created_at = 0;  // ms
  SOTTO_TLS_FIELDS(group_id, invite_number, auth, created_at)
};

struct MessageKey {
  Bytes group_id;
  Bytes message_id;
  SOTTO_TLS_FIELDS(group_id, message_id)
};

// One atomic write. Everything set or listed is applied, or nothing is.
struct ClientStoreBatch {
  std::optional<Identity> identity;
  std::optional<Bytes> directory_state;  // the key-directory verifier's saved state
  std::vector<StoredKeyPackage> put_key_packages;
  std::vector<Bytes> remove_key_packages;        // by ref
  std::vector<Contact> put_contacts;             // by username
  std::vector<Conversation> put_conversations;   // by group id
  std::vector<StoredMessage> put_messages;       // by (group id, message id)
  std::vector<DeliveryUpdate> delivery_updates;  // on messages already stored
  std::vector<MessageKey> remove_messages;       // gone for good (expired); absent ones ignored
  std::vector<OutboxEntry> put_outbox;
  std::vector<Bytes> remove_outbox;        // by message id
  std::vector<uint64_t> add_processed;     // server queue seqs stored but not yet acked
  std::vector<uint64_t> remove_processed;  // seqs the server confirmed deleted
  std::optional<MailAccount> mail_account;
  std::vector<MailPeer> put_mail_peers;  // by address
  std::vector<MailJoin> put_mail_joins;  // by address
  std::vector<std::string> remove_mail_joins;
  std::vector<MailGroupInvite> put_mail_group_invites;  // by group id
  std::vector<Bytes> remove_mail_group_invites;         // by group id
  // Where the inbox was read to (sotto/mail/mailbox_cursor.h's text), stored with the
  // messages read, so that a crash can neither lose nor repeat one.
  std::optional<std::string> mail_cursor;

  bool empty() const;
  SOTTO_TLS_FIELDS(identity, directory_state, put_key_packages, remove_key_packages, put_contacts,
                   put_conversations, put_messages, delivery_updates, remove_messages, put_outbox,
                   remove_outbox, add_processed, remove_processed, mail_account, put_mail_peers,
                   put_mail_joins, remove_mail_joins, put_mail_group_invites,
                   remove_mail_group_invites, mail_cursor)
};

// A batch as bytes, for a store that keeps batches (the web client's, which writes each to
// IndexedDB): a version byte, then the batch in the TLS encoding. Secrets are in it in clear:
// the caller encrypts. decode_batch is strict and refuses another version.
SecureBytes encode_batch(const ClientStoreBatch& batch);
Result<ClientStoreBatch> decode_batch(BytesView bytes);

class ClientStore {
 public:
  virtual ~ClientStore() = default;

  // Reads. A persistent store reports its failures as Errc::unavailable.
  virtual Result<std::optional<Identity>> identity() const = 0;
  virtual Result<std::optional<Bytes>> directory_state() const = 0;
  virtual Result<std::optional<StoredKeyPackage>> key_package(BytesView ref) const = 0;
  virtual Result<size_t> key_package_count() const = 0;
  virtual Result<std::optional<Contact>> contact(const std::string& username) const = 0;
  virtual Result<std::optional<Conversation>> conversation(BytesView group_id) const = 0;
  virtual Result<std::vector<Conversation>> conversations() const = 0;
  // Oldest first, by the order they were stored.
  virtual Result<std::vector<StoredMessage>> messages(BytesView group_id) const = 0;
  virtual Result<std::optional<StoredMessage>> message(BytesView group_id,
                                                       BytesView message_id) const = 0;
  // Whether the conversation holds the message with this id, without reading the history.
  virtual Result<bool> has_message(BytesView group_id, BytesView message_id) const = 0;
  virtual Result<std::vector<OutboxEntry>> outbox() const = 0;
  virtual Result<bool> is_processed(uint64_t seq) const = 0;
  virtual Result<std::optional<MailAccount>> mail_account() const = 0;
  virtual Result<std::optional<MailPeer>> mail_peer(const std::string& address) const = 0;
  virtual Result<std::vector<MailPeer>> mail_peers() const = 0;  // by address
  virtual Result<std::optional<MailJoin>> mail_join(const std::string& address) const = 0;
  virtual Result<std::vector<MailGroupInvite>> mail_group_invites() const = 0;  // by group id
  virtual Result<std::optional<std::string>> mail_cursor() const = 0;

  // The one write. Errc::not_found for a delivery update of a message that is not stored
  // (the whole batch is refused then).
  virtual Result<void> apply(const ClientStoreBatch& batch) = 0;
};

}  // namespace sotto::client
