#include "services/devices.h"

#include <spdlog/spdlog.h>

#include "server_state.h"
#include "services/accounts.h"
#include "services/directory.h"
#include "services/mailer.h"
#include "sotto/crypto/primitives.h"
#include "sotto/store/store.h"
#include "websocket_session.h"

namespace sotto::server {

void end_device_sessions(ServerState& state, const Bytes& device_id, Errc reason) {
  for (const auto& session : state.live().sessions(device_id)) session->end_session(reason);
}

void handle_list_devices(ServerState& state, const Caller& caller, Reply reply) {
  auto devices = state.store().devices(*caller.account_id);
  if (!devices) return reply(std::move(devices).error());
  proto::DevicesResponse out;
  for (auto& d : *devices) {
    out.devices.push_back({std::move(d.id), std::move(d.signature_key), std::move(d.name),
                           d.created_at / 1000, d.last_seen / 1000});
  }
  reply(proto::ResponseBody(std::move(out)));
}

void handle_add_device(ServerState& state, const Caller& caller, proto::AddDevice request,
                       Reply reply) {
  if (auto r = check_device_key(request.device); !r) return reply(std::move(r).error());
  auto account = state.store().account(*caller.account_id);
  if (!account) return reply(std::move(account).error());
  uint64_t now = now_ms();
  store::Device device;
  device.id = crypto::random_bytes(proto::kIdSize);
  device.account_id = account->id;
  device.signature_key = std::move(request.device.signature_key);
  device.name = std::move(request.device.name);
  device.created_at = now;
  device.last_seen = now - now % (24 * 3600 * 1000);
  if (auto r = state.store().add_device(device); !r) return reply(std::move(r).error());
  if (auto r = publish_account(state, account->username, account->id); !r) {
    return reply(std::move(r).error());
  }
  reply(proto::ResponseBody(proto::DeviceAddedResponse{std::move(device.id)}));
}

void handle_revoke_device(ServerState& state, const Caller& caller, proto::RevokeDevice request,
                          Reply reply) {
  auto account = state.store().account(*caller.account_id);
  if (!account) return reply(std::move(account).error());
  auto devices = state.store().devices(account->id);
  if (!devices) return reply(std::move(devices).error());
  bool mine = false;
  for (const auto& d : *devices) mine = mine || d.id == request.device_id;
  // Another account's device reads as absent: ids must not be probed across accounts.
  if (!mine) return reply(Error(Errc::not_found, "no such device"));
  if (devices->size() == 1) {
    return reply(Error(Errc::forbidden, "the last device of an account cannot be revoked"));
  }
  if (auto r = state.store().delete_device(request.device_id); !r) {
    return reply(std::move(r).error());
  }
  auto published = publish_account(state, account->username, account->id);
  spdlog::info("devices: account {} revoked a device", account_log_tag(account->id));
  // Answer first: a device revoking itself then hears the answer before its session ends
  // (both are queued on its connection in this order).
  if (published) {
    reply(proto::ResponseBody(proto::EmptyResponse{}));
  } else {
    reply(std::move(published).error());
  }
  end_device_sessions(state, request.device_id, Errc::forbidden);
}

}  // namespace sotto::server
