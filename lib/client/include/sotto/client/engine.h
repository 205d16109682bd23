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
  virtual void on_conversation(const Conversation& conversation) { (void)conversation; }
  // A contact's verified devices differ from the ones stored before.
  virtual void on_contact_keys_changed(const Contact& before, const Contact& after) {
    (void)before;
    (void)after;
  }
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

  // ---- contacts and conversations ------------------------------------------------------
  // Looks `username` up in the key directory and verifies the proof before storing the
  // devices. Errc::bad_proof (and lib/kt's other codes) when it does not verify: nothing is
  // stored then. Errc::not_found for an unknown username or an erased account.
  void lookup_contact(std::string username, Then<Contact> done);
  // A 1:1 conversation with `username`: verifies the contact, claims a KeyPackage for each
  // of its devices (and of our other devices), checks each against the verified keys,
  // creates the MLS group, commits the adds and sends the Welcome. Gives the group id.
  void start_conversation(std::string username, Then<Bytes> done);

  // ---- messages ------------------------------------------------------------------------
  // Stores the message in the outbox and history, then sends it. Gives the message id.
  void send_text(BytesView group_id, std::string text, Then<Bytes> done);
  // The same for a file the caller has encrypted and uploaded already (the engine does no
  // HTTP): `file` names the server's file id, its key and its ciphertext's hash. Refused
  // (Errc::invalid_value) when a receiver would refuse it. Gives the message id.
  void send_file(BytesView group_id, FileContent file, Then<Bytes> done);
  // Fetches and processes everything queued for this device (also done after authenticating).
  void fetch(Done done);

 private:
  struct StartContext;
  // What opening one queued message gives: the batch to store, then what to tell.
  struct Opened {
    ClientStoreBatch batch;
    std::vector<StoredMessage> messages;
    std::optional<Conversation> joined;  // a conversation joined or changed by a commit
  };
  using ResponseHandler = std::function<void(Result<proto::ResponseBody>)>;

  void request(proto::Request request, ResponseHandler handler);
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
  void create_conversation(std::shared_ptr<StartContext> context, Then<Bytes> done);

  void send_content(BytesView group_id, AppContent content, Then<Bytes> done);
  void resend_outbox();
  void send_outbox_entry(OutboxEntry entry);

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
  std::set<Bytes> sending_;  // outbox entries whose Send is in flight
};

// Usernames as the server folds them (ASCII lower case); the key-directory label.
std::string normalize_username(std::string_view username);

}  // namespace sotto::client
