// The engine's connection to a Sotto server, as an interface: the native build has a
// WebSocket over TLS (sotto/client/websocket_transport.h), the browser the page's WebSocket,
// tests a fake. One frame is one binary WebSocket message of the sotto.v1 subprotocol.
#pragma once

#include "sotto/core/bytes.h"

namespace sotto::client {

// What a transport tells the engine. Calls come from the engine's one thread.
class TransportListener {
 public:
  virtual ~TransportListener() = default;
  virtual void on_connected() = 0;
  // The connection is gone (closed, failed or never made); requests in flight are lost.
  virtual void on_disconnected() = 0;
  // One server frame, undecoded.
  virtual void on_frame(BytesView frame) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Queues one encoded ClientFrame. Never blocks; a frame given while disconnected is
  // dropped (the engine fails its request on on_disconnected and retries what must be
  // retried).
  virtual void send(Bytes frame) = 0;
};

}  // namespace sotto::client
