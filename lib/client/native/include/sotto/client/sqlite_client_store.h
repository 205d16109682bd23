// The ClientStore of the native client: one SQLite file, encrypted at rest.
//
// Every secret (the device key, the session token, group states, key-package private keys)
// and every message body is sealed with XChaCha20-Poly1305 under a random store key, with
// associated data naming the value's table, column and row; the store key itself is kept
// sealed under a key that the user's passphrase (Argon2id) or a key file gives. A wrong
// passphrase is a typed error before anything is read or written. docs/client-store.md
// describes the schema.
//
// Errors of open() say what went wrong:
//   Errc::not_found              no store at the path (and create was not asked)
//   Errc::authentication_failed  a wrong passphrase or key file
//   Errc::invalid_argument       an unusable key file (readable by others, wrong size, ...),
//                                or a passphrase for a key-file store and the reverse
//   Errc::invalid_value          the file is not a Sotto client store, or is damaged
//   Errc::unsupported            a store written by a newer Sotto
//   Errc::unavailable            the file cannot be opened or locked (another process uses it)
// After open(), every failure of a ClientStore method is Errc::unavailable (besides the
// not_found that apply() promises), so that the engine never acknowledges a message because
// its store failed; the message says whether a value failed to authenticate.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include "sotto/client/client_store.h"
#include "sotto/crypto/at_rest.h"

struct sqlite3;

namespace sotto::client {

// What unlocks a store: a passphrase, or the path of a file holding 32 random bytes that
// only its owner may read (mode 0600).
struct StorePassphrase {
  SecureBytes text;
};
struct StoreKeyFile {
  std::string path;
};
using StoreUnlock = std::variant<StorePassphrase, StoreKeyFile>;

struct SqliteClientStoreOptions {
  // Make a new store when the file does not exist (else Errc::not_found).
  bool create = false;
  // The Argon2id cost of a new passphrase store; an existing store keeps its own.
  crypto::PassphraseKdfParams kdf = crypto::passphrase_kdf_moderate();
};

class SqliteClientStore final : public ClientStore {
 public:
  static Result<std::unique_ptr<SqliteClientStore>> open(const std::string& path,
                                                         const StoreUnlock& unlock,
                                                         const SqliteClientStoreOptions& options);

  // Writes 32 random bytes to a new file at `path`, created with mode 0600 and complete or
  // absent even after a crash. Errc::already_exists when the path exists (a key file is
  // never replaced: the store it opens would be lost).
  static Result<void> create_key_file(const std::string& path);

  ~SqliteClientStore() override;
  SqliteClientStore(const SqliteClientStore&) = delete;
  SqliteClientStore& operator=(const SqliteClientStore&) = delete;

  Result<std::optional<Identity>> identity() const override;
  Result<std::optional<Bytes>> directory_state() const override;
  Result<std::optional<StoredKeyPackage>> key_package(BytesView ref) const override;
  Result<size_t> key_package_count() const override;
  Result<std::optional<Contact>> contact(const std::string& username) const override;
  Result<std::optional<Conversation>> conversation(BytesView group_id) const override;
  Result<std::vector<Conversation>> conversations() const override;
  Result<std::vector<StoredMessage>> messages(BytesView group_id) const override;
  Result<std::optional<StoredMessage>> message(BytesView group_id,
                                               BytesView message_id) const override;
  Result<bool> has_message(BytesView group_id, BytesView message_id) const override;
  Result<std::vector<OutboxEntry>> outbox() const override;
  Result<bool> is_processed(uint64_t seq) const override;
  Result<std::optional<MailAccount>> mail_account() const override;
  Result<std::optional<MailPeer>> mail_peer(const std::string& address) const override;
  Result<std::vector<MailPeer>> mail_peers() const override;
  Result<std::optional<MailJoin>> mail_join(const std::string& address) const override;
  Result<std::vector<MailGroupInvite>> mail_group_invites() const override;
  Result<std::optional<std::string>> mail_cursor() const override;
  Result<void> apply(const ClientStoreBatch& batch) override;

 private:
  SqliteClientStore(sqlite3* db, SecureBytes store_key);

  Result<void> apply_in_transaction(const ClientStoreBatch& batch);
  // Opens a conversation row's sealed states into `c` (whose group id is set) and reads its
  // members.
  Result<void> complete_conversation(Conversation& c, BytesView sealed_state,
                                     BytesView sealed_previous) const;

  sqlite3* db_;
  SecureBytes store_key_;
};

}  // namespace sotto::client
