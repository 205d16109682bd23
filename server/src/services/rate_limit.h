// Token buckets against guessing and flooding: logins (per IP and per account), registrations
// (per IP), sends and uploads (per account). One sottod keeps them in memory; several nodes
// would share them in Redis (see docs on scale-out).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config.h"

namespace sotto::server {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(const RateLimits& limits) : limits_(limits) {}

  // Takes one token from the bucket of (kind, key); false when it is empty. `kind` is one of
  // "login", "registration", "sends", "uploads" (an unknown kind is never limited); `key` is
  // an IP address or an account id. Safe from any thread.
  bool allow(std::string_view kind, std::string_view key) {
    return allow_at(kind, key, Clock::now());
  }
  bool allow_at(std::string_view kind, std::string_view key, Clock::time_point now);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  const RateLimit* limit_of(std::string_view kind) const;
  // Drops buckets that have refilled completely: they hold no information.
  void prune(Clock::time_point now);

  RateLimits limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  size_t prune_at_ = 4096;
};

}  // namespace sotto::server
