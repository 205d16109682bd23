// The SQLite Store. Every mutating method is a job for the writer (sqlite_db.h): it runs in
// a savepoint of a group-commit transaction on the one write connection, and returns once
// that transaction is durable. Reads use a separate connection; with WAL they see the newest
// commit without waiting for the writer.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "key_package_stock.h"
#include "sotto/store/store.h"
#include "sqlite_db.h"
#include "sqlite_kt_stores.h"
#include "sqlite_migrations.h"

namespace sotto::store {
namespace {

using sql::Connection;
using sql::Query;

// Enough for the server's request threads to read side by side; each holds a page cache.
constexpr int kReadConnections = 4;

// Orders recipients bytewise, to find one listed twice.
struct BytesLess {
  bool operator()(BytesView a, BytesView b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }
};

Account account_from(const Query& q) {
  Account a;
  a.id = q.blob(0);
  a.username = q.text(1);
  a.email = q.text(2);
  a.email_verified = q.i64(3) != 0;
  a.display_name = q.optional_text(4);
  a.phone = q.optional_text(5);
  a.password_hash = q.text(6);
  a.created_at = q.u64(7);
  return a;
}
constexpr const char* kAccountColumns =
    "id, username, email, email_verified, display_name, phone, password_hash, created_at";

Device device_from(const Query& q) {
  Device d;
  d.id = q.blob(0);
  d.account_id = q.blob(1);
  d.signature_key = q.blob(2);
  d.name = q.text(3);
  d.created_at = q.u64(4);
  d.last_seen = q.u64(5);
  return d;
}

Session session_from(const Query& q) {
  return Session{q.blob(0), q.blob(1), q.blob(2), q.u64(3), q.u64(4)};
}

FileRecord file_from(const Query& q) {
  return FileRecord{q.blob(0), q.blob(1), q.u64(2), q.u64(3), q.u64(4)};
}

Result<void> insert_device(Connection& c, const Device& d) {
  {
    SOTTO_TRY_ASSIGN(
        Query q,
        c.query("INSERT INTO devices (id, account_id, signature_key, name, created_at, last_seen) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    SOTTO_TRY(
        q.bind_all(d.id, d.account_id, d.signature_key, d.name, d.created_at, d.last_seen).run());
  }
  SOTTO_TRY_ASSIGN(Query q, c.query("INSERT INTO queues (device_id, next_seq, message_count, "
                                    "message_bytes) VALUES (?1, 1, 0, 0)"));
  return q.bind(d.id).run();
}

Result<bool> device_exists(Connection& c, BytesView device_id) {
  SOTTO_TRY_ASSIGN(Query q, c.query("SELECT 1 FROM devices WHERE id = ?1"));
  q.bind(device_id);
  return q.step();
}

Result<KeyPackageStock> stock_of(Connection& c, BytesView device_id) {
  SOTTO_TRY_ASSIGN(Query q,
                   c.query("SELECT EXISTS (SELECT 1 FROM devices WHERE id = ?1), "
                           "(SELECT COUNT(*) FROM key_packages WHERE device_id = ?1), "
                           "EXISTS (SELECT 1 FROM last_resort_key_packages WHERE device_id = ?1)"));
  q.bind(device_id);
  SOTTO_TRY_ASSIGN(bool row, q.step());
  if (!row || q.i64(0) == 0) return Error(Errc::not_found, "key packages: no such device");
  return KeyPackageStock{static_cast<uint32_t>(q.i64(1)), q.i64(2) != 0};
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<Connection> write, std::vector<std::unique_ptr<Connection>> read,
              Limits limits, size_t max_batch, std::chrono::microseconds linger)
      : limits_(limits),
        reader_(std::move(read)),
        writer_(std::move(write), max_batch, linger),
        kt_log_(writer_, reader_),
        kt_directory_(writer_, reader_) {}

  // ---- accounts ----

  Result<void> create_account(const Account& account, const Device& device,
                              const std::optional<Bytes>& invite_code_hash, uint64_t now) override {
    if (device.account_id != account.id) {
      return Error(Errc::invalid_argument, "create account: the device belongs to another account");
    }
    return writer_.write([&](Connection& c) -> Result<void> {
      {
        SOTTO_TRY_ASSIGN(
            Query q,
            c.query(
                "INSERT INTO accounts (id, username, email, email_verified, display_name, phone, "
                "password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
        SOTTO_TRY_CTX(q.bind_all(account.id, account.username, account.email,
                                 account.email_verified, account.display_name, account.phone,
                                 account.password_hash, account.created_at)
                          .run(),
                      "create account");
      }
      SOTTO_TRY_CTX(insert_device(c, device), "create account");
      if (invite_code_hash) SOTTO_TRY_CTX(use_invite(c, *invite_code_hash, now), "create account");
      return success();
    });
  }

  Result<Account> account(BytesView account_id) override {
    return reader_.read([&](Connection& c) -> Result<Account> {
      SOTTO_TRY_ASSIGN(Query q, c.query(std::string("SELECT ") + kAccountColumns +
                                        " FROM accounts WHERE id = ?1"));
      q.bind(account_id);
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (!row) return Error(Errc::not_found, "no such account");
      return account_from(q);
    });
  }

  Result<Account> account_by_username(std::string_view username) override {
    return reader_.read([&](Connection& c) -> Result<Account> {
      SOTTO_TRY_ASSIGN(Query q, c.query(std::string("SELECT ") + kAccountColumns +
                                        " FROM accounts WHERE username = ?1"));
      q.bind(username);
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (!row) return Error(Errc::not_found, "no account with that username");
      return account_from(q);
    });
  }

  Result<void> update_account(const Account& account) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(
          Query q,
          c.query(
              "UPDATE accounts SET email = ?2, email_verified = ?3, display_name = ?4, phone = ?5, "
              "password_hash = ?6 WHERE id = ?1"));
      SOTTO_TRY_CTX(q.bind_all(account.id, account.email, account.email_verified,
                               account.display_name, account.phone, account.password_hash)
                        .run(),
                    "update account");
      if (c.changes() == 0) return Error(Errc::not_found, "update account: no such account");
      return success();
    });
  }

  Result<Erasure> erase_account(BytesView account_id) override {
    return writer_.write([&](Connection& c) -> Result<Erasure> {
      Erasure erasure;
      {
        SOTTO_TRY_ASSIGN(Query q, c.query("SELECT id FROM devices WHERE account_id = ?1 "
                                          "ORDER BY created_at, rowid"));
        q.bind(account_id);
        for (;;) {
          SOTTO_TRY_ASSIGN(bool row, q.step());
          if (!row) break;
          erasure.devices.push_back(q.blob(0));
        }
      }
      {
        SOTTO_TRY_ASSIGN(Query q, c.query("SELECT id FROM files WHERE owner = ?1 "
                                          "ORDER BY created_at, rowid"));
        q.bind(account_id);
        for (;;) {
          SOTTO_TRY_ASSIGN(bool row, q.step());
          if (!row) break;
          erasure.files.push_back(q.blob(0));
        }
      }
      // Devices, their sessions, key packages, queues, send records and push subscriptions,
      // the account's codes and files: all by ON DELETE CASCADE.
      SOTTO_TRY_ASSIGN(Query q, c.query("DELETE FROM accounts WHERE id = ?1"));
      SOTTO_TRY_CTX(q.bind(account_id).run(), "erase account");
      if (c.changes() == 0) return Error(Errc::not_found, "erase account: no such account");
      return erasure;
    });
  }

  // ---- devices ----

  Result<void> add_device(const Device& device) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_CTX(insert_device(c, device), "add device");
      return success();
    });
  }

  Result<Device> device(BytesView device_id) override {
    return reader_.read([&](Connection& c) -> Result<Device> {
      SOTTO_TRY_ASSIGN(Query q, c.query("SELECT id, account_id, signature_key, name, created_at, "
                                        "last_seen FROM devices WHERE id = ?1"));
      q.bind(device_id);
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (!row) return Error(Errc::not_found, "no such device");
      return device_from(q);
    });
  }

  Result<std::vector<Device>> devices(BytesView account_id) override {
    return reader_.read([&](Connection& c) -> Result<std::vector<Device>> {
      SOTTO_TRY_ASSIGN(
          Query q,
          c.query("SELECT id, account_id, signature_key, name, created_at, last_seen FROM devices "
                  "WHERE account_id = ?1 ORDER BY created_at, rowid"));
      q.bind(account_id);
      std::vector<Device> out;
      for (;;) {
        SOTTO_TRY_ASSIGN(bool row, q.step());
        if (!row) return out;
        out.push_back(device_from(q));
      }
    });
  }

  Result<void> delete_device(BytesView device_id) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(Query q, c.query("DELETE FROM devices WHERE id = ?1"));
      SOTTO_TRY_CTX(q.bind(device_id).run(), "delete device");
      if (c.changes() == 0) return Error(Errc::not_found, "delete device: no such device");
      return success();
    });
  }

  Result<void> touch_device(BytesView device_id, uint64_t day) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(Query q, c.query("UPDATE devices SET last_seen = ?2 WHERE id = ?1"));
      SOTTO_TRY_CTX(q.bind_all(device_id, day).run(), "touch device");
      if (c.changes() == 0) return Error(Errc::not_found, "touch device: no such device");
      return success();
    });
  }

  // ---- sessions ----

  Result<void> put_session(const Session& s) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(
          Query q,
          c.query(
              "INSERT INTO sessions (token_hash, account_id, device_id, created_at, expires_at) "
              "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (token_hash) DO UPDATE SET "
              "account_id = excluded.account_id, device_id = excluded.device_id, "
              "created_at = excluded.created_at, expires_at = excluded.expires_at"));
      SOTTO_TRY_CTX(
          q.bind_all(s.token_hash, s.account_id, s.device_id, s.created_at, s.expires_at).run(),
          "put session (the device must be in the account)");
      return success();
    });
  }

  Result<Session> session(BytesView token_hash) override {
    return reader_.read([&](Connection& c) -> Result<Session> {
      SOTTO_TRY_ASSIGN(Query q, c.query("SELECT token_hash, account_id, device_id, created_at, "
                                        "expires_at FROM sessions WHERE token_hash = ?1"));
      q.bind(token_hash);
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (!row) return Error(Errc::not_found, "no such session");
      return session_from(q);
    });
  }

  Result<void> delete_session(BytesView token_hash) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(Query q, c.query("DELETE FROM sessions WHERE token_hash = ?1"));
      return q.bind(token_hash).run();
    });
  }

  Result<std::vector<Session>> sessions(BytesView account_id) override {
    return reader_.read([&](Connection& c) -> Result<std::vector<Session>> {
      SOTTO_TRY_ASSIGN(
          Query q,
          c.query("SELECT token_hash, account_id, device_id, created_at, expires_at FROM sessions "
                  "WHERE account_id = ?1 ORDER BY created_at, rowid"));
      q.bind(account_id);
      std::vector<Session> out;
      for (;;) {
        SOTTO_TRY_ASSIGN(bool row, q.step());
        if (!row) return out;
        out.push_back(session_from(q));
      }
    });
  }

  Result<void> delete_sessions(BytesView account_id) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(Query q, c.query("DELETE FROM sessions WHERE account_id = ?1"));
      return q.bind(account_id).run();
    });
  }

  // ---- codes and invites ----

  Result<void> put_code(const OneTimeCode& code) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(
          Query q,
          c.query("INSERT INTO codes (account_id, purpose, code_hash, expires_at, attempts) "
                  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (account_id, purpose) DO UPDATE SET "
                  "code_hash = excluded.code_hash, expires_at = excluded.expires_at, "
                  "attempts = excluded.attempts"));
      SOTTO_TRY_CTX(q.bind_all(code.account_id, static_cast<int>(code.purpose), code.code_hash,
                               code.expires_at, code.attempts)
                        .run(),
                    "put code");
      return success();
    });
  }

  Result<OneTimeCode> code(BytesView account_id, CodePurpose purpose) override {
    return reader_.read([&](Connection& c) -> Result<OneTimeCode> {
      SOTTO_TRY_ASSIGN(Query q, c.query("SELECT code_hash, expires_at, attempts FROM codes "
                                        "WHERE account_id = ?1 AND purpose = ?2"));
      q.bind_all(account_id, static_cast<int>(purpose));
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (!row) return Error(Errc::not_found, "no such code");
      return OneTimeCode{to_bytes(account_id), purpose, q.blob(0), q.u64(1),
                         static_cast<uint32_t>(q.i64(2))};
    });
  }

  Result<void> count_code_attempt(BytesView account_id, CodePurpose purpose) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(Query q, c.query("UPDATE codes SET attempts = attempts + 1 "
                                        "WHERE account_id = ?1 AND purpose = ?2"));
      SOTTO_TRY(q.bind_all(account_id, static_cast<int>(purpose)).run());
      if (c.changes() == 0) return Error(Errc::not_found, "count code attempt: no such code");
      return success();
    });
  }

  Result<void> delete_code(BytesView account_id, CodePurpose purpose) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(Query q,
                       c.query("DELETE FROM codes WHERE account_id = ?1 AND purpose = ?2"));
      return q.bind_all(account_id, static_cast<int>(purpose)).run();
    });
  }

  Result<void> put_invite(const Invite& invite) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(
          Query q, c.query("INSERT INTO invites (code_hash, created_at, expires_at, uses_left) "
                           "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (code_hash) DO UPDATE SET "
                           "created_at = excluded.created_at, expires_at = excluded.expires_at, "
                           "uses_left = excluded.uses_left"));
      SOTTO_TRY_CTX(
          q.bind_all(invite.code_hash, invite.created_at, invite.expires_at, invite.uses_left)
              .run(),
          "put invite");
      return success();
    });
  }

  // ---- key packages ----

  Result<KeyPackageStock> add_key_packages(BytesView device_id,
                                           const std::vector<Bytes>& key_packages,
                                           const std::optional<Bytes>& last_resort,
                                           uint64_t max_stock, uint64_t now) override {
    return writer_.write([&](Connection& c) -> Result<KeyPackageStock> {
      SOTTO_TRY_ASSIGN(KeyPackageStock stock, stock_of(c, device_id));
      SOTTO_TRY(check_key_package_stock(stock.count, key_packages.size(), max_stock));
      for (const Bytes& kp : key_packages) {
        SOTTO_TRY_ASSIGN(Query q, c.query("INSERT INTO key_packages (device_id, key_package, "
                                          "created_at) VALUES (?1, ?2, ?3)"));
        SOTTO_TRY(q.bind_all(device_id, kp, now).run());
      }
      if (last_resort) {
        SOTTO_TRY_ASSIGN(
            Query q,
            c.query("INSERT INTO last_resort_key_packages (device_id, key_package, created_at) "
                    "VALUES (?1, ?2, ?3) ON CONFLICT (device_id) DO UPDATE SET "
                    "key_package = excluded.key_package, created_at = excluded.created_at"));
        SOTTO_TRY(q.bind_all(device_id, *last_resort, now).run());
      }
      return stock_of(c, device_id);
    });
  }

  Result<Bytes> claim_key_package(BytesView device_id) override {
    return writer_.write([&](Connection& c) -> Result<Bytes> {
      {
        SOTTO_TRY_ASSIGN(Query q, c.query("SELECT id, key_package FROM key_packages "
                                          "WHERE device_id = ?1 ORDER BY id LIMIT 1"));
        q.bind(device_id);
        SOTTO_TRY_ASSIGN(bool row, q.step());
        if (row) {
          const int64_t id = q.i64(0);
          Bytes kp = q.blob(1);
          SOTTO_TRY_ASSIGN(Query del, c.query("DELETE FROM key_packages WHERE id = ?1"));
          SOTTO_TRY(del.bind(id).run());
          return kp;
        }
      }
      SOTTO_TRY_ASSIGN(Query q, c.query("SELECT key_package FROM last_resort_key_packages "
                                        "WHERE device_id = ?1"));
      q.bind(device_id);
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (!row) return Error(Errc::not_found, "claim key package: the device has none");
      return q.blob(0);
    });
  }

  Result<KeyPackageStock> key_package_stock(BytesView device_id) override {
    return reader_.read([&](Connection& c) { return stock_of(c, device_id); });
  }

  // ---- delivery ----

  void enqueue(Envelope envelope, EnqueueDone done) override {
    auto e = std::make_shared<const Envelope>(std::move(envelope));
    auto result = std::make_shared<EnqueueResult>();
    sql::WriteJob job;
    job.run = [this, e, result](Connection& c) { return enqueue_job(c, *e, *result); };
    job.done = [result, done = std::move(done)](Result<void> status) {
      if (status.ok()) {
        done(std::move(*result));
      } else {
        done(std::move(status).error());
      }
    };
    writer_.submit(std::move(job));
  }

  Result<std::vector<StoredMessage>> fetch(BytesView device_id, uint64_t after_seq, uint32_t limit,
                                           uint64_t now) override {
    return reader_.read([&](Connection& c) -> Result<std::vector<StoredMessage>> {
      SOTTO_TRY_ASSIGN(
          Query q,
          c.query("SELECT seq, received_at, expires_at, payload FROM messages "
                  "WHERE device_id = ?1 AND seq > ?2 AND expires_at > ?3 ORDER BY seq LIMIT ?4"));
      q.bind_all(device_id, after_seq, now, limit);
      std::vector<StoredMessage> out;
      for (;;) {
        SOTTO_TRY_ASSIGN(bool row, q.step());
        if (!row) return out;
        out.push_back(StoredMessage{q.u64(0), q.u64(1), q.u64(2), q.blob(3)});
      }
    });
  }

  Result<uint64_t> ack(BytesView device_id, const std::vector<uint64_t>& seqs) override {
    return writer_.write([&](Connection& c) { return ack_job(c, device_id, seqs); });
  }

  void ack_async(BytesView device_id, std::vector<uint64_t> seqs, AckDone done) override {
    auto removed = std::make_shared<uint64_t>(0);
    sql::WriteJob job;
    job.run = [device = to_bytes(device_id), seqs = std::move(seqs),
               removed](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(*removed, ack_job(c, device, seqs));
      return success();
    };
    job.done = [removed, done = std::move(done)](Result<void> status) {
      if (status.ok()) {
        done(*removed);
      } else {
        done(std::move(status).error());
      }
    };
    writer_.submit(std::move(job));
  }

  Result<QueueStats> queue_stats(BytesView device_id) override {
    return reader_.read([&](Connection& c) -> Result<QueueStats> {
      SOTTO_TRY_ASSIGN(Query q, c.query("SELECT message_count, message_bytes FROM queues "
                                        "WHERE device_id = ?1"));
      q.bind(device_id);
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (!row) return QueueStats{};
      return QueueStats{q.u64(0), q.u64(1)};
    });
  }

  // ---- files ----

  Result<void> put_file(const FileRecord& file, uint64_t quota_bytes) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      uint64_t used = 0;
      {
        SOTTO_TRY_ASSIGN(Query q,
                         c.query("SELECT COALESCE(SUM(size), 0) FROM files WHERE owner = ?1"));
        q.bind(file.owner);
        SOTTO_TRY_ASSIGN(bool row, q.step());
        if (row) used = q.u64(0);
      }
      if (file.size > quota_bytes || used > quota_bytes - file.size) {
        return Error(Errc::quota_exceeded, "put file: over the account's storage quota");
      }
      SOTTO_TRY_ASSIGN(Query q, c.query("INSERT INTO files (id, owner, size, created_at, "
                                        "expires_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
      SOTTO_TRY_CTX(
          q.bind_all(file.id, file.owner, file.size, file.created_at, file.expires_at).run(),
          "put file");
      return success();
    });
  }

  Result<FileRecord> file(BytesView file_id) override {
    return reader_.read([&](Connection& c) -> Result<FileRecord> {
      SOTTO_TRY_ASSIGN(Query q, c.query("SELECT id, owner, size, created_at, expires_at "
                                        "FROM files WHERE id = ?1"));
      q.bind(file_id);
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (!row) return Error(Errc::not_found, "no such file");
      return file_from(q);
    });
  }

  Result<void> delete_file(BytesView file_id) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(Query q, c.query("DELETE FROM files WHERE id = ?1"));
      SOTTO_TRY(q.bind(file_id).run());
      if (c.changes() == 0) return Error(Errc::not_found, "delete file: no such file");
      return success();
    });
  }

  Result<std::vector<FileRecord>> files(BytesView account_id) override {
    return reader_.read([&](Connection& c) -> Result<std::vector<FileRecord>> {
      SOTTO_TRY_ASSIGN(Query q, c.query("SELECT id, owner, size, created_at, expires_at "
                                        "FROM files WHERE owner = ?1 ORDER BY created_at, rowid"));
      q.bind(account_id);
      std::vector<FileRecord> out;
      for (;;) {
        SOTTO_TRY_ASSIGN(bool row, q.step());
        if (!row) return out;
        out.push_back(file_from(q));
      }
    });
  }

  // ---- push ----

  Result<void> put_push_subscription(const PushSubscription& s) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(
          Query q,
          c.query("INSERT INTO push_subscriptions (device_id, endpoint, p256dh, auth, created_at) "
                  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (device_id) DO UPDATE SET "
                  "endpoint = excluded.endpoint, p256dh = excluded.p256dh, auth = excluded.auth, "
                  "created_at = excluded.created_at"));
      SOTTO_TRY_CTX(q.bind_all(s.device_id, s.endpoint, s.p256dh, s.auth, s.created_at).run(),
                    "put push subscription");
      return success();
    });
  }

  Result<PushSubscription> push_subscription(BytesView device_id) override {
    return reader_.read([&](Connection& c) -> Result<PushSubscription> {
      SOTTO_TRY_ASSIGN(Query q, c.query("SELECT endpoint, p256dh, auth, created_at "
                                        "FROM push_subscriptions WHERE device_id = ?1"));
      q.bind(device_id);
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (!row) return Error(Errc::not_found, "no push subscription for the device");
      return PushSubscription{to_bytes(device_id), q.text(0), q.blob(1), q.blob(2), q.u64(3)};
    });
  }

  Result<void> delete_push_subscription(BytesView device_id) override {
    return writer_.write([&](Connection& c) -> Result<void> {
      SOTTO_TRY_ASSIGN(Query q, c.query("DELETE FROM push_subscriptions WHERE device_id = ?1"));
      return q.bind(device_id).run();
    });
  }

  // ---- housekeeping ----

  Result<std::vector<FileRecord>> expire(uint64_t now) override {
    return writer_.write([now](Connection& c) -> Result<std::vector<FileRecord>> {
      for (const char* sql : {"DELETE FROM messages WHERE expires_at <= ?1",
                              "DELETE FROM sessions WHERE expires_at <= ?1",
                              "DELETE FROM codes WHERE expires_at <= ?1",
                              "DELETE FROM invites WHERE expires_at <= ?1",
                              "DELETE FROM sends WHERE expires_at <= ?1",
                              "DELETE FROM commit_orders WHERE expires_at <= ?1"}) {
        SOTTO_TRY_ASSIGN(Query q, c.query(sql));
        SOTTO_TRY_CTX(q.bind(now).run(), "expire");
      }
      std::vector<FileRecord> expired;
      {
        SOTTO_TRY_ASSIGN(Query q, c.query("SELECT id, owner, size, created_at, expires_at "
                                          "FROM files WHERE expires_at <= ?1 "
                                          "ORDER BY expires_at, rowid"));
        q.bind(now);
        for (;;) {
          SOTTO_TRY_ASSIGN(bool row, q.step());
          if (!row) break;
          expired.push_back(file_from(q));
        }
      }
      SOTTO_TRY_ASSIGN(Query q, c.query("DELETE FROM files WHERE expires_at <= ?1"));
      SOTTO_TRY_CTX(q.bind(now).run(), "expire");
      return expired;
    });
  }

  Result<Stats> stats() override {
    return reader_.read([](Connection& c) -> Result<Stats> {
      SOTTO_TRY_ASSIGN(
          Query q,
          c.query("SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM devices), "
                  "(SELECT COALESCE(SUM(message_count), 0) FROM queues), "
                  "(SELECT COALESCE(SUM(message_bytes), 0) FROM queues), "
                  "(SELECT COUNT(*) FROM files), (SELECT COALESCE(SUM(size), 0) FROM files)"));
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (!row) return Error(Errc::internal, "stats: no row");
      return Stats{q.u64(0), q.u64(1), q.u64(2), q.u64(3), q.u64(4), q.u64(5)};
    });
  }

  kt::LogStore& kt_log() override { return kt_log_; }
  kt::DirectoryStore& kt_directory() override { return kt_directory_; }

 private:
  static Result<void> use_invite(Connection& c, const Bytes& code_hash, uint64_t now) {
    SOTTO_TRY_ASSIGN(Query q,
                     c.query("UPDATE invites SET uses_left = uses_left - 1 "
                             "WHERE code_hash = ?1 AND uses_left > 0 AND expires_at > ?2"));
    SOTTO_TRY(q.bind_all(code_hash, now).run());
    if (c.changes() == 1) return success();
    SOTTO_TRY_ASSIGN(Query exists, c.query("SELECT 1 FROM invites WHERE code_hash = ?1"));
    exists.bind(code_hash);
    SOTTO_TRY_ASSIGN(bool row, exists.step());
    if (!row) return Error(Errc::not_found, "no such invite");
    return Error(Errc::expired, "the invite is used up or expired");
  }

  // The steps of one enqueue, inside its savepoint: a failure anywhere undoes all of it.
  static Result<uint64_t> ack_job(Connection& c, BytesView device_id,
                                  const std::vector<uint64_t>& seqs) {
    uint64_t removed = 0;
    for (uint64_t seq : seqs) {
      SOTTO_TRY_ASSIGN(Query q, c.query("DELETE FROM messages WHERE device_id = ?1 AND seq = ?2"));
      SOTTO_TRY(q.bind_all(device_id, seq).run());
      removed += c.changes();
    }
    return removed;
  }

  Result<void> enqueue_job(Connection& c, const Envelope& e, EnqueueResult& result) const {
    if (e.recipients.empty()) return Error(Errc::invalid_argument, "enqueue: no recipients");
    // A repeat is answered before the commit check: the first copy moved the group's epoch
    // on, and the retry must see the success it missed, not a conflict.
    {
      SOTTO_TRY_ASSIGN(Query q, c.query("SELECT accepted_at, expires_at FROM sends "
                                        "WHERE sender_device = ?1 AND message_id = ?2"));
      q.bind_all(e.sender_device, e.message_id);
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (row && q.u64(1) > e.received_at) {
        result = EnqueueResult{q.u64(0), {}, true};
        return success();
      }
    }
    SOTTO_TRY_ASSIGN(bool sender, device_exists(c, e.sender_device));
    if (!sender) return Error(Errc::not_found, "enqueue: the sending device does not exist");
    if (e.commit) {
      SOTTO_TRY_ASSIGN(Query q,
                       c.query("SELECT next_epoch FROM commit_orders WHERE group_hash = ?1"));
      q.bind(e.commit->group_hash);
      SOTTO_TRY_ASSIGN(bool row, q.step());
      if (row && q.u64(0) != e.commit->epoch) {
        return Error(Errc::conflict, "enqueue: the commit is not for the group's next epoch (" +
                                         std::to_string(q.u64(0)) + ")");
      }
    }
    result = EnqueueResult{e.received_at, {}, false};
    std::set<BytesView, BytesLess> seen;
    for (const Id& r : e.recipients) {
      if (!seen.insert(r).second) {
        return Error(Errc::invalid_argument, "enqueue: a recipient appears twice");
      }
      uint64_t seq = 0;
      {
        SOTTO_TRY_ASSIGN(Query q, c.query("SELECT next_seq, message_count, message_bytes "
                                          "FROM queues WHERE device_id = ?1"));
        q.bind(r);
        SOTTO_TRY_ASSIGN(bool row, q.step());
        if (!row) return Error(Errc::not_found, "enqueue: a recipient is not a device");
        seq = q.u64(0);
        if (q.u64(1) + 1 > limits_.max_queue_messages ||
            q.u64(2) + e.payload.size() > limits_.max_queue_bytes) {
          return Error(Errc::quota_exceeded, "enqueue: a recipient's queue is full");
        }
      }
      {
        SOTTO_TRY_ASSIGN(
            Query q,
            c.query("INSERT INTO messages (device_id, seq, received_at, expires_at, payload) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)"));
        SOTTO_TRY(q.bind_all(r, seq, e.received_at, e.expires_at, e.payload).run());
      }
      {
        SOTTO_TRY_ASSIGN(Query q, c.query("UPDATE queues SET next_seq = ?2 WHERE device_id = ?1"));
        SOTTO_TRY(q.bind_all(r, seq + 1).run());
      }
      result.deliveries.push_back(Delivery{r, seq});
    }
    if (e.commit) {
      SOTTO_TRY_ASSIGN(Query q,
                       c.query("INSERT INTO commit_orders (group_hash, next_epoch, expires_at) "
                               "VALUES (?1, ?2, ?3) ON CONFLICT (group_hash) DO UPDATE SET "
                               "next_epoch = excluded.next_epoch, "
                               "expires_at = MAX(expires_at, excluded.expires_at)"));
      SOTTO_TRY(q.bind_all(e.commit->group_hash, e.commit->epoch + 1, e.expires_at).run());
    }
    SOTTO_TRY_ASSIGN(
        Query q,
        c.query("INSERT INTO sends (sender_device, message_id, accepted_at, expires_at) "
                "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (sender_device, message_id) DO UPDATE SET "
                "accepted_at = excluded.accepted_at, expires_at = excluded.expires_at"));
    SOTTO_TRY(q.bind_all(e.sender_device, e.message_id, e.received_at, e.expires_at).run());
    return success();
  }

  const Limits limits_;
  // Declared before the writer, so destroyed after it: the writer finishes the queued jobs
  // when it is destroyed, and their `done` callbacks may still read.
  sql::Reader reader_;
  sql::Writer writer_;
  sql::SqliteLogStore kt_log_;
  sql::SqliteDirectoryStore kt_directory_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options) {
  if (options.path.empty()) return Error(Errc::invalid_argument, "open store: no database path");
  using Mode = sql::Connection::Mode;
  SOTTO_TRY_ASSIGN(auto write, sql::Connection::open(options.path, Mode::write));
  SOTTO_TRY_CTX(sql::migrate(*write), "open store");
  SOTTO_TRY_CTX(sql::recover_key_directory(*write), "open store");
  std::vector<std::unique_ptr<Connection>> read;
  for (int i = 0; i < kReadConnections; ++i) {
    SOTTO_TRY_ASSIGN(auto connection, sql::Connection::open(options.path, Mode::read));
    read.push_back(std::move(connection));
  }
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(
      std::move(write), std::move(read), options.limits, options.max_batch, options.linger));
}

}  // namespace sotto::store
