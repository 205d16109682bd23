// What sottod keeps, behind one interface: accounts, devices, sessions, one-time codes,
// invites, key packages, per-device message queues with commit ordering, file metadata, push
// subscriptions, and the key directory's two stores. docs/privacy.md lists every field, why it
// is kept and for how long.
//
// Every method is one transaction: it happens whole or not at all, and is safe to call from
// any thread. Times are milliseconds since the Unix epoch, given by the caller (the store
// reads no clock). Identifiers are 16 random bytes made by the caller.
//
// Implementations: MemoryStore (unit tests), SqliteStore (the default; WAL, numbered
// migrations, group commit). The operations are shaped so that a PostgreSQL implementation
// can follow with the same semantics (each maps to one transaction with row locks).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/kt/directory_store.h"
#include "sotto/kt/log_store.h"

namespace sotto::store {

using Id = Bytes;  // 16 random bytes

struct Account {
  Id id;
  std::string username;  // unique, as normalised by the caller (lower case)
  std::string email;     // unique, lower case
  bool email_verified = false;
  std::optional<std::string> display_name;
  std::optional<std::string> phone;
  std::string password_hash;  // libsodium's Argon2id string
  uint64_t created_at = 0;
};

struct Device {
  Id id;
  Id account_id;
  Bytes signature_key;  // Ed25519, unique across the server
  std::string name;
  uint64_t created_at = 0;
  uint64_t last_seen = 0;  // rounded down to the day
};

struct Session {
  Bytes token_hash;  // SHA-256 of the token; the token itself is never stored
  Id account_id;
  Id device_id;
  uint64_t created_at = 0;
  uint64_t expires_at = 0;
};

enum class CodePurpose : uint8_t { email_verification = 1, account_recovery = 2 };

// A one-time code sent by e-mail, stored hashed; `attempts` counts wrong guesses.
struct OneTimeCode {
  Id account_id;
  CodePurpose purpose = CodePurpose::email_verification;
  Bytes code_hash;
  uint64_t expires_at = 0;
  uint32_t attempts = 0;
};

struct Invite {
  Bytes code_hash;  // SHA-256 of the code
  uint64_t created_at = 0;
  uint64_t expires_at = 0;
  uint32_t uses_left = 1;
};

struct KeyPackageStock {
  uint32_t count = 0;  // one-time key packages
  bool has_last_resort = false;
};

// The commit of an MLS group: the server keeps SHA-256(group id) -> the next epoch only, until
// the group's newest commit expires with its envelope.
struct CommitOrder {
  Bytes group_hash;
  uint64_t epoch = 0;
};

// One Send: a payload for several device queues.
struct Envelope {
  Id sender_device;
  Bytes message_id;  // the sender's idempotency key
  std::vector<Id> recipients;
  std::optional<CommitOrder> commit;
  Bytes payload;
  uint64_t received_at = 0;
  uint64_t expires_at = 0;
};

struct Delivery {
  Id device_id;
  uint64_t seq = 0;
};

struct EnqueueResult {
  uint64_t accepted_at = 0;
  // Where the copies went, for live delivery. Empty when this was a repeat of an envelope
  // already accepted (the same sender and message id): nothing was queued again.
  std::vector<Delivery> deliveries;
  bool repeat = false;
};

struct StoredMessage {
  uint64_t seq = 0;  // increasing per device queue
  uint64_t received_at = 0;
  uint64_t expires_at = 0;
  Bytes payload;
};

struct QueueStats {
  uint64_t count = 0;
  uint64_t bytes = 0;
};

struct FileRecord {
  Id id;
  Id owner;  // account
  uint64_t size = 0;
  uint64_t created_at = 0;
  uint64_t expires_at = 0;
};

struct PushSubscription {
  Id device_id;
  std::string endpoint;
  Bytes p256dh;
  Bytes auth;
  uint64_t created_at = 0;
};

// What erasing an account removed, so that the caller can delete file blobs, close the
// devices' connections and tombstone the account in the key directory.
struct Erasure {
  std::vector<Id> devices;
  std::vector<Id> files;
};

struct Limits {
  uint64_t max_queue_messages = 10000;  // per device: Errc::quota_exceeded beyond
  uint64_t max_queue_bytes = uint64_t{256} << 20;
};

struct Stats {
  uint64_t accounts = 0;
  uint64_t devices = 0;
  uint64_t queued_messages = 0;
  uint64_t queued_bytes = 0;
  uint64_t files = 0;
  uint64_t file_bytes = 0;
};

using EnqueueDone = std::function<void(Result<EnqueueResult>)>;

class Store {
 public:
  virtual ~Store() = default;

  // ---- accounts ----
  // Creates the account with its first device. Errc::already_exists when the username, the
  // e-mail address or the device key is taken. With `invite_code_hash`, consumes one use of
  // that invite (Errc::not_found when there is none, Errc::expired when it is used up or past
  // its time) in the same transaction.
  virtual Result<void> create_account(const Account& account, const Device& device,
                                      const std::optional<Bytes>& invite_code_hash,
                                      uint64_t now) = 0;
  virtual Result<Account> account(BytesView account_id) = 0;                   // not_found
  virtual Result<Account> account_by_username(std::string_view username) = 0;  // not_found
  // Replaces the mutable fields (email, email_verified, display_name, phone, password_hash).
  virtual Result<void> update_account(const Account& account) = 0;
  // Deletes the account and every row that belongs to it, in one transaction.
  virtual Result<Erasure> erase_account(BytesView account_id) = 0;

  // ---- devices ----
  virtual Result<void> add_device(const Device& device) = 0;  // already_exists for a key
  virtual Result<Device> device(BytesView device_id) = 0;     // not_found
  virtual Result<std::vector<Device>> devices(BytesView account_id) = 0;  // oldest first
  // Deletes the device with its sessions, key packages, queue, push subscription and send
  // records; Errc::not_found when there is no such device.
  virtual Result<void> delete_device(BytesView device_id) = 0;
  virtual Result<void> touch_device(BytesView device_id, uint64_t day) = 0;

  // ---- sessions ----
  // Errc::not_found unless the device exists and belongs to the session's account.
  // Deleting a session, code or push subscription that is not there succeeds.
  virtual Result<void> put_session(const Session& session) = 0;
  virtual Result<Session> session(BytesView token_hash) = 0;  // not_found (or past expiry)
  virtual Result<void> delete_session(BytesView token_hash) = 0;
  virtual Result<std::vector<Session>> sessions(BytesView account_id) = 0;
  virtual Result<void> delete_sessions(BytesView account_id) = 0;

  // ---- one-time codes and invites ----
  // Replaces the account's code of that purpose.
  virtual Result<void> put_code(const OneTimeCode& code) = 0;
  virtual Result<OneTimeCode> code(BytesView account_id, CodePurpose purpose) = 0;
  virtual Result<void> count_code_attempt(BytesView account_id, CodePurpose purpose) = 0;
  virtual Result<void> delete_code(BytesView account_id, CodePurpose purpose) = 0;
  virtual Result<void> put_invite(const Invite& invite) = 0;

  // ---- key packages ----
  // Adds one-time key packages and, when given, replaces the last-resort one. Adds nothing,
  // with Errc::quota_exceeded, when the device would then hold more than `max_stock` one-time
  // key packages: checked in the same transaction, so that concurrent uploads cannot pass it.
  virtual Result<KeyPackageStock> add_key_packages(BytesView device_id,
                                                   const std::vector<Bytes>& key_packages,
                                                   const std::optional<Bytes>& last_resort,
                                                   uint64_t max_stock, uint64_t now) = 0;
  // Removes and returns the oldest one-time key package of the device, or returns (and
  // keeps) its last-resort one; Errc::not_found when it has neither.
  virtual Result<Bytes> claim_key_package(BytesView device_id) = 0;
  virtual Result<KeyPackageStock> key_package_stock(BytesView device_id) = 0;

  // ---- delivery ----
  // Queues the envelope's payload for every recipient device, all or none, and calls `done`
  // once that is durable (from any thread, possibly before enqueue returns). `done` may call
  // the store again but should return quickly: it may run on the thread that writes the
  // store. Errors:
  // Errc::conflict when `commit` names an epoch other than the group's next one (a group the
  // store has not seen, or whose newest commit has expired, accepts any epoch);
  // Errc::not_found for a recipient that is not a device (or a sender that is not one);
  // Errc::invalid_argument for no recipients or one listed twice; Errc::quota_exceeded for a
  // full queue (expired messages count until expire() removes them). A repeat (same sender and
  // message id as an accepted envelope, within its lifetime) succeeds with `repeat` set and
  // queues nothing.
  virtual void enqueue(Envelope envelope, EnqueueDone done) = 0;
  // Messages of the device with seq > after_seq that have not expired at `now`, oldest first.
  // The queue of an unknown device is empty.
  virtual Result<std::vector<StoredMessage>> fetch(BytesView device_id, uint64_t after_seq,
                                                   uint32_t limit, uint64_t now) = 0;
  // Deletes those messages of this device's queue; returns how many there were.
  virtual Result<uint64_t> ack(BytesView device_id, const std::vector<uint64_t>& seqs) = 0;
  // As ack(), without waiting for the commit: `done` runs once the deletion is durable (on
  // the store's writer thread where it has one), so that a server thread never blocks on a
  // flush. This default runs ack() at once.
  using AckDone = std::function<void(Result<uint64_t>)>;
  virtual void ack_async(BytesView device_id, std::vector<uint64_t> seqs, AckDone done) {
    done(ack(device_id, seqs));
  }
  virtual Result<QueueStats> queue_stats(BytesView device_id) = 0;

  // ---- files ----
  // Errc::quota_exceeded when the owner's files would exceed `quota_bytes`.
  virtual Result<void> put_file(const FileRecord& file, uint64_t quota_bytes) = 0;
  virtual Result<FileRecord> file(BytesView file_id) = 0;  // not_found
  virtual Result<void> delete_file(BytesView file_id) = 0;
  virtual Result<std::vector<FileRecord>> files(BytesView account_id) = 0;

  // ---- push ----
  virtual Result<void> put_push_subscription(const PushSubscription& subscription) = 0;
  virtual Result<PushSubscription> push_subscription(BytesView device_id) = 0;  // not_found
  virtual Result<void> delete_push_subscription(BytesView device_id) = 0;

  // ---- housekeeping ----
  // Deletes what expired before `now`: queued messages, sessions, codes, invites, send
  // idempotency records, the commit order of groups whose newest commit expired; returns the
  // expired files so that the caller deletes their blobs.
  virtual Result<std::vector<FileRecord>> expire(uint64_t now) = 0;
  virtual Result<Stats> stats() = 0;

  // ---- key directory ----
  virtual kt::LogStore& kt_log() = 0;
  virtual kt::DirectoryStore& kt_directory() = 0;
};

// Unit tests: everything in memory, enqueue completes at once.
std::unique_ptr<Store> make_memory_store(Limits limits = {});

struct SqliteOptions {
  std::string path;  // the database file; created with its directory's permissions
  Limits limits;
  // Group commit: enqueue calls arriving while a transaction is being written join the next
  // one, up to this many per transaction, so that one fsync serves many messages.
  size_t max_batch = 512;
  // Under load (the previous transaction ended less than 10 ms before the next job came),
  // the writer waits up to this long for more jobs before it begins a transaction, for as
  // long as more keep coming: fewer, fuller transactions write each shared page (queue
  // counters, the ends of the tables) and sync the file fewer times per message. Zero turns
  // it off.
  std::chrono::microseconds linger{1000};
};

// Opens (or creates) the database and brings its schema to the newest migration.
Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options);

}  // namespace sotto::store
