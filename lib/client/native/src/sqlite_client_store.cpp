#include "sotto/client/sqlite_client_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <span>
#include <string_view>
#include <utility>

#include "sotto/crypto/primitives.h"

namespace sotto::client {

namespace {

// ---- the schema --------------------------------------------------------------------------

struct Migration {
  int version;
  const char* sql;
};

// Migration N brings a store from version N - 1 to N (PRAGMA user_version); a released
// migration is never edited, a change is a new one. Conventions: every table STRICT, every
// column NOT NULL; a column named in kSealed holds nonce || ciphertext || tag; uint64 values
// are kept as the int64 with the same bits.
constexpr Migration kMigrations[] = {
    {1, R"sql(
-- What unlocks the store: the store key sealed under the passphrase's or key file's key.
CREATE TABLE store_key (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  unlock INTEGER NOT NULL CHECK (unlock IN (1, 2)),  -- 1 passphrase, 2 key file
  kdf_salt BLOB NOT NULL,       -- Argon2id salt (empty for a key file)
  kdf_ops_limit INTEGER NOT NULL,
  kdf_mem_limit INTEGER NOT NULL,
  sealed_key BLOB NOT NULL
) STRICT;

CREATE TABLE identity (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  username TEXT NOT NULL,
  account_id BLOB NOT NULL,
  device_id BLOB NOT NULL,
  signature_seed BLOB NOT NULL,  -- sealed
  session_token BLOB NOT NULL,   -- sealed
  session_expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE directory_state (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  state BLOB NOT NULL
) STRICT;

CREATE TABLE key_packages (
  ref BLOB NOT NULL PRIMARY KEY,
  key_package BLOB NOT NULL,
  private_keys BLOB NOT NULL,  -- sealed
  last_resort INTEGER NOT NULL CHECK (last_resort IN (0, 1))
) STRICT;

CREATE TABLE contacts (
  username TEXT NOT NULL PRIMARY KEY,
  directory_version INTEGER NOT NULL CHECK (directory_version >= 0),
  verified_epoch INTEGER NOT NULL
) STRICT;

CREATE TABLE contact_devices (
  username TEXT NOT NULL REFERENCES contacts (username) ON DELETE CASCADE,
  position INTEGER NOT NULL CHECK (position >= 0),
  device_id BLOB NOT NULL,
  signature_key BLOB NOT NULL,
  PRIMARY KEY (username, position)
) STRICT;

CREATE TABLE conversations (
  group_id BLOB NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  group_state BLOB NOT NULL,  -- sealed
  members_verified INTEGER NOT NULL CHECK (members_verified IN (0, 1))
) STRICT;

CREATE TABLE conversation_members (
  group_id BLOB NOT NULL REFERENCES conversations (group_id) ON DELETE CASCADE,
  position INTEGER NOT NULL CHECK (position >= 0),
  username TEXT NOT NULL,
  PRIMARY KEY (group_id, position)
) STRICT;

-- seq is the order of storing: a message stored again keeps its place.
CREATE TABLE messages (
  seq INTEGER NOT NULL PRIMARY KEY,
  group_id BLOB NOT NULL,
  message_id BLOB NOT NULL,
  sender TEXT NOT NULL,
  sender_device BLOB NOT NULL,
  outgoing INTEGER NOT NULL CHECK (outgoing IN (0, 1)),
  sent_at INTEGER NOT NULL,
  accepted_at INTEGER NOT NULL,
  state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 4),
  body BLOB NOT NULL,  -- sealed
  UNIQUE (group_id, message_id)
) STRICT;

CREATE TABLE outbox (
  seq INTEGER NOT NULL PRIMARY KEY,
  message_id BLOB NOT NULL UNIQUE,
  group_id BLOB NOT NULL,
  payload BLOB NOT NULL,  -- an MLS PrivateMessage, encrypted already
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE outbox_recipients (
  message_id BLOB NOT NULL REFERENCES outbox (message_id) ON DELETE CASCADE,
  position INTEGER NOT NULL CHECK (position >= 0),
  device_id BLOB NOT NULL,
  PRIMARY KEY (message_id, position)
) STRICT;

-- Server queue positions stored but not yet confirmed deleted.
CREATE TABLE processed (
  seq INTEGER NOT NULL PRIMARY KEY
) STRICT;
)sql"},
    {2, R"sql(
-- A file message's FileContent (TLS-encoded, sealed: it holds the file's key); empty for text.
ALTER TABLE messages ADD COLUMN file BLOB NOT NULL DEFAULT x'';
)sql"},
    {3, R"sql(
-- Group conversations, and whether this device is still in each conversation.
ALTER TABLE conversations ADD COLUMN kind INTEGER NOT NULL DEFAULT 1
  CHECK (kind IN (1, 2));  -- 1 direct, 2 group
ALTER TABLE conversations ADD COLUMN membership INTEGER NOT NULL DEFAULT 1
  CHECK (membership IN (1, 2, 3));  -- 1 member, 2 left, 3 removed
)sql"},
    {4, R"sql(
-- Replies, edits, deletes for everyone, disappearing messages and receipts (docs/messages.md).
ALTER TABLE messages ADD COLUMN reply_to BLOB NOT NULL DEFAULT x'';  -- empty: no reply
ALTER TABLE messages ADD COLUMN edited_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1));
ALTER TABLE messages ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;  -- 0: never
-- A system line: the disappearing timer set to this many seconds; -1 for a message.
ALTER TABLE messages ADD COLUMN timer_set_s INTEGER NOT NULL DEFAULT -1
  CHECK (timer_set_s >= -1);
ALTER TABLE messages ADD COLUMN read INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1));
CREATE INDEX messages_expiring ON messages (expires_at) WHERE expires_at != 0;

-- Who has an outgoing message (kind 1) and who has read it (kind 2); goes with its message.
CREATE TABLE message_receipts (
  group_id BLOB NOT NULL,
  message_id BLOB NOT NULL,
  kind INTEGER NOT NULL CHECK (kind IN (1, 2)),
  position INTEGER NOT NULL CHECK (position >= 0),
  username TEXT NOT NULL,
  PRIMARY KEY (group_id, message_id, kind, position),
  FOREIGN KEY (group_id, message_id) REFERENCES messages (group_id, message_id)
    ON DELETE CASCADE
) STRICT;

ALTER TABLE conversations ADD COLUMN disappear_after_s INTEGER NOT NULL DEFAULT 0
  CHECK (disappear_after_s >= 0);
)sql"},
    {5, R"sql(
-- The epoch before the last commit, kept briefly (docs/groups.md), and the key-directory
-- head last sent to each conversation (docs/key-transparency.md).
ALTER TABLE conversations ADD COLUMN previous_group_state BLOB NOT NULL DEFAULT x'';  -- sealed
ALTER TABLE conversations ADD COLUMN previous_epoch_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN head_sent_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN head_sent_at INTEGER NOT NULL DEFAULT 0;
-- An application message's encoded content, to protect it again in a later epoch.
ALTER TABLE outbox ADD COLUMN content BLOB NOT NULL DEFAULT x'';  -- sealed; empty: none
ALTER TABLE outbox ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
)sql"},
    {6, R"sql(
-- E-mail mode (docs/mail.md): the mail account, the keys of the people it mails with, and
-- where its inbox was read to.
CREATE TABLE mail_account (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  address TEXT NOT NULL,
  password BLOB NOT NULL,     -- sealed
  secret_key BLOB NOT NULL,   -- sealed: the OpenPGP transferable secret key
  invite_number TEXT NOT NULL,
  invite_auth BLOB NOT NULL   -- sealed
) STRICT;
CREATE TABLE mail_peers (
  address TEXT NOT NULL PRIMARY KEY,
  cert BLOB NOT NULL,  -- the transferable public key
  source INTEGER NOT NULL CHECK (source IN (1, 2, 3)),  -- 1 imported, 2 autocrypt, 3 gossip
  updated_at INTEGER NOT NULL,
  verified INTEGER NOT NULL CHECK (verified IN (0, 1))
) STRICT;
-- SecureJoins this account started as the joiner.
CREATE TABLE mail_joins (
  address TEXT NOT NULL PRIMARY KEY,
  fingerprint BLOB NOT NULL,
  invite_number TEXT NOT NULL,
  auth BLOB NOT NULL,  -- sealed
  started_at INTEGER NOT NULL
) STRICT;
CREATE TABLE mail_cursor (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  cursor TEXT NOT NULL  -- imap-cursor-v1 <uidvalidity> <next uid>
) STRICT;
)sql"},
    {7, R"sql(
-- E-mail mode: an incoming message whose sender asked for a read receipt.
ALTER TABLE messages ADD COLUMN receipt_requested INTEGER NOT NULL DEFAULT 0
  CHECK (receipt_requested IN (0, 1));
)sql"},
    {8, R"sql(
-- E-mail groups: when each member was added (s, 0: not known), and former members with when
-- they were removed (Delta Chat's Chat-Group-Member-Timestamps).
ALTER TABLE conversation_members ADD COLUMN added_at INTEGER NOT NULL DEFAULT 0
  CHECK (added_at >= 0);
CREATE TABLE conversation_past_members (
  group_id BLOB NOT NULL REFERENCES conversations (group_id) ON DELETE CASCADE,
  address TEXT NOT NULL,
  removed_at INTEGER NOT NULL CHECK (removed_at >= 0),
  PRIMARY KEY (group_id, address)
) STRICT;
)sql"},
    {9, R"sql(
-- E-mail mode: a SecureJoin into a group (its Chat-Group-ID; empty: a contact's invite).
ALTER TABLE mail_joins ADD COLUMN group_id TEXT NOT NULL DEFAULT '';
)sql"},
    {10, R"sql(
-- E-mail mode: invite links to this account's groups, and their secrets.
CREATE TABLE mail_group_invites (
  group_id BLOB NOT NULL PRIMARY KEY,
  invite_number TEXT NOT NULL,
  auth BLOB NOT NULL,  -- sealed
  created_at INTEGER NOT NULL
) STRICT;
)sql"},
};

constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// What read_message reads, in this order.
constexpr const char* kMessageColumns =
    "message_id, sender, sender_device, outgoing, sent_at, accepted_at, state, body, file, "
    "reply_to, edited_at, deleted, expires_at, timer_set_s, read, receipt_requested";

enum class UnlockKind : int64_t { passphrase = 1, key_file = 2 };

// ---- SQLite, thinly ----------------------------------------------------------------------

int64_t to_sql(uint64_t v) {
  return static_cast<int64_t>(v);
}
uint64_t from_sql(int64_t v) {
  return static_cast<uint64_t>(v);
}

// While opening, failures say what the user can do about them; once open, every failure is
// Errc::unavailable, which the engine reads as "try again later, acknowledge nothing".
enum class Phase { opening, open };

// SQLite's messages name tables and constraints, never bound values.
Error sqlite_error(sqlite3* db, std::string_view what, Phase phase) {
  const std::string detail = "client store: " + std::string(what) + ": " + sqlite3_errmsg(db);
  switch (sqlite3_extended_errcode(db) & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
      return Error(phase == Phase::opening ? Errc::invalid_value : Errc::unavailable,
                   "not a Sotto client store, or a damaged one (" + detail + ")");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(Errc::unavailable,
                   "the client store is in use by another process (" + detail + ")");
    default:
      return Error(Errc::unavailable, detail);
  }
}

class Statement {
 public:
  static Result<Statement> prepare(sqlite3* db, std::string_view sql, Phase phase = Phase::open) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK) {
      return sqlite_error(db, "prepare", phase);
    }
    return Statement(db, stmt, phase);
  }
  Statement(Statement&& other) noexcept
      : db_(other.db_),
        stmt_(std::exchange(other.stmt_, nullptr)),
        phase_(other.phase_),
        next_(other.next_) {}
  Statement& operator=(Statement&&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  Statement& bind(int64_t v) {
    sqlite3_bind_int64(stmt_, next_++, v);
    return *this;
  }
  Statement& bind(uint64_t v) { return bind(to_sql(v)); }
  Statement& bind(bool v) { return bind(int64_t{v ? 1 : 0}); }
  Statement& bind(BytesView v) {
    // An empty vector's data() may be null, which SQLite would bind as NULL.
    if (v.empty()) {
      sqlite3_bind_zeroblob(stmt_, next_++, 0);
    } else {
      sqlite3_bind_blob64(stmt_, next_++, v.data(), v.size(), SQLITE_TRANSIENT);
    }
    return *this;
  }
  Statement& bind(const Bytes& v) { return bind(BytesView(v)); }
  Statement& bind(std::string_view v) {
    sqlite3_bind_text64(stmt_, next_++, v.empty() ? "" : v.data(), v.size(), SQLITE_TRANSIENT,
                        SQLITE_UTF8);
    return *this;
  }
  Statement& bind(const std::string& v) { return bind(std::string_view(v)); }

  // For running again with new values.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    next_ = 1;
  }

  // True for a row, false when done.
  Result<bool> step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_error(db_, "step", phase_);
  }
  Result<void> run() {
    SOTTO_TRY_ASSIGN(bool row, step());
    if (row) return Error(Errc::internal, "client store: a write returned a row");
    return success();
  }

  int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  uint64_t u64(int col) const { return from_sql(i64(col)); }
  BytesView view(int col) const {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    const int n = sqlite3_column_bytes(stmt_, col);
    if (p == nullptr || n <= 0) return {};
    return BytesView(p, static_cast<size_t>(n));
  }
  Bytes blob(int col) const { return to_bytes(view(col)); }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    if (p == nullptr || n <= 0) return {};
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt, Phase phase) : db_(db), stmt_(stmt), phase_(phase) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  Phase phase_;
  int next_ = 1;
};

Result<void> exec(sqlite3* db, const char* sql, std::string_view what, Phase phase) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return sqlite_error(db, what, phase);
  }
  return success();
}

// BEGIN IMMEDIATE ... COMMIT; rolled back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db, Phase phase) : db_(db), phase_(phase) {}
  ~Transaction() {
    if (open_ && sqlite3_get_autocommit(db_) == 0) {
      (void)sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Result<void> begin() {
    SOTTO_TRY(exec(db_, "BEGIN IMMEDIATE", "begin", phase_));
    open_ = true;
    return success();
  }
  Result<void> commit() {
    SOTTO_TRY(exec(db_, "COMMIT", "commit", phase_));
    open_ = false;
    return success();
  }

 private:
  sqlite3* db_;
  Phase phase_;
  bool open_ = false;
};

// ---- sealing -----------------------------------------------------------------------------

// Appends the `size` low bytes of v, most significant first.
void put_big_endian(Bytes& out, uint64_t v, int size) {
  for (int shift = 8 * (size - 1); shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(v >> shift));
  }
}

// "sotto client store v1" || table || column || each key part, every piece length-prefixed:
// a sealed value opens only in the row and column it was written for.
Bytes row_aad(std::string_view table, std::string_view column,
              std::initializer_list<BytesView> key) {
  Bytes out;
  auto put = [&out](BytesView part) {
    put_big_endian(out, part.size(), 4);
    out.insert(out.end(), part.begin(), part.end());
  };
  put(as_bytes("sotto client store v1"));
  put(as_bytes(table));
  put(as_bytes(column));
  for (BytesView part : key) put(part);
  return out;
}

BytesView single_row_key() {
  static const uint8_t kOne[1] = {1};
  return BytesView(kOne, 1);
}

Result<Bytes> seal(BytesView store_key, std::string_view table, std::string_view column,
                   std::initializer_list<BytesView> key, BytesView plaintext) {
  auto sealed = crypto::seal_at_rest(store_key, row_aad(table, column, key), plaintext);
  if (!sealed) {
    return Error(Errc::internal, "client store: sealing " + std::string(table) + "." +
                                     std::string(column) + " failed");
  }
  return sealed;
}

Result<SecureBytes> unseal(BytesView store_key, std::string_view table, std::string_view column,
                           std::initializer_list<BytesView> key, BytesView sealed) {
  auto opened = crypto::open_at_rest(store_key, row_aad(table, column, key), sealed);
  if (!opened) {
    return Error(Errc::unavailable, "client store: a value of " + std::string(table) + "." +
                                        std::string(column) +
                                        " does not authenticate: the database was changed "
                                        "outside Sotto, or is damaged");
  }
  return opened;
}

// ---- files -------------------------------------------------------------------------------

std::string errno_text() {
  return std::strerror(errno);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string parent_directory(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// A new directory entry survives power loss only once its directory is synced.
void sync_directory(const std::string& path) {
  Fd dir(::open(parent_directory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) (void)::fsync(dir.get());
}

Result<SecureBytes> read_key_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    return Error(Errc::invalid_argument, "key file " + path + ": " + errno_text());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Error(Errc::invalid_argument, "key file " + path + ": " + errno_text());
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(Errc::invalid_argument, "key file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error(Errc::invalid_argument, "key file " + path + " has mode " + mode +
                                             ": group or others have access; it must be "
                                             "0600 (chmod 600)");
  }
  if (st.st_uid != ::geteuid()) {
    return Error(Errc::invalid_argument, "key file " + path + " belongs to another user");
  }
  SecureBytes key(crypto::kAtRestKeySize + 1);
  size_t have = 0;
  while (have < key.size()) {
    const ssize_t n = ::read(fd.get(), key.data() + have, key.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(Errc::invalid_argument, "key file " + path + ": " + errno_text());
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  if (have != crypto::kAtRestKeySize) {
    return Error(Errc::invalid_argument, "key file " + path + " must hold exactly " +
                                             std::to_string(crypto::kAtRestKeySize) + " bytes");
  }
  key.resize(crypto::kAtRestKeySize);
  return key;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// ---- opening -----------------------------------------------------------------------------

struct KeyRecord {
  UnlockKind kind = UnlockKind::passphrase;
  Bytes salt;
  crypto::PassphraseKdfParams kdf;
};

// The sealed store key is bound to how it is unlocked: a record whose kind, salt or cost was
// changed does not open, even where the change would derive the same key.
Bytes key_record_aad(const KeyRecord& record) {
  Bytes kind{static_cast<uint8_t>(record.kind)};
  Bytes params;
  put_big_endian(params, record.kdf.ops_limit, 8);
  put_big_endian(params, record.kdf.mem_limit, 8);
  return row_aad("store_key", "sealed_key", {single_row_key(), kind, record.salt, params});
}

// What a passphrase record may ask for; anything else is a damaged file, not a wrong
// passphrase.
bool usable(const KeyRecord& record) {
  const auto least = crypto::passphrase_kdf_minimum();
  const auto most = crypto::passphrase_kdf_maximum();
  return record.salt.size() == crypto::kPassphraseSaltSize &&
         record.kdf.ops_limit >= least.ops_limit && record.kdf.ops_limit <= most.ops_limit &&
         record.kdf.mem_limit >= least.mem_limit && record.kdf.mem_limit <= most.mem_limit;
}

const char* unlock_name(UnlockKind kind) {
  return kind == UnlockKind::passphrase ? "a passphrase" : "a key file";
}

// The key that seals the store key.
Result<SecureBytes> unlocking_key(const StoreUnlock& unlock, const KeyRecord& record) {
  const UnlockKind given = std::holds_alternative<StorePassphrase>(unlock) ? UnlockKind::passphrase
                                                                           : UnlockKind::key_file;
  if (given != record.kind) {
    return Error(Errc::invalid_argument, std::string("this client store is unlocked with ") +
                                             unlock_name(record.kind) + ", not " +
                                             unlock_name(given));
  }
  if (const auto* file = std::get_if<StoreKeyFile>(&unlock)) return read_key_file(file->path);
  auto derived = crypto::derive_key_from_passphrase(std::get<StorePassphrase>(unlock).text,
                                                    record.salt, record.kdf);
  if (!derived) {
    return std::move(derived).error().with_context("client store: deriving the key");
  }
  return derived;
}

Result<SecureBytes> create_store_key(sqlite3* db, const StoreUnlock& unlock,
                                     const SqliteClientStoreOptions& options) {
  KeyRecord record;
  if (std::holds_alternative<StorePassphrase>(unlock)) {
    record.kind = UnlockKind::passphrase;
    record.salt = crypto::random_bytes(crypto::kPassphraseSaltSize);
    record.kdf = options.kdf;
  } else {
    record.kind = UnlockKind::key_file;
  }
  SOTTO_TRY_ASSIGN(SecureBytes kek, unlocking_key(unlock, record));
  SecureBytes store_key = crypto::random_secret(crypto::kAtRestKeySize);
  auto sealed = crypto::seal_at_rest(kek, key_record_aad(record), store_key);
  if (!sealed) return std::move(sealed).error().with_context("client store: sealing its key");
  SOTTO_TRY_ASSIGN(auto insert,
                   Statement::prepare(db,
                                      "INSERT INTO store_key (id, unlock, kdf_salt, kdf_ops_limit, "
                                      "kdf_mem_limit, sealed_key) VALUES (1, ?, ?, ?, ?, ?)",
                                      Phase::opening));
  SOTTO_TRY(insert.bind(static_cast<int64_t>(record.kind))
                .bind(record.salt)
                .bind(record.kdf.ops_limit)
                .bind(record.kdf.mem_limit)
                .bind(*sealed)
                .run());
  return store_key;
}

Result<SecureBytes> unlock_store_key(sqlite3* db, const StoreUnlock& unlock) {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db,
                                              "SELECT unlock, kdf_salt, kdf_ops_limit, "
                                              "kdf_mem_limit, sealed_key FROM store_key "
                                              "WHERE id = 1",
                                              Phase::opening));
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return Error(Errc::invalid_value, "client store has no key record");
  const int64_t kind = q.i64(0);
  if (kind != static_cast<int64_t>(UnlockKind::passphrase) &&
      kind != static_cast<int64_t>(UnlockKind::key_file)) {
    return Error(Errc::invalid_value, "client store: unknown kind of key record");
  }
  KeyRecord record{static_cast<UnlockKind>(kind), q.blob(1), {q.u64(2), q.u64(3)}};
  const Bytes sealed = q.blob(4);
  if (record.kind == UnlockKind::passphrase && !usable(record)) {
    return Error(Errc::invalid_value,
                 "client store: its key record holds unusable Argon2id "
                 "parameters (a damaged file)");
  }

  SOTTO_TRY_ASSIGN(SecureBytes kek, unlocking_key(unlock, record));
  auto store_key = crypto::open_at_rest(kek, key_record_aad(record), sealed);
  if (!store_key || store_key->size() != crypto::kAtRestKeySize) {
    return Error(Errc::authentication_failed,
                 std::string("the client store does not open with this ") +
                     (record.kind == UnlockKind::passphrase ? "passphrase" : "key file") +
                     " (wrong, or the store's key record was changed)");
  }
  return std::move(store_key).value();
}

// The one integer a query gives.
Result<int64_t> query_integer(sqlite3* db, const char* sql, std::string_view what) {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db, sql, Phase::opening));
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return Error(Errc::internal, "client store: " + std::string(what) + " gave no row");
  return q.i64(0);
}

Result<void> migrate_from(sqlite3* db, int64_t version) {
  for (const Migration& m : kMigrations) {
    if (m.version <= version) continue;
    SOTTO_TRY(exec(db, m.sql, "migration " + std::to_string(m.version), Phase::opening));
  }
  const std::string set = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
  return exec(db, set.c_str(), "recording the schema version", Phase::opening);
}

// Reads or creates the store key, and brings the schema up to date, in one transaction.
Result<SecureBytes> prepare_store(sqlite3* db, const StoreUnlock& unlock,
                                  const SqliteClientStoreOptions& options) {
  Transaction tx(db, Phase::opening);
  SOTTO_TRY(tx.begin());
  SOTTO_TRY_ASSIGN(int64_t version, query_integer(db, "PRAGMA user_version", "schema version"));
  SecureBytes store_key;
  if (version == 0) {
    SOTTO_TRY_ASSIGN(int64_t tables,
                     query_integer(db, "SELECT count(*) FROM sqlite_schema", "schema"));
    if (tables != 0) return Error(Errc::invalid_value, "not a Sotto client store (other tables)");
    if (!options.create) return Error(Errc::not_found, "no client store in this file");
    SOTTO_TRY(migrate_from(db, 0));
    SOTTO_TRY_ASSIGN(store_key, create_store_key(db, unlock, options));
  } else if (version > kSchemaVersion) {
    return Error(Errc::unsupported, "the client store was written by a newer Sotto (schema " +
                                        std::to_string(version) + ", this build knows " +
                                        std::to_string(kSchemaVersion) + ")");
  } else {
    SOTTO_TRY_ASSIGN(store_key, unlock_store_key(db, unlock));
    if (version < kSchemaVersion) SOTTO_TRY(migrate_from(db, version));
  }
  SOTTO_TRY(tx.commit());
  return store_key;
}

}  // namespace

// ---- SqliteClientStore -------------------------------------------------------------------

Result<void> SqliteClientStore::create_key_file(const std::string& path) {
  if (exists(path)) return Error(Errc::already_exists, "key file " + path + " exists already");
  // Written in full beside its place, then linked in: the key file appears whole or not at
  // all, and link() never replaces one that appeared meanwhile.
  std::string temp = path + ".new-XXXXXX";
  Fd fd(::mkstemp(temp.data()));
  if (fd.get() < 0) return Error(Errc::unavailable, "key file " + path + ": " + errno_text());
  struct TempName {
    const std::string& name;
    ~TempName() { ::unlink(name.c_str()); }
  } cleanup{temp};
  if (::fchmod(fd.get(), 0600) != 0) {
    return Error(Errc::unavailable, "key file " + path + ": " + errno_text());
  }
  const SecureBytes key = crypto::random_secret(crypto::kAtRestKeySize);
  size_t written = 0;
  while (written < key.size()) {
    const ssize_t n = ::write(fd.get(), key.data() + written, key.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error(Errc::unavailable, "key file " + path + ": " + errno_text());
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    return Error(Errc::unavailable, "key file " + path + ": " + errno_text());
  }
  if (::link(temp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) return Error(Errc::already_exists, "key file " + path + " exists already");
    return Error(Errc::unavailable, "key file " + path + ": " + errno_text());
  }
  sync_directory(path);
  return success();
}

Result<std::unique_ptr<SqliteClientStore>> SqliteClientStore::open(
    const std::string& path, const StoreUnlock& unlock, const SqliteClientStoreOptions& options) {
  bool created = false;
  if (!exists(path)) {
    if (!options.create) return Error(Errc::not_found, "no client store at " + path);
    // Made here with mode 0600, so that SQLite's -wal file (which copies the database's mode)
    // is private too: the sealed values are safe anyway, the metadata beside them is not.
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) return Error(Errc::unavailable, "client store " + path + ": " + errno_text());
    created = true;
  }
  auto forget_created = [&] {
    if (!created) return;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      ::unlink((path + suffix).c_str());
    }
  };

  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr) !=
      SQLITE_OK) {
    Error e = db != nullptr ? sqlite_error(db, "open", Phase::opening)
                            : Error(Errc::unavailable, "client store: out of memory");
    sqlite3_close(db);
    forget_created();
    return e;
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> owned(db, sqlite3_close);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 200);
  // EXCLUSIVE: one engine per store, as two would fork the MLS group states (and with it the
  // WAL index lives in this process's memory, no -shm file). WAL and FULL: a committed batch
  // survives power loss before the engine acknowledges what it holds. secure_delete: removed
  // rows are zeroed in their pages instead of lingering. cell_size_check: damaged pages are
  // found on read instead of misread.
  const char* pragmas =
      "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
      "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; PRAGMA cell_size_check=ON; "
      "PRAGMA trusted_schema=OFF;";
  if (sqlite3_exec(db, pragmas, nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error e = sqlite_error(db, "settings", Phase::opening);
    owned.reset();
    forget_created();
    return e;
  }
  auto store_key = prepare_store(db, unlock, options);
  if (!store_key) {
    owned.reset();
    forget_created();
    return std::move(store_key).error();
  }
  return std::unique_ptr<SqliteClientStore>(
      new SqliteClientStore(owned.release(), std::move(store_key).value()));
}

SqliteClientStore::SqliteClientStore(sqlite3* db, SecureBytes store_key)
    : db_(db), store_key_(std::move(store_key)) {}

SqliteClientStore::~SqliteClientStore() {
  sqlite3_close_v2(db_);
}

// ---- reads -------------------------------------------------------------------------------

Result<std::optional<Identity>> SqliteClientStore::identity() const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_,
                                              "SELECT username, account_id, device_id, "
                                              "signature_seed, session_token, "
                                              "session_expires_at FROM identity WHERE id = 1"));
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return std::optional<Identity>();
  Identity id;
  id.username = q.text(0);
  id.account_id = q.blob(1);
  id.device_id = q.blob(2);
  SOTTO_TRY_ASSIGN(id.signature_seed,
                   unseal(store_key_, "identity", "signature_seed", {single_row_key()}, q.view(3)));
  SOTTO_TRY_ASSIGN(id.session_token,
                   unseal(store_key_, "identity", "session_token", {single_row_key()}, q.view(4)));
  id.session_expires_at = q.u64(5);
  return std::optional<Identity>(std::move(id));
}

Result<std::optional<Bytes>> SqliteClientStore::directory_state() const {
  SOTTO_TRY_ASSIGN(auto q,
                   Statement::prepare(db_, "SELECT state FROM directory_state WHERE id = 1"));
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return std::optional<Bytes>();
  return std::optional<Bytes>(q.blob(0));
}

Result<std::optional<StoredKeyPackage>> SqliteClientStore::key_package(BytesView ref) const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_,
                                              "SELECT key_package, private_keys, last_resort "
                                              "FROM key_packages WHERE ref = ?"));
  q.bind(ref);
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return std::optional<StoredKeyPackage>();
  StoredKeyPackage kp;
  kp.ref = to_bytes(ref);
  kp.key_package = q.blob(0);
  SOTTO_TRY_ASSIGN(kp.private_keys,
                   unseal(store_key_, "key_packages", "private_keys", {ref}, q.view(1)));
  kp.last_resort = q.i64(2) != 0;
  return std::optional<StoredKeyPackage>(std::move(kp));
}

Result<size_t> SqliteClientStore::key_package_count() const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_, "SELECT count(*) FROM key_packages"));
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return Error(Errc::internal, "client store: count returned no row");
  return static_cast<size_t>(q.i64(0));
}

Result<std::optional<Contact>> SqliteClientStore::contact(const std::string& username) const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_,
                                              "SELECT directory_version, verified_epoch "
                                              "FROM contacts WHERE username = ?"));
  q.bind(username);
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return std::optional<Contact>();
  Contact c;
  c.username = username;
  c.directory_version = static_cast<uint32_t>(q.i64(0));
  c.verified_epoch = q.u64(1);
  SOTTO_TRY_ASSIGN(auto devices,
                   Statement::prepare(db_,
                                      "SELECT device_id, signature_key FROM contact_devices "
                                      "WHERE username = ? ORDER BY position"));
  devices.bind(username);
  for (;;) {
    SOTTO_TRY_ASSIGN(bool more, devices.step());
    if (!more) break;
    c.devices.push_back(ContactDevice{devices.blob(0), devices.blob(1)});
  }
  return std::optional<Contact>(std::move(c));
}

namespace {

// What conversation() and conversations() read after the group id, in this order.
constexpr const char* kConversationColumns =
    "name, group_state, members_verified, kind, membership, disappear_after_s, "
    "previous_group_state, previous_epoch_until, head_sent_size, head_sent_at";

// The row's plain columns from `at` on; the sealed ones are for complete_conversation.
Conversation conversation_row(BytesView group_id, const Statement& q, int at) {
  Conversation c;
  c.group_id = to_bytes(group_id);
  c.name = q.text(at);
  c.members_verified = q.i64(at + 2) != 0;
  c.kind = static_cast<ConversationKind>(q.i64(at + 3));
  c.membership = static_cast<Membership>(q.i64(at + 4));
  c.disappear_after_s = q.u64(at + 5);
  c.previous_epoch_until = q.u64(at + 7);
  c.head_sent_size = q.u64(at + 8);
  c.head_sent_at = q.u64(at + 9);
  return c;
}

}  // namespace

Result<void> SqliteClientStore::complete_conversation(Conversation& c, BytesView sealed_state,
                                                      BytesView sealed_previous) const {
  SOTTO_TRY_ASSIGN(c.group_state,
                   unseal(store_key_, "conversations", "group_state", {c.group_id}, sealed_state));
  if (!sealed_previous.empty()) {
    SOTTO_TRY_ASSIGN(
        c.previous_group_state,
        unseal(store_key_, "conversations", "previous_group_state", {c.group_id}, sealed_previous));
  }
  SOTTO_TRY_ASSIGN(auto members,
                   Statement::prepare(db_,
                                      "SELECT username, added_at FROM conversation_members "
                                      "WHERE group_id = ? ORDER BY position"));
  members.bind(c.group_id);
  bool any_time = false;
  for (;;) {
    SOTTO_TRY_ASSIGN(bool more, members.step());
    if (!more) break;
    c.members.push_back(members.text(0));
    c.members_added_at.push_back(members.u64(1));
    any_time = any_time || c.members_added_at.back() != 0;
  }
  if (!any_time) c.members_added_at.clear();  // as stored: none known
  SOTTO_TRY_ASSIGN(auto past, Statement::prepare(db_,
                                                 "SELECT address, removed_at FROM "
                                                 "conversation_past_members WHERE group_id = ? "
                                                 "ORDER BY rowid"));
  past.bind(c.group_id);
  for (;;) {
    SOTTO_TRY_ASSIGN(bool more, past.step());
    if (!more) break;
    c.past_members.push_back(PastMember{past.text(0), past.u64(1)});
  }
  return success();
}

Result<std::optional<Conversation>> SqliteClientStore::conversation(BytesView group_id) const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_, std::string("SELECT ") + kConversationColumns +
                                                       " FROM conversations WHERE group_id = ?"));
  q.bind(group_id);
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return std::optional<Conversation>();
  Conversation c = conversation_row(group_id, q, 0);
  SOTTO_TRY(complete_conversation(c, q.view(1), q.view(6)));
  return std::optional<Conversation>(std::move(c));
}

Result<std::vector<Conversation>> SqliteClientStore::conversations() const {
  SOTTO_TRY_ASSIGN(auto q,
                   Statement::prepare(db_, std::string("SELECT group_id, ") + kConversationColumns +
                                               " FROM conversations ORDER BY group_id"));
  std::vector<Conversation> out;
  for (;;) {
    SOTTO_TRY_ASSIGN(bool row, q.step());
    if (!row) break;
    Conversation c = conversation_row(q.view(0), q, 1);
    SOTTO_TRY(complete_conversation(c, q.view(2), q.view(7)));
    out.push_back(std::move(c));
  }
  return out;
}

Result<bool> SqliteClientStore::has_message(BytesView group_id, BytesView message_id) const {
  // The UNIQUE (group_id, message_id) constraint's index answers it.
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_,
                                              "SELECT 1 FROM messages WHERE group_id = ? "
                                              "AND message_id = ?"));
  q.bind(group_id);
  q.bind(message_id);
  return q.step();
}

namespace {

// The message in the current row of `q`, which selects kMessageColumns.
Result<StoredMessage> read_message(sqlite3* db, const SecureBytes& store_key, BytesView group_id,
                                   const Statement& q) {
  StoredMessage m;
  m.group_id = to_bytes(group_id);
  m.message_id = q.blob(0);
  m.sender = q.text(1);
  m.sender_device = q.blob(2);
  m.outgoing = q.i64(3) != 0;
  m.sent_at = q.u64(4);
  m.accepted_at = q.u64(5);
  m.state = static_cast<DeliveryState>(q.i64(6));
  SOTTO_TRY_ASSIGN(SecureBytes body,
                   unseal(store_key, "messages", "body", {group_id, m.message_id}, q.view(7)));
  m.body.assign(reinterpret_cast<const char*>(body.data()), body.size());
  if (!q.view(8).empty()) {
    SOTTO_TRY_ASSIGN(SecureBytes file,
                     unseal(store_key, "messages", "file", {group_id, m.message_id}, q.view(8)));
    auto decoded = tls::decode<FileContent>(file);
    if (!decoded) {
      return Error(Errc::unavailable, "client store: a stored file message does not decode");
    }
    m.file = std::move(decoded).value();
  }
  if (!q.view(9).empty()) m.reply_to = q.blob(9);
  m.edited_at = q.u64(10);
  m.deleted = q.i64(11) != 0;
  m.expires_at = q.u64(12);
  if (q.i64(13) >= 0) m.timer_set_s = q.u64(13);
  m.read = q.i64(14) != 0;
  m.receipt_requested = q.i64(15) != 0;
  SOTTO_TRY_ASSIGN(auto receipts,
                   Statement::prepare(db,
                                      "SELECT kind, username FROM message_receipts WHERE "
                                      "group_id = ? AND message_id = ? ORDER BY kind, position"));
  receipts.bind(group_id);
  receipts.bind(m.message_id);
  for (;;) {
    SOTTO_TRY_ASSIGN(bool more, receipts.step());
    if (!more) break;
    (receipts.i64(0) == 1 ? m.delivered_to : m.read_by).push_back(receipts.text(1));
  }
  return m;
}

}  // namespace

Result<std::optional<StoredMessage>> SqliteClientStore::message(BytesView group_id,
                                                                BytesView message_id) const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_, std::string("SELECT ") + kMessageColumns +
                                                       " FROM messages WHERE group_id = ? "
                                                       "AND message_id = ?"));
  q.bind(group_id);
  q.bind(message_id);
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return std::optional<StoredMessage>();
  SOTTO_TRY_ASSIGN(auto m, read_message(db_, store_key_, group_id, q));
  return std::optional<StoredMessage>(std::move(m));
}

Result<std::vector<StoredMessage>> SqliteClientStore::messages(BytesView group_id) const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_, std::string("SELECT ") + kMessageColumns +
                                                       " FROM messages WHERE group_id = ? "
                                                       "ORDER BY seq"));
  q.bind(group_id);
  std::vector<StoredMessage> out;
  for (;;) {
    SOTTO_TRY_ASSIGN(bool row, q.step());
    if (!row) break;
    SOTTO_TRY_ASSIGN(auto m, read_message(db_, store_key_, group_id, q));
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<OutboxEntry>> SqliteClientStore::outbox() const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_,
                                              "SELECT message_id, group_id, payload, "
                                              "created_at, content, epoch FROM outbox "
                                              "ORDER BY seq"));
  SOTTO_TRY_ASSIGN(auto recipients, Statement::prepare(db_,
                                                       "SELECT device_id FROM outbox_recipients "
                                                       "WHERE message_id = ? ORDER BY position"));
  std::vector<OutboxEntry> out;
  for (;;) {
    SOTTO_TRY_ASSIGN(bool row, q.step());
    if (!row) break;
    OutboxEntry e;
    e.message_id = q.blob(0);
    e.group_id = q.blob(1);
    e.payload = q.blob(2);
    e.created_at = q.u64(3);
    if (!q.view(4).empty()) {
      SOTTO_TRY_ASSIGN(e.content,
                       unseal(store_key_, "outbox", "content", {e.message_id}, q.view(4)));
    }
    e.epoch = q.u64(5);
    out.push_back(std::move(e));
  }
  for (OutboxEntry& e : out) {
    recipients.reset();
    recipients.bind(e.message_id);
    for (;;) {
      SOTTO_TRY_ASSIGN(bool more, recipients.step());
      if (!more) break;
      e.recipients.push_back(recipients.blob(0));
    }
  }
  return out;
}

Result<bool> SqliteClientStore::is_processed(uint64_t seq) const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_, "SELECT 1 FROM processed WHERE seq = ?"));
  q.bind(seq);
  return q.step();
}

Result<std::optional<MailAccount>> SqliteClientStore::mail_account() const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_,
                                              "SELECT address, password, secret_key, "
                                              "invite_number, invite_auth "
                                              "FROM mail_account WHERE id = 1"));
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return std::optional<MailAccount>();
  MailAccount a;
  a.address = q.text(0);
  SOTTO_TRY_ASSIGN(a.password,
                   unseal(store_key_, "mail_account", "password", {single_row_key()}, q.view(1)));
  SOTTO_TRY_ASSIGN(a.secret_key,
                   unseal(store_key_, "mail_account", "secret_key", {single_row_key()}, q.view(2)));
  a.invite_number = q.text(3);
  SOTTO_TRY_ASSIGN(a.invite_auth, unseal(store_key_, "mail_account", "invite_auth",
                                         {single_row_key()}, q.view(4)));
  return std::optional<MailAccount>(std::move(a));
}

namespace {

constexpr const char* kMailPeerColumns = "address, cert, source, updated_at, verified";

MailPeer mail_peer_row(const Statement& q) {
  MailPeer p;
  p.address = q.text(0);
  p.cert = q.blob(1);
  p.source = static_cast<MailKeySource>(q.i64(2));
  p.updated_at = q.u64(3);
  p.verified = q.i64(4) != 0;
  return p;
}

}  // namespace

Result<std::optional<MailPeer>> SqliteClientStore::mail_peer(const std::string& address) const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_, std::string("SELECT ") + kMailPeerColumns +
                                                       " FROM mail_peers WHERE address = ?"));
  q.bind(address);
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return std::optional<MailPeer>();
  return std::optional<MailPeer>(mail_peer_row(q));
}

Result<std::vector<MailPeer>> SqliteClientStore::mail_peers() const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_, std::string("SELECT ") + kMailPeerColumns +
                                                       " FROM mail_peers ORDER BY address"));
  std::vector<MailPeer> out;
  for (;;) {
    SOTTO_TRY_ASSIGN(bool row, q.step());
    if (!row) return out;
    out.push_back(mail_peer_row(q));
  }
}

Result<std::optional<MailJoin>> SqliteClientStore::mail_join(const std::string& address) const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_,
                                              "SELECT fingerprint, invite_number, auth, "
                                              "started_at, group_id FROM mail_joins "
                                              "WHERE address = ?"));
  q.bind(address);
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return std::optional<MailJoin>();
  MailJoin j;
  j.address = address;
  j.fingerprint = q.blob(0);
  j.invite_number = q.text(1);
  SOTTO_TRY_ASSIGN(j.auth,
                   unseal(store_key_, "mail_joins", "auth", {as_bytes(address)}, q.view(2)));
  j.started_at = q.u64(3);
  j.group_id = q.text(4);
  return std::optional<MailJoin>(std::move(j));
}

Result<std::vector<MailGroupInvite>> SqliteClientStore::mail_group_invites() const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_,
                                              "SELECT group_id, invite_number, auth, created_at "
                                              "FROM mail_group_invites ORDER BY group_id"));
  std::vector<MailGroupInvite> out;
  for (;;) {
    SOTTO_TRY_ASSIGN(bool row, q.step());
    if (!row) return out;
    MailGroupInvite invite;
    invite.group_id = q.blob(0);
    invite.invite_number = q.text(1);
    SOTTO_TRY_ASSIGN(invite.auth, unseal(store_key_, "mail_group_invites", "auth",
                                         {invite.group_id}, q.view(2)));
    invite.created_at = q.u64(3);
    out.push_back(std::move(invite));
  }
}

Result<std::optional<std::string>> SqliteClientStore::mail_cursor() const {
  SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_, "SELECT cursor FROM mail_cursor WHERE id = 1"));
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(q.text(0));
}

// ---- the one write -----------------------------------------------------------------------

Result<void> SqliteClientStore::apply(const ClientStoreBatch& batch) {
  Transaction tx(db_, Phase::open);
  SOTTO_TRY(tx.begin());
  SOTTO_TRY(apply_in_transaction(batch));
  return tx.commit();
}

// Runs inside apply()'s transaction: an error anywhere rolls back everything before it.
Result<void> SqliteClientStore::apply_in_transaction(const ClientStoreBatch& batch) {
  auto run = [this](std::string_view sql, auto&&... values) -> Result<void> {
    SOTTO_TRY_ASSIGN(auto q, Statement::prepare(db_, sql));
    (q.bind(values), ...);
    return q.run();
  };

  if (const auto& id = batch.identity) {
    SOTTO_TRY_ASSIGN(Bytes seed, seal(store_key_, "identity", "signature_seed", {single_row_key()},
                                      id->signature_seed));
    SOTTO_TRY_ASSIGN(Bytes token, seal(store_key_, "identity", "session_token", {single_row_key()},
                                       id->session_token));
    SOTTO_TRY(
        run("INSERT INTO identity (id, username, account_id, device_id, signature_seed, "
            "session_token, session_expires_at) VALUES (1, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET username = excluded.username, "
            "account_id = excluded.account_id, device_id = excluded.device_id, "
            "signature_seed = excluded.signature_seed, "
            "session_token = excluded.session_token, "
            "session_expires_at = excluded.session_expires_at",
            id->username, id->account_id, id->device_id, seed, token, id->session_expires_at));
  }
  if (batch.directory_state) {
    SOTTO_TRY(
        run("INSERT INTO directory_state (id, state) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET state = excluded.state",
            *batch.directory_state));
  }
  for (const auto& kp : batch.put_key_packages) {
    SOTTO_TRY_ASSIGN(Bytes keys,
                     seal(store_key_, "key_packages", "private_keys", {kp.ref}, kp.private_keys));
    SOTTO_TRY(
        run("INSERT INTO key_packages (ref, key_package, private_keys, last_resort) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (ref) DO UPDATE SET "
            "key_package = excluded.key_package, private_keys = excluded.private_keys, "
            "last_resort = excluded.last_resort",
            kp.ref, kp.key_package, keys, kp.last_resort));
  }
  for (const auto& ref : batch.remove_key_packages) {
    SOTTO_TRY(run("DELETE FROM key_packages WHERE ref = ?", ref));
  }
  for (const auto& c : batch.put_contacts) {
    SOTTO_TRY(
        run("INSERT INTO contacts (username, directory_version, verified_epoch) "
            "VALUES (?, ?, ?) ON CONFLICT (username) DO UPDATE SET "
            "directory_version = excluded.directory_version, "
            "verified_epoch = excluded.verified_epoch",
            c.username, int64_t{c.directory_version}, c.verified_epoch));
    SOTTO_TRY(run("DELETE FROM contact_devices WHERE username = ?", c.username));
    for (size_t i = 0; i < c.devices.size(); ++i) {
      SOTTO_TRY(run(
          "INSERT INTO contact_devices (username, position, device_id, signature_key) "
          "VALUES (?, ?, ?, ?)",
          c.username, static_cast<int64_t>(i), c.devices[i].device_id, c.devices[i].signature_key));
    }
  }
  for (const auto& c : batch.put_conversations) {
    SOTTO_TRY_ASSIGN(Bytes state,
                     seal(store_key_, "conversations", "group_state", {c.group_id}, c.group_state));
    Bytes previous;
    if (!c.previous_group_state.empty()) {
      SOTTO_TRY_ASSIGN(previous, seal(store_key_, "conversations", "previous_group_state",
                                      {c.group_id}, c.previous_group_state));
    }
    SOTTO_TRY(
        run("INSERT INTO conversations (group_id, name, group_state, members_verified, kind, "
            "membership, disappear_after_s, previous_group_state, previous_epoch_until, "
            "head_sent_size, head_sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (group_id) DO UPDATE SET "
            "name = excluded.name, group_state = excluded.group_state, "
            "members_verified = excluded.members_verified, kind = excluded.kind, "
            "membership = excluded.membership, disappear_after_s = excluded.disappear_after_s, "
            "previous_group_state = excluded.previous_group_state, "
            "previous_epoch_until = excluded.previous_epoch_until, "
            "head_sent_size = excluded.head_sent_size, head_sent_at = excluded.head_sent_at",
            c.group_id, c.name, state, c.members_verified, static_cast<int64_t>(c.kind),
            static_cast<int64_t>(c.membership), c.disappear_after_s, previous,
            c.previous_epoch_until, c.head_sent_size, c.head_sent_at));
    SOTTO_TRY(run("DELETE FROM conversation_members WHERE group_id = ?", c.group_id));
    for (size_t i = 0; i < c.members.size(); ++i) {
      const uint64_t added = i < c.members_added_at.size() ? c.members_added_at[i] : 0;
      SOTTO_TRY(
          run("INSERT INTO conversation_members (group_id, position, username, added_at) "
              "VALUES (?, ?, ?, ?)",
              c.group_id, static_cast<int64_t>(i), c.members[i], added));
    }
    SOTTO_TRY(run("DELETE FROM conversation_past_members WHERE group_id = ?", c.group_id));
    for (const auto& p : c.past_members) {
      SOTTO_TRY(
          run("INSERT INTO conversation_past_members (group_id, address, removed_at) "
              "VALUES (?, ?, ?) ON CONFLICT (group_id, address) DO UPDATE SET "
              "removed_at = excluded.removed_at",
              c.group_id, p.address, p.removed_at));
    }
  }
  for (const auto& m : batch.put_messages) {
    SOTTO_TRY_ASSIGN(Bytes body, seal(store_key_, "messages", "body", {m.group_id, m.message_id},
                                      as_bytes(m.body)));
    Bytes file;
    if (m.file) {
      Bytes encoded = tls::encode(*m.file);
      auto sealed = seal(store_key_, "messages", "file", {m.group_id, m.message_id}, encoded);
      secure_wipe(encoded.data(), encoded.size());
      SOTTO_TRY_ASSIGN(file, std::move(sealed));
    }
    SOTTO_TRY(
        run("INSERT INTO messages (group_id, message_id, sender, sender_device, outgoing, "
            "sent_at, accepted_at, state, body, file, reply_to, edited_at, deleted, expires_at, "
            "timer_set_s, read, receipt_requested) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (group_id, message_id) DO UPDATE SET sender = excluded.sender, "
            "sender_device = excluded.sender_device, outgoing = excluded.outgoing, "
            "sent_at = excluded.sent_at, accepted_at = excluded.accepted_at, "
            "state = excluded.state, body = excluded.body, file = excluded.file, "
            "reply_to = excluded.reply_to, edited_at = excluded.edited_at, "
            "deleted = excluded.deleted, expires_at = excluded.expires_at, "
            "timer_set_s = excluded.timer_set_s, read = excluded.read, "
            "receipt_requested = excluded.receipt_requested",
            m.group_id, m.message_id, m.sender, m.sender_device, m.outgoing, m.sent_at,
            m.accepted_at, static_cast<int64_t>(m.state), body, file, m.reply_to.value_or(Bytes()),
            m.edited_at, m.deleted, m.expires_at,
            m.timer_set_s ? to_sql(*m.timer_set_s) : int64_t{-1}, m.read, m.receipt_requested));
    SOTTO_TRY(run("DELETE FROM message_receipts WHERE group_id = ? AND message_id = ?", m.group_id,
                  m.message_id));
    for (int64_t kind : {int64_t{1}, int64_t{2}}) {
      const auto& names = kind == 1 ? m.delivered_to : m.read_by;
      for (size_t i = 0; i < names.size(); ++i) {
        SOTTO_TRY(
            run("INSERT INTO message_receipts (group_id, message_id, kind, position, username) "
                "VALUES (?, ?, ?, ?, ?)",
                m.group_id, m.message_id, kind, static_cast<int64_t>(i), names[i]));
      }
    }
  }
  for (const auto& u : batch.delivery_updates) {
    SOTTO_TRY(
        run("UPDATE messages SET state = ?1, "
            "accepted_at = CASE WHEN ?2 = 0 THEN accepted_at ELSE ?2 END "
            "WHERE group_id = ?3 AND message_id = ?4",
            static_cast<int64_t>(u.state), u.accepted_at, u.group_id, u.message_id));
    if (sqlite3_changes64(db_) == 0) {
      return Error(Errc::not_found, "delivery update of a message not stored");
    }
  }
  for (const auto& k : batch.remove_messages) {
    SOTTO_TRY(run("DELETE FROM messages WHERE group_id = ? AND message_id = ?", k.group_id,
                  k.message_id));
  }
  for (const auto& e : batch.put_outbox) {
    Bytes content;
    if (!e.content.empty()) {
      SOTTO_TRY_ASSIGN(content, seal(store_key_, "outbox", "content", {e.message_id}, e.content));
    }
    SOTTO_TRY(
        run("INSERT INTO outbox (message_id, group_id, payload, created_at, content, epoch) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO UPDATE SET "
            "group_id = excluded.group_id, payload = excluded.payload, "
            "created_at = excluded.created_at, content = excluded.content, "
            "epoch = excluded.epoch",
            e.message_id, e.group_id, e.payload, e.created_at, content, e.epoch));
    SOTTO_TRY(run("DELETE FROM outbox_recipients WHERE message_id = ?", e.message_id));
    for (size_t i = 0; i < e.recipients.size(); ++i) {
      SOTTO_TRY(
          run("INSERT INTO outbox_recipients (message_id, position, device_id) "
              "VALUES (?, ?, ?)",
              e.message_id, static_cast<int64_t>(i), e.recipients[i]));
    }
  }
  for (const auto& id : batch.remove_outbox) {
    SOTTO_TRY(run("DELETE FROM outbox WHERE message_id = ?", id));
  }
  for (uint64_t seq : batch.add_processed) {
    SOTTO_TRY(run("INSERT INTO processed (seq) VALUES (?) ON CONFLICT (seq) DO NOTHING", seq));
  }
  for (uint64_t seq : batch.remove_processed) {
    SOTTO_TRY(run("DELETE FROM processed WHERE seq = ?", seq));
  }
  if (const auto& a = batch.mail_account) {
    SOTTO_TRY_ASSIGN(Bytes password,
                     seal(store_key_, "mail_account", "password", {single_row_key()}, a->password));
    SOTTO_TRY_ASSIGN(Bytes secret_key, seal(store_key_, "mail_account", "secret_key",
                                            {single_row_key()}, a->secret_key));
    SOTTO_TRY_ASSIGN(Bytes auth, seal(store_key_, "mail_account", "invite_auth", {single_row_key()},
                                      a->invite_auth));
    SOTTO_TRY(
        run("INSERT INTO mail_account (id, address, password, secret_key, invite_number, "
            "invite_auth) VALUES (1, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET address = excluded.address, "
            "password = excluded.password, secret_key = excluded.secret_key, "
            "invite_number = excluded.invite_number, invite_auth = excluded.invite_auth",
            a->address, password, secret_key, a->invite_number, auth));
  }
  for (const auto& p : batch.put_mail_peers) {
    SOTTO_TRY(
        run("INSERT INTO mail_peers (address, cert, source, updated_at, verified) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (address) DO UPDATE SET cert = excluded.cert, "
            "source = excluded.source, updated_at = excluded.updated_at, "
            "verified = excluded.verified",
            p.address, p.cert, static_cast<int64_t>(p.source), p.updated_at, p.verified));
  }
  for (const auto& j : batch.put_mail_joins) {
    SOTTO_TRY_ASSIGN(Bytes auth,
                     seal(store_key_, "mail_joins", "auth", {as_bytes(j.address)}, j.auth));
    SOTTO_TRY(
        run("INSERT INTO mail_joins (address, fingerprint, invite_number, auth, started_at, "
            "group_id) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (address) DO UPDATE SET "
            "fingerprint = excluded.fingerprint, invite_number = excluded.invite_number, "
            "auth = excluded.auth, started_at = excluded.started_at, "
            "group_id = excluded.group_id",
            j.address, j.fingerprint, j.invite_number, auth, j.started_at, j.group_id));
  }
  for (const auto& address : batch.remove_mail_joins) {
    SOTTO_TRY(run("DELETE FROM mail_joins WHERE address = ?", address));
  }
  for (const auto& invite : batch.put_mail_group_invites) {
    SOTTO_TRY_ASSIGN(
        Bytes auth, seal(store_key_, "mail_group_invites", "auth", {invite.group_id}, invite.auth));
    SOTTO_TRY(
        run("INSERT INTO mail_group_invites (group_id, invite_number, auth, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (group_id) DO UPDATE SET "
            "invite_number = excluded.invite_number, auth = excluded.auth, "
            "created_at = excluded.created_at",
            invite.group_id, invite.invite_number, auth, invite.created_at));
  }
  for (const auto& group_id : batch.remove_mail_group_invites) {
    SOTTO_TRY(run("DELETE FROM mail_group_invites WHERE group_id = ?", group_id));
  }
  if (batch.mail_cursor) {
    SOTTO_TRY(
        run("INSERT INTO mail_cursor (id, cursor) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor",
            *batch.mail_cursor));
  }
  return success();
}

}  // namespace sotto::client
