#include "account_export.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "files/http_files.h"
#include "server_state.h"
#include "services/devices.h"
#include "services/directory.h"
#include "sotto/core/encoding.h"
#include "sotto/store/store.h"

namespace sotto::server {
namespace {

using nlohmann::json;

// libsodium must be initialised before its first use; repeated calls are harmless.
[[maybe_unused]] const int kSodiumReady = sodium_init();

json optional_text(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

const char* purpose_name(store::CodePurpose purpose) {
  switch (purpose) {
    case store::CodePurpose::email_verification:
      return "email_verification";
    case store::CodePurpose::account_recovery:
      return "account_recovery";
  }
  return "unknown";
}

}  // namespace

Result<std::string> export_account_json(ServerState& state, BytesView account_id) {
  store::Store& store = state.store();
  SOTTO_TRY_ASSIGN(auto account, store.account(account_id));
  json out;
  out["format"] = std::string(kExportFormat);
  out["exported_at"] = files::now_ms();
  out["account"] = {
      {"id", to_base64url(account.id)},
      {"username", account.username},
      {"email", account.email},
      {"email_verified", account.email_verified},
      {"display_name", optional_text(account.display_name)},
      {"phone", optional_text(account.phone)},
      {"created_at", account.created_at},
      // The Argon2id hash is held to check the password; it is derived from a secret and
      // not handed out.
      {"password", "stored as an Argon2id hash, not exported"},
  };

  SOTTO_TRY_ASSIGN(auto devices, store.devices(account_id));
  json device_list = json::array();
  for (const auto& device : devices) {
    json d = {{"id", to_base64url(device.id)},
              {"signature_key", to_base64url(device.signature_key)},
              {"name", device.name},
              {"created_at", device.created_at},
              {"last_seen", device.last_seen}};
    SOTTO_TRY_ASSIGN(auto stock, store.key_package_stock(device.id));
    d["key_packages"] = {{"one_time", stock.count}, {"last_resort", stock.has_last_resort}};
    SOTTO_TRY_ASSIGN(auto queue, store.queue_stats(device.id));
    d["queued_messages"] = {{"count", queue.count}, {"bytes", queue.bytes}};
    auto push = store.push_subscription(device.id);
    if (push) {
      d["push_subscription"] = {{"endpoint", push->endpoint}, {"created_at", push->created_at}};
    } else if (push.error().code() == Errc::not_found) {
      d["push_subscription"] = nullptr;
    } else {
      return std::move(push).error();
    }
    device_list.push_back(std::move(d));
  }
  out["devices"] = std::move(device_list);

  SOTTO_TRY_ASSIGN(auto sessions, store.sessions(account_id));
  json session_list = json::array();
  for (const auto& s : sessions) {
    // The token hash stays out: it is a credential's fingerprint, not data about the user.
    session_list.push_back({{"device_id", to_base64url(s.device_id)},
                            {"created_at", s.created_at},
                            {"expires_at", s.expires_at}});
  }
  out["sessions"] = std::move(session_list);

  json codes = json::array();
  for (auto purpose :
       {store::CodePurpose::email_verification, store::CodePurpose::account_recovery}) {
    auto code = store.code(account_id, purpose);
    if (code) {
      codes.push_back({{"purpose", purpose_name(purpose)},
                       {"expires_at", code->expires_at},
                       {"failed_attempts", code->attempts}});
    } else if (code.error().code() != Errc::not_found) {
      return std::move(code).error();
    }
  }
  out["pending_codes"] = std::move(codes);

  SOTTO_TRY_ASSIGN(auto file_list, store.files(account_id));
  json files_json = json::array();
  for (const auto& f : file_list) {
    files_json.push_back({{"id", to_base64url(f.id)},
                          {"size", f.size},
                          {"created_at", f.created_at},
                          {"expires_at", f.expires_at}});
  }
  out["files"] = std::move(files_json);

  Bytes label = directory_label(account.username);
  SOTTO_TRY_ASSIGN(auto versions, store.kt_directory().versions(label));
  json version_list = json::array();
  for (const auto& v : versions) {
    version_list.push_back(
        {{"version", v.version}, {"epoch", v.epoch}, {"value_hex", to_hex(v.value)}});
  }
  out["key_directory"] = {{"label", account.username}, {"versions", std::move(version_list)}};
  return out.dump(2);
}

namespace {

// Erasure without ending the devices' connections, so that the delete_account handler can
// answer before its own connection ends.
Result<store::Erasure> erase_account_data(ServerState& state, BytesView account_id) {
  store::Store& store = state.store();
  SOTTO_TRY_ASSIGN(auto account, store.account(account_id));
  SOTTO_TRY_CTX(tombstone_account(state, account.username), "tombstoning the key directory");
  SOTTO_TRY_ASSIGN(auto erased, store.erase_account(account_id));
  auto blobs = files::blob_directory(state);
  for (const auto& id : erased.files) {
    if (auto removed = blobs.remove(id); !removed) {
      // The record is gone, so the blob can no longer be fetched; the start-up sweep of
      // unrecorded blobs deletes it.
      spdlog::warn("erase: {}", removed.error().message());
    }
  }
  spdlog::info("erase: an account with {} device(s) and {} file(s) was erased",
               erased.devices.size(), erased.files.size());
  return erased;
}

void end_sessions(ServerState& state, const store::Erasure& erased) {
  for (const auto& device : erased.devices) end_device_sessions(state, device, Errc::not_found);
}

}  // namespace

Result<void> erase_account(ServerState& state, BytesView account_id) {
  SOTTO_TRY_ASSIGN(auto erased, erase_account_data(state, account_id));
  end_sessions(state, erased);
  return success();
}

void handle_export_account(ServerState& state, const Caller& caller, proto::ExportAccount,
                           Reply reply) {
  if (!caller.account_id) return reply(Error(Errc::unauthenticated, "authenticate first"));
  auto exported = export_account_json(state, *caller.account_id);
  if (!exported) return reply(std::move(exported).error());
  reply(proto::ResponseBody(proto::AccountExportResponse{std::move(*exported)}));
}

void handle_delete_account(ServerState& state, const Caller& caller, proto::DeleteAccount request,
                           Reply reply) {
  if (!caller.account_id) return reply(Error(Errc::unauthenticated, "authenticate first"));
  auto account = state.store().account(*caller.account_id);
  if (!account) return reply(std::move(account).error());
  // The same bucket as logins: a stolen session must not become a password oracle.
  if (!state.rate_limiter().allow("login_username", account->username)) {
    return reply(Error(Errc::rate_limited, "too many attempts; try again later"));
  }
  SecureBytes password(BytesView(reinterpret_cast<const uint8_t*>(request.password.data()),
                                 request.password.size()));
  secure_wipe(request.password.data(), request.password.size());
  boost::asio::post(
      state.slow_pool(),
      [&state, account_id = *caller.account_id, hash = std::move(account->password_hash),
       password = std::move(password), reply = std::move(reply)]() mutable {
        bool good =
            crypto_pwhash_str_verify(hash.c_str(), reinterpret_cast<const char*>(password.data()),
                                     password.size()) == 0;
        if (!good) return reply(Error(Errc::unauthenticated, "wrong password"));
        auto erased = erase_account_data(state, account_id);
        if (!erased) return reply(std::move(erased).error());
        // The answer is queued on the caller's connection before that connection is ended.
        reply(proto::ResponseBody(proto::EmptyResponse{}));
        end_sessions(state, *erased);
      });
}

}  // namespace sotto::server
