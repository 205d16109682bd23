// The server's key directory (key transparency): username -> the account's device signature
// keys, published in signed epochs that clients verify (lib/kt). Its Ed25519 signing key and
// VRF key are made on first start and kept in DATA_DIR/kt/; clients pin their public keys.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "services/service.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/kt/directory.h"

namespace sotto::store {
class Store;
}

namespace sotto::server {

class KeyDirectory {
 public:
  // Loads (or makes) the keys in `data_dir`/kt and opens the directory the store holds.
  static Result<std::unique_ptr<KeyDirectory>> open(const std::filesystem::path& data_dir,
                                                    store::Store& store);

  Bytes signing_public_key() const;
  Bytes vrf_public_key() const;

  // Stages the value `make_value` returns for `label` and publishes an epoch, all under the
  // directory's lock, so that the value read from the store is the newest when published.
  Result<void> publish(BytesView label, const std::function<Result<Bytes>()>& make_value);

  // What refresh() did.
  struct Refresh {
    std::optional<uint64_t> published;      // the empty epoch, when one was due
    std::chrono::milliseconds next_due{0};  // until the next one is
  };
  // Keeps heads fresh for clients that limit their age (kt::VerifierPolicy::max_head_age):
  // when no epoch was published for `interval` before `now` (counted from the newest head's
  // timestamp, or from opening when there is none), publishes an empty one, a new signed head
  // over the unchanged versions, stored like any other. Also when the newest head is dated
  // after `now` (the clock went back), so that clients are not left with it.
  Result<Refresh> refresh(std::chrono::system_clock::time_point now, std::chrono::seconds interval);

  // TLS-encoded kt structures for the protocol's answers.
  Result<Bytes> head() const;
  Result<Bytes> lookup(BytesView label, uint64_t known_log_size) const;
  Result<Bytes> history(BytesView label, uint64_t known_log_size) const;
  Result<std::vector<Bytes>> consistency(uint64_t old_size, uint64_t new_size) const;
  Result<Bytes> audit(uint64_t epoch) const;

 private:
  KeyDirectory(SecureBytes signing_seed, SecureBytes vrf_seed, store::Store& store,
               kt::Directory directory, std::chrono::system_clock::time_point last_epoch)
      : signing_seed_(std::move(signing_seed)),
        vrf_seed_(std::move(vrf_seed)),
        store_(&store),
        directory_(std::move(directory)),
        last_epoch_(last_epoch) {}
  // Publishes what is staged as the next epoch, at `now`; the caller holds the lock.
  Result<uint64_t> publish_staged(std::chrono::system_clock::time_point now);
  // After a failed publish the in-memory tree may be ahead of the stores: rebuild it.
  void reopen();

  SecureBytes signing_seed_;
  SecureBytes vrf_seed_;
  store::Store* store_;
  mutable std::mutex mutex_;
  kt::Directory directory_;
  std::chrono::system_clock::time_point last_epoch_;  // when the newest epoch was published
};

// The directory label of a username (already normalised by the accounts service).
Bytes directory_label(std::string_view username);

// Publishes the account's current devices under its username. Every change of an account's
// devices calls it before answering. One epoch per change keeps the code simple and the
// proofs fresh; batching several changes into one epoch (on a timer) is a later step.
Result<void> publish_account(ServerState& state, std::string_view username, BytesView account_id);

// Account erasure: publishes an empty value for the username, so that clients see it gone.
Result<void> tombstone_account(ServerState& state, std::string_view username);

void handle_kt_head(ServerState& state, Reply reply);
void handle_kt_lookup(ServerState& state, proto::KtLookup request, Reply reply);
void handle_kt_history(ServerState& state, proto::KtHistory request, Reply reply);
void handle_kt_consistency(ServerState& state, proto::KtConsistency request, Reply reply);
void handle_kt_audit(ServerState& state, proto::KtAudit request, Reply reply);

}  // namespace sotto::server
