// One suite over both Store implementations, so that they keep the same semantics; then what
// only the SQLite store has (durability, migrations, group commit).
#include "sotto/store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/vrf.h"
#include "sotto/kt/directory.h"

namespace sotto::store {
namespace {

constexpr uint64_t kNow = 1'700'000'000'000;
constexpr uint64_t kHour = 3'600'000;
constexpr uint64_t kStock = 1000;  // the cap on one-time key packages where it is not tested

Id make_id(uint8_t kind, uint32_t n) {
  Id id(16, kind);
  for (int i = 0; i < 4; ++i) id[12 + i] = static_cast<uint8_t>(n >> (8 * (3 - i)));
  return id;
}

Account make_account(uint32_t n) {
  Account a;
  a.id = make_id(1, n);
  a.username = "user" + std::to_string(n);
  a.email = "user" + std::to_string(n) + "@example.org";
  a.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  a.created_at = kNow;
  return a;
}

Device make_device(uint32_t n, const Account& owner, uint64_t created_at = kNow) {
  Device d;
  d.id = make_id(2, n);
  d.account_id = owner.id;
  d.signature_key = Bytes(32, static_cast<uint8_t>(n));
  d.signature_key[0] = 0xee;
  d.signature_key[1] = static_cast<uint8_t>(n >> 8);
  d.name = "device " + std::to_string(n);
  d.created_at = created_at;
  return d;
}

Bytes bytes_of(const std::string& s) {
  return to_bytes(s);
}

Envelope envelope(const Device& from, std::vector<Id> to, const std::string& id,
                  const std::string& payload, uint64_t ttl = 24 * kHour) {
  Envelope e;
  e.sender_device = from.id;
  e.message_id = bytes_of(id);
  e.recipients = std::move(to);
  e.payload = bytes_of(payload);
  e.received_at = kNow;
  e.expires_at = kNow + ttl;
  return e;
}

// A fresh directory per SQLite test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sotto-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

enum class Kind { memory, sqlite };

class StoreTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override { store_ = open(Limits{}); }

  std::unique_ptr<Store> open(Limits limits, size_t max_batch = 512) {
    if (GetParam() == Kind::memory) return make_memory_store(limits);
    SqliteOptions options;
    options.path = dir_.file("sottod.db");
    options.limits = limits;
    options.max_batch = max_batch;
    auto opened = open_sqlite_store(options);
    EXPECT_TRUE(opened.ok()) << opened.error().to_string();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  // Replaces the store with one of other limits (a new, empty one for the memory store).
  void reopen(Limits limits) {
    store_.reset();
    if (GetParam() == Kind::sqlite) std::filesystem::remove(dir_.file("sottod.db"));
    store_ = open(limits);
    ASSERT_NE(store_, nullptr);
  }

  // Creates account n with device n.
  std::pair<Account, Device> add_user(uint32_t n) {
    Account a = make_account(n);
    Device d = make_device(n, a);
    auto created = store_->create_account(a, d, std::nullopt, kNow);
    EXPECT_TRUE(created.ok()) << created.error().to_string();
    return {a, d};
  }

  Result<EnqueueResult> send(const Envelope& e) {
    std::promise<Result<EnqueueResult>> promise;
    auto future = promise.get_future();
    store_->enqueue(e, [&promise](Result<EnqueueResult> r) { promise.set_value(std::move(r)); });
    return future.get();
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

#define ASSERT_OK(expr)                                              \
  do {                                                               \
    auto&& r_ = (expr);                                              \
    ASSERT_TRUE(r_.ok()) << #expr << ": " << r_.error().to_string(); \
  } while (0)

#define EXPECT_ERRC(expr, errc)                                   \
  do {                                                            \
    auto&& r_ = (expr);                                           \
    ASSERT_FALSE(r_.ok()) << #expr << " succeeded";               \
    EXPECT_EQ(r_.error().code(), errc) << r_.error().to_string(); \
  } while (0)

// ---- accounts ----

TEST_P(StoreTest, CreateAndReadAccount) {
  Account a = make_account(1);
  a.display_name = "Ada";
  a.phone = "+100";
  Device d = make_device(1, a);
  ASSERT_OK(store_->create_account(a, d, std::nullopt, kNow));
  auto got = store_->account(a.id);
  ASSERT_OK(got);
  EXPECT_EQ(got->username, a.username);
  EXPECT_EQ(got->email, a.email);
  EXPECT_EQ(got->display_name, a.display_name);
  EXPECT_EQ(got->phone, a.phone);
  EXPECT_EQ(got->password_hash, a.password_hash);
  EXPECT_EQ(got->created_at, a.created_at);
  EXPECT_FALSE(got->email_verified);
  auto by_name = store_->account_by_username("user1");
  ASSERT_OK(by_name);
  EXPECT_EQ(by_name->id, a.id);
  auto dev = store_->device(d.id);
  ASSERT_OK(dev);
  EXPECT_EQ(dev->signature_key, d.signature_key);
  EXPECT_EQ(dev->name, d.name);
  EXPECT_ERRC(store_->account(make_id(1, 99)), Errc::not_found);
  EXPECT_ERRC(store_->account_by_username("nobody"), Errc::not_found);
  EXPECT_ERRC(store_->device(make_id(2, 99)), Errc::not_found);
}

TEST_P(StoreTest, DuplicatesAreRefusedWhole) {
  auto [a, d] = add_user(1);
  Account same_name = make_account(2);
  same_name.username = a.username;
  EXPECT_ERRC(store_->create_account(same_name, make_device(2, same_name), std::nullopt, kNow),
              Errc::already_exists);
  Account same_email = make_account(3);
  same_email.email = a.email;
  EXPECT_ERRC(store_->create_account(same_email, make_device(3, same_email), std::nullopt, kNow),
              Errc::already_exists);
  Account same_key = make_account(4);
  Device key_taken = make_device(4, same_key);
  key_taken.signature_key = d.signature_key;
  EXPECT_ERRC(store_->create_account(same_key, key_taken, std::nullopt, kNow),
              Errc::already_exists);
  // Nothing of the refused accounts was kept.
  EXPECT_ERRC(store_->account(same_key.id), Errc::not_found);
  EXPECT_ERRC(store_->account_by_username(same_email.username), Errc::not_found);
  auto stats = store_->stats();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->accounts, 1u);
  EXPECT_EQ(stats->devices, 1u);
}

TEST_P(StoreTest, Invites) {
  Invite invite{bytes_of("invite-hash"), kNow, kNow + kHour, 2};
  ASSERT_OK(store_->put_invite(invite));
  Invite old{bytes_of("old-invite"), kNow - 2 * kHour, kNow - kHour, 5};
  ASSERT_OK(store_->put_invite(old));

  Account a1 = make_account(1);
  EXPECT_ERRC(store_->create_account(a1, make_device(1, a1), bytes_of("no-such"), kNow),
              Errc::not_found);
  EXPECT_ERRC(store_->create_account(a1, make_device(1, a1), old.code_hash, kNow), Errc::expired);
  ASSERT_OK(store_->create_account(a1, make_device(1, a1), invite.code_hash, kNow));
  Account a2 = make_account(2);
  // A failed account creation does not consume a use.
  Account dup = make_account(3);
  dup.username = a1.username;
  EXPECT_ERRC(store_->create_account(dup, make_device(3, dup), invite.code_hash, kNow),
              Errc::already_exists);
  ASSERT_OK(store_->create_account(a2, make_device(2, a2), invite.code_hash, kNow));
  Account a4 = make_account(4);
  EXPECT_ERRC(store_->create_account(a4, make_device(4, a4), invite.code_hash, kNow),
              Errc::expired);
  EXPECT_ERRC(store_->account(a4.id), Errc::not_found);
}

TEST_P(StoreTest, UpdateAccount) {
  auto [a, d] = add_user(1);
  auto [b, e] = add_user(2);
  Account changed = a;
  changed.email = "new@example.org";
  changed.email_verified = true;
  changed.display_name = "Ada";
  changed.password_hash = "$argon2id$other";
  ASSERT_OK(store_->update_account(changed));
  auto got = store_->account(a.id);
  ASSERT_OK(got);
  EXPECT_EQ(got->email, "new@example.org");
  EXPECT_TRUE(got->email_verified);
  EXPECT_EQ(got->display_name, "Ada");
  EXPECT_EQ(got->phone, std::nullopt);
  EXPECT_EQ(got->password_hash, "$argon2id$other");
  EXPECT_EQ(got->username, a.username);
  // The old address is free again; another account's is not.
  Account c = make_account(3);
  c.email = a.email;
  ASSERT_OK(store_->create_account(c, make_device(3, c), std::nullopt, kNow));
  changed.email = b.email;
  EXPECT_ERRC(store_->update_account(changed), Errc::already_exists);
  EXPECT_ERRC(store_->update_account(make_account(9)), Errc::not_found);
}

// ---- devices ----

TEST_P(StoreTest, DevicesOldestFirst) {
  auto [a, d1] = add_user(1);
  Device d3 = make_device(3, a, kNow + 20);
  Device d2 = make_device(2, a, kNow + 10);
  ASSERT_OK(store_->add_device(d3));
  ASSERT_OK(store_->add_device(d2));
  Device key_taken = make_device(4, a);
  key_taken.signature_key = d2.signature_key;
  EXPECT_ERRC(store_->add_device(key_taken), Errc::already_exists);
  Account nobody = make_account(9);
  EXPECT_ERRC(store_->add_device(make_device(9, nobody)), Errc::not_found);
  auto list = store_->devices(a.id);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, d1.id);
  EXPECT_EQ((*list)[1].id, d2.id);
  EXPECT_EQ((*list)[2].id, d3.id);
  ASSERT_OK(store_->touch_device(d2.id, 19000));
  auto touched = store_->device(d2.id);
  ASSERT_OK(touched);
  EXPECT_EQ(touched->last_seen, 19000u);
  EXPECT_ERRC(store_->touch_device(make_id(2, 99), 1), Errc::not_found);
}

TEST_P(StoreTest, DeleteDeviceCascades) {
  auto [a, d1] = add_user(1);
  Device d2 = make_device(2, a, kNow + 1);
  ASSERT_OK(store_->add_device(d2));
  ASSERT_OK(store_->put_session({bytes_of("token2"), a.id, d2.id, kNow, kNow + kHour}));
  ASSERT_OK(store_->put_session({bytes_of("token1"), a.id, d1.id, kNow, kNow + kHour}));
  ASSERT_OK(store_->add_key_packages(d2.id, {bytes_of("kp")}, bytes_of("lr"), kStock, kNow));
  ASSERT_OK(send(envelope(d1, {d2.id}, "m1", "hello")));
  ASSERT_OK(store_->put_push_subscription(
      {d2.id, "https://push.example/x", bytes_of("p"), bytes_of("a"), kNow}));
  ASSERT_OK(store_->delete_device(d2.id));
  EXPECT_ERRC(store_->device(d2.id), Errc::not_found);
  EXPECT_ERRC(store_->session(bytes_of("token2")), Errc::not_found);
  ASSERT_OK(store_->session(bytes_of("token1")));
  EXPECT_ERRC(store_->claim_key_package(d2.id), Errc::not_found);
  EXPECT_ERRC(store_->push_subscription(d2.id), Errc::not_found);
  auto q = store_->queue_stats(d2.id);
  ASSERT_OK(q);
  EXPECT_EQ(q->count, 0u);
  auto stats = store_->stats();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->devices, 1u);
  EXPECT_EQ(stats->queued_messages, 0u);
  EXPECT_ERRC(store_->delete_device(d2.id), Errc::not_found);
  // The key is free again.
  Device again = make_device(7, a);
  again.signature_key = d2.signature_key;
  ASSERT_OK(store_->add_device(again));
}

// ---- sessions and codes ----

TEST_P(StoreTest, Sessions) {
  auto [a, d] = add_user(1);
  auto [b, e] = add_user(2);
  ASSERT_OK(store_->put_session({bytes_of("t2"), a.id, d.id, kNow + 5, kNow + kHour}));
  ASSERT_OK(store_->put_session({bytes_of("t1"), a.id, d.id, kNow, kNow + 2 * kHour}));
  ASSERT_OK(store_->put_session({bytes_of("t3"), b.id, e.id, kNow, kNow + kHour}));
  EXPECT_ERRC(store_->put_session({bytes_of("t4"), a.id, e.id, kNow, kNow + kHour}),
              Errc::not_found);
  auto s = store_->session(bytes_of("t1"));
  ASSERT_OK(s);
  EXPECT_EQ(s->account_id, a.id);
  EXPECT_EQ(s->device_id, d.id);
  EXPECT_EQ(s->expires_at, kNow + 2 * kHour);
  auto list = store_->sessions(a.id);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].token_hash, bytes_of("t1"));
  ASSERT_OK(store_->delete_session(bytes_of("t1")));
  EXPECT_ERRC(store_->session(bytes_of("t1")), Errc::not_found);
  ASSERT_OK(store_->expire(kNow + kHour));  // t2 and t3 expire exactly now
  EXPECT_ERRC(store_->session(bytes_of("t2")), Errc::not_found);
  ASSERT_OK(store_->put_session({bytes_of("t5"), a.id, d.id, kNow, kNow + 9 * kHour}));
  ASSERT_OK(store_->put_session({bytes_of("t6"), b.id, e.id, kNow, kNow + 9 * kHour}));
  ASSERT_OK(store_->delete_sessions(a.id));
  list = store_->sessions(a.id);
  ASSERT_OK(list);
  EXPECT_TRUE(list->empty());
  ASSERT_OK(store_->session(bytes_of("t6")));
}

TEST_P(StoreTest, CodesAndAttempts) {
  auto [a, d] = add_user(1);
  OneTimeCode code{a.id, CodePurpose::email_verification, bytes_of("h1"), kNow + kHour, 0};
  ASSERT_OK(store_->put_code(code));
  ASSERT_OK(store_->count_code_attempt(a.id, CodePurpose::email_verification));
  ASSERT_OK(store_->count_code_attempt(a.id, CodePurpose::email_verification));
  auto got = store_->code(a.id, CodePurpose::email_verification);
  ASSERT_OK(got);
  EXPECT_EQ(got->attempts, 2u);
  EXPECT_EQ(got->code_hash, bytes_of("h1"));
  EXPECT_ERRC(store_->code(a.id, CodePurpose::account_recovery), Errc::not_found);
  EXPECT_ERRC(store_->count_code_attempt(a.id, CodePurpose::account_recovery), Errc::not_found);
  // A new code replaces the old one and its attempts.
  code.code_hash = bytes_of("h2");
  ASSERT_OK(store_->put_code(code));
  got = store_->code(a.id, CodePurpose::email_verification);
  ASSERT_OK(got);
  EXPECT_EQ(got->attempts, 0u);
  EXPECT_EQ(got->code_hash, bytes_of("h2"));
  ASSERT_OK(
      store_->put_code({a.id, CodePurpose::account_recovery, bytes_of("r"), kNow + 9 * kHour, 0}));
  ASSERT_OK(store_->delete_code(a.id, CodePurpose::email_verification));
  EXPECT_ERRC(store_->code(a.id, CodePurpose::email_verification), Errc::not_found);
  ASSERT_OK(store_->put_code(code));
  ASSERT_OK(store_->expire(kNow + kHour));
  EXPECT_ERRC(store_->code(a.id, CodePurpose::email_verification), Errc::not_found);
  ASSERT_OK(store_->code(a.id, CodePurpose::account_recovery));
}

// ---- key packages ----

TEST_P(StoreTest, KeyPackages) {
  auto [a, d] = add_user(1);
  EXPECT_ERRC(store_->claim_key_package(d.id), Errc::not_found);
  auto stock =
      store_->add_key_packages(d.id, {bytes_of("k1"), bytes_of("k2")}, std::nullopt, kStock, kNow);
  ASSERT_OK(stock);
  EXPECT_EQ(stock->count, 2u);
  EXPECT_FALSE(stock->has_last_resort);
  stock = store_->add_key_packages(d.id, {bytes_of("k3")}, bytes_of("last1"), kStock, kNow + 1);
  ASSERT_OK(stock);
  EXPECT_EQ(stock->count, 3u);
  EXPECT_TRUE(stock->has_last_resort);
  ASSERT_OK(store_->add_key_packages(d.id, {}, bytes_of("last2"), kStock, kNow + 2));
  for (const char* want : {"k1", "k2", "k3", "last2", "last2"}) {
    auto kp = store_->claim_key_package(d.id);
    ASSERT_OK(kp);
    EXPECT_EQ(*kp, bytes_of(want));
  }
  stock = store_->key_package_stock(d.id);
  ASSERT_OK(stock);
  EXPECT_EQ(stock->count, 0u);
  EXPECT_TRUE(stock->has_last_resort);
  EXPECT_ERRC(store_->add_key_packages(make_id(2, 99), {bytes_of("x")}, std::nullopt, kStock, kNow),
              Errc::not_found);
  EXPECT_ERRC(store_->key_package_stock(make_id(2, 99)), Errc::not_found);
}

TEST_P(StoreTest, ConcurrentClaimsHandEachPackageOutOnce) {
  auto [a, d] = add_user(1);
  std::vector<Bytes> packages;
  for (int i = 0; i < 100; ++i) packages.push_back(bytes_of("kp" + std::to_string(i)));
  ASSERT_OK(store_->add_key_packages(d.id, packages, std::nullopt, kStock, kNow));
  std::mutex mu;
  std::vector<Bytes> claimed;
  std::atomic<int> not_found{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto kp = store_->claim_key_package(d.id);
        if (!kp.ok()) {
          if (kp.error().code() == Errc::not_found) ++not_found;
          continue;
        }
        std::lock_guard lock(mu);
        claimed.push_back(std::move(kp).value());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(claimed.size(), 100u);
  EXPECT_EQ(not_found.load(), 60);
  std::set<Bytes> unique(claimed.begin(), claimed.end());
  EXPECT_EQ(unique, std::set<Bytes>(packages.begin(), packages.end()));
}

// The cap on the stock holds however uploads interleave: each is checked and added whole in
// one transaction, or refused whole (its last-resort key package too).
TEST_P(StoreTest, KeyPackageStockCapHoldsUnderConcurrentUploads) {
  auto [a, d] = add_user(1);
  constexpr uint64_t kCap = 10;
  const std::vector<Bytes> three = {bytes_of("a"), bytes_of("b"), bytes_of("c")};
  std::atomic<int> accepted{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto added = store_->add_key_packages(d.id, three, std::nullopt, kCap, kNow);
        if (added.ok()) {
          ++accepted;
          EXPECT_LE(added->count, kCap);
        } else if (added.error().code() == Errc::quota_exceeded) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 3);  // 9 fit under 10; a fourth upload would make 12
  EXPECT_EQ(refused.load(), 37);
  EXPECT_EQ(other.load(), 0);
  auto stock = store_->key_package_stock(d.id);
  ASSERT_OK(stock);
  EXPECT_EQ(stock->count, 9u);
  // One that fits exactly is accepted; a refused one leaves the last-resort one as it was.
  ASSERT_OK(store_->add_key_packages(d.id, {bytes_of("d")}, bytes_of("lr1"), kCap, kNow));
  auto full = store_->add_key_packages(d.id, {bytes_of("e")}, bytes_of("lr2"), kCap, kNow);
  EXPECT_ERRC(full, Errc::quota_exceeded);
  EXPECT_NE(full.error().message().find("at most 10"), std::string::npos);
  for (int i = 0; i < 10; ++i) ASSERT_OK(store_->claim_key_package(d.id));
  auto last = store_->claim_key_package(d.id);
  ASSERT_OK(last);
  EXPECT_EQ(*last, bytes_of("lr1"));
}

// ---- delivery ----

TEST_P(StoreTest, ReadsWhileWriting) {
  auto [a, da] = add_user(1);
  auto [b, db] = add_user(2);
  constexpr int kMessages = 200;
  std::atomic<bool> writing{true};
  std::atomic<int> bad_reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      size_t seen = 0;
      while (writing.load()) {
        auto got = store_->fetch(db.id, 0, kMessages, kNow);
        // A queue only grows here, and a read never sees half of a transaction.
        if (!got.ok() || got->size() < seen ||
            !std::is_sorted(
                got->begin(), got->end(),
                [](const StoredMessage& x, const StoredMessage& y) { return x.seq < y.seq; })) {
          ++bad_reads;
        } else {
          seen = got->size();
        }
        if (!store_->account(a.id).ok()) ++bad_reads;
      }
    });
  }
  for (int i = 0; i < kMessages; ++i) {
    auto sent = send(envelope(da, {db.id}, "m" + std::to_string(i), "payload"));
    if (!sent.ok()) {
      ADD_FAILURE() << sent.error().to_string();  // and still join the readers
      break;
    }
  }
  writing = false;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad_reads.load(), 0);
  auto all = store_->fetch(db.id, 0, kMessages, kNow);
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), size_t{kMessages});
}

TEST_P(StoreTest, FanOutFetchAndAck) {
  auto [a, da] = add_user(1);
  auto [b, db] = add_user(2);
  Device db2 = make_device(3, b, kNow + 1);
  ASSERT_OK(store_->add_device(db2));
  auto first = send(envelope(da, {db.id, db2.id}, "m1", "one"));
  ASSERT_OK(first);
  EXPECT_FALSE(first->repeat);
  EXPECT_EQ(first->accepted_at, kNow);
  ASSERT_EQ(first->deliveries.size(), 2u);
  EXPECT_EQ(first->deliveries[0].device_id, db.id);
  EXPECT_EQ(first->deliveries[1].device_id, db2.id);
  ASSERT_OK(send(envelope(da, {db.id}, "m2", "two")));
  ASSERT_OK(send(envelope(da, {db.id}, "m3", "three")));

  auto all = store_->fetch(db.id, 0, 100, kNow);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].payload, bytes_of("one"));
  EXPECT_EQ((*all)[1].payload, bytes_of("two"));
  EXPECT_EQ((*all)[2].payload, bytes_of("three"));
  EXPECT_LT((*all)[0].seq, (*all)[1].seq);
  EXPECT_LT((*all)[1].seq, (*all)[2].seq);
  EXPECT_EQ((*all)[0].seq, first->deliveries[0].seq);
  EXPECT_EQ((*all)[0].expires_at, kNow + 24 * kHour);
  auto limited = store_->fetch(db.id, (*all)[0].seq, 1, kNow);
  ASSERT_OK(limited);
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].payload, bytes_of("two"));

  auto stats = store_->queue_stats(db.id);
  ASSERT_OK(stats);
  EXPECT_EQ(stats->count, 3u);
  EXPECT_EQ(stats->bytes, 3u + 3u + 5u);

  // Another device's seqs delete nothing here.
  auto other = store_->ack(db2.id, {(*all)[1].seq, (*all)[2].seq, 12345});
  ASSERT_OK(other);
  EXPECT_EQ(*other, 0u);
  auto acked = store_->ack(db.id, {(*all)[0].seq, (*all)[1].seq, 12345});
  ASSERT_OK(acked);
  EXPECT_EQ(*acked, 2u);
  auto rest = store_->fetch(db.id, 0, 100, kNow);
  ASSERT_OK(rest);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].payload, bytes_of("three"));
  auto other_queue = store_->fetch(db2.id, 0, 100, kNow);
  ASSERT_OK(other_queue);
  ASSERT_EQ(other_queue->size(), 1u);

  // Seqs are never reused after an ack, even of the newest message.
  ASSERT_OK(store_->ack(db.id, {(*rest)[0].seq}));
  auto later = send(envelope(da, {db.id}, "m4", "four"));
  ASSERT_OK(later);
  EXPECT_GT(later->deliveries[0].seq, (*all)[2].seq);
}

TEST_P(StoreTest, RepeatQueuesNothing) {
  auto [a, da] = add_user(1);
  auto [b, db] = add_user(2);
  Envelope e = envelope(da, {db.id}, "same-id", "payload");
  e.commit = CommitOrder{bytes_of("group"), 7};
  auto first = send(e);
  ASSERT_OK(first);
  Envelope retry = e;
  retry.received_at = kNow + 1000;
  auto second = send(retry);
  ASSERT_OK(second);
  EXPECT_TRUE(second->repeat);
  EXPECT_TRUE(second->deliveries.empty());
  EXPECT_EQ(second->accepted_at, kNow);
  auto stats = store_->queue_stats(db.id);
  ASSERT_OK(stats);
  EXPECT_EQ(stats->count, 1u);
  // The same message id from another sender is not a repeat.
  ASSERT_OK(send(envelope(db, {da.id}, "same-id", "payload")));
  auto back = store_->queue_stats(da.id);
  ASSERT_OK(back);
  EXPECT_EQ(back->count, 1u);
}

TEST_P(StoreTest, CommitOrdering) {
  auto [a, da] = add_user(1);
  auto [b, db] = add_user(2);
  Envelope c1 = envelope(da, {db.id}, "c1", "commit 5");
  c1.commit = CommitOrder{bytes_of("group-hash"), 5};
  ASSERT_OK(send(c1));  // an unknown group accepts any epoch
  Envelope rival = envelope(db, {da.id}, "c2", "rival commit 5");
  rival.commit = CommitOrder{bytes_of("group-hash"), 5};
  EXPECT_ERRC(send(rival), Errc::conflict);
  Envelope skip = envelope(db, {da.id}, "c3", "commit 7");
  skip.commit = CommitOrder{bytes_of("group-hash"), 7};
  EXPECT_ERRC(send(skip), Errc::conflict);
  Envelope next = envelope(db, {da.id}, "c4", "commit 6");
  next.commit = CommitOrder{bytes_of("group-hash"), 6};
  ASSERT_OK(send(next));
  Envelope other_group = envelope(db, {da.id}, "c5", "other group");
  other_group.commit = CommitOrder{bytes_of("other"), 0};
  ASSERT_OK(send(other_group));
  auto q = store_->queue_stats(da.id);
  ASSERT_OK(q);
  EXPECT_EQ(q->count, 2u);  // the refused commits queued nothing
}

// A group's commit order lives as long as its newest commit: once that has expired, no queued
// message can be of the group's epochs, and the group is as one never seen.
TEST_P(StoreTest, CommitOrderGoesWithItsNewestCommit) {
  auto [a, da] = add_user(1);
  auto [b, db] = add_user(2);
  auto commit = [&](const std::string& id, const std::string& group, uint64_t epoch, uint64_t ttl) {
    Envelope e = envelope(da, {db.id}, id, "commit");
    e.commit = CommitOrder{bytes_of(group), epoch};
    e.expires_at = kNow + ttl;
    return send(e);
  };
  ASSERT_OK(commit("g5", "g", 5, kHour));
  ASSERT_OK(commit("h0", "h", 0, kHour));
  ASSERT_OK(store_->expire(kNow + kHour - 1));
  EXPECT_ERRC(commit("g5-rival", "g", 5, kHour), Errc::conflict);
  // A newer commit keeps the group's order for its own lifetime; a later one with a shorter
  // lifetime does not shorten it.
  ASSERT_OK(commit("g6", "g", 6, 3 * kHour));
  ASSERT_OK(commit("g7", "g", 7, 2 * kHour));
  ASSERT_OK(store_->expire(kNow + 2 * kHour));
  EXPECT_ERRC(commit("g0", "g", 0, kHour), Errc::conflict);
  ASSERT_OK(commit("h9", "h", 9, 4 * kHour));  // h's order went with its only commit
  ASSERT_OK(store_->expire(kNow + 3 * kHour));
  ASSERT_OK(commit("g2", "g", 2, 4 * kHour));
  EXPECT_ERRC(commit("h9-rival", "h", 9, 4 * kHour), Errc::conflict);
}

TEST_P(StoreTest, QueueQuotas) {
  reopen(Limits{3, 100});
  auto [a, da] = add_user(1);
  auto [b, db] = add_user(2);
  auto [c, dc] = add_user(3);
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(send(envelope(da, {db.id}, "m" + std::to_string(i), "x")));
  }
  // Full by count for db: the whole envelope is refused, dc gets nothing either.
  EXPECT_ERRC(send(envelope(da, {dc.id, db.id}, "m3", "x")), Errc::quota_exceeded);
  auto qc = store_->queue_stats(dc.id);
  ASSERT_OK(qc);
  EXPECT_EQ(qc->count, 0u);
  // Full by bytes.
  ASSERT_OK(send(envelope(da, {dc.id}, "b1", std::string(60, 'y'))));
  EXPECT_ERRC(send(envelope(da, {dc.id}, "b2", std::string(41, 'y'))), Errc::quota_exceeded);
  ASSERT_OK(send(envelope(da, {dc.id}, "b3", std::string(40, 'y'))));
  // An ack frees room.
  auto msgs = store_->fetch(db.id, 0, 10, kNow);
  ASSERT_OK(msgs);
  ASSERT_OK(store_->ack(db.id, {(*msgs)[0].seq}));
  ASSERT_OK(send(envelope(da, {db.id}, "m4", "x")));
}

TEST_P(StoreTest, UnknownRecipientQueuesNothing) {
  auto [a, da] = add_user(1);
  auto [b, db] = add_user(2);
  Envelope e = envelope(da, {db.id, make_id(2, 99)}, "m", "x");
  e.commit = CommitOrder{bytes_of("g"), 1};
  EXPECT_ERRC(send(e), Errc::not_found);
  auto q = store_->queue_stats(db.id);
  ASSERT_OK(q);
  EXPECT_EQ(q->count, 0u);
  // Neither the commit nor the message id was recorded.
  e.recipients = {db.id};
  auto retry = send(e);
  ASSERT_OK(retry);
  EXPECT_FALSE(retry->repeat);
  EXPECT_EQ(retry->deliveries.size(), 1u);
}

TEST_P(StoreTest, ExpireRemovesWhatIsPastItsTime) {
  auto [a, da] = add_user(1);
  auto [b, db] = add_user(2);
  ASSERT_OK(send(envelope(da, {db.id}, "short", "short-lived", kHour)));
  ASSERT_OK(send(envelope(da, {db.id}, "long", "long-lived", 10 * kHour)));
  ASSERT_OK(store_->put_file({make_id(3, 1), a.id, 10, kNow, kNow + kHour}, 1000));
  ASSERT_OK(store_->put_file({make_id(3, 2), a.id, 20, kNow, kNow + 10 * kHour}, 1000));
  ASSERT_OK(store_->put_invite({bytes_of("inv"), kNow, kNow + kHour, 1}));
  // An expired message is not fetched even before expire() runs.
  auto before = store_->fetch(db.id, 0, 10, kNow + 2 * kHour);
  ASSERT_OK(before);
  ASSERT_EQ(before->size(), 1u);
  EXPECT_EQ((*before)[0].payload, bytes_of("long-lived"));

  auto expired = store_->expire(kNow + 2 * kHour);
  ASSERT_OK(expired);
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ((*expired)[0].id, make_id(3, 1));
  EXPECT_EQ((*expired)[0].size, 10u);
  EXPECT_ERRC(store_->file(make_id(3, 1)), Errc::not_found);
  ASSERT_OK(store_->file(make_id(3, 2)));
  auto q = store_->queue_stats(db.id);
  ASSERT_OK(q);
  EXPECT_EQ(q->count, 1u);
  EXPECT_EQ(q->bytes, 10u);
  Account c = make_account(3);
  EXPECT_ERRC(store_->create_account(c, make_device(3, c), bytes_of("inv"), kNow), Errc::not_found);
  // The idempotency record of the short-lived message went with it.
  Envelope again = envelope(da, {db.id}, "short", "short-lived", kHour);
  again.received_at = kNow + 2 * kHour;
  again.expires_at = kNow + 3 * kHour;
  auto resent = send(again);
  ASSERT_OK(resent);
  EXPECT_FALSE(resent->repeat);
}

// ---- files and push ----

TEST_P(StoreTest, FilesAndQuota) {
  auto [a, da] = add_user(1);
  auto [b, db] = add_user(2);
  ASSERT_OK(store_->put_file({make_id(3, 1), a.id, 600, kNow, kNow + kHour}, 1000));
  EXPECT_ERRC(store_->put_file({make_id(3, 2), a.id, 401, kNow + 1, kNow + kHour}, 1000),
              Errc::quota_exceeded);
  ASSERT_OK(store_->put_file({make_id(3, 3), a.id, 400, kNow + 2, kNow + kHour}, 1000));
  ASSERT_OK(store_->put_file({make_id(3, 4), b.id, 900, kNow, kNow + kHour}, 1000));
  EXPECT_ERRC(store_->put_file({make_id(3, 1), b.id, 1, kNow, kNow + kHour}, 1000),
              Errc::already_exists);
  EXPECT_ERRC(store_->put_file({make_id(3, 5), make_id(1, 99), 1, kNow, kNow + kHour}, 1000),
              Errc::not_found);
  auto list = store_->files(a.id);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, make_id(3, 1));
  EXPECT_EQ((*list)[1].id, make_id(3, 3));
  auto f = store_->file(make_id(3, 3));
  ASSERT_OK(f);
  EXPECT_EQ(f->owner, a.id);
  EXPECT_EQ(f->size, 400u);
  EXPECT_EQ(f->created_at, kNow + 2);
  ASSERT_OK(store_->delete_file(make_id(3, 1)));
  EXPECT_ERRC(store_->delete_file(make_id(3, 1)), Errc::not_found);
  ASSERT_OK(store_->put_file({make_id(3, 6), a.id, 600, kNow, kNow + kHour}, 1000));
}

TEST_P(StoreTest, PushSubscriptions) {
  auto [a, da] = add_user(1);
  EXPECT_ERRC(store_->push_subscription(da.id), Errc::not_found);
  ASSERT_OK(store_->put_push_subscription(
      {da.id, "https://push.example/1", bytes_of("key1"), bytes_of("auth1"), kNow}));
  ASSERT_OK(store_->put_push_subscription(
      {da.id, "https://push.example/2", bytes_of("key2"), bytes_of("auth2"), kNow + 1}));
  auto s = store_->push_subscription(da.id);
  ASSERT_OK(s);
  EXPECT_EQ(s->endpoint, "https://push.example/2");
  EXPECT_EQ(s->p256dh, bytes_of("key2"));
  EXPECT_EQ(s->auth, bytes_of("auth2"));
  EXPECT_EQ(s->created_at, kNow + 1);
  EXPECT_ERRC(store_->put_push_subscription({make_id(2, 99), "https://x", {}, {}, kNow}),
              Errc::not_found);
  ASSERT_OK(store_->delete_push_subscription(da.id));
  EXPECT_ERRC(store_->push_subscription(da.id), Errc::not_found);
}

// ---- erasure and stats ----

TEST_P(StoreTest, EraseAccountRemovesEverythingOfIt) {
  auto populate = [&](uint32_t n) {
    auto [acct, dev] = add_user(n);
    Device second = make_device(n + 100, acct, kNow + 1);
    EXPECT_TRUE(store_->add_device(second).ok());
    EXPECT_TRUE(store_
                    ->put_session(
                        {bytes_of("tok" + std::to_string(n)), acct.id, dev.id, kNow, kNow + kHour})
                    .ok());
    EXPECT_TRUE(
        store_->put_code({acct.id, CodePurpose::account_recovery, bytes_of("c"), kNow + kHour, 0})
            .ok());
    EXPECT_TRUE(
        store_->add_key_packages(dev.id, {bytes_of("kp")}, bytes_of("lr"), kStock, kNow).ok());
    EXPECT_TRUE(store_->put_file({make_id(3, n), acct.id, 5, kNow, kNow + kHour}, 100).ok());
    EXPECT_TRUE(
        store_->put_push_subscription({second.id, "https://p", bytes_of("k"), bytes_of("a"), kNow})
            .ok());
    return std::tuple(acct, dev, second);
  };
  auto [a, da, da2] = populate(1);
  auto [b, db, db2] = populate(2);
  ASSERT_OK(send(envelope(db, {da.id, da2.id}, "to-a", "hi a")));
  ASSERT_OK(send(envelope(da, {db.id}, "to-b", "hi b")));

  auto erased = store_->erase_account(a.id);
  ASSERT_OK(erased);
  EXPECT_EQ(erased->devices, (std::vector<Id>{da.id, da2.id}));
  EXPECT_EQ(erased->files, (std::vector<Id>{make_id(3, 1)}));
  EXPECT_ERRC(store_->account(a.id), Errc::not_found);
  EXPECT_ERRC(store_->account_by_username(a.username), Errc::not_found);
  EXPECT_ERRC(store_->device(da.id), Errc::not_found);
  EXPECT_ERRC(store_->session(bytes_of("tok1")), Errc::not_found);
  EXPECT_ERRC(store_->code(a.id, CodePurpose::account_recovery), Errc::not_found);
  EXPECT_ERRC(store_->claim_key_package(da.id), Errc::not_found);
  EXPECT_ERRC(store_->file(make_id(3, 1)), Errc::not_found);
  EXPECT_ERRC(store_->push_subscription(da2.id), Errc::not_found);
  auto qa = store_->queue_stats(da.id);
  ASSERT_OK(qa);
  EXPECT_EQ(qa->count, 0u);
  EXPECT_ERRC(store_->erase_account(a.id), Errc::not_found);

  // The other account is intact, including the message a sent to it.
  ASSERT_OK(store_->account(b.id));
  auto devs = store_->devices(b.id);
  ASSERT_OK(devs);
  EXPECT_EQ(devs->size(), 2u);
  ASSERT_OK(store_->session(bytes_of("tok2")));
  ASSERT_OK(store_->code(b.id, CodePurpose::account_recovery));
  ASSERT_OK(store_->file(make_id(3, 2)));
  ASSERT_OK(store_->push_subscription(db2.id));
  auto qb = store_->queue_stats(db.id);
  ASSERT_OK(qb);
  EXPECT_EQ(qb->count, 1u);
  auto stats = store_->stats();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->accounts, 1u);
  EXPECT_EQ(stats->devices, 2u);
  EXPECT_EQ(stats->queued_messages, 1u);
  EXPECT_EQ(stats->files, 1u);

  // The username, address and keys can be registered again.
  ASSERT_OK(store_->create_account(a, da, std::nullopt, kNow));
}

TEST_P(StoreTest, Stats) {
  auto empty = store_->stats();
  ASSERT_OK(empty);
  EXPECT_EQ(empty->accounts, 0u);
  auto [a, da] = add_user(1);
  auto [b, db] = add_user(2);
  ASSERT_OK(send(envelope(da, {db.id}, "m1", "12345")));
  ASSERT_OK(send(envelope(db, {da.id}, "m2", "123")));
  ASSERT_OK(store_->put_file({make_id(3, 1), a.id, 70, kNow, kNow + kHour}, 1000));
  ASSERT_OK(store_->put_file({make_id(3, 2), b.id, 30, kNow, kNow + kHour}, 1000));
  auto s = store_->stats();
  ASSERT_OK(s);
  EXPECT_EQ(s->accounts, 2u);
  EXPECT_EQ(s->devices, 2u);
  EXPECT_EQ(s->queued_messages, 2u);
  EXPECT_EQ(s->queued_bytes, 8u);
  EXPECT_EQ(s->files, 2u);
  EXPECT_EQ(s->file_bytes, 100u);
}

TEST_P(StoreTest, KeyTransparencyStores) {
  kt::LogStore& log = store_->kt_log();
  auto count = log.leaf_count();
  ASSERT_OK(count);
  EXPECT_EQ(*count, 0u);
  kt::Hash h{};
  h[0] = 1;
  std::vector<kt::StoredNode> first{{{0, 0}, h}};
  ASSERT_OK(log.append(first));
  std::vector<kt::StoredNode> bad{{{0, 5}, h}};
  EXPECT_ERRC(log.append(bad), Errc::invalid_argument);
  auto node = log.node({0, 0});
  ASSERT_OK(node);
  EXPECT_EQ(*node, h);
  EXPECT_ERRC(log.node({1, 0}), Errc::not_found);
  kt::DirectoryStore& dir = store_->kt_directory();
  auto epochs = dir.epoch_count();
  ASSERT_OK(epochs);
  EXPECT_EQ(*epochs, 0u);
  EXPECT_ERRC(dir.head(1), Errc::not_found);
}

std::string kind_name(const ::testing::TestParamInfo<Kind>& info) {
  return info.param == Kind::memory ? "Memory" : "Sqlite";
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreTest, ::testing::Values(Kind::memory, Kind::sqlite),
                         kind_name);

// ---- SQLite only ----

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open(size_t max_batch = 512) {
    SqliteOptions options;
    options.path = path();
    options.max_batch = max_batch;
    auto opened = open_sqlite_store(options);
    EXPECT_TRUE(opened.ok()) << opened.error().to_string();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }
  std::string path() const { return dir_.file("sottod.db"); }

  // Runs one statement on the database file, beside the store; returns the first column of
  // the first row (0 when none).
  int64_t sql(const std::string& statement) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, statement.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    int64_t value = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
  }

  static Result<EnqueueResult> send(Store& store, const Envelope& e) {
    std::promise<Result<EnqueueResult>> promise;
    auto future = promise.get_future();
    store.enqueue(e, [&promise](Result<EnqueueResult> r) { promise.set_value(std::move(r)); });
    return future.get();
  }

  TempDir dir_;
};

TEST_F(SqliteStoreTest, ReopenKeepsData) {
  Account a = make_account(1);
  Device d = make_device(1, a);
  Account b = make_account(2);
  Device e = make_device(2, b);
  uint64_t last_seq = 0;
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->create_account(a, d, std::nullopt, kNow));
    ASSERT_OK(store->create_account(b, e, std::nullopt, kNow));
    ASSERT_OK(store->put_session({bytes_of("tok"), a.id, d.id, kNow, kNow + kHour}));
    ASSERT_OK(store->add_key_packages(d.id, {bytes_of("kp1"), bytes_of("kp2")}, bytes_of("lr"),
                                      kStock, kNow));
    Envelope env;
    env.sender_device = e.id;
    env.message_id = bytes_of("m1");
    env.recipients = {d.id};
    env.payload = bytes_of("sealed");
    env.received_at = kNow;
    env.expires_at = kNow + kHour;
    env.commit = CommitOrder{bytes_of("group"), 3};
    auto sent = send(*store, env);
    ASSERT_OK(sent);
    last_seq = sent->deliveries[0].seq;
    ASSERT_OK(store->ack(d.id, {last_seq}));
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto account = store->account_by_username(a.username);
  ASSERT_OK(account);
  EXPECT_EQ(account->id, a.id);
  ASSERT_OK(store->session(bytes_of("tok")));
  auto kp = store->claim_key_package(d.id);
  ASSERT_OK(kp);
  EXPECT_EQ(*kp, bytes_of("kp1"));
  // The queue's counter, the group's epoch and the send record survived.
  Envelope next;
  next.sender_device = e.id;
  next.message_id = bytes_of("m2");
  next.recipients = {d.id};
  next.payload = bytes_of("x");
  next.received_at = kNow;
  next.expires_at = kNow + kHour;
  next.commit = CommitOrder{bytes_of("group"), 3};
  EXPECT_ERRC(send(*store, next), Errc::conflict);
  next.commit->epoch = 4;
  auto sent = send(*store, next);
  ASSERT_OK(sent);
  EXPECT_GT(sent->deliveries[0].seq, last_seq);
  next.message_id = bytes_of("m1");
  auto repeat = send(*store, next);
  ASSERT_OK(repeat);
  EXPECT_TRUE(repeat->repeat);
}

TEST_F(SqliteStoreTest, MigrationsAreIdempotent) {
  { ASSERT_NE(open(), nullptr); }
  const int64_t version = sql("SELECT MAX(version) FROM schema_migrations");
  const int64_t count = sql("SELECT COUNT(*) FROM schema_migrations");
  EXPECT_GE(version, 1);
  EXPECT_EQ(count, version);
  { ASSERT_NE(open(), nullptr); }
  { ASSERT_NE(open(), nullptr); }
  EXPECT_EQ(sql("SELECT COUNT(*) FROM schema_migrations"), count);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// Commit orders stored before they had a lifetime are kept until everything queued at the
// upgrade has expired: until then a queued message may be of one of their epochs.
TEST_F(SqliteStoreTest, CommitOrdersFromBeforeTheirLifetimeOutliveTheQueue) {
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    Account a = make_account(1);
    Device d = make_device(1, a);
    ASSERT_OK(store->create_account(a, d, std::nullopt, kNow));
    Envelope e = envelope(d, {d.id}, "m1", "sealed", 5 * kHour);
    e.commit = CommitOrder{bytes_of("group"), 3};
    ASSERT_OK(send(*store, e));
  }
  // The schema as migration 2 left it.
  sql("DROP INDEX commit_orders_by_expiry");
  sql("ALTER TABLE commit_orders DROP COLUMN expires_at");
  sql("DELETE FROM schema_migrations WHERE version = 3");
  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(sql("SELECT expires_at FROM commit_orders"), static_cast<int64_t>(kNow + 5 * kHour));
  ASSERT_OK(store->expire(kNow + 5 * kHour - 1));
  EXPECT_EQ(sql("SELECT COUNT(*) FROM commit_orders"), 1);
  ASSERT_OK(store->expire(kNow + 5 * kHour));
  EXPECT_EQ(sql("SELECT COUNT(*) FROM commit_orders"), 0);
}

TEST_F(SqliteStoreTest, RefusesNewerSchema) {
  { ASSERT_NE(open(), nullptr); }
  sql("INSERT INTO schema_migrations (version) VALUES (999)");
  SqliteOptions options;
  options.path = path();
  auto opened = open_sqlite_store(options);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code(), Errc::unsupported);
}

TEST_F(SqliteStoreTest, KeyDirectorySurvivesReopen) {
  auto open_directory = [](Store& store) {
    auto signing = crypto::Ed25519SigningKey::from_seed(Bytes(32, 1));
    auto vrf = crypto::VrfKeyPair::from_seed(Bytes(32, 2));
    EXPECT_TRUE(signing.ok() && vrf.ok());
    return kt::Directory::open(std::move(signing).value(), std::move(vrf).value(), store.kt_log(),
                               store.kt_directory());
  };
  auto opening = [](uint8_t n) { return SecureBytes(Bytes(kt::kOpeningSize, n)); };
  kt::SignedTreeHead head;
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    auto dir = open_directory(*store);
    ASSERT_OK(dir);
    ASSERT_OK(dir->stage(as_bytes("alice"), bytes_of("alice keys 1"), opening(1)));
    ASSERT_OK(dir->stage(as_bytes("bob"), bytes_of("bob keys 1"), opening(2)));
    ASSERT_OK(dir->publish(1'700'000'000));
    ASSERT_OK(dir->stage(as_bytes("alice"), bytes_of("alice keys 2"), opening(3)));
    auto published = dir->publish(1'700'000'060);
    ASSERT_OK(published);
    head = published->head;
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto dir = open_directory(*store);
  ASSERT_OK(dir);
  auto reopened = dir->head();
  ASSERT_OK(reopened);
  EXPECT_EQ(*reopened, head);
  auto versions = store->kt_directory().versions(as_bytes("alice"));
  ASSERT_OK(versions);
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[1].value, bytes_of("alice keys 2"));
  EXPECT_TRUE((*versions)[1].opening == opening(3));
  auto audit = dir->audit(2);
  ASSERT_OK(audit);
  EXPECT_EQ(audit->new_head, head);
  auto lookup = dir->lookup(as_bytes("alice"), 0);
  ASSERT_OK(lookup);
  // The directory keeps publishing where it left off.
  ASSERT_OK(dir->stage(as_bytes("carol"), bytes_of("carol keys 1"), opening(4)));
  auto third = dir->publish(1'700'000'120);
  ASSERT_OK(third);
  EXPECT_EQ(third->head.epoch, 3u);
}

TEST_F(SqliteStoreTest, LogNodesOfAnUnstoredEpochAreDroppedAtOpen) {
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    // As if a publish had appended its log leaf and crashed before storing the epoch.
    kt::Hash h{};
    std::vector<kt::StoredNode> leaf{{{0, 0}, h}};
    ASSERT_OK(store->kt_log().append(leaf));
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto leaves = store->kt_log().leaf_count();
  ASSERT_OK(leaves);
  EXPECT_EQ(*leaves, 0u);
}

TEST_F(SqliteStoreTest, ConcurrentEnqueuesAreDurable) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  Account a = make_account(1);
  Device sender = make_device(1, a);
  Device recipient = make_device(2, a, kNow + 1);
  std::vector<uint64_t> seqs;
  {
    auto store = open(/*max_batch=*/16);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->create_account(a, sender, std::nullopt, kNow));
    ASSERT_OK(store->add_device(recipient));
    std::mutex mu;
    std::atomic<int> failures{0};
    std::atomic<int> pending{kThreads * kPerThread};
    std::promise<void> all_done;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          Envelope e;
          e.sender_device = sender.id;
          e.message_id = bytes_of("t" + std::to_string(t) + "/" + std::to_string(i));
          e.recipients = {recipient.id};
          e.payload = Bytes(1024, static_cast<uint8_t>(t));
          e.received_at = kNow;
          e.expires_at = kNow + kHour;
          store->enqueue(std::move(e), [&](Result<EnqueueResult> r) {
            if (r.ok() && r->deliveries.size() == 1) {
              std::lock_guard lock(mu);
              seqs.push_back(r->deliveries[0].seq);
            } else {
              ++failures;
            }
            if (--pending == 0) all_done.set_value();
          });
        }
      });
    }
    for (auto& t : threads) t.join();
    all_done.get_future().wait();
    EXPECT_EQ(failures.load(), 0);
  }
  ASSERT_EQ(seqs.size(), size_t{kThreads * kPerThread});
  std::set<uint64_t> distinct(seqs.begin(), seqs.end());
  EXPECT_EQ(distinct.size(), seqs.size());
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto messages = store->fetch(recipient.id, 0, kThreads * kPerThread + 10, kNow);
  ASSERT_OK(messages);
  ASSERT_EQ(messages->size(), seqs.size());
  std::set<uint64_t> stored;
  for (const StoredMessage& m : *messages) stored.insert(m.seq);
  EXPECT_EQ(stored, distinct);
}

TEST_F(SqliteStoreTest, OneFailingJobDoesNotSpoilItsBatch) {
  Account a = make_account(1);
  Device sender = make_device(1, a);
  auto store = open(/*max_batch=*/64);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->create_account(a, sender, std::nullopt, kNow));
  // Many enqueues at once, every third to a device that does not exist.
  constexpr int kCount = 60;
  std::vector<std::promise<Result<EnqueueResult>>> promises(kCount);
  for (int i = 0; i < kCount; ++i) {
    Envelope e;
    e.sender_device = sender.id;
    e.message_id = bytes_of("m" + std::to_string(i));
    e.recipients = {i % 3 == 0 ? make_id(2, 99) : sender.id};
    e.payload = bytes_of("note to self");
    e.received_at = kNow;
    e.expires_at = kNow + kHour;
    store->enqueue(std::move(e), [&promises, i](Result<EnqueueResult> r) {
      promises[static_cast<size_t>(i)].set_value(std::move(r));
    });
  }
  int ok = 0;
  for (int i = 0; i < kCount; ++i) {
    auto r = promises[static_cast<size_t>(i)].get_future().get();
    if (i % 3 == 0) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code(), Errc::not_found);
    } else {
      ASSERT_OK(r);
      ++ok;
    }
  }
  auto q = store->queue_stats(sender.id);
  ASSERT_OK(q);
  EXPECT_EQ(q->count, static_cast<uint64_t>(ok));
}

TEST_F(SqliteStoreTest, DoneMayWriteAgain) {
  Account a = make_account(1);
  Device d = make_device(1, a);
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->create_account(a, d, std::nullopt, kNow));
  Envelope e;
  e.sender_device = d.id;
  e.message_id = bytes_of("m");
  e.recipients = {d.id};
  e.payload = bytes_of("x");
  e.received_at = kNow;
  e.expires_at = kNow + kHour;
  std::promise<Result<uint64_t>> acked;
  store->enqueue(e, [&](Result<EnqueueResult> r) {
    // On the writer thread: a synchronous write from here must not wait for itself.
    acked.set_value(r.ok() ? store->ack(d.id, {r->deliveries[0].seq})
                           : Result<uint64_t>(Error(Errc::internal, "enqueue failed")));
  });
  auto n = acked.get_future().get();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1u);
}

}  // namespace
}  // namespace sotto::store
