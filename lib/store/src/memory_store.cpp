// The in-memory Store: the same semantics as the SQLite one, for unit tests of the code above
// it. One mutex guards every table, so each method is trivially one transaction.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "key_package_stock.h"
#include "kt_locked_stores.h"
#include "sotto/store/store.h"

namespace sotto::store {
namespace {

struct DeviceRow {
  Device device;
  uint64_t order = 0;  // insertion order breaks created_at ties, as a rowid does
};

struct KeyPackages {
  std::deque<Bytes> one_time;  // oldest first
  std::optional<Bytes> last_resort;
};

struct Queue {
  std::map<uint64_t, StoredMessage> messages;
  uint64_t next_seq = 1;  // never reused, even after the messages are acknowledged
  uint64_t bytes = 0;
};

struct CommitRecord {
  uint64_t next_epoch = 0;
  uint64_t expires_at = 0;  // that of the group's newest commit
};

struct SendRecord {
  uint64_t accepted_at = 0;
  uint64_t expires_at = 0;
};

using CodeKey = std::pair<Bytes, CodePurpose>;
using SendKey = std::pair<Bytes, Bytes>;  // sender device, message id

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(Limits limits) : limits_(limits) {}

  Result<void> create_account(const Account& account, const Device& device,
                              const std::optional<Bytes>& invite_code_hash, uint64_t now) override {
    std::lock_guard lock(mu_);
    if (device.account_id != account.id) {
      return Error(Errc::invalid_argument, "create account: the device belongs to another account");
    }
    if (accounts_.contains(account.id)) {
      return Error(Errc::already_exists, "create account: the account id is taken");
    }
    if (usernames_.contains(account.username)) {
      return Error(Errc::already_exists, "create account: the username is taken");
    }
    if (emails_.contains(account.email)) {
      return Error(Errc::already_exists, "create account: the e-mail address is taken");
    }
    SOTTO_TRY_CTX(check_new_device(device), "create account");
    Invite* invite = nullptr;
    if (invite_code_hash) {
      auto it = invites_.find(*invite_code_hash);
      if (it == invites_.end()) return Error(Errc::not_found, "create account: no such invite");
      if (it->second.uses_left == 0 || it->second.expires_at <= now) {
        return Error(Errc::expired, "create account: the invite is used up or expired");
      }
      invite = &it->second;
    }
    // Every check passed: from here on nothing fails.
    if (invite != nullptr) --invite->uses_left;
    accounts_[account.id] = account;
    usernames_[account.username] = account.id;
    emails_[account.email] = account.id;
    insert_device(device);
    return success();
  }

  Result<Account> account(BytesView account_id) override {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(to_bytes(account_id));
    if (it == accounts_.end()) return Error(Errc::not_found, "no such account");
    return it->second;
  }

  Result<Account> account_by_username(std::string_view username) override {
    std::lock_guard lock(mu_);
    auto it = usernames_.find(std::string(username));
    if (it == usernames_.end()) return Error(Errc::not_found, "no account with that username");
    return accounts_.at(it->second);
  }

  Result<void> update_account(const Account& account) override {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(account.id);
    if (it == accounts_.end()) return Error(Errc::not_found, "update account: no such account");
    Account& stored = it->second;
    if (account.email != stored.email) {
      if (emails_.contains(account.email)) {
        return Error(Errc::already_exists, "update account: the e-mail address is taken");
      }
      emails_.erase(stored.email);
      emails_[account.email] = account.id;
    }
    stored.email = account.email;
    stored.email_verified = account.email_verified;
    stored.display_name = account.display_name;
    stored.phone = account.phone;
    stored.password_hash = account.password_hash;
    return success();
  }

  Result<Erasure> erase_account(BytesView account_id) override {
    std::lock_guard lock(mu_);
    const Bytes id = to_bytes(account_id);
    auto it = accounts_.find(id);
    if (it == accounts_.end()) return Error(Errc::not_found, "erase account: no such account");
    Erasure erasure;
    for (const Device& d : devices_of(id)) {
      erasure.devices.push_back(d.id);
      remove_device(d.id);
    }
    std::erase_if(sessions_, [&](const auto& s) { return s.second.account_id == id; });
    std::erase_if(codes_, [&](const auto& c) { return c.first.first == id; });
    for (auto f = files_.begin(); f != files_.end();) {
      if (f->second.owner == id) {
        erasure.files.push_back(f->first);
        f = files_.erase(f);
      } else {
        ++f;
      }
    }
    usernames_.erase(it->second.username);
    emails_.erase(it->second.email);
    accounts_.erase(it);
    return erasure;
  }

  Result<void> add_device(const Device& device) override {
    std::lock_guard lock(mu_);
    if (!accounts_.contains(device.account_id)) {
      return Error(Errc::not_found, "add device: no such account");
    }
    SOTTO_TRY_CTX(check_new_device(device), "add device");
    insert_device(device);
    return success();
  }

  Result<Device> device(BytesView device_id) override {
    std::lock_guard lock(mu_);
    auto it = devices_.find(to_bytes(device_id));
    if (it == devices_.end()) return Error(Errc::not_found, "no such device");
    return it->second.device;
  }

  Result<std::vector<Device>> devices(BytesView account_id) override {
    std::lock_guard lock(mu_);
    return devices_of(to_bytes(account_id));
  }

  Result<void> delete_device(BytesView device_id) override {
    std::lock_guard lock(mu_);
    const Bytes id = to_bytes(device_id);
    if (!devices_.contains(id)) return Error(Errc::not_found, "delete device: no such device");
    remove_device(id);
    return success();
  }

  Result<void> touch_device(BytesView device_id, uint64_t day) override {
    std::lock_guard lock(mu_);
    auto it = devices_.find(to_bytes(device_id));
    if (it == devices_.end()) return Error(Errc::not_found, "touch device: no such device");
    it->second.device.last_seen = day;
    return success();
  }

  Result<void> put_session(const Session& session) override {
    std::lock_guard lock(mu_);
    auto it = devices_.find(session.device_id);
    if (it == devices_.end() || it->second.device.account_id != session.account_id) {
      return Error(Errc::not_found, "put session: no such device in that account");
    }
    sessions_[session.token_hash] = session;
    return success();
  }

  Result<Session> session(BytesView token_hash) override {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(to_bytes(token_hash));
    if (it == sessions_.end()) return Error(Errc::not_found, "no such session");
    return it->second;
  }

  Result<void> delete_session(BytesView token_hash) override {
    std::lock_guard lock(mu_);
    sessions_.erase(to_bytes(token_hash));
    return success();
  }

  Result<std::vector<Session>> sessions(BytesView account_id) override {
    std::lock_guard lock(mu_);
    const Bytes id = to_bytes(account_id);
    std::vector<Session> out;
    for (const auto& [hash, s] : sessions_) {
      if (s.account_id == id) out.push_back(s);
    }
    std::stable_sort(out.begin(), out.end(), [](const Session& a, const Session& b) {
      return a.created_at < b.created_at;
    });
    return out;
  }

  Result<void> delete_sessions(BytesView account_id) override {
    std::lock_guard lock(mu_);
    const Bytes id = to_bytes(account_id);
    std::erase_if(sessions_, [&](const auto& s) { return s.second.account_id == id; });
    return success();
  }

  Result<void> put_code(const OneTimeCode& code) override {
    std::lock_guard lock(mu_);
    if (!accounts_.contains(code.account_id)) {
      return Error(Errc::not_found, "put code: no such account");
    }
    codes_[CodeKey{code.account_id, code.purpose}] = code;
    return success();
  }

  Result<OneTimeCode> code(BytesView account_id, CodePurpose purpose) override {
    std::lock_guard lock(mu_);
    auto it = codes_.find(CodeKey{to_bytes(account_id), purpose});
    if (it == codes_.end()) return Error(Errc::not_found, "no such code");
    return it->second;
  }

  Result<void> count_code_attempt(BytesView account_id, CodePurpose purpose) override {
    std::lock_guard lock(mu_);
    auto it = codes_.find(CodeKey{to_bytes(account_id), purpose});
    if (it == codes_.end()) return Error(Errc::not_found, "count code attempt: no such code");
    ++it->second.attempts;
    return success();
  }

  Result<void> delete_code(BytesView account_id, CodePurpose purpose) override {
    std::lock_guard lock(mu_);
    codes_.erase(CodeKey{to_bytes(account_id), purpose});
    return success();
  }

  Result<void> put_invite(const Invite& invite) override {
    std::lock_guard lock(mu_);
    invites_[invite.code_hash] = invite;
    return success();
  }

  Result<KeyPackageStock> add_key_packages(BytesView device_id,
                                           const std::vector<Bytes>& key_packages,
                                           const std::optional<Bytes>& last_resort,
                                           uint64_t max_stock, uint64_t /*now*/) override {
    std::lock_guard lock(mu_);
    const Bytes id = to_bytes(device_id);
    if (!devices_.contains(id)) return Error(Errc::not_found, "add key packages: no such device");
    SOTTO_TRY(check_key_package_stock(stock_of(id).count, key_packages.size(), max_stock));
    KeyPackages& kp = key_packages_[id];
    kp.one_time.insert(kp.one_time.end(), key_packages.begin(), key_packages.end());
    if (last_resort) kp.last_resort = *last_resort;
    return stock_of(id);
  }

  Result<Bytes> claim_key_package(BytesView device_id) override {
    std::lock_guard lock(mu_);
    auto it = key_packages_.find(to_bytes(device_id));
    if (it != key_packages_.end()) {
      KeyPackages& kp = it->second;
      if (!kp.one_time.empty()) {
        Bytes out = std::move(kp.one_time.front());
        kp.one_time.pop_front();
        return out;
      }
      if (kp.last_resort) return *kp.last_resort;
    }
    return Error(Errc::not_found, "claim key package: the device has none");
  }

  Result<KeyPackageStock> key_package_stock(BytesView device_id) override {
    std::lock_guard lock(mu_);
    const Bytes id = to_bytes(device_id);
    if (!devices_.contains(id)) return Error(Errc::not_found, "key package stock: no such device");
    return stock_of(id);
  }

  void enqueue(Envelope envelope, EnqueueDone done) override {
    Result<EnqueueResult> result = Error(Errc::internal, "unset");
    {
      std::lock_guard lock(mu_);
      result = enqueue_locked(envelope);
    }
    // Outside the lock, so that the callback may call back into the store.
    done(std::move(result));
  }

  Result<std::vector<StoredMessage>> fetch(BytesView device_id, uint64_t after_seq, uint32_t limit,
                                           uint64_t now) override {
    std::lock_guard lock(mu_);
    std::vector<StoredMessage> out;
    auto it = queues_.find(to_bytes(device_id));
    if (it == queues_.end()) return out;
    for (auto m = it->second.messages.upper_bound(after_seq);
         m != it->second.messages.end() && out.size() < limit; ++m) {
      if (m->second.expires_at > now) out.push_back(m->second);
    }
    return out;
  }

  Result<uint64_t> ack(BytesView device_id, const std::vector<uint64_t>& seqs) override {
    std::lock_guard lock(mu_);
    auto it = queues_.find(to_bytes(device_id));
    if (it == queues_.end()) return uint64_t{0};
    uint64_t removed = 0;
    for (uint64_t seq : seqs) {
      auto m = it->second.messages.find(seq);
      if (m == it->second.messages.end()) continue;
      it->second.bytes -= m->second.payload.size();
      it->second.messages.erase(m);
      ++removed;
    }
    return removed;
  }

  Result<QueueStats> queue_stats(BytesView device_id) override {
    std::lock_guard lock(mu_);
    auto it = queues_.find(to_bytes(device_id));
    if (it == queues_.end()) return QueueStats{};
    return QueueStats{it->second.messages.size(), it->second.bytes};
  }

  Result<void> put_file(const FileRecord& file, uint64_t quota_bytes) override {
    std::lock_guard lock(mu_);
    if (!accounts_.contains(file.owner)) return Error(Errc::not_found, "put file: no such account");
    if (files_.contains(file.id)) return Error(Errc::already_exists, "put file: the id is taken");
    uint64_t used = 0;
    for (const auto& [id, f] : files_) {
      if (f.owner == file.owner) used += f.size;
    }
    if (file.size > quota_bytes || used > quota_bytes - file.size) {
      return Error(Errc::quota_exceeded, "put file: over the account's storage quota");
    }
    files_[file.id] = file;
    return success();
  }

  Result<FileRecord> file(BytesView file_id) override {
    std::lock_guard lock(mu_);
    auto it = files_.find(to_bytes(file_id));
    if (it == files_.end()) return Error(Errc::not_found, "no such file");
    return it->second;
  }

  Result<void> delete_file(BytesView file_id) override {
    std::lock_guard lock(mu_);
    if (files_.erase(to_bytes(file_id)) == 0) {
      return Error(Errc::not_found, "delete file: no such file");
    }
    return success();
  }

  Result<std::vector<FileRecord>> files(BytesView account_id) override {
    std::lock_guard lock(mu_);
    const Bytes id = to_bytes(account_id);
    std::vector<FileRecord> out;
    for (const auto& [fid, f] : files_) {
      if (f.owner == id) out.push_back(f);
    }
    std::stable_sort(out.begin(), out.end(), [](const FileRecord& a, const FileRecord& b) {
      return a.created_at < b.created_at;
    });
    return out;
  }

  Result<void> put_push_subscription(const PushSubscription& subscription) override {
    std::lock_guard lock(mu_);
    if (!devices_.contains(subscription.device_id)) {
      return Error(Errc::not_found, "put push subscription: no such device");
    }
    push_[subscription.device_id] = subscription;
    return success();
  }

  Result<PushSubscription> push_subscription(BytesView device_id) override {
    std::lock_guard lock(mu_);
    auto it = push_.find(to_bytes(device_id));
    if (it == push_.end()) return Error(Errc::not_found, "no push subscription for the device");
    return it->second;
  }

  Result<void> delete_push_subscription(BytesView device_id) override {
    std::lock_guard lock(mu_);
    push_.erase(to_bytes(device_id));
    return success();
  }

  Result<std::vector<FileRecord>> expire(uint64_t now) override {
    std::lock_guard lock(mu_);
    for (auto& [id, q] : queues_) {
      for (auto m = q.messages.begin(); m != q.messages.end();) {
        if (m->second.expires_at <= now) {
          q.bytes -= m->second.payload.size();
          m = q.messages.erase(m);
        } else {
          ++m;
        }
      }
    }
    std::erase_if(sessions_, [&](const auto& s) { return s.second.expires_at <= now; });
    std::erase_if(codes_, [&](const auto& c) { return c.second.expires_at <= now; });
    std::erase_if(invites_, [&](const auto& i) { return i.second.expires_at <= now; });
    std::erase_if(sends_, [&](const auto& s) { return s.second.expires_at <= now; });
    std::erase_if(commits_, [&](const auto& c) { return c.second.expires_at <= now; });
    std::vector<FileRecord> expired;
    for (auto f = files_.begin(); f != files_.end();) {
      if (f->second.expires_at <= now) {
        expired.push_back(f->second);
        f = files_.erase(f);
      } else {
        ++f;
      }
    }
    return expired;
  }

  Result<Stats> stats() override {
    std::lock_guard lock(mu_);
    Stats s;
    s.accounts = accounts_.size();
    s.devices = devices_.size();
    for (const auto& [id, q] : queues_) {
      s.queued_messages += q.messages.size();
      s.queued_bytes += q.bytes;
    }
    s.files = files_.size();
    for (const auto& [id, f] : files_) s.file_bytes += f.size;
    return s;
  }

  kt::LogStore& kt_log() override { return kt_log_; }
  kt::DirectoryStore& kt_directory() override { return kt_directory_; }

 private:
  Result<void> check_new_device(const Device& device) const {
    if (devices_.contains(device.id)) return Error(Errc::already_exists, "the device id is taken");
    if (signature_keys_.contains(device.signature_key)) {
      return Error(Errc::already_exists, "the device key is registered already");
    }
    return success();
  }

  void insert_device(const Device& device) {
    devices_[device.id] = DeviceRow{device, next_device_order_++};
    signature_keys_.insert(device.signature_key);
  }

  // Removes the device and everything that hangs off it (what ON DELETE CASCADE does in SQL).
  void remove_device(const Bytes& id) {
    auto it = devices_.find(id);
    if (it == devices_.end()) return;
    signature_keys_.erase(it->second.device.signature_key);
    devices_.erase(it);
    std::erase_if(sessions_, [&](const auto& s) { return s.second.device_id == id; });
    key_packages_.erase(id);
    queues_.erase(id);
    push_.erase(id);
    std::erase_if(sends_, [&](const auto& s) { return s.first.first == id; });
  }

  std::vector<Device> devices_of(const Bytes& account_id) const {
    std::vector<const DeviceRow*> rows;
    for (const auto& [id, row] : devices_) {
      if (row.device.account_id == account_id) rows.push_back(&row);
    }
    std::sort(rows.begin(), rows.end(), [](const DeviceRow* a, const DeviceRow* b) {
      return std::pair(a->device.created_at, a->order) < std::pair(b->device.created_at, b->order);
    });
    std::vector<Device> out;
    out.reserve(rows.size());
    for (const DeviceRow* r : rows) out.push_back(r->device);
    return out;
  }

  KeyPackageStock stock_of(const Bytes& device_id) const {
    auto it = key_packages_.find(device_id);
    if (it == key_packages_.end()) return {};
    return {static_cast<uint32_t>(it->second.one_time.size()), it->second.last_resort.has_value()};
  }

  Result<EnqueueResult> enqueue_locked(const Envelope& e) {
    if (e.recipients.empty()) return Error(Errc::invalid_argument, "enqueue: no recipients");
    const SendKey send_key{e.sender_device, e.message_id};
    // A repeat is answered before the commit check: the first copy moved the group's epoch on,
    // and the retry must see the success it missed, not a conflict.
    if (auto it = sends_.find(send_key);
        it != sends_.end() && it->second.expires_at > e.received_at) {
      EnqueueResult repeat;
      repeat.accepted_at = it->second.accepted_at;
      repeat.repeat = true;
      return repeat;
    }
    if (!devices_.contains(e.sender_device)) {
      return Error(Errc::not_found, "enqueue: the sending device does not exist");
    }
    if (e.commit) {
      auto it = commits_.find(e.commit->group_hash);
      if (it != commits_.end() && it->second.next_epoch != e.commit->epoch) {
        return Error(Errc::conflict, "enqueue: the commit is not for the group's next epoch (" +
                                         std::to_string(it->second.next_epoch) + ")");
      }
    }
    std::set<Bytes> seen;
    for (const Id& r : e.recipients) {
      if (!seen.insert(r).second) {
        return Error(Errc::invalid_argument, "enqueue: a recipient appears twice");
      }
      if (!devices_.contains(r))
        return Error(Errc::not_found, "enqueue: a recipient is not a device");
      auto q = queues_.find(r);
      const uint64_t count = q == queues_.end() ? 0 : q->second.messages.size();
      const uint64_t bytes = q == queues_.end() ? 0 : q->second.bytes;
      if (count + 1 > limits_.max_queue_messages ||
          bytes + e.payload.size() > limits_.max_queue_bytes) {
        return Error(Errc::quota_exceeded, "enqueue: a recipient's queue is full");
      }
    }
    EnqueueResult result;
    result.accepted_at = e.received_at;
    for (const Id& r : e.recipients) {
      Queue& q = queues_[r];
      const uint64_t seq = q.next_seq++;
      q.messages[seq] = StoredMessage{seq, e.received_at, e.expires_at, e.payload};
      q.bytes += e.payload.size();
      result.deliveries.push_back(Delivery{r, seq});
    }
    if (e.commit) {
      CommitRecord& order = commits_[e.commit->group_hash];
      order.next_epoch = e.commit->epoch + 1;
      order.expires_at = std::max(order.expires_at, e.expires_at);
    }
    sends_[send_key] = SendRecord{e.received_at, e.expires_at};
    return result;
  }

  const Limits limits_;
  std::mutex mu_;
  std::map<Bytes, Account> accounts_;
  std::map<std::string, Bytes, std::less<>> usernames_;
  std::map<std::string, Bytes, std::less<>> emails_;
  std::map<Bytes, DeviceRow> devices_;
  std::set<Bytes> signature_keys_;
  uint64_t next_device_order_ = 0;
  std::map<Bytes, Session> sessions_;
  std::map<CodeKey, OneTimeCode> codes_;
  std::map<Bytes, Invite> invites_;
  std::map<Bytes, KeyPackages> key_packages_;
  std::map<Bytes, Queue> queues_;
  std::map<Bytes, CommitRecord> commits_;  // by group hash
  std::map<SendKey, SendRecord> sends_;
  std::map<Bytes, FileRecord> files_;
  std::map<Bytes, PushSubscription> push_;
  LockedLogStore<kt::MemoryLogStore> kt_log_;
  LockedDirectoryStore<kt::MemoryDirectoryStore> kt_directory_;
};

}  // namespace

std::unique_ptr<Store> make_memory_store(Limits limits) {
  return std::make_unique<MemoryStore>(limits);
}

}  // namespace sotto::store
