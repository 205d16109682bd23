// What the key-package and delivery handlers share: the limits they enforce and their
// counters.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/service.h"

namespace sotto::server::delivery {

// Key packages.
inline constexpr size_t kMaxKeyPackagesPerUpload = 100;
inline constexpr uint64_t kMaxKeyPackageStock = 1000;  // one-time ones, per device
// A KeyPackage with a basic credential is about 300 bytes; the cap keeps a device's stock
// from holding megabytes of junk that still parses.
inline constexpr size_t kMaxKeyPackageBytes = 16 * 1024;
// Below this many one-time key packages a live device is told to upload more.
inline constexpr uint32_t kLowKeyPackageStock = 10;

// Delivery.
inline constexpr size_t kMaxRecipients = 1000;
inline constexpr uint32_t kMaxFetch = 500;
inline constexpr size_t kMaxAckSeqs = 10000;

// Framing around queued payloads, so that whatever is accepted can be sent back in one
// WebSocket message of at most max_message_bytes. A QueuedMessage adds seq, received_at and
// a 4-byte varint length; a fetch's response adds the frame tag, request id, body tag, the
// list's 4-byte length and `more`; a MessageEvent adds only the frame and event tags.
inline constexpr size_t kQueuedMessageOverhead = 8 + 8 + 4;
inline constexpr size_t kFetchResponseOverhead = 1 + 8 + 2 + 4 + 1;
inline constexpr size_t kPayloadOverhead = kFetchResponseOverhead + kQueuedMessageOverhead;

// Milliseconds since the Unix epoch: the handlers read the clock, the store is given times.
inline uint64_t wall_clock_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Counters of the delivery service. sottod runs one ServerState per process, so they are
// process-wide; tests compare differences.
struct DeliveryMetrics {
  std::atomic<uint64_t> messages_accepted{0};  // Sends accepted (repeats not counted)
  std::atomic<uint64_t> delivered_live{0};     // copies pushed to a live connection
  std::atomic<uint64_t> queued_offline{0};     // copies left for a device with none
  std::atomic<uint64_t> acked{0};              // queued copies deleted by acknowledgement
  std::atomic<uint64_t> key_packages_claimed{0};

  // The Prometheus text exposition format, version 0.0.4.
  std::string to_prometheus() const;
};

DeliveryMetrics& metrics();

// The caller's device and account, or Errc::unauthenticated.
Result<void> require_device(const Caller& caller);

}  // namespace sotto::server::delivery
