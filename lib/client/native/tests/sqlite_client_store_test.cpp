// The SQLite store: the ClientStore contract, then what only a file on a disk has to show:
// it survives a restart, opens only with its passphrase or a private key file, keeps no secret
// or message body in the clear, and reports a changed or damaged file instead of misreading it.
#include "sotto/client/sqlite_client_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "client_store_contract.h"
#include "sotto/crypto/primitives.h"

namespace sotto::client {
namespace {

namespace fs = std::filesystem;

// A private directory for one test's files, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sotto-client-store-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

StorePassphrase passphrase(std::string_view text) {
  return StorePassphrase{SecureBytes(as_bytes(text))};
}

// The cheapest Argon2id: these tests are about the store, not the cost of guessing.
SqliteClientStoreOptions options(bool create) {
  SqliteClientStoreOptions o;
  o.create = create;
  o.kdf = crypto::passphrase_kdf_minimum();
  return o;
}

std::unique_ptr<SqliteClientStore> must_open(const std::string& path, const StoreUnlock& unlock,
                                             bool create) {
  auto opened = SqliteClientStore::open(path, unlock, options(create));
  if (!opened) {
    ADD_FAILURE() << opened.error().to_string();
    return nullptr;
  }
  return std::move(opened).value();
}

struct SqliteHarness {
  ClientStore& store() { return *store_; }
  TempDir dir;
  std::unique_ptr<SqliteClientStore> store_ =
      must_open(dir.file("client.db"), passphrase("contract"), true);
};

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, ClientStoreContract, SqliteHarness);

// ---- one of everything, with values that are easy to find in a file ---------------------

constexpr std::string_view kUsername = "alice-in-plain-sight";
constexpr std::string_view kSeed = "SEED:the-device-signature-seed!";
constexpr std::string_view kToken = "TOKEN:a-session-token-to-hide";
constexpr std::string_view kKeyPackagePrivate = "KPPRIV:init-and-encryption-keys";
constexpr std::string_view kGroupState = "GROUPSTATE:epoch-secrets-of-a-group";
constexpr std::string_view kBody = "BODY:meet me by the purple lighthouse at nine";
constexpr std::string_view kPreviousState = "PREVSTATE:the-epoch-before-a-commit";
constexpr std::string_view kOutboxContent = "OUTBOX:a message waiting to be sent";
constexpr std::string_view kPassphrase = "correct horse battery staple";
constexpr std::string_view kMailPassword = "MAILPASS:the-imap-and-smtp-password";
constexpr std::string_view kMailSecretKey = "PGPSECRET:the-openpgp-secret-key";
constexpr std::string_view kInviteAuth = "INVITEAUTH:proof-of-having-seen-the-link";
constexpr std::string_view kJoinAuth = "JOINAUTH:the-inviters-secret";
constexpr std::string_view kGroupInviteAuth = "GROUPAUTH:the-group-links-secret";

const Bytes kGroup(8, 0x61);
const Bytes kOtherGroup(8, 0x62);

StoredMessage message_in(const Bytes& group, uint8_t id, std::string_view body) {
  StoredMessage m = contract_message(0, id, std::string(body));
  m.group_id = group;
  m.sender = "bob";
  m.sender_device = Bytes(16, 0x42);
  m.sent_at = 1'700'000'000'123;
  m.accepted_at = 1'700'000'000'456;
  m.state = DeliveryState::received;
  return m;
}

ClientStoreBatch everything() {
  ClientStoreBatch b;
  b.identity = Identity{std::string(kUsername),
                        Bytes(16, 1),
                        Bytes(16, 2),
                        SecureBytes(as_bytes(kSeed)),
                        SecureBytes(as_bytes(kToken)),
                        0xffff'ffff'ffff'fff0ull};
  b.directory_state = Bytes{9, 8, 7};
  b.put_key_packages.push_back(
      StoredKeyPackage{Bytes(32, 3), Bytes{4, 5}, SecureBytes(as_bytes(kKeyPackagePrivate)), true});
  b.put_contacts.push_back(Contact{"bob", {{Bytes(16, 0x42), Bytes(32, 0x43)}}, 3, 12});
  b.put_conversations.push_back(Conversation{
      kGroup, "bob", {std::string(kUsername), "bob"}, SecureBytes(as_bytes(kGroupState)), true});
  b.put_conversations.back().previous_group_state = SecureBytes(as_bytes(kPreviousState));
  b.put_conversations.back().previous_epoch_until = 77;
  b.put_messages.push_back(message_in(kGroup, 1, kBody));
  b.put_messages.push_back(message_in(kGroup, 2, "second"));
  b.put_outbox.push_back(
      OutboxEntry{Bytes(16, 7), kGroup, {Bytes(16, 0x42), Bytes(16, 0x44)}, Bytes{1, 2, 3}, 55});
  b.put_outbox.back().content = SecureBytes(as_bytes(kOutboxContent));
  b.put_outbox.back().epoch = 4;
  b.add_processed = {41, 42};
  b.mail_account = MailAccount{"alice@example.org", SecureBytes(as_bytes(kMailPassword)),
                               SecureBytes(as_bytes(kMailSecretKey)), "inv-number",
                               SecureBytes(as_bytes(kInviteAuth))};
  b.put_mail_joins.push_back(MailJoin{"carol@example.org", Bytes(20, 0xca), "carols-number",
                                      SecureBytes(as_bytes(kJoinAuth)), 99, ""});
  b.put_mail_group_invites.push_back(
      MailGroupInvite{kGroup, "group-number", SecureBytes(as_bytes(kGroupInviteAuth)), 98});
  b.put_mail_peers.push_back(
      MailPeer{"bob@example.org", Bytes{0xc6, 1, 2}, MailKeySource::autocrypt, 1234, true});
  b.mail_cursor = "imap-cursor-v1 7 12";
  return b;
}

void expect_everything_but_mail(const ClientStore& store);

// `with_mail`: also the e-mail account (not there in a store from before migration 6, which
// has the account's tables, empty, once opened); `with_group_invites`: also the invite link to
// a group (not there in a store from before migration 10).
void expect_everything(const ClientStore& store, bool with_mail = true,
                       bool with_group_invites = true) {
  auto mail = store.mail_account().value();
  if (!with_mail) {
    EXPECT_FALSE(mail.has_value());
    EXPECT_TRUE(store.mail_peers().value().empty());
    EXPECT_FALSE(store.mail_cursor().value().has_value());
    return expect_everything_but_mail(store);
  }
  ASSERT_TRUE(mail.has_value());
  EXPECT_EQ(mail->address, "alice@example.org");
  EXPECT_EQ(mail->password, SecureBytes(as_bytes(kMailPassword)));
  EXPECT_EQ(mail->secret_key, SecureBytes(as_bytes(kMailSecretKey)));
  EXPECT_EQ(mail->invite_number, "inv-number");
  EXPECT_EQ(mail->invite_auth, SecureBytes(as_bytes(kInviteAuth)));
  auto join = store.mail_join("carol@example.org").value();
  ASSERT_TRUE(join.has_value());
  EXPECT_EQ(join->fingerprint, Bytes(20, 0xca));
  EXPECT_EQ(join->invite_number, "carols-number");
  EXPECT_EQ(join->auth, SecureBytes(as_bytes(kJoinAuth)));
  EXPECT_EQ(join->started_at, 99u);
  auto group_invites = store.mail_group_invites().value();
  ASSERT_EQ(group_invites.size(), with_group_invites ? 1u : 0u);
  if (with_group_invites) {
    EXPECT_EQ(group_invites[0].group_id, kGroup);
    EXPECT_EQ(group_invites[0].invite_number, "group-number");
    EXPECT_EQ(group_invites[0].auth, SecureBytes(as_bytes(kGroupInviteAuth)));
    EXPECT_EQ(group_invites[0].created_at, 98u);
  }
  auto peer = store.mail_peer("bob@example.org").value();
  ASSERT_TRUE(peer.has_value());
  EXPECT_EQ(peer->cert, (Bytes{0xc6, 1, 2}));
  EXPECT_EQ(peer->source, MailKeySource::autocrypt);
  EXPECT_EQ(peer->updated_at, 1234u);
  EXPECT_TRUE(peer->verified);
  EXPECT_EQ(store.mail_cursor().value(), std::optional<std::string>("imap-cursor-v1 7 12"));
  expect_everything_but_mail(store);
}

void expect_everything_but_mail(const ClientStore& store) {
  auto id = store.identity().value();
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->username, kUsername);
  EXPECT_EQ(id->account_id, Bytes(16, 1));
  EXPECT_EQ(id->device_id, Bytes(16, 2));
  EXPECT_EQ(id->signature_seed, SecureBytes(as_bytes(kSeed)));
  EXPECT_EQ(id->session_token, SecureBytes(as_bytes(kToken)));
  EXPECT_EQ(id->session_expires_at, 0xffff'ffff'ffff'fff0ull);
  EXPECT_EQ(store.directory_state().value(), std::optional<Bytes>(Bytes{9, 8, 7}));
  auto kp = store.key_package(Bytes(32, 3)).value();
  ASSERT_TRUE(kp.has_value());
  EXPECT_EQ(kp->key_package, (Bytes{4, 5}));
  EXPECT_EQ(kp->private_keys, SecureBytes(as_bytes(kKeyPackagePrivate)));
  EXPECT_TRUE(kp->last_resort);
  auto bob = store.contact("bob").value();
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(bob->devices, (std::vector<ContactDevice>{{Bytes(16, 0x42), Bytes(32, 0x43)}}));
  EXPECT_EQ(bob->directory_version, 3u);
  EXPECT_EQ(bob->verified_epoch, 12u);
  auto conversations = store.conversations().value();
  ASSERT_EQ(conversations.size(), 1u);
  EXPECT_EQ(conversations[0].group_id, kGroup);
  EXPECT_EQ(conversations[0].members, (std::vector<std::string>{std::string(kUsername), "bob"}));
  EXPECT_EQ(conversations[0].group_state, SecureBytes(as_bytes(kGroupState)));
  auto messages = store.messages(kGroup).value();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].body, kBody);
  EXPECT_EQ(messages[0].sender, "bob");
  EXPECT_EQ(messages[0].sender_device, Bytes(16, 0x42));
  EXPECT_EQ(messages[0].sent_at, 1'700'000'000'123u);
  EXPECT_EQ(messages[0].accepted_at, 1'700'000'000'456u);
  EXPECT_EQ(messages[0].state, DeliveryState::received);
  EXPECT_EQ(messages[1].body, "second");
  auto outbox = store.outbox().value();
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].recipients, (std::vector<Bytes>{Bytes(16, 0x42), Bytes(16, 0x44)}));
  EXPECT_EQ(outbox[0].payload, (Bytes{1, 2, 3}));
  EXPECT_EQ(outbox[0].created_at, 55u);
  EXPECT_TRUE(store.is_processed(41).value());
  EXPECT_FALSE(store.is_processed(43).value());
}

void expect_nothing(const ClientStore& store) {
  EXPECT_FALSE(store.identity().value().has_value());
  EXPECT_FALSE(store.directory_state().value().has_value());
  EXPECT_EQ(store.key_package_count().value(), 0u);
  EXPECT_FALSE(store.contact("bob").value().has_value());
  EXPECT_TRUE(store.conversations().value().empty());
  EXPECT_TRUE(store.messages(kGroup).value().empty());
  EXPECT_TRUE(store.outbox().value().empty());
  EXPECT_FALSE(store.is_processed(41).value());
}

// ---- the file, from outside --------------------------------------------------------------

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, BytesView bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

bool contains(const Bytes& haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0xffff;
  return st.st_mode & 0777;
}

// Direct SQL on a closed store, as someone with the file could do.
void raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "") << " in " << sql;
  sqlite3_free(error);
  sqlite3_close(db);
}

Bytes raw_blob(const std::string& path, const std::string& query) {
  sqlite3* db = nullptr;
  Bytes out;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, query.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, 0));
      out.assign(p, p + sqlite3_column_bytes(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

void expect_unreadable(const Error& e) {
  EXPECT_EQ(e.code(), Errc::unavailable);
  EXPECT_NE(e.message().find("does not authenticate"), std::string::npos) << e.message();
}

// ---- the tests ---------------------------------------------------------------------------

// Each test has a directory of its own, and a store path in it.
class SqliteClientStoreTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<SqliteClientStore>> open_existing(const StoreUnlock& unlock) {
    return SqliteClientStore::open(path_, unlock, options(false));
  }
  // Why opening the existing store fails (a failure of the test if it opens).
  Error refusal(const StoreUnlock& unlock) {
    auto opened = open_existing(unlock);
    if (opened) {
      ADD_FAILURE() << "the store opened";
      return Error(Errc::ok, "");
    }
    return std::move(opened).error();
  }
  std::unique_ptr<SqliteClientStore> reopen() {
    return must_open(path_, passphrase(kPassphrase), false);
  }
  // Makes the store with one of everything, and closes it.
  void store_everything(const StoreUnlock& unlock) {
    auto store = must_open(path_, unlock, true);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->apply(everything()).ok());
  }

  TempDir dir_;
  const std::string path_ = dir_.file("client.db");
};

// Migration 10 undone: no invite links to this account's groups.
const std::string kUndoMigrationTen = "DROP TABLE mail_group_invites; ";
// Migration 9 undone: no SecureJoin into a group.
const std::string kUndoMigrationNine =
    kUndoMigrationTen + "ALTER TABLE mail_joins DROP COLUMN group_id; ";
// Migration 8 undone: no member timestamps, no past members of e-mail groups.
const std::string kUndoMigrationEight = kUndoMigrationNine +
                                        "DROP TABLE conversation_past_members; "
                                        "ALTER TABLE conversation_members DROP COLUMN added_at; ";
// Migration 7 undone: no read receipts asked for over mail.
const std::string kUndoMigrationSeven =
    kUndoMigrationEight + "ALTER TABLE messages DROP COLUMN receipt_requested; ";
// Migration 6 undone: no e-mail account.
const std::string kUndoMigrationSix =
    kUndoMigrationSeven +
    "DROP TABLE mail_account; DROP TABLE mail_peers; DROP TABLE mail_cursor; "
    "DROP TABLE mail_joins; ";
// Migration 5 undone: no previous epoch, no record of heads sent, no outbox content.
const std::string kUndoMigrationFive =
    kUndoMigrationSix +
    "ALTER TABLE conversations DROP COLUMN previous_group_state; "
    "ALTER TABLE conversations DROP COLUMN previous_epoch_until; "
    "ALTER TABLE conversations DROP COLUMN head_sent_size; "
    "ALTER TABLE conversations DROP COLUMN head_sent_at; "
    "ALTER TABLE outbox DROP COLUMN content; ALTER TABLE outbox DROP COLUMN epoch; ";
// Migration 4 undone: no replies, edits, deletes, receipts or timers.
const std::string kUndoMigrationFour =
    kUndoMigrationFive +
    "DROP INDEX messages_expiring; DROP TABLE message_receipts; "
    "ALTER TABLE messages DROP COLUMN reply_to; ALTER TABLE messages DROP COLUMN edited_at; "
    "ALTER TABLE messages DROP COLUMN deleted; ALTER TABLE messages DROP COLUMN expires_at; "
    "ALTER TABLE messages DROP COLUMN timer_set_s; ALTER TABLE messages DROP COLUMN read; "
    "ALTER TABLE conversations DROP COLUMN disappear_after_s; ";
const std::string kBackToVersionThree = kUndoMigrationFour + "PRAGMA user_version = 3";
// Makes a store what version 1 of the schema was: no file column on messages (migration 2),
// no kind or membership on conversations (migration 3).
const std::string kBackToVersionOne =
    kUndoMigrationFour +
    "ALTER TABLE messages DROP COLUMN file; "
    "ALTER TABLE conversations DROP COLUMN membership; "
    "ALTER TABLE conversations DROP COLUMN kind; PRAGMA user_version = 1";

TEST_F(SqliteClientStoreTest, DataSurvivesCloseAndReopen) {
  ASSERT_NO_FATAL_FAILURE(store_everything(passphrase(kPassphrase)));
  auto store = reopen();
  ASSERT_TRUE(store);
  expect_everything(*store);

  // And it keeps working: the message is sent, the outbox empties.
  ClientStoreBatch sent;
  sent.remove_outbox.push_back(Bytes(16, 7));
  sent.delivery_updates.push_back(DeliveryUpdate{kGroup, Bytes(16, 2), DeliveryState::sent, 0});
  ASSERT_TRUE(store->apply(sent).ok());
  store.reset();
  store = reopen();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->outbox().value().empty());
  EXPECT_EQ(store->messages(kGroup).value()[1].state, DeliveryState::sent);
  EXPECT_EQ(store->messages(kGroup).value()[1].accepted_at, 1'700'000'000'456u);
}

TEST_F(SqliteClientStoreTest, RemovedRowsLeaveNothingBehind) {
  ASSERT_NO_FATAL_FAILURE(store_everything(passphrase(kPassphrase)));
  const Bytes sealed_keys = raw_blob(path_, "SELECT private_keys FROM key_packages");
  ASSERT_EQ(sealed_keys.size(), crypto::kAtRestOverhead + kKeyPackagePrivate.size());
  auto in_file = [&] {
    const Bytes file = read_file(path_);
    return std::search(file.begin(), file.end(), sealed_keys.begin(), sealed_keys.end()) !=
           file.end();
  };
  ASSERT_TRUE(in_file());

  auto store = reopen();
  ASSERT_TRUE(store);
  ClientStoreBatch used;
  used.remove_key_packages.push_back(Bytes(32, 3));
  used.remove_outbox.push_back(Bytes(16, 7));
  ASSERT_TRUE(store->apply(used).ok());
  store.reset();
  // secure_delete: the removed row's bytes are overwritten, not left in a free block.
  EXPECT_FALSE(in_file());
  // foreign keys: an outbox entry's recipients went with it.
  EXPECT_EQ(raw_blob(path_, "SELECT count(*) FROM outbox_recipients"), to_bytes("0"));
}

TEST_F(SqliteClientStoreTest, AMissingStoreIsNotFoundUnlessCreated) {
  auto opened = SqliteClientStore::open(dir_.file("none.db"), passphrase("x"), options(false));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code(), Errc::not_found);
  EXPECT_FALSE(fs::exists(dir_.file("none.db")));
}

TEST_F(SqliteClientStoreTest, ItsFilesAreTheOwnersOnly) {
  auto store = must_open(path_, passphrase(kPassphrase), true);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->apply(everything()).ok());
  EXPECT_EQ(mode_of(path_), 0600u);
  EXPECT_EQ(mode_of(path_ + "-wal"), 0600u);
  EXPECT_FALSE(fs::exists(path_ + "-shm"));  // the WAL index is in memory
}

TEST_F(SqliteClientStoreTest, AWrongPassphraseIsTypedAndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(store_everything(passphrase(kPassphrase)));
  const Bytes before = read_file(path_);
  const Error wrong = refusal(passphrase("incorrect horse"));
  EXPECT_EQ(wrong.code(), Errc::authentication_failed);
  EXPECT_NE(wrong.message().find("passphrase"), std::string::npos);
  EXPECT_EQ(read_file(path_), before);

  // A key file does not open a passphrase store either, and says why.
  ASSERT_TRUE(SqliteClientStore::create_key_file(dir_.file("key")).ok());
  const Error file = refusal(StoreKeyFile{dir_.file("key")});
  EXPECT_EQ(file.code(), Errc::invalid_argument);

  auto store = reopen();
  ASSERT_TRUE(store);
  expect_everything(*store);
}

TEST_F(SqliteClientStoreTest, TheKeyRecordIsBoundToItsParameters) {
  ASSERT_TRUE(must_open(path_, passphrase(kPassphrase), true));
  // Another Argon2id cost in the file gives another key: the store does not open, and cannot
  // be made to open with less work.
  raw_sql(path_, "UPDATE store_key SET kdf_mem_limit = kdf_mem_limit * 2");
  EXPECT_EQ(refusal(passphrase(kPassphrase)).code(), Errc::authentication_failed);
  // A cost no build would have written is a damaged file, and costs nothing to refuse.
  raw_sql(path_, "UPDATE store_key SET kdf_mem_limit = 1 << 40");
  EXPECT_EQ(refusal(passphrase(kPassphrase)).code(), Errc::invalid_value);
}

TEST_F(SqliteClientStoreTest, AKeyFileIsPrivateOrRefused) {
  const std::string key = dir_.file("store.key");
  ASSERT_TRUE(SqliteClientStore::create_key_file(key).ok());
  EXPECT_EQ(mode_of(key), 0600u);
  const Bytes key_bytes = read_file(key);
  EXPECT_EQ(key_bytes.size(), crypto::kAtRestKeySize);
  // Never replaced: the store it opens would be lost.
  auto again = SqliteClientStore::create_key_file(key);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Errc::already_exists);
  EXPECT_EQ(read_file(key), key_bytes);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_.file("")), fs::directory_iterator()), 1);

  ASSERT_NO_FATAL_FAILURE(store_everything(StoreKeyFile{key}));
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  const Error refused = refusal(StoreKeyFile{key});
  EXPECT_EQ(refused.code(), Errc::invalid_argument);
  EXPECT_NE(refused.message().find("0644"), std::string::npos) << refused.message();

  // Nor is a new store made with a readable key file.
  auto made = SqliteClientStore::open(dir_.file("other.db"), StoreKeyFile{key}, options(true));
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code(), Errc::invalid_argument);
  EXPECT_FALSE(fs::exists(dir_.file("other.db")));

  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  auto store = must_open(path_, StoreKeyFile{key}, false);
  ASSERT_TRUE(store);
  expect_everything(*store);
  store.reset();

  // Another key file is a wrong key.
  const std::string other = dir_.file("other.key");
  ASSERT_TRUE(SqliteClientStore::create_key_file(other).ok());
  const Error wrong = refusal(StoreKeyFile{other});
  EXPECT_EQ(wrong.code(), Errc::authentication_failed);
}

TEST_F(SqliteClientStoreTest, AChangedByteInTheFileIsAnErrorOnRead) {
  ASSERT_NO_FATAL_FAILURE(store_everything(passphrase(kPassphrase)));
  // Find the sealed body in the file itself and flip one of its ciphertext bytes.
  const Bytes body = raw_blob(path_, "SELECT body FROM messages ORDER BY seq LIMIT 1");
  ASSERT_EQ(body.size(), crypto::kAtRestOverhead + kBody.size());
  Bytes file = read_file(path_);
  auto at = std::search(file.begin(), file.end(), body.begin(), body.end());
  ASSERT_NE(at, file.end());
  at[crypto::kAtRestNonceSize + 3] ^= 0x01;
  write_file(path_, file);

  auto store = reopen();
  ASSERT_TRUE(store);
  auto messages = store->messages(kGroup);
  ASSERT_FALSE(messages.ok());
  expect_unreadable(messages.error());
  // The rest of the store is intact and still reads.
  EXPECT_TRUE(store->identity().value().has_value());
  EXPECT_EQ(store->conversations().value().size(), 1u);
}

TEST_F(SqliteClientStoreTest, ValuesMovedBetweenRowsOrColumnsDoNotOpen) {
  {
    auto store = must_open(path_, passphrase(kPassphrase), true);
    ASSERT_TRUE(store);
    ClientStoreBatch b = everything();
    b.put_conversations.push_back(
        Conversation{kOtherGroup, "carol", {"carol"}, SecureBytes{1, 2, 3}, false});
    ASSERT_TRUE(store->apply(b).ok());
  }
  // Two messages' bodies swapped.
  raw_sql(
      path_,
      "UPDATE messages SET body = (SELECT body FROM messages AS o WHERE o.seq != messages.seq)");
  // Two conversations' group states swapped.
  raw_sql(path_,
          "UPDATE conversations SET group_state = (SELECT group_state FROM conversations AS o "
          "WHERE o.group_id != conversations.group_id)");
  // The session token where the signature seed was: same row, another column.
  raw_sql(path_, "UPDATE identity SET signature_seed = session_token");
  // A group state in place of a key package's private keys: another table.
  raw_sql(path_,
          "UPDATE key_packages SET private_keys = (SELECT group_state FROM conversations "
          "LIMIT 1)");

  auto store = reopen();
  ASSERT_TRUE(store);
  auto messages = store->messages(kGroup);
  ASSERT_FALSE(messages.ok());
  expect_unreadable(messages.error());
  auto conversation = store->conversation(kGroup);
  ASSERT_FALSE(conversation.ok());
  expect_unreadable(conversation.error());
  auto identity = store->identity();
  ASSERT_FALSE(identity.ok());
  expect_unreadable(identity.error());
  auto kp = store->key_package(Bytes(32, 3));
  ASSERT_FALSE(kp.ok());
  expect_unreadable(kp.error());
  // What was not moved still reads.
  EXPECT_EQ(store->outbox().value().size(), 1u);
  EXPECT_TRUE(store->contact("bob").value().has_value());
}

TEST_F(SqliteClientStoreTest, ABatchThatFailsMidwayLeavesNothing) {
  auto store = must_open(path_, passphrase(kPassphrase), true);
  ASSERT_TRUE(store);

  // Refused by the store's own check, after every other part was written.
  ClientStoreBatch refused = everything();
  refused.delivery_updates.push_back(DeliveryUpdate{kGroup, Bytes(16, 99), DeliveryState::sent, 0});
  auto r = store->apply(refused);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::not_found);
  expect_nothing(*store);

  // Refused by SQLite (a CHECK constraint) in the middle of the writes.
  ClientStoreBatch broken = everything();
  broken.put_messages[1].state = static_cast<DeliveryState>(9);
  auto s = store->apply(broken);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::unavailable);
  expect_nothing(*store);

  // Nothing reached the file either, and the store still takes batches.
  store.reset();
  store = reopen();
  ASSERT_TRUE(store);
  expect_nothing(*store);
  ASSERT_TRUE(store->apply(everything()).ok());
  expect_everything(*store);
}

TEST_F(SqliteClientStoreTest, NoSecretOrBodyIsInTheFiles) {
  auto store = must_open(path_, passphrase(kPassphrase), true);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->apply(everything()).ok());

  auto expect_clean = [](const Bytes& bytes, const std::string& name) {
    for (std::string_view secret :
         {kSeed, kToken, kKeyPackagePrivate, kGroupState, kBody, kPassphrase, kPreviousState,
          kOutboxContent, kMailPassword, kMailSecretKey, kInviteAuth, kJoinAuth}) {
      EXPECT_FALSE(contains(bytes, secret)) << name << " holds " << secret;
    }
  };
  // While open, the batch sits in the write-ahead log.
  const Bytes wal = read_file(path_ + "-wal");
  ASSERT_FALSE(wal.empty());
  // The search works: the username, which is not sealed, is found.
  EXPECT_TRUE(contains(wal, kUsername));
  expect_clean(wal, "the -wal file");
  expect_clean(read_file(path_), "the database");

  store.reset();  // checkpoints the log into the database
  EXPECT_FALSE(fs::exists(path_ + "-wal"));
  const Bytes db = read_file(path_);
  EXPECT_TRUE(contains(db, kUsername));
  expect_clean(db, "the database after closing");
}

TEST_F(SqliteClientStoreTest, AFileKeyIsSealedAndAStoreOfVersionOneIsMigrated) {
  const std::string_view key_text = "a file key that must stay sealed";
  {
    auto store = must_open(path_, passphrase(kPassphrase), true);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->apply(everything()).ok());
    StoredMessage m;
    m.group_id = kGroup;
    m.message_id = Bytes(16, 9);
    m.sender = "alice";
    m.state = DeliveryState::received;
    FileContent file;
    file.file_id = Bytes(16, 1);
    file.key = SecureBytes(to_bytes(key_text));
    file.ciphertext_sha256 = Bytes(32, 3);
    file.name = "plan.pdf";
    file.media_type = "application/pdf";
    m.file = file;
    ClientStoreBatch batch;
    batch.put_messages.push_back(m);
    ASSERT_TRUE(store->apply(batch).ok());
  }
  const Bytes db = read_file(path_);
  EXPECT_FALSE(contains(db, key_text));
  EXPECT_FALSE(contains(db, "plan.pdf"));
  auto store = reopen();
  ASSERT_TRUE(store);
  auto messages = store->messages(kGroup).value();
  ASSERT_FALSE(messages.empty());
  ASSERT_TRUE(messages.back().file.has_value());
  EXPECT_EQ(messages.back().file->key.reveal(), to_bytes(key_text));
  store.reset();

  // The same store as a build before file messages left it: migration 2 adds the column back.
  raw_sql(path_, kBackToVersionOne);
  store = reopen();
  ASSERT_TRUE(store);
  messages = store->messages(kGroup).value();
  ASSERT_FALSE(messages.empty());
  for (const auto& m : messages) EXPECT_FALSE(m.file.has_value());
  store.reset();
  EXPECT_EQ(
      raw_blob(path_, "SELECT count(*) FROM pragma_table_info('messages') WHERE name = 'file'"),
      to_bytes("1"));
}

TEST_F(SqliteClientStoreTest, AGarbageFileIsAClearError) {
  Bytes garbage(8192);
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<uint8_t>(i * 131 + 7);
  write_file(path_, garbage);
  auto opened = SqliteClientStore::open(path_, passphrase(kPassphrase), options(true));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code(), Errc::invalid_value);
  EXPECT_NE(opened.error().message().find("not a Sotto client store"), std::string::npos)
      << opened.error().message();
  EXPECT_EQ(read_file(path_), garbage);

  // A database of something else is not taken over either.
  const std::string other = dir_.file("other.db");
  raw_sql(other, "CREATE TABLE notes (text TEXT)");
  auto foreign = SqliteClientStore::open(other, passphrase(kPassphrase), options(true));
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code(), Errc::invalid_value);
}

TEST_F(SqliteClientStoreTest, ATruncatedFileIsAClearError) {
  ASSERT_NO_FATAL_FAILURE(store_everything(passphrase(kPassphrase)));
  Bytes file = read_file(path_);
  ASSERT_GT(file.size(), 8192u);
  file.resize(file.size() / 2);
  write_file(path_, file);
  const Error damaged = refusal(passphrase(kPassphrase));
  EXPECT_EQ(damaged.code(), Errc::invalid_value) << damaged.to_string();
  EXPECT_NE(damaged.message().find("damaged"), std::string::npos) << damaged.message();
}

TEST_F(SqliteClientStoreTest, AVersionNineStoreGainsGroupInvitesOnOpening) {
  ASSERT_NO_FATAL_FAILURE(store_everything(passphrase(kPassphrase)));
  raw_sql(path_, kUndoMigrationTen + "PRAGMA user_version = 9");
  auto store = reopen();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->mail_group_invites().value().empty());
  ClientStoreBatch batch;
  batch.put_mail_group_invites.push_back(
      MailGroupInvite{kGroup, "group-number", SecureBytes(as_bytes(kGroupInviteAuth)), 98});
  ASSERT_TRUE(store->apply(batch).ok());
  store.reset();
  store = reopen();
  ASSERT_TRUE(store);
  expect_everything(*store, true);
}

TEST_F(SqliteClientStoreTest, AVersionEightStoreGainsGroupJoinsOnOpening) {
  ASSERT_NO_FATAL_FAILURE(store_everything(passphrase(kPassphrase)));
  raw_sql(path_, kUndoMigrationNine + "PRAGMA user_version = 8");
  auto store = reopen();
  ASSERT_TRUE(store);
  expect_everything(*store, true, false);
  auto join = store->mail_join("carol@example.org").value();
  ASSERT_TRUE(join.has_value());
  EXPECT_TRUE(join->group_id.empty());
  join->group_id = "DLjVnOZFsWMhWB8YAXw3IgE3";
  ClientStoreBatch batch;
  batch.put_mail_joins.push_back(*join);
  ASSERT_TRUE(store->apply(batch).ok());
  store.reset();
  store = reopen();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->mail_join("carol@example.org").value()->group_id, "DLjVnOZFsWMhWB8YAXw3IgE3");
  EXPECT_EQ(store->mail_join("carol@example.org").value()->auth, SecureBytes(as_bytes(kJoinAuth)));
}

TEST_F(SqliteClientStoreTest, AVersionSevenStoreGainsMemberTimestampsOnOpening) {
  ASSERT_NO_FATAL_FAILURE(store_everything(passphrase(kPassphrase)));
  raw_sql(path_, kUndoMigrationEight + "PRAGMA user_version = 7");
  auto store = reopen();
  ASSERT_TRUE(store);
  expect_everything(*store, true, false);
  auto c = store->conversation(kGroup).value();
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->members.empty());
  EXPECT_TRUE(c->members_added_at.empty());
  EXPECT_TRUE(c->past_members.empty());
  c->members_added_at.assign(c->members.size(), 42);
  c->past_members = {PastMember{"gone@example.org", 41}};
  ClientStoreBatch batch;
  batch.put_conversations.push_back(*c);
  ASSERT_TRUE(store->apply(batch).ok());
  store.reset();
  store = reopen();
  ASSERT_TRUE(store);
  auto again = store->conversation(kGroup).value();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->members_added_at, std::vector<uint64_t>(again->members.size(), 42));
  EXPECT_EQ(again->past_members, c->past_members);
}

TEST_F(SqliteClientStoreTest, AVersionThreeStoreGainsMessageFeaturesOnOpening) {
  ASSERT_NO_FATAL_FAILURE(store_everything(passphrase(kPassphrase)));
  raw_sql(path_, kBackToVersionThree);
  auto store = reopen();
  ASSERT_TRUE(store);
  expect_everything(*store, false);
  const auto upgraded = store->messages(kGroup).value();
  for (const auto& m : upgraded) {
    EXPECT_FALSE(m.reply_to.has_value());
    EXPECT_FALSE(m.deleted);
    EXPECT_FALSE(m.read);
    EXPECT_FALSE(m.timer_set_s.has_value());
    EXPECT_EQ(m.edited_at, 0u);
    EXPECT_EQ(m.expires_at, 0u);
    EXPECT_TRUE(m.delivered_to.empty());
  }
  EXPECT_EQ(store->conversation(kGroup).value()->disappear_after_s, 0u);
  // What waited in the outbox before has no content to protect again: it goes as it is.
  EXPECT_TRUE(store->conversation(kGroup).value()->previous_group_state.empty());
  EXPECT_TRUE(store->outbox().value().at(0).content.empty());
  EXPECT_EQ(store->outbox().value().at(0).epoch, 0u);
  // And the new columns take values.
  auto messages = store->messages(kGroup).value();
  ASSERT_FALSE(messages.empty());
  messages[0].read_by = {"bob"};
  messages[0].expires_at = 5;
  ClientStoreBatch batch;
  batch.put_messages.push_back(messages[0]);
  ASSERT_TRUE(store->apply(batch).ok());
  store.reset();
  store = reopen();
  ASSERT_TRUE(store);
  const auto again = store->message(kGroup, messages[0].message_id).value();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->read_by, std::vector<std::string>{"bob"});
  EXPECT_EQ(again->expires_at, 5u);
}

TEST_F(SqliteClientStoreTest, AVersionOneStoreGainsGroupsOnOpening) {
  ASSERT_NO_FATAL_FAILURE(store_everything(passphrase(kPassphrase)));
  // The store as version 1 left it: conversations without kind and membership.
  raw_sql(path_, kBackToVersionOne);
  auto store = reopen();
  ASSERT_TRUE(store);
  expect_everything(*store, false);
  auto conversation = store->conversation(kGroup).value();
  ASSERT_TRUE(conversation.has_value());
  EXPECT_EQ(conversation->kind, ConversationKind::direct);
  EXPECT_EQ(conversation->membership, Membership::member);
  conversation->kind = ConversationKind::group;
  conversation->membership = Membership::left;
  ClientStoreBatch changed;
  changed.put_conversations.push_back(*conversation);
  ASSERT_TRUE(store->apply(changed).ok());
  store.reset();
  store = reopen();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->conversation(kGroup).value()->kind, ConversationKind::group);
  EXPECT_EQ(store->conversation(kGroup).value()->membership, Membership::left);
}

TEST_F(SqliteClientStoreTest, AStoreFromANewerSottoIsRefused) {
  ASSERT_TRUE(must_open(path_, passphrase(kPassphrase), true));
  raw_sql(path_, "PRAGMA user_version = 999");
  EXPECT_EQ(refusal(passphrase(kPassphrase)).code(), Errc::unsupported);
}

TEST_F(SqliteClientStoreTest, OneProcessAtATime) {
  auto first = must_open(path_, passphrase(kPassphrase), true);
  ASSERT_TRUE(first);
  const Error second = refusal(passphrase(kPassphrase));
  EXPECT_EQ(second.code(), Errc::unavailable);
  EXPECT_NE(second.message().find("in use"), std::string::npos) << second.message();
  first.reset();
  EXPECT_TRUE(reopen());
}

}  // namespace
}  // namespace sotto::client
