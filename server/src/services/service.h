// What every request handler of the sotto.v1 protocol sees: who is calling, and how to answer.
//
// The WebSocket session decodes a ClientFrame, checks authentication where the request needs
// it, and calls the handler for its type with a Caller and a Reply. A handler answers exactly
// once, from any thread (the session posts the answer to its strand); a handler that must wait
// (a password hash, a durable write) keeps the Reply and answers later.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/proto/protocol.h"

namespace sotto::server {

class ServerState;

struct Caller {
  // The client's address as per-IP rate limits count it (an IPv6 one by its /64,
  // client_address.h); never logged.
  std::string ip;
  // Set once the connection is authenticated (auth_device, auth_session, register, login).
  std::optional<Bytes> account_id;
  std::optional<Bytes> device_id;
  bool authenticated() const { return device_id.has_value(); }
};

// Answers one request: a body (the request's result type) or an error.
using Reply = std::function<void(Result<proto::ResponseBody>)>;

}  // namespace sotto::server
