// A thin layer over the sqlite3 C API: a connection that keeps its prepared statements for
// reuse, a query handle that binds parameters and reads columns, and SQLite's result codes
// mapped to Errc. Also the group-commit writer: the one thread that owns the write
// connection.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sotto::store::sql {

// SQLite integers are signed 64-bit. Times and sizes above INT64_MAX (e.g. UINT64_MAX for
// "never") are stored as INT64_MAX so that comparisons in SQL stay right.
int64_t clamp(uint64_t v);

// A prepared statement borrowed from a connection's cache; reset (bindings cleared) when the
// handle goes away, ready for the next use.
class Query {
 public:
  Query(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  Query(Query&& other) noexcept
      : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_), next_(other.next_) {}
  Query& operator=(Query&&) = delete;
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query();

  // Parameters are bound in order, ?1, ?2, ... by successive calls.
  Query& bind(uint64_t v);
  Query& bind(int64_t v);
  Query& bind(uint32_t v) { return bind(static_cast<uint64_t>(v)); }
  Query& bind(int v) { return bind(static_cast<int64_t>(v)); }
  Query& bind(bool v) { return bind(static_cast<int64_t>(v ? 1 : 0)); }
  Query& bind(BytesView v);
  Query& bind(const Bytes& v) { return bind(BytesView(v)); }
  // Bound without a copy, so that SQLite's heap holds no unwiped copy of the secret: `v` must
  // stay alive until the statement has run.
  Query& bind(const SecureBytes& v);
  Query& bind(std::string_view v);
  Query& bind(const std::string& v) { return bind(std::string_view(v)); }
  Query& bind(const char* v) { return bind(std::string_view(v)); }
  Query& bind(const std::optional<std::string>& v);

  template <class... Args>
  Query& bind_all(const Args&... args) {
    (bind(args), ...);
    return *this;
  }

  // True with a row to read, false when done.
  Result<bool> step();
  // Runs a statement that returns no rows.
  Result<void> run();

  int64_t i64(int col) const;
  uint64_t u64(int col) const { return static_cast<uint64_t>(i64(col)); }
  Bytes blob(int col) const;
  SecureBytes secure_blob(int col) const;
  std::string text(int col) const;
  std::optional<std::string> optional_text(int col) const;

 private:
  sqlite3_stmt* stmt_;
  sqlite3* db_;
  int next_ = 1;
};

class Connection {
 public:
  enum class Mode { write, read };
  // Opens (the write connection creates the file) and applies the connection settings: WAL,
  // synchronous=FULL, foreign keys, busy timeout, extended result codes; a read connection
  // is also query_only, so that a write can only happen on the writer's connection.
  static Result<std::unique_ptr<Connection>> open(const std::string& path, Mode mode);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One or more statements without parameters (schema, pragmas).
  Result<void> exec(const char* sql);
  // The cached statement for `sql`, prepared on first use and kept for the connection's
  // life: the server runs a fixed set of statements, so the cache stays small.
  Result<Query> query(std::string_view sql);
  // Rows changed by the last INSERT/UPDATE/DELETE, cascades not counted.
  uint64_t changes() const;
  // True when no transaction is open (SQLite rolled one back after a hard error).
  bool autocommit() const;
  Error error(std::string_view what) const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

// Maps an SQLite result code of `db` to an Error: UNIQUE/PRIMARY KEY -> already_exists,
// FOREIGN KEY -> not_found, BUSY/LOCKED/FULL/IOERR -> unavailable, the rest -> internal.
Error error_from(sqlite3* db, int rc, std::string_view what);

// One unit of work for the writer: `run` executes inside its own savepoint of the batch's
// transaction (an error rolls back that savepoint only); `done` receives the outcome once
// the transaction is over: run's error, the commit's error, or success after a durable commit.
struct WriteJob {
  std::function<Result<void>(Connection&)> run;
  std::function<void(Result<void>)> done;
};

// Group commit. One thread owns the write connection; jobs queue up while a transaction is
// being written, and the next transaction takes up to max_batch of them, so that one fsync
// serves them all. Under load it lingers before a transaction to gather more (SqliteOptions).
class Writer {
 public:
  Writer(std::unique_ptr<Connection> connection, size_t max_batch,
         std::chrono::microseconds linger);
  ~Writer();  // finishes the queued jobs first
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void submit(WriteJob job);

  // Runs `fn(Connection&) -> Result<T>` as one job and waits for its durable outcome.
  template <class F>
  auto write(F fn) -> decltype(fn(std::declval<Connection&>())) {
    using R = decltype(fn(std::declval<Connection&>()));
    auto slot = std::make_shared<std::optional<R>>();
    // Shared, so that the promise outlives set_value even when the waiting caller returns
    // (and would destroy a promise of its own) before set_value has.
    auto promise = std::make_shared<std::promise<R>>();
    auto future = promise->get_future();
    WriteJob job;
    job.run = [fn = std::move(fn), slot](Connection& c) mutable -> Result<void> {
      slot->emplace(fn(c));
      if ((*slot)->ok()) return success();
      return Error((*slot)->error());
    };
    job.done = [slot, promise](Result<void> status) {
      if (status.ok()) {
        promise->set_value(std::move(**slot));
      } else {
        promise->set_value(std::move(status).error());
      }
    };
    submit(std::move(job));
    return future.get();
  }

 private:
  void loop();
  void run_batch(std::vector<WriteJob>& jobs);

  std::unique_ptr<Connection> connection_;
  const size_t max_batch_;
  const std::chrono::microseconds linger_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<WriteJob> pending_;
  bool stopping_ = false;
  std::thread thread_;
};

// The read connections. WAL lets each read the newest commit while the writer writes; a
// connection serves one thread at a time, and a caller waits when all are busy.
class Reader {
 public:
  explicit Reader(std::vector<std::unique_ptr<Connection>> connections)
      : connections_(std::move(connections)) {
    for (auto& c : connections_) idle_.push_back(c.get());
  }

  template <class F>
  auto read(F fn) -> decltype(fn(std::declval<Connection&>())) {
    Connection* c = acquire();
    auto result = fn(*c);
    release(c);
    return result;
  }

 private:
  Connection* acquire() {
    std::unique_lock lock(mu_);
    available_.wait(lock, [this] { return !idle_.empty(); });
    Connection* c = idle_.back();
    idle_.pop_back();
    return c;
  }
  void release(Connection* c) {
    {
      std::lock_guard lock(mu_);
      idle_.push_back(c);
    }
    available_.notify_one();
  }

  std::vector<std::unique_ptr<Connection>> connections_;
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<Connection*> idle_;
};

}  // namespace sotto::store::sql
