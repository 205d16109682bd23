// The client engine: one account's device, its contacts, conversations, history and outbox,
// kept in sync with a Sotto server. Single-threaded and sans-IO: it talks to the server only
// through a Transport (and is fed frames by the TransportListener calls), to storage only
// through a ClientStore, takes time and randomness from an Environment, and tells the user
// interface what happened through an EngineObserver.
//
// Requests are asynchronous: each gets the next request id and a continuation, which the
// matching Response resumes. Every operation ends by calling its completion exactly once,
// with a Result; a lost connection completes what was in flight with Errc::unavailable.
// Completions may run inside the call that started the operation (when it fails at once).
//
// Rules the engine keeps:
//   * an outgoing message is in the outbox (store) before its Send leaves, and leaves the
//     outbox only in the batch that records the server's SentResponse;
//   * an incoming message, the group state after it and its queue position are stored in one
//     batch before the Ack leaves;
//   * a contact's device keys are trusted only after a key-directory proof verifies against
//     the newest head the engine has seen (kept in the store), and MLS members are accepted
//     only with those keys.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sotto/client/app_message.h"
#include "sotto/client/client_store.h"
#include "sotto/client/device_link.h"
#include "sotto/client/directory_verifier.h"
#include "sotto/client/environment.h"
#include "sotto/client/transport.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/group.h"
#include "sotto/mls/messages.h"
#include "sotto/proto/protocol.h"

namespace sotto::client {

struct EngineConfig {
  DirectoryKeys directory_keys;
  uint16_t cipher_suite = 0x0003;  // X25519, ChaCha20-Poly1305, SHA-256, Ed25519
  std::string device_name = "device";
  uint32_t key_package_batch = 20;  // one-time KeyPackages per upload
  uint32_t key_package_low = 10;    // top up below this many on the server
  uint64_t key_package_lifetime_s = 60ull * 24 * 3600;
  uint32_t fetch_limit = 100;
  // Tell senders when this account has read their messages (mark_read). Off: mark_read only
  // marks them here. Delivery receipts are always sent.
  bool send_read_receipts = true;
};

// What the user interface hears. Calls come from inside the engine's calls.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  virtual void on_message(const StoredMessage& message) { (void)message; }
  virtual void on_delivery_state(BytesView group_id, BytesView message_id, DeliveryState state) {
    (void)group_id;
    (void)message_id;
    (void)state;
  }
  // A stored message changed: edited, deleted for everyone, or a receipt for it came.
  virtual void on_message_changed(const StoredMessage& message) { (void)message; }
  // A message whose disappearing timer ran out was deleted from the store.
  virtual void on_message_expired(const StoredMessage& message) { (void)message; }
  virtual void on_conversation(const Conversation& conversation) { (void)conversation; }
  // A contact's verified devices differ from the ones stored before.
  virtual void on_contact_keys_changed(const Contact& before, const Contact& after) {
    (void)before;
    (void)after;
  }
  // The key directory lists a device of our own account that this device neither linked nor
  // saw before: someone may have added a device to the account (a stolen password, a
  // dishonest server). Reported when our own account is looked up (verifying a conversation's
  // members, check_own_account) against what the previous lookup showed.
  virtual void on_unknown_own_device(const ContactDevice& device) { (void)device; }
  // A member of a conversation (`reported_by`) holds a signed key-directory head that cannot
  // belong to the same log as ours: the server showed us different directories, so keys
  // it serves can no longer be trusted. The evidence (both signed heads) is kept; lookups
  // are refused from then on (Errc::split_view).
  virtual void on_directory_split_view(const std::string& reported_by) { (void)reported_by; }
  virtual void on_authenticated() {}
  // The server ended this device's session (revoked, logged out elsewhere, erased).
  virtual void on_session_ended(Errc reason) { (void)reason; }
  // Something went wrong outside any operation's completion (a malformed frame, a message
  // that could not be opened). Never carries plaintext.
  virtual void on_error(const Error& error) { (void)error; }
};

struct Registration {
  std::string username;
  std::string email;
  std::string password;
  std::string invite_code;
  std::optional<std::string> display_name;
};

// A link slot this device opened: the code to show the user, and until when it works.
struct LinkSlot {
  std::string code;
  uint64_t expires_at = 0;  // seconds since the Unix epoch
};

// A device added to this account by a link code.
struct LinkedDevice {
  Bytes device_id;
  std::string name;
};

enum class ConnectionState : uint8_t { disconnected, connected, authenticating, ready };

class Engine final : public TransportListener {
 public:
  using Done = std::function<void(Result<void>)>;
  template <class T>
  using Then = std::function<void(Result<T>)>;

  Engine(EngineConfig config, ClientStore& store, Transport& transport, Environment& env,
         EngineObserver& observer);
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- TransportListener ---------------------------------------------------------------
  // With a stored identity, on_connected authenticates the device on its own, then fetches
  // the queue and resends the outbox.
  void on_connected() override;
  void on_disconnected() override;
  void on_frame(BytesView frame) override;

  ConnectionState state() const { return state_; }
  bool has_identity() const;
  // No request waits for its answer: whatever was started (a fetch and its acks, an outbox
  // resend, a top-up) has finished. A front end that exits after a command waits for this.
  bool idle() const { return pending_.empty(); }

  // ---- account -------------------------------------------------------------------------
  // Makes this device's Ed25519 key, creates the account, stores the identity, uploads
  // KeyPackages (and a last-resort one). Errc::already_exists when this store has an account.
  void register_account(Registration registration, Done done);
  // Adds this (new) device to an existing account by password, then uploads KeyPackages.
  void login(std::string username, std::string password, Done done);
  // Proves the stored device key to the server (auth_challenge, auth_device).
  void authenticate(Done done);
  // Uploads `count` fresh one-time KeyPackages, and a last-resort one when asked.
  void upload_key_packages(uint32_t count, bool last_resort, Done done);
  // Everything the server holds about the account, as the server's JSON export.
  void export_account(Then<std::string> done);
  // Erases the account and all its server-side data; the password confirms. This device's
  // session ends with it. Deleting the local store is the caller's part.
  void delete_account(std::string password, Done done);

  // ---- devices -------------------------------------------------------------------------
  // Device linking, on the device that has the account: opens a link slot on the server and
  // gives the code to show the user (the secret in it never leaves the two devices).
  void link_device_offer(Then<LinkSlot> done);
  // Advances the link the front end started with link_device_offer; call it again until it
  // gives a device (the engine keeps no timers). Reads the slot; once the new device has
  // posted its key, adds it to the account (a key-directory update), answers it, and then
  // adds it to every conversation this device is a member of (one commit per conversation,
  // with a KeyPackage the new device uploaded once it authenticated). Gives nothing while it
  // waits; Errc::authentication_failed when the post was not sealed under the code.
  void link_device_poll(Then<std::optional<LinkedDevice>> done);
  // Device linking, on the new device (which has no account yet): makes the device key and
  // posts it, sealed under the code, to the slot the code names. Errc::invalid_argument for
  // a mistyped code; authentication_failed or not_found when the server refuses it.
  void link_device_accept(std::string code, Done done);
  // Advances link_device_accept: gives false while the other device has not answered, true
  // once this device has its identity, has authenticated and found itself in the account's
  // key-directory entry.
  void link_device_wait(Then<bool> done);
  // Adds our device `device_id` to every conversation of ours it is not in yet.
  void add_own_device_to_conversations(Bytes device_id, Done done);
  void list_devices(Then<std::vector<proto::DeviceInfo>> done);
  // Looks our own account up in the key directory (and so reports unknown devices of it).
  // Also done once after each authentication.
  void check_own_account(Then<Contact> done);
  // Revokes another device of this account, then removes its leaves from our conversations.
  // Errc::invalid_argument for this device itself.
  void revoke_device(Bytes device_id, Done done);

  // ---- contacts and conversations ------------------------------------------------------
  // Looks `username` up in the key directory and verifies the proof before storing the
  // devices. Errc::bad_proof (and lib/kt's other codes) when it does not verify: nothing is
  // stored then. Errc::not_found for an unknown username or an erased account;
  // Errc::split_view once a split view was found (on_directory_split_view). Lookups (and
  // comparisons of heads from other members) run one at a time: each proof is checked
  // against the head the one before it moved to.
  void lookup_contact(std::string username, Then<Contact> done);
  // Whether a split view of the key directory was found (kept across restarts).
  Result<bool> directory_split_view() const;
  // A 1:1 conversation with `username`: verifies the contact, claims a KeyPackage for each
  // of its devices (and of our other devices), checks each against the verified keys,
  // creates the MLS group, commits the adds and sends the Welcome. Gives the group id.
  void start_conversation(std::string username, Then<Bytes> done);

  // ---- groups --------------------------------------------------------------------------
  // A group conversation named `name` with the accounts `usernames`: every device of each
  // (checked against a verified key-directory lookup, as start_conversation does) and our
  // own other devices become members. The name follows in a GroupMetadataContent message once
  // the Welcome is out, so that every member learns it. Gives the group id.
  // Errc::invalid_argument for a bad name, no usernames, or our own username among them.
  void create_group(std::string name, std::vector<std::string> usernames, Then<Bytes> done);
  // Adds every verified device of each account in one commit, then tells everyone the name
  // again (the new members learn it so). Errc::already_exists for an account already in.
  void add_members(BytesView group_id, std::vector<std::string> usernames, Done done);
  // Removes every leaf of each account in one commit. Any member may remove any other; a
  // member leaves with leave_group instead. Errc::not_found for an account not in the group.
  void remove_members(BytesView group_id, std::vector<std::string> usernames, Done done);
  // MLS lets no member commit its own removal: this sends a Remove proposal for each leaf of
  // this account to the other members and marks the conversation left here at once. The
  // first other member to receive the proposals commits them (the server's commit order picks
  // one when several try); this account's other devices mark the conversation left too.
  void leave_group(BytesView group_id, Done done);
  // Renames the group here and tells the other members (a GroupMetadataContent message, kept
  // in the outbox until the server has it). Errc::invalid_argument for a bad name.
  void rename_group(BytesView group_id, std::string name, Done done);
  // The group conversations, with their members (usernames), whether or not we are still in.
  Result<std::vector<Conversation>> groups() const;

  // ---- messages ------------------------------------------------------------------------
  // Stores the message in the outbox and history, then sends it. Gives the message id.
  // Errc::not_found for a conversation this device has left or was removed from.
  void send_text(BytesView group_id, std::string text, Then<Bytes> done);
  // The same for a file the caller has encrypted and uploaded already (the engine does no
  // HTTP): `file` names the server's file id, its key and its ciphertext's hash. Refused
  // (Errc::invalid_value) when a receiver would refuse it. Gives the message id.
  void send_file(BytesView group_id, FileContent file, Then<Bytes> done);
  // A text that answers `reply_to`, a message this conversation holds (Errc::not_found if
  // not). Gives the message id.
  void send_reply(BytesView group_id, BytesView reply_to, std::string text, Then<Bytes> done);
  // Replaces the body (a file's caption) of a message this account sent, here and for
  // everyone. Errc::forbidden for another account's message, Errc::not_found for one not
  // stored, Errc::invalid_argument for a deleted message or a system line.
  void edit_message(BytesView group_id, BytesView message_id, std::string text, Done done);
  // Deletes messages this account sent, for everyone: each stays as a tombstone without its
  // body and file. The same errors as edit_message; nothing is deleted when one is refused.
  void delete_messages(BytesView group_id, std::vector<Bytes> message_ids, Done done);
  // Sets the conversation's disappearing-message timer for every member (0: off, at most
  // kMaxDisappearAfterS); history gets a system line. Messages stored from then on expire.
  void set_disappearing_timer(BytesView group_id, uint64_t seconds, Done done);
  // Marks the conversation's incoming messages read, and sends their senders one read
  // receipt for those not marked before (unless EngineConfig::send_read_receipts is off, or
  // this device is no longer in the conversation). Works offline: the receipt waits in the
  // outbox.
  void mark_read(BytesView group_id, Done done);
  // Deletes every stored message whose disappearing timer has run out; gives how many. Run
  // after authenticating and after each fetch; a front end runs it before showing history.
  Result<size_t> expire_messages();
  // Fetches and processes everything queued for this device (also done after authenticating).
  void fetch(Done done);

 private:
  struct StartContext;
  struct GroupChange;
  // What opening one queued message gives: the batch to store, then what to tell.
  struct Opened {
    ClientStoreBatch batch;
    std::vector<StoredMessage> messages;
    std::optional<Conversation> joined;    // a conversation joined or changed
    bool verify = false;                   // its membership changed: look the members up again
    std::vector<StoredMessage> changed;    // edited, deleted or receipted messages
    std::optional<MessageKey> to_confirm;  // a message whose delivery its sender should hear of
    std::optional<std::pair<std::string, Bytes>> head;  // a member's directory head, to compare
  };
  using ResponseHandler = std::function<void(Result<proto::ResponseBody>)>;

  void request(proto::Request request, ResponseHandler handler);
  // Runs `task` once those queued before it have called their Done (directory work).
  void queue_directory_task(std::function<void(Done)> task);
  void next_directory_task();
  void lookup_now(std::string name, Then<Contact> done);
  // Compares a member's head with ours (fetching the consistency proof between them).
  void compare_head(std::string from, Bytes gossip, Done done);
  // Our head for the conversation when it is due there (never sent, or another head sent
  // over an hour ago, or the same one over a day ago): protected in `group`'s epoch, with
  // `conversation`'s record of it updated.
  std::optional<OutboxEntry> head_for(Conversation& conversation, mls::Group& group,
                                      const std::vector<Bytes>& recipients);
  // An outbox entry whose application message was protected in an epoch the group has left
  // since: protected again in the current epoch for the current members, and stored so.
  // Gives whether it changed; Errc::not_found when this device is no longer a member. Run
  // by resend_outbox (entries sent as they are made are of the current epoch).
  Result<bool> reprotect_if_stale(OutboxEntry& entry);
  // What the server's answer to an outbox entry's Send means for the outbox and history.
  void settle_outbox_entry(const OutboxEntry& entry, Result<proto::SentResponse> sent,
                           Done then);
  void handle_response(proto::Response response);
  void handle_event(proto::Event event);
  void fail_pending(const Error& error);

  // A fresh device signature key (seed and key); already_exists when the device has one.
  Result<std::pair<SecureBytes, crypto::Ed25519SigningKey>> new_device_key();
  void after_session(const proto::SessionResponse& session, const std::string& username,
                     const SecureBytes& seed, Done done);
  void on_ready();
  void top_up_key_packages();

  Result<std::vector<mls::KeyPackage>> check_claimed(
      const Contact& contact, const std::vector<proto::ClaimedKeyPackage>& claimed,
      BytesView skip_device) const;
  void claim_for(Contact contact, Bytes skip_device, Then<std::vector<mls::KeyPackage>> done);
  // Verifies and claims for context->usernames[index...], then our own other devices when
  // context->with_own_devices, collecting KeyPackages in the context.
  void claim_members(std::shared_ptr<StartContext> context, size_t index, Done done);
  void create_conversation(std::shared_ptr<StartContext> context, Then<Bytes> done);

  // One commit of `change` on the group's stored state; on Errc::conflict (another member
  // committed first in this epoch) fetches, processes and tries again in the new epoch.
  void commit_change(std::shared_ptr<GroupChange> change, Done done);
  // `accepted_at`: when the server took the commit (ms; 0: no one else heard of it).
  void after_commit(std::shared_ptr<GroupChange> change, mls::Group next,
                    std::vector<Bytes> welcome_to, std::optional<mls::MlsMessage> welcome,
                    uint64_t accepted_at, Done done);
  // Puts the group's name in the outbox, protected in the group's stored epoch, and sends it.
  void send_group_metadata(Bytes group_id);
  // Commits the proposals that other members left pending (a member leaving), for each
  // group noted while processing messages.
  void commit_pending_proposals();
  // `app` protected in `group`'s epoch, as an outbox entry for `recipients` that keeps the
  // content, so that it can be protected again should the epoch move on before it leaves.
  Result<OutboxEntry> protect_for_outbox(mls::Group& group, const AppMessage& app,
                                         std::vector<Bytes> recipients);

  // Protects `content` for the conversation, stores what it changes here (a new history
  // entry for a text, file or timer; `rewritten` for an edit, delete or read receipt) with
  // the outbox entry in one batch, then sends it.
  void send_content(BytesView group_id, AppContent content, Then<Bytes> done,
                    std::vector<StoredMessage> rewritten = {});
  // A message this account sent, for an edit or a delete to change.
  Result<StoredMessage> own_message(BytesView group_id, BytesView message_id);
  // What a received edit, delete or receipt does to stored messages; errors leave all as is.
  Result<void> apply_edit(BytesView group_id, const std::string& sender, const AppMessage& app,
                          const EditContent& edit, Opened& out);
  Result<void> apply_delete(BytesView group_id, const std::string& sender,
                            const DeleteContent& deletion, Opened& out);
  Result<void> apply_receipt(BytesView group_id, const std::string& sender, const std::string& own,
                             const ReceiptContent& receipt, Opened& out);
  // One delivery receipt per conversation for the messages stored since the last call.
  void send_delivery_receipts();
  void resend_outbox();
  // `then`, when given, hears how the Send ended (success once the server holds it).
  void send_outbox_entry(OutboxEntry entry, Done then = nullptr);

  // One conversation after another (by index in `groups`): adds `device_id` with a freshly
  // claimed KeyPackage, or removes its leaves.
  void add_own_device(Contact own, Bytes device_id, std::vector<Bytes> groups, size_t index,
                      Done done);
  void remove_own_device(Bytes device_id, std::vector<Bytes> groups, size_t index, Done done);
  // The groups this device is a member of.
  Result<std::vector<Bytes>> member_groups() const;

  void fetch_from(uint64_t after_seq, Done done);
  // One queued message: stored, or dropped with an error; its seq joins `acks` when it may
  // be acknowledged.
  void process_queued(const proto::QueuedMessage& message, std::vector<uint64_t>& acks);
  Result<Opened> open_message(const proto::QueuedMessage& message);
  Result<Opened> join(const mls::MlsMessage& welcome, const Identity& identity);
  void ack(std::vector<uint64_t> seqs);
  void verify_members(Bytes group_id);
  void verify_next_member(Bytes group_id, std::vector<std::string> names, size_t index);
  Result<void> check_member_keys(BytesView group_id, const Contact& contact);

  Result<Identity> require_identity() const;
  // The identity, when the connection is also ready for requests (Errc::unavailable if not).
  Result<Identity> ready_identity() const;
  void random(std::span<uint8_t> out) { env_.random(out); }
  mls::Random rng();
  uint64_t now_s() { return env_.now_ms() / 1000; }

  EngineConfig config_;
  ClientStore& store_;
  Transport& transport_;
  Environment& env_;
  EngineObserver& observer_;

  ConnectionState state_ = ConnectionState::disconnected;
  uint64_t next_request_id_ = 1;
  std::map<uint64_t, ResponseHandler> pending_;
  bool fetching_ = false;
  bool refetch_ = false;  // a message event came during a fetch
  bool topping_up_ = false;
  std::set<Bytes> sending_;            // outbox entries whose Send is in flight
  std::set<Bytes> pending_proposals_;  // groups with proposals from others, to be committed
  std::map<Bytes, std::vector<Bytes>> to_confirm_;  // group -> messages to send receipts for

  // A link in progress: on the existing device (offering) or on the new one (joining).
  struct LinkOffering {
    LinkCode code;
    LinkKeys keys;
    std::optional<LinkedDevice> added;  // added and answered; joining conversations next
  };
  struct LinkJoining {
    LinkCode code;
    LinkKeys keys;
    SecureBytes seed;
    Bytes public_key;
  };
  std::optional<LinkOffering> offering_;
  std::set<Bytes> linked_devices_;  // devices this engine added to the account
  std::optional<LinkJoining> joining_;

  std::deque<std::function<void(Done)>> directory_tasks_;
  bool directory_busy_ = false;
};

// Usernames as the server folds them (ASCII lower case); the key-directory label.
std::string normalize_username(std::string_view username);

}  // namespace sotto::client
