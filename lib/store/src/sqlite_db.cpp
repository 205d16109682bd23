#include "sqlite_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <limits>

namespace sotto::store::sql {

int64_t clamp(uint64_t v) {
  constexpr auto max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  return static_cast<int64_t>(std::min(v, max));
}

Error error_from(sqlite3* db, int rc, std::string_view what) {
  Errc code = Errc::internal;
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      code = Errc::already_exists;
      break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      code = Errc::not_found;
      break;
    default:
      switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_FULL:
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
          code = Errc::unavailable;
          break;
        default:
          break;
      }
  }
  // SQLite's messages name tables, columns and constraints, never bound values.
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error(code, std::move(message));
}

// ---- Query ----

Query::~Query() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

// A failed bind (out of range, too big) shows up as an error of the next step: SQLite keeps
// the parameter NULL, which a NOT NULL column refuses.
Query& Query::bind(uint64_t v) {
  return bind(clamp(v));
}

Query& Query::bind(int64_t v) {
  sqlite3_bind_int64(stmt_, next_++, v);
  return *this;
}

Query& Query::bind(BytesView v) {
  // A null pointer would bind NULL; an empty blob is still a value.
  if (v.empty()) {
    sqlite3_bind_zeroblob(stmt_, next_++, 0);
  } else {
    sqlite3_bind_blob64(stmt_, next_++, v.data(), v.size(), SQLITE_TRANSIENT);
  }
  return *this;
}

Query& Query::bind(const SecureBytes& v) {
  if (v.empty()) {
    sqlite3_bind_zeroblob(stmt_, next_++, 0);
  } else {
    sqlite3_bind_blob64(stmt_, next_++, v.data(), v.size(), SQLITE_STATIC);
  }
  return *this;
}

Query& Query::bind(std::string_view v) {
  sqlite3_bind_text64(stmt_, next_++, v.empty() ? "" : v.data(), v.size(), SQLITE_TRANSIENT,
                      SQLITE_UTF8);
  return *this;
}

Query& Query::bind(const std::optional<std::string>& v) {
  if (v) return bind(std::string_view(*v));
  sqlite3_bind_null(stmt_, next_++);
  return *this;
}

Result<bool> Query::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return error_from(db_, rc, "sqlite");
}

Result<void> Query::run() {
  SOTTO_TRY_ASSIGN(bool row, step());
  if (row) return Error(Errc::internal, "sqlite: a statement meant to change rows returned one");
  return success();
}

int64_t Query::i64(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

Bytes Query::blob(int col) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return {};
  return Bytes(p, p + n);
}

SecureBytes Query::secure_blob(int col) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return {};
  return SecureBytes(BytesView(p, static_cast<size_t>(n)));
}

std::string Query::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

std::optional<std::string> Query::optional_text(int col) const {
  if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
  return text(col);
}

// ---- Connection ----

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, Mode mode) {
  const bool create = mode == Mode::write;
  sqlite3* db = nullptr;
  // Each connection is used by one thread at a time (the writer, or readers under a lock).
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = error_from(db, rc, "open database");
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<Connection> connection(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers do not block the writer and one fsync per commit. FULL: a commit that has
  // returned survives power loss, which enqueue's `done` promises.
  // secure_delete=FAST: deleted rows (an erased account, an acknowledged message) are zeroed
  // in their pages instead of lingering in the file until the space is reused.
  SOTTO_TRY(
      connection->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                       "PRAGMA secure_delete=FAST;"));
  if (mode == Mode::read) SOTTO_TRY(connection->exec("PRAGMA query_only=ON;"));
  return connection;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Result<void> Connection::exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  sqlite3_free(message);  // the connection's errmsg says the same
  if (rc != SQLITE_OK) return error_from(db_, rc, "sqlite");
  return success();
}

Result<Query> Connection::query(std::string_view sql) {
  auto it = statements_.find(std::string(sql));
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return error_from(db_, rc, "prepare");
    it = statements_.emplace(std::string(sql), stmt).first;
  }
  return Query(it->second, db_);
}

uint64_t Connection::changes() const {
  return static_cast<uint64_t>(sqlite3_changes64(db_));
}

bool Connection::autocommit() const {
  return sqlite3_get_autocommit(db_) != 0;
}

Error Connection::error(std::string_view what) const {
  return error_from(db_, sqlite3_extended_errcode(db_), what);
}

// ---- Writer ----

Writer::Writer(std::unique_ptr<Connection> connection, size_t max_batch,
               std::chrono::microseconds linger)
    : connection_(std::move(connection)),
      max_batch_(std::max<size_t>(max_batch, 1)),
      linger_(std::max(linger, std::chrono::microseconds(0))) {
  thread_ = std::thread([this] { loop(); });
}

Writer::~Writer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Writer::submit(WriteJob job) {
  // A `done` callback (which runs on the writer thread, after its commit) may write again:
  // waiting for the writer there would wait forever, so that job runs at once, alone.
  if (std::this_thread::get_id() == thread_.get_id()) {
    std::vector<WriteJob> one;
    one.push_back(std::move(job));
    run_batch(one);
    return;
  }
  bool closing = false;
  {
    std::lock_guard lock(mu_);
    closing = stopping_;
    if (!closing) pending_.push_back(std::move(job));
  }
  if (closing) {
    // Only reachable by a caller racing the store's destruction.
    job.done(Error(Errc::unavailable, "the store is closing"));
    return;
  }
  wake_.notify_one();
}

void Writer::loop() {
  using Clock = std::chrono::steady_clock;
  constexpr auto kBusy = std::chrono::milliseconds(10);
  std::vector<WriteJob> batch;
  auto last_end = Clock::now() - kBusy;  // not under load at first
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything is written
      if (linger_.count() > 0 && Clock::now() - last_end < kBusy) {
        // Under load: gather more jobs while they keep coming, in steps of a quarter of the
        // linger. A step in which none came ends it, so that callers who each wait for
        // their job before the next (nothing more will come) lose one step only. Sleeps,
        // not waits on wake_: the jobs that arrive meanwhile do not wake the thread.
        const auto step = std::max(linger_ / 4, std::chrono::microseconds(1));
        const auto deadline = Clock::now() + linger_;
        size_t seen = pending_.size();
        while (!stopping_ && seen < max_batch_ && Clock::now() < deadline) {
          lock.unlock();
          std::this_thread::sleep_for(step);
          lock.lock();
          if (pending_.size() == seen) break;
          seen = pending_.size();
        }
      }
      const size_t n = std::min(pending_.size(), max_batch_);
      batch.clear();
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
    }
    run_batch(batch);
    last_end = Clock::now();
  }
}

void Writer::run_batch(std::vector<WriteJob>& jobs) {
  Connection& c = *connection_;
  auto fail_all = [&jobs](const Error& e) {
    for (WriteJob& job : jobs) job.done(e);
  };
  auto statement = [&c](std::string_view sql) -> Result<void> {
    SOTTO_TRY_ASSIGN(Query q, c.query(sql));
    return q.run();
  };

  if (auto begun = statement("BEGIN IMMEDIATE"); !begun.ok()) {
    fail_all(std::move(begun).error().with_context("begin transaction"));
    return;
  }
  std::vector<Result<void>> outcomes;
  outcomes.reserve(jobs.size());
  for (WriteJob& job : jobs) {
    if (auto saved = statement("SAVEPOINT job"); !saved.ok()) {
      (void)statement("ROLLBACK");
      fail_all(std::move(saved).error().with_context("savepoint"));
      return;
    }
    Result<void> outcome = job.run(c);
    if (c.autocommit()) {
      // A hard error (disk full, I/O) made SQLite roll back the whole transaction, with the
      // jobs before this one.
      Error e = outcome.ok() ? Error(Errc::unavailable, "the transaction was rolled back")
                             : std::move(outcome).error();
      fail_all(std::move(e).with_context("write"));
      return;
    }
    if (!outcome.ok()) {
      if (auto undone = statement("ROLLBACK TO job"); !undone.ok()) {
        (void)statement("ROLLBACK");
        fail_all(std::move(undone).error().with_context("rollback to savepoint"));
        return;
      }
    }
    if (auto released = statement("RELEASE job"); !released.ok()) {
      (void)statement("ROLLBACK");
      fail_all(std::move(released).error().with_context("release savepoint"));
      return;
    }
    outcomes.push_back(std::move(outcome));
  }
  if (auto committed = statement("COMMIT"); !committed.ok()) {
    if (!c.autocommit()) (void)statement("ROLLBACK");
    fail_all(std::move(committed).error().with_context("commit"));
    return;
  }
  for (size_t i = 0; i < jobs.size(); ++i) jobs[i].done(std::move(outcomes[i]));
}

}  // namespace sotto::store::sql
