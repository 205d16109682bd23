// Devices of an account: list, add (device linking), revoke. Every change is published in the
// key directory before the answer.
#pragma once

#include "services/service.h"

namespace sotto::server {

void handle_list_devices(ServerState& state, const Caller& caller, Reply reply);
void handle_add_device(ServerState& state, const Caller& caller, proto::AddDevice request,
                       Reply reply);
void handle_revoke_device(ServerState& state, const Caller& caller, proto::RevokeDevice request,
                          Reply reply);

// Sends SessionEndedEvent{reason} to every open connection of the device and closes them.
void end_device_sessions(ServerState& state, const Bytes& device_id, Errc reason);

}  // namespace sotto::server
