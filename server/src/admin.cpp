#include "admin.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <ostream>

#include "account_export.h"
#include "config.h"
#include "server.h"
#include "server_state.h"
#include "services/accounts.h"
#include "services/directory.h"
#include "services/mailer.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sotto/store/store.h"

namespace sotto::server {
namespace {

constexpr int kOk = 0;
constexpr int kFailure = 1;
constexpr int kUsage = 2;
constexpr size_t kInviteBytes = 12;

int fail(std::ostream& err, const Error& e) {
  err << "sottod admin: " << e.message() << "\n";
  return kFailure;
}

Result<std::unique_ptr<store::Store>> open_existing(const std::filesystem::path& data_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec)) {
    return Error(Errc::not_found, "no data directory " + data_dir.string());
  }
  Config config;
  config.data_dir = data_dir;
  return open_store(config);
}

int create_invite(const std::filesystem::path& data_dir, unsigned uses, unsigned days,
                  std::ostream& out, std::ostream& err) {
  auto store = open_existing(data_dir);
  if (!store) return fail(err, store.error());
  std::string code = to_hex(crypto::random_bytes(kInviteBytes));
  uint64_t now = now_ms();
  store::Invite invite;
  invite.code_hash =
      crypto::sha256(BytesView(reinterpret_cast<const uint8_t*>(code.data()), code.size()));
  invite.created_at = now;
  invite.expires_at = now + uint64_t{days} * 24 * 3600 * 1000;
  invite.uses_left = uses;
  if (auto r = (*store)->put_invite(invite); !r) return fail(err, r.error());
  out << code << "\n";
  return kOk;
}

int delete_account(const std::filesystem::path& data_dir, const std::string& username,
                   std::ostream& out, std::ostream& err) {
  auto name = normalize_username(username);
  if (!name) return fail(err, name.error());
  auto lock = DataDirLock::acquire(data_dir);
  if (!lock) return fail(err, lock.error());
  auto store = open_existing(data_dir);
  if (!store) return fail(err, store.error());
  auto account = (*store)->account_by_username(*name);
  if (!account) return fail(err, Error(Errc::not_found, "no account " + *name));
  Config config;
  config.data_dir = data_dir;
  ServerState state(config, store->get());
  auto directory = KeyDirectory::open(data_dir, **store);
  if (!directory) return fail(err, directory.error());
  state.set_directory(std::move(*directory));
  // The same erasure as the user's own delete_account: tombstone, rows, file blobs.
  if (auto r = erase_account(state, account->id); !r) return fail(err, r.error());
  out << "deleted account " << *name << "\n";
  return kOk;
}

int print_stats(const std::filesystem::path& data_dir, std::ostream& out, std::ostream& err) {
  auto store = open_existing(data_dir);
  if (!store) return fail(err, store.error());
  auto stats = (*store)->stats();
  if (!stats) return fail(err, stats.error());
  out << "accounts " << stats->accounts << "\n"
      << "devices " << stats->devices << "\n"
      << "queued_messages " << stats->queued_messages << "\n"
      << "queued_bytes " << stats->queued_bytes << "\n"
      << "files " << stats->files << "\n"
      << "file_bytes " << stats->file_bytes << "\n";
  return kOk;
}

}  // namespace

int run_admin(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"sottod admin: operator commands on a data directory", "sottod admin"};
  app.require_subcommand(1);
  std::string data_dir;

  auto* invite = app.add_subcommand("invite", "invite codes")->require_subcommand(1);
  auto* invite_create = invite->add_subcommand("create", "print a new invite code");
  unsigned uses = 1;
  unsigned days = 7;
  invite_create->add_option("--uses", uses, "registrations the code allows")
      ->check(CLI::Range(1u, 1000000u));
  invite_create->add_option("--days", days, "days the code stays valid")
      ->check(CLI::Range(1u, 3650u));
  invite_create->add_option("--data-dir", data_dir, "sottod's data directory")->required();

  auto* account = app.add_subcommand("account", "accounts")->require_subcommand(1);
  auto* account_delete =
      account->add_subcommand("delete", "erase an account and everything the server holds of it");
  std::string username;
  account_delete->add_option("username", username, "the account's username")->required();
  account_delete->add_option("--data-dir", data_dir, "sottod's data directory")->required();

  auto* stats = app.add_subcommand("stats", "print what the store holds");
  stats->add_option("--data-dir", data_dir, "sottod's data directory")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return kOk;
  } catch (const CLI::ParseError& e) {
    err << "sottod admin: " << e.what() << " (see sottod admin --help)\n";
    return kUsage;
  }
  if (invite_create->parsed()) return create_invite(data_dir, uses, days, out, err);
  if (account_delete->parsed()) return delete_account(data_dir, username, out, err);
  if (stats->parsed()) return print_stats(data_dir, out, err);
  return kUsage;
}

}  // namespace sotto::server
