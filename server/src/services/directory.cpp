#include "services/directory.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>

#include "server_state.h"
#include "services/accounts.h"
#include "sotto/crypto/primitives.h"
#include "sotto/crypto/vrf.h"
#include "sotto/proto/directory_value.h"
#include "sotto/store/store.h"

namespace sotto::server {
namespace {

namespace fs = std::filesystem;

constexpr size_t kSeedSize = 32;

using Clock = std::chrono::system_clock;

uint64_t unix_seconds(Clock::time_point t) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

Error io_error(const std::string& what, const fs::path& path) {
  return Error(Errc::internal, what + " " + path.string() + ": " + std::strerror(errno));
}

// Writes `bytes` to `path` with mode 0600 so that a crash leaves either no file or the whole
// one: a temporary file, fsync, rename, fsync of the directory.
Result<void> write_secret_file(const fs::path& path, BytesView bytes) {
  fs::path tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", tmp);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return io_error("cannot write", tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return io_error("cannot sync", tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error("cannot rename", tmp);
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return success();
}

// The seed in `path`, made if the file does not exist.
Result<SecureBytes> load_or_create_seed(const fs::path& path, bool& created) {
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SecureBytes seed(BytesView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    secure_wipe(text.data(), text.size());
    if (seed.size() != kSeedSize) {
      return Error(Errc::internal, "the key file " + path.string() + " does not hold 32 bytes");
    }
    return seed;
  }
  created = true;
  SecureBytes seed = crypto::random_secret(kSeedSize);
  SOTTO_TRY(write_secret_file(path, seed.view()));
  return seed;
}

Result<kt::Directory> open_directory(const SecureBytes& signing_seed, const SecureBytes& vrf_seed,
                                     store::Store& store) {
  SOTTO_TRY_ASSIGN(auto signing, crypto::Ed25519SigningKey::from_seed(signing_seed.view()));
  SOTTO_TRY_ASSIGN(auto vrf, crypto::VrfKeyPair::from_seed(vrf_seed.view()));
  return kt::Directory::open(std::move(signing), std::move(vrf), store.kt_log(),
                             store.kt_directory());
}

// Answers `reply` with an error when the server runs without a directory.
KeyDirectory* directory_or_fail(ServerState& state, Reply& reply) {
  KeyDirectory* d = state.directory();
  if (!d) reply(Error(Errc::unavailable, "this server has no key directory"));
  return d;
}

}  // namespace

Result<std::unique_ptr<KeyDirectory>> KeyDirectory::open(const fs::path& data_dir,
                                                         store::Store& store) {
  fs::path dir = data_dir / "kt";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(Errc::internal, "cannot create " + dir.string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, ec);
  bool created = false;
  SOTTO_TRY_ASSIGN(auto signing_seed, load_or_create_seed(dir / "signing.key", created));
  SOTTO_TRY_ASSIGN(auto vrf_seed, load_or_create_seed(dir / "vrf.key", created));
  if (created) spdlog::info("key directory: made new signing and VRF keys");
  SOTTO_TRY_ASSIGN(auto directory, open_directory(signing_seed, vrf_seed, store));
  // The age of the heads counts from the newest one's timestamp, across restarts.
  Clock::time_point last_epoch = Clock::now();
  if (auto head = directory.head()) {
    last_epoch = Clock::time_point(std::chrono::seconds(head->timestamp));
  }
  return std::unique_ptr<KeyDirectory>(new KeyDirectory(
      std::move(signing_seed), std::move(vrf_seed), store, std::move(directory), last_epoch));
}

Bytes KeyDirectory::signing_public_key() const {
  std::lock_guard lock(mutex_);
  return directory_.signing_public_key();
}

Bytes KeyDirectory::vrf_public_key() const {
  std::lock_guard lock(mutex_);
  return directory_.vrf_public_key();
}

void KeyDirectory::reopen() {
  auto again = open_directory(signing_seed_, vrf_seed_, *store_);
  if (again) {
    directory_ = std::move(*again);
  } else {
    spdlog::error("key directory: cannot reopen after a failed publish: {}",
                  again.error().to_string());
  }
}

Result<void> KeyDirectory::publish(BytesView label,
                                   const std::function<Result<Bytes>()>& make_value) {
  std::lock_guard lock(mutex_);
  SOTTO_TRY_ASSIGN(auto value, make_value());
  SOTTO_TRY(directory_.stage(label, value, crypto::random_secret(kt::kOpeningSize)));
  SOTTO_TRY(publish_staged(Clock::now()));
  return success();
}

Result<KeyDirectory::Refresh> KeyDirectory::refresh(Clock::time_point now,
                                                    std::chrono::seconds interval) {
  std::lock_guard lock(mutex_);
  Refresh out;
  const auto due = last_epoch_ + interval;
  if (now >= last_epoch_ && now < due) {
    out.next_due = std::chrono::ceil<std::chrono::milliseconds>(due - now);
    return out;
  }
  SOTTO_TRY_ASSIGN(out.published, publish_staged(now));
  out.next_due = interval;
  return out;
}

Result<uint64_t> KeyDirectory::publish_staged(Clock::time_point now) {
  auto published = directory_.publish(unix_seconds(now));
  if (!published) {
    reopen();
    return std::move(published).error().with_context("key directory publish");
  }
  last_epoch_ = now;
  return published->head.epoch;
}

Result<Bytes> KeyDirectory::head() const {
  std::lock_guard lock(mutex_);
  SOTTO_TRY_ASSIGN(auto head, directory_.head());
  return tls::encode(head);
}

Result<Bytes> KeyDirectory::lookup(BytesView label, uint64_t known_log_size) const {
  std::lock_guard lock(mutex_);
  SOTTO_TRY_ASSIGN(auto proof, directory_.lookup(label, known_log_size));
  return tls::encode(proof);
}

Result<Bytes> KeyDirectory::history(BytesView label, uint64_t known_log_size) const {
  std::lock_guard lock(mutex_);
  SOTTO_TRY_ASSIGN(auto proof, directory_.history(label, known_log_size));
  return tls::encode(proof);
}

Result<std::vector<Bytes>> KeyDirectory::consistency(uint64_t old_size, uint64_t new_size) const {
  std::lock_guard lock(mutex_);
  return directory_.consistency(old_size, new_size);
}

Result<Bytes> KeyDirectory::audit(uint64_t epoch) const {
  std::lock_guard lock(mutex_);
  SOTTO_TRY_ASSIGN(auto audit, directory_.audit(epoch));
  return tls::encode(audit);
}

Bytes directory_label(std::string_view username) {
  return Bytes(username.begin(), username.end());
}

Result<void> publish_account(ServerState& state, std::string_view username, BytesView account_id) {
  KeyDirectory* d = state.directory();
  if (!d) return success();  // service tests without a directory
  store::Store& store = state.store();
  Bytes id(account_id.begin(), account_id.end());
  return d->publish(directory_label(username), [&store, &id]() -> Result<Bytes> {
    SOTTO_TRY_ASSIGN(auto devices, store.devices(id));
    proto::DirectoryValue value;
    for (auto& device : devices) {
      value.devices.push_back({std::move(device.id), std::move(device.signature_key)});
    }
    return tls::encode(value);
  });
}

Result<void> tombstone_account(ServerState& state, std::string_view username) {
  KeyDirectory* d = state.directory();
  if (!d) return success();
  return d->publish(directory_label(username), [] { return Result<Bytes>(Bytes{}); });
}

void handle_kt_head(ServerState& state, Reply reply) {
  KeyDirectory* d = directory_or_fail(state, reply);
  if (!d) return;
  auto head = d->head();
  if (!head) return reply(std::move(head).error());
  reply(proto::ResponseBody(proto::KtHeadResponse{std::move(*head)}));
}

void handle_kt_lookup(ServerState& state, proto::KtLookup request, Reply reply) {
  KeyDirectory* d = directory_or_fail(state, reply);
  if (!d) return;
  auto username = normalize_username(request.username);
  if (!username) return reply(std::move(username).error());
  auto proof = d->lookup(directory_label(*username), request.known_log_size);
  if (!proof) return reply(std::move(proof).error());
  reply(proto::ResponseBody(proto::KtProofResponse{std::move(*proof)}));
}

void handle_kt_history(ServerState& state, proto::KtHistory request, Reply reply) {
  KeyDirectory* d = directory_or_fail(state, reply);
  if (!d) return;
  auto username = normalize_username(request.username);
  if (!username) return reply(std::move(username).error());
  auto proof = d->history(directory_label(*username), request.known_log_size);
  if (!proof) return reply(std::move(proof).error());
  reply(proto::ResponseBody(proto::KtProofResponse{std::move(*proof)}));
}

void handle_kt_consistency(ServerState& state, proto::KtConsistency request, Reply reply) {
  KeyDirectory* d = directory_or_fail(state, reply);
  if (!d) return;
  auto hashes = d->consistency(request.old_size, request.new_size);
  if (!hashes) return reply(std::move(hashes).error());
  reply(proto::ResponseBody(proto::KtHashesResponse{std::move(*hashes)}));
}

void handle_kt_audit(ServerState& state, proto::KtAudit request, Reply reply) {
  KeyDirectory* d = directory_or_fail(state, reply);
  if (!d) return;
  auto audit = d->audit(request.epoch);
  if (!audit) return reply(std::move(audit).error());
  reply(proto::ResponseBody(proto::KtProofResponse{std::move(*audit)}));
}

}  // namespace sotto::server
