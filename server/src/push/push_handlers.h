// The push requests of sotto.v1: a device registers its Web Push subscription (the endpoint
// its browser's push service gave it, and the RFC 8291 keys), removes it, and asks for the
// server's VAPID public key to subscribe with. Every handler needs an authenticated device;
// a device has at most one subscription, and registering again replaces it.
#pragma once

#include "services/service.h"

namespace sotto::server {

void handle_register_push(ServerState& state, const Caller& caller, proto::RegisterPush request,
                          Reply reply);
// Succeeds when there was no subscription: unregistering twice is harmless.
void handle_unregister_push(ServerState& state, const Caller& caller, proto::UnregisterPush request,
                            Reply reply);
// `vapid_public_key`: PushSender::vapid_public_key().
void handle_push_key(ServerState& state, const Caller& caller, proto::PushKey request,
                     const Bytes& vapid_public_key, Reply reply);

}  // namespace sotto::server
