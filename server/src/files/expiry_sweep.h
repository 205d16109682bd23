// Deletes what has expired: store::Store::expire() removes queued messages, sessions, codes,
// file records and groups' commit orders past their time; this deletes the blobs of those
// files, and temporaries left by uploads that never finished. It runs once at start and then
// every ten minutes on the io_context, and stops rescheduling once the server shuts down.
#pragma once

#include <chrono>
#include <cstdint>

#include "beast.h"
#include "server_state.h"

namespace sotto::server::files {

inline constexpr std::chrono::minutes kSweepInterval{10};

struct SweepReport {
  size_t expired_files = 0;
  size_t stale_temporaries = 0;
  size_t unrecorded_blobs = 0;
};

// One pass, at `now_ms`. With `full`, also deletes blobs that have no record (left when a
// crash came between a record's deletion and its blob's); that walks every blob, so it runs
// at start only.
Result<SweepReport> sweep_expired(ServerState& state, uint64_t now_ms, bool full);

void start_expiry_sweep(asio::io_context& ioc, ServerState& state);

}  // namespace sotto::server::files
