// Key packages and the delivery service: per-device queues, fan-out, commit ordering, live
// delivery, fetch and acknowledgement. Every handler needs an authenticated caller.
#pragma once

#include "services/service.h"

namespace sotto::server {

void handle_upload_key_packages(ServerState& state, const Caller& caller,
                                proto::UploadKeyPackages request, Reply reply);
void handle_claim_key_packages(ServerState& state, const Caller& caller,
                               proto::ClaimKeyPackages request, Reply reply);
void handle_key_package_stock(ServerState& state, const Caller& caller, Reply reply);

void handle_send(ServerState& state, const Caller& caller, proto::Send request, Reply reply);
void handle_fetch(ServerState& state, const Caller& caller, proto::Fetch request, Reply reply);
void handle_ack(ServerState& state, const Caller& caller, proto::Ack request, Reply reply);

}  // namespace sotto::server
