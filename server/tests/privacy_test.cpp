// What the server stores, checked against what docs/privacy.md says it stores, and erasure
// checked against the database itself. A real sottod runs a scenario (accounts, devices, key
// packages, messages, files, push); then the test lists every table and column of
// DATA_DIR/sottod.db and compares them with the documented ones, both ways. Finally one
// account is exported and erased, and no cell of any table may still hold its account id,
// device ids, username or e-mail address, while the other account's data stays whole.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "account_export.h"
#include "beast.h"
#include "config.h"
#include "protocol_client.h"
#include "push_receiver.h"
#include "server_state.h"
#include "services/directory.h"
#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/primitives.h"
#include "sotto/kt/directory_store.h"
#include "sotto/mls/group.h"
#include "sotto/mls/messages.h"
#include "sotto/store/store.h"
#include "sottod_process.h"
#include "test_devices.h"

namespace sotto::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using crypto::Ed25519SigningKey;

constexpr const char* kPassword = kTestPassword;
using Device = TestDevice;
constexpr const char* kAlice = "alice.private";
constexpr const char* kBob = "bob.private";

// ---- the scenario's client side ---------------------------------------------------------

void upload_key_packages(Device& d) {
  auto answer = d.client->request(proto::UploadKeyPackages{
      {device_key_package(d.key), device_key_package(d.key)}, device_key_package(d.key)});
  EXPECT_NE(as<proto::KeyPackageStockResponse>(answer), nullptr)
      << "upload_key_packages: " << errc_name(error_code(answer));
}

void send(Device& from, std::vector<Bytes> to, std::string_view payload,
          std::optional<proto::CommitOrder> commit = std::nullopt) {
  proto::Send s;
  s.message_id = crypto::random_bytes(proto::kMessageIdSize);
  s.recipients = std::move(to);
  s.commit = std::move(commit);
  s.payload = to_bytes(payload);
  auto answer = from.client->request(s);
  EXPECT_NE(as<proto::SentResponse>(answer), nullptr) << "send: " << errc_name(error_code(answer));
}

// POST /v1/files over HTTPS with the device's session token.
std::string upload_file(uint16_t port, const Device& d, const std::string& content) {
  namespace server = sotto::server;
  server::asio::io_context ioc;
  server::ssl::context ctx(server::ssl::context::tls_client);
  ctx.set_verify_mode(server::ssl::verify_none);
  server::AsioTlsStream stream(ioc, ctx);
  server::beast::get_lowest_layer(stream).connect(
      server::tcp::endpoint(server::asio::ip::make_address("127.0.0.1"), port));
  stream.handshake(server::ssl::stream_base::client);
  server::http::request<server::http::string_body> req{server::http::verb::post, "/v1/files", 11};
  req.set(server::http::field::host, "localhost");
  req.set(server::http::field::authorization, "Bearer " + to_base64url(d.session.token));
  req.body() = content;
  req.prepare_payload();
  server::http::write(stream, req);
  server::beast::flat_buffer buffer;
  server::http::response<server::http::string_body> res;
  server::http::read(stream, buffer, res);
  EXPECT_EQ(res.result(), server::http::status::created) << res.body();
  if (res.result() != server::http::status::created) return {};
  return nlohmann::json::parse(res.body()).at("id").get<std::string>();
}

// ---- the database side -------------------------------------------------------------------

class Database {
 public:
  explicit Database(const fs::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
    }
  }
  ~Database() { sqlite3_close(db_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Every column of every table: "table.column".
  std::map<std::string, std::vector<std::string>> schema() {
    std::map<std::string, std::vector<std::string>> out;
    for (auto& row : rows("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT "
                          "LIKE 'sqlite_%' ORDER BY name")) {
      std::string table(row[0].begin(), row[0].end());
      for (auto& column : rows("SELECT name FROM pragma_table_info('" + table + "')")) {
        out[table].emplace_back(column[0].begin(), column[0].end());
      }
    }
    return out;
  }

  // Each row's cells as bytes (text and blobs as stored, numbers as their decimal text).
  std::vector<std::vector<Bytes>> rows(const std::string& sql) {
    std::vector<std::vector<Bytes>> out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::vector<Bytes> row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, i));
        int n = sqlite3_column_bytes(stmt, i);
        row.emplace_back(p, p + n);
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

// "table.column" of every line of docs/privacy.md of the form "| `table.column` | ... |".
std::set<std::string> documented_columns() {
  std::ifstream in(fs::path(SOTTO_SOURCE_DIR) / "docs" / "privacy.md");
  EXPECT_TRUE(in.good()) << "docs/privacy.md is missing";
  std::set<std::string> out;
  std::regex line_re(R"(^\| `([a-z0-9_]+\.[a-z0-9_]+)` \|)");
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, line_re)) out.insert(m[1]);
  }
  return out;
}

bool contains(const Bytes& haystack, BytesView needle) {
  if (needle.empty() || haystack.size() < needle.size()) return false;
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

// ---- the test -----------------------------------------------------------------------------

std::vector<std::string> relaxed_limits() {
  std::vector<std::string> extra;
  for (const char* flag : {"--rate-registration-per-minute", "--rate-registration-burst",
                           "--rate-login-per-minute", "--rate-login-burst"}) {
    extra.emplace_back(flag);
    extra.emplace_back("1000");
  }
  return extra;
}

TEST(Privacy, StoredColumnsAreDocumentedAndErasureLeavesNoTrace) {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  server::testing::PushReceiver push_service;
  Bytes alice_id, bob_id;
  std::vector<Bytes> alice_devices;
  Bytes bob_device;
  std::vector<Bytes> alice_token_hashes;
  std::string alice_file, bob_file;
  bool push_available = false;
  {
    SottodProcess server(SottodProcess::args_for(data, relaxed_limits()),
                         {{"SOTTOD_PUSH_ALLOW_HTTP_ENDPOINTS", "true"}});
    ASSERT_TRUE(server.wait_listening()) << server.line();
    const uint16_t port = server.port();

    Device alice1 = register_device(port, kAlice, std::string("Display ") + kAlice);
    Device alice2 = login_device(port, kAlice);
    Device bob = register_device(port, kBob, std::string("Display ") + kBob);
    ASSERT_FALSE(alice1.session.account_id.empty());
    ASSERT_FALSE(alice2.session.device_id.empty());
    ASSERT_FALSE(bob.session.account_id.empty());
    alice_id = alice1.session.account_id;
    alice_devices = {alice1.session.device_id, alice2.session.device_id};
    alice_token_hashes = {crypto::sha256(alice1.session.token),
                          crypto::sha256(alice2.session.token)};
    bob_id = bob.session.account_id;
    bob_device = bob.session.device_id;

    auto profile = alice1.client->request(
        proto::UpdateProfile{std::nullopt, std::nullopt, std::string("+15550100")});
    EXPECT_EQ(error_code(profile), Errc::ok) << errc_name(error_code(profile));

    for (Device* d : {&alice1, &alice2, &bob}) upload_key_packages(*d);
    auto claimed = bob.client->request(proto::ClaimKeyPackages{kAlice});
    EXPECT_NE(as<proto::ClaimedKeyPackagesResponse>(claimed), nullptr);

    // A commit (commit_orders), a message each way (messages, sends); nothing in the payloads
    // names anyone, as with real MLS ciphertext.
    send(alice1, {bob_device, alice_devices[1]}, "ciphertext-1",
         proto::CommitOrder{crypto::random_bytes(32), 0});
    send(bob, {alice_devices[0], alice_devices[1]}, "ciphertext-2");

    auto pushed = alice1.client->request(
        proto::RegisterPush{push_service.endpoint(), push_service.p256dh(), push_service.auth()});
    push_available = error_code(pushed) == Errc::ok;
    if (push_available) {
      auto bob_push = bob.client->request(proto::RegisterPush{
          push_service.endpoint("/push/bob"), push_service.p256dh(), push_service.auth()});
      EXPECT_EQ(error_code(bob_push), Errc::ok);
    }

    alice_file = upload_file(port, alice1, "encrypted attachment of the first account");
    bob_file = upload_file(port, bob, "encrypted attachment of the second account");
    ASSERT_FALSE(alice_file.empty());
    ASSERT_FALSE(bob_file.empty());

    server.signal(SIGTERM);
    ASSERT_EQ(server.wait_exit(10s), 0);
  }
  if (!push_available) std::cout << "note: register_push is not served yet; push not covered\n";

  // ---- every stored column is documented, every documented column exists ----
  {
    Database db(data / "sottod.db");
    auto schema = db.schema();
    auto documented = documented_columns();
    std::set<std::string> stored;
    for (const auto& [table, columns] : schema) {
      for (const auto& column : columns) stored.insert(table + "." + column);
    }
    for (const auto& column : stored) {
      EXPECT_TRUE(documented.count(column))
          << column << " is stored but docs/privacy.md does not say why or for how long";
    }
    for (const auto& column : documented) {
      EXPECT_TRUE(stored.count(column))
          << column << " is in docs/privacy.md but the database has no such column";
    }
  }

  // ---- export, then erasure, through the server's own functions on its database ----
  {
    server::Config config;
    config.data_dir = data;
    store::SqliteOptions options;
    options.path = (data / "sottod.db").string();
    auto opened = store::open_sqlite_store(options);
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    server::ServerState state(config, std::move(opened).value());
    auto directory = server::KeyDirectory::open(data, state.store());
    ASSERT_TRUE(directory.ok()) << directory.error().to_string();
    state.set_directory(std::move(directory).value());

    auto exported = server::export_account_json(state, alice_id);
    ASSERT_TRUE(exported.ok()) << exported.error().to_string();
    auto json = nlohmann::json::parse(*exported);
    EXPECT_EQ(json.at("format"), "sotto.account-export.v1");
    EXPECT_EQ(json.at("account").at("username"), kAlice);
    EXPECT_EQ(json.at("account").at("email"), std::string(kAlice) + "@example.org");
    EXPECT_EQ(json.at("account").at("phone"), "+15550100");
    EXPECT_EQ(json.at("account").at("id"), to_base64url(alice_id));
    ASSERT_EQ(json.at("devices").size(), 2u);
    EXPECT_EQ(json.at("devices")[0].at("key_packages").at("one_time"), 1u);  // one claimed
    EXPECT_EQ(json.at("devices")[1].at("queued_messages").at("count"), 2u);
    EXPECT_EQ(json.at("files").size(), 1u);
    EXPECT_EQ(json.at("files")[0].at("id"), alice_file);
    EXPECT_GE(json.at("sessions").size(), 2u);
    EXPECT_GE(json.at("key_directory").at("versions").size(), 1u);
    if (push_available) {
      EXPECT_EQ(json.at("devices")[0].at("push_subscription").at("endpoint"),
                push_service.endpoint());
    }
    // Never the session tokens' hashes, in any encoding.
    for (const auto& hash : alice_token_hashes) {
      EXPECT_EQ(exported->find(to_hex(hash)), std::string::npos);
      EXPECT_EQ(exported->find(to_base64url(hash)), std::string::npos);
      EXPECT_EQ(exported->find(to_base64(hash)), std::string::npos);
    }

    ASSERT_TRUE(server::erase_account(state, alice_id).ok());
    auto again = server::erase_account(state, alice_id);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code(), Errc::not_found);

    // The key directory keeps its history but now says the username is gone.
    auto versions = state.store().kt_directory().versions(to_bytes(kAlice));
    ASSERT_TRUE(versions.ok());
    ASSERT_GE(versions->size(), 2u);
    EXPECT_TRUE(versions->back().value.empty()) << "no tombstone was published";
  }

  // ---- no trace of the erased account, the other account whole ----
  {
    Database db(data / "sottod.db");
    std::vector<std::pair<std::string, Bytes>> traces = {
        {"account id", alice_id},
        {"username", to_bytes(kAlice)},
        {"e-mail address", to_bytes(std::string(kAlice) + "@example.org")},
        {"first device id", alice_devices[0]},
        {"second device id", alice_devices[1]},
    };
    for (const auto& [table, columns] : db.schema()) {
      // The key directory is append-only by design: its history keeps the username and the
      // device keys that were published (docs/privacy.md, "Key directory").
      if (table.rfind("kt_", 0) == 0) continue;
      for (const auto& column : columns) {
        for (const auto& row : db.rows("SELECT \"" + column + "\" FROM \"" + table + "\"")) {
          for (const auto& [what, bytes] : traces) {
            EXPECT_FALSE(contains(row[0], bytes))
                << table << "." << column << " still holds the erased account's " << what;
          }
        }
      }
    }
    auto count = [&db](const std::string& sql) {
      auto rows = db.rows(sql);
      return rows.empty() ? std::string() : std::string(rows[0][0].begin(), rows[0][0].end());
    };
    const std::string bob_hex = "x'" + to_hex(bob_id) + "'";
    const std::string bob_device_hex = "x'" + to_hex(bob_device) + "'";
    EXPECT_EQ(count("SELECT COUNT(*) FROM accounts"), "1");
    EXPECT_EQ(count("SELECT COUNT(*) FROM accounts WHERE id = " + bob_hex), "1");
    EXPECT_EQ(count("SELECT COUNT(*) FROM devices WHERE account_id = " + bob_hex), "1");
    EXPECT_EQ(count("SELECT COUNT(*) FROM sessions WHERE account_id = " + bob_hex), "1");
    EXPECT_EQ(count("SELECT COUNT(*) FROM files WHERE owner = " + bob_hex), "1");
    // The message the erased account sent stays with its recipient; it names no sender.
    EXPECT_EQ(count("SELECT COUNT(*) FROM messages WHERE device_id = " + bob_device_hex), "1");
    EXPECT_EQ(count("SELECT COUNT(*) FROM key_packages WHERE device_id = " + bob_device_hex), "2");
    if (push_available) {
      EXPECT_EQ(
          count("SELECT COUNT(*) FROM push_subscriptions WHERE device_id = " + bob_device_hex),
          "1");
    }
  }

  // File blobs: the erased account's is gone, the other's is still there.
  auto alice_blob = from_base64url(alice_file);
  auto bob_blob = from_base64url(bob_file);
  ASSERT_TRUE(alice_blob.ok() && bob_blob.ok());
  EXPECT_FALSE(fs::exists(data / "files" / to_hex(*alice_blob)));
  EXPECT_TRUE(fs::exists(data / "files" / to_hex(*bob_blob)));
}

// The same rights through the protocol: export_account, and delete_account behind the password.
TEST(Privacy, ExportAndDeleteOverTheProtocol) {
  TempDir dir;
  SottodProcess server(SottodProcess::args_for(dir.path() / "data", relaxed_limits()));
  ASSERT_TRUE(server.wait_listening()) << server.line();
  Device carol = register_device(server.port(), "carol");
  Device other = login_device(server.port(), "carol");
  ASSERT_FALSE(carol.session.account_id.empty());

  auto exported = carol.client->request(proto::ExportAccount{});
  const auto* body = as<proto::AccountExportResponse>(exported);
  ASSERT_NE(body, nullptr) << errc_name(error_code(exported));
  auto json = nlohmann::json::parse(body->json);
  EXPECT_EQ(json.at("account").at("username"), "carol");
  EXPECT_EQ(json.at("devices").size(), 2u);

  auto wrong = carol.client->request(proto::DeleteAccount{"not the password"});
  EXPECT_EQ(error_code(wrong), Errc::unauthenticated);

  auto erased = carol.client->request(proto::DeleteAccount{kPassword});
  EXPECT_NE(as<proto::EmptyResponse>(erased), nullptr) << errc_name(error_code(erased));
  // The account's other connection is told and closed.
  auto ended = other.client->next_event(5s);
  ASSERT_TRUE(ended.has_value());
  const auto* why = std::get_if<proto::SessionEndedEvent>(&ended->event);
  ASSERT_NE(why, nullptr);
  EXPECT_EQ(why->reason, static_cast<uint16_t>(Errc::not_found));
  EXPECT_TRUE(other.client->wait_closed(5s));

  // Gone: the session no longer resumes, the password no longer logs in, the name is free.
  ProtocolClient fresh(server.port());
  EXPECT_NE(error_code(fresh.request(proto::AuthSession{carol.session.token})), Errc::ok);
  Device again = register_device(server.port(), "carol");
  EXPECT_FALSE(again.session.account_id.empty());
  EXPECT_NE(again.session.account_id, carol.session.account_id);
}

}  // namespace
}  // namespace sotto::testing
