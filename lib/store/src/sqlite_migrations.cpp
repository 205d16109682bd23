#include "sqlite_migrations.h"

#include <string>

namespace sotto::store::sql {
namespace {

// Conventions: every table is STRICT; every column NOT NULL unless absence is a value of its
// own (an account's optional display name and phone); identifiers and hashes are BLOBs; times
// are milliseconds since the Unix epoch. Rows that belong to a device or an account go with
// it by ON DELETE CASCADE, so that erasing an account is one DELETE.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE accounts (
  id BLOB NOT NULL PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL UNIQUE,
  email_verified INTEGER NOT NULL CHECK (email_verified IN (0, 1)),
  display_name TEXT,
  phone TEXT,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE devices (
  id BLOB NOT NULL PRIMARY KEY,
  account_id BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  signature_key BLOB NOT NULL UNIQUE,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  -- The parent key of the sessions' (device, account) reference.
  UNIQUE (id, account_id)
) STRICT;
CREATE INDEX devices_by_account ON devices (account_id, created_at);

CREATE TABLE sessions (
  token_hash BLOB NOT NULL PRIMARY KEY,
  account_id BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  device_id BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  -- A session's device belongs to the session's account.
  FOREIGN KEY (device_id, account_id) REFERENCES devices (id, account_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX sessions_by_account ON sessions (account_id, created_at);
CREATE INDEX sessions_by_device ON sessions (device_id, account_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE codes (
  account_id BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  purpose INTEGER NOT NULL CHECK (purpose IN (1, 2)),
  code_hash BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL CHECK (attempts >= 0),
  PRIMARY KEY (account_id, purpose)
) STRICT;
CREATE INDEX codes_by_expiry ON codes (expires_at);

CREATE TABLE invites (
  code_hash BLOB NOT NULL PRIMARY KEY,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  uses_left INTEGER NOT NULL CHECK (uses_left >= 0)
) STRICT;
CREATE INDEX invites_by_expiry ON invites (expires_at);

-- One-time key packages, handed out oldest (lowest id) first.
CREATE TABLE key_packages (
  id INTEGER NOT NULL PRIMARY KEY,
  device_id BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  key_package BLOB NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX key_packages_by_device ON key_packages (device_id, id);

CREATE TABLE last_resort_key_packages (
  device_id BLOB NOT NULL PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  key_package BLOB NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

-- One row per device queue: the next seq (never reused, so that a client's "after seq" cursor
-- stays valid) and the queue's size for quota checks, kept by the triggers below.
CREATE TABLE queues (
  device_id BLOB NOT NULL PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  next_seq INTEGER NOT NULL CHECK (next_seq >= 1),
  message_count INTEGER NOT NULL CHECK (message_count >= 0),
  message_bytes INTEGER NOT NULL CHECK (message_bytes >= 0)
) STRICT;

CREATE TABLE messages (
  device_id BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  payload BLOB NOT NULL,
  UNIQUE (device_id, seq)
) STRICT;
CREATE INDEX messages_by_expiry ON messages (expires_at);

CREATE TRIGGER messages_counted AFTER INSERT ON messages BEGIN
  UPDATE queues SET message_count = message_count + 1,
                    message_bytes = message_bytes + length(NEW.payload)
  WHERE device_id = NEW.device_id;
END;
CREATE TRIGGER messages_uncounted AFTER DELETE ON messages BEGIN
  UPDATE queues SET message_count = message_count - 1,
                    message_bytes = message_bytes - length(OLD.payload)
  WHERE device_id = OLD.device_id;
END;

-- SHA-256(MLS group id) -> the epoch the group's next commit must be for.
CREATE TABLE commit_orders (
  group_hash BLOB NOT NULL PRIMARY KEY,
  next_epoch INTEGER NOT NULL
) STRICT;

-- Send idempotency: an envelope already accepted, kept as long as its message lives.
CREATE TABLE sends (
  sender_device BLOB NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  message_id BLOB NOT NULL,
  accepted_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (sender_device, message_id)
) STRICT;
CREATE INDEX sends_by_expiry ON sends (expires_at);

CREATE TABLE files (
  id BLOB NOT NULL PRIMARY KEY,
  owner BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  size INTEGER NOT NULL CHECK (size >= 0),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX files_by_owner ON files (owner, created_at);
CREATE INDEX files_by_expiry ON files (expires_at);

CREATE TABLE push_subscriptions (
  device_id BLOB NOT NULL PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  endpoint TEXT NOT NULL,
  p256dh BLOB NOT NULL,
  auth BLOB NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
)sql"},
    {2, R"sql(
-- The key directory. The log keeps leaf hashes (level 0) and complete subtree hashes.
CREATE TABLE kt_log_nodes (
  level INTEGER NOT NULL CHECK (level >= 0),
  idx INTEGER NOT NULL CHECK (idx >= 0),
  hash BLOB NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

-- Each epoch's signed tree head and audit, TLS-encoded as on the wire.
CREATE TABLE kt_epochs (
  epoch INTEGER NOT NULL PRIMARY KEY CHECK (epoch >= 1),
  head BLOB NOT NULL,
  audit BLOB NOT NULL
) STRICT;

-- Every published version of every label. `opening` is secret until a lookup reveals it.
CREATE TABLE kt_versions (
  label BLOB NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 0),
  value BLOB NOT NULL,
  opening BLOB NOT NULL,
  vrf_proof BLOB NOT NULL,
  prefix_index BLOB NOT NULL,
  epoch INTEGER NOT NULL REFERENCES kt_epochs (epoch),
  PRIMARY KEY (label, version)
) STRICT;
)sql"},
    {3, R"sql(
-- A group's commit order goes once its newest commit has expired: no message still queued
-- can then belong to the epochs it ordered. Rows from before this column are kept until
-- everything queued now has expired.
ALTER TABLE commit_orders ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
UPDATE commit_orders SET expires_at = (SELECT COALESCE(MAX(expires_at), 0) FROM messages);
CREATE INDEX commit_orders_by_expiry ON commit_orders (expires_at);
)sql"},
};

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}

Result<void> migrate(Connection& c) {
  SOTTO_TRY_CTX(c.exec("BEGIN IMMEDIATE"), "migrate");
  auto apply = [&c]() -> Result<void> {
    SOTTO_TRY(
        c.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
               "version INTEGER NOT NULL PRIMARY KEY) STRICT"));
    uint32_t current = 0;
    {
      SOTTO_TRY_ASSIGN(Query q, c.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (row) current = static_cast<uint32_t>(q.i64(0));
    }
    const uint32_t newest = kMigrations[std::size(kMigrations) - 1].version;
    if (current > newest) {
      return Error(Errc::unsupported, "the database has schema version " + std::to_string(current) +
                                          ", newer than this build's " + std::to_string(newest));
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= current) continue;
      SOTTO_TRY_CTX(c.exec(m.sql), "migration " + std::to_string(m.version));
      SOTTO_TRY_ASSIGN(Query q, c.query("INSERT INTO schema_migrations (version) VALUES (?1)"));
      SOTTO_TRY(q.bind(m.version).run());
    }
    return success();
  };
  if (auto applied = apply(); !applied.ok()) {
    (void)c.exec("ROLLBACK");
    return std::move(applied).error().with_context("migrate");
  }
  SOTTO_TRY_CTX(c.exec("COMMIT"), "migrate");
  return success();
}

}  // namespace sotto::store::sql
