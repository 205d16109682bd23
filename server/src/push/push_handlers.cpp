#include "push/push_handlers.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include "push/push_sender.h"
#include "server_state.h"
#include "sotto/store/store.h"
#include "sotto/webpush/webpush.h"

namespace sotto::server {
namespace {

Result<void> require_device(const Caller& caller) {
  if (!caller.authenticated()) {
    return Error(Errc::unauthenticated, "push requests need an authenticated device");
  }
  return success();
}

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// A storage failure is the server's problem; the client learns only that it failed.
Error storage_error(Error error) {
  if (error.code() == Errc::internal) {
    spdlog::error("push: storage: {}", error.message());
    return Error(Errc::unavailable, "the subscription could not be stored; try again later");
  }
  return error;
}

}  // namespace

void handle_register_push(ServerState& state, const Caller& caller, proto::RegisterPush request,
                          Reply reply) {
  if (auto ok = require_device(caller); !ok.ok()) return reply(std::move(ok).error());
  if (auto url = check_push_endpoint(request.endpoint, state.config().push); !url.ok()) {
    return reply(std::move(url).error());
  }
  if (auto keys = webpush::check_subscription_keys(request.p256dh, request.auth); !keys.ok()) {
    return reply(std::move(keys).error());
  }
  store::PushSubscription subscription;
  subscription.device_id = *caller.device_id;
  subscription.endpoint = std::move(request.endpoint);
  subscription.p256dh = std::move(request.p256dh);
  subscription.auth = std::move(request.auth);
  subscription.created_at = now_ms();
  if (auto put = state.store().put_push_subscription(subscription); !put.ok()) {
    return reply(storage_error(std::move(put).error()));
  }
  reply(proto::ResponseBody{proto::EmptyResponse{}});
}

void handle_unregister_push(ServerState& state, const Caller& caller, proto::UnregisterPush,
                            Reply reply) {
  if (auto ok = require_device(caller); !ok.ok()) return reply(std::move(ok).error());
  auto deleted = state.store().delete_push_subscription(*caller.device_id);
  if (!deleted.ok() && deleted.error().code() != Errc::not_found) {
    return reply(storage_error(std::move(deleted).error()));
  }
  reply(proto::ResponseBody{proto::EmptyResponse{}});
}

void handle_push_key(ServerState&, const Caller& caller, proto::PushKey,
                     const Bytes& vapid_public_key, Reply reply) {
  if (auto ok = require_device(caller); !ok.ok()) return reply(std::move(ok).error());
  reply(proto::ResponseBody{proto::PushKeyResponse{vapid_public_key}});
}

}  // namespace sotto::server
