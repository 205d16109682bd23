// Token buckets against guessing and flooding: logins (per IP, and per username whether or not
// an account has it), registrations (per IP), sends and uploads (per account). One sottod
// keeps them in memory; several nodes would share them in Redis (see docs on scale-out).
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

  // The most buckets kept at once: about 100 bytes each.
  static constexpr size_t kMaxBuckets = 100000;

  explicit RateLimiter(const RateLimits& limits, size_t max_buckets = kMaxBuckets);

  // Takes one token from the bucket of (kind, key); false when it is empty. `kind` is one of
  // "login", "login_username", "registration", "sends", "uploads" (an unknown kind is never
  // limited); `key` is an IP address, a username or an account id. Safe from any thread.
  bool allow(std::string_view kind, std::string_view key) {
    return allow_at(kind, key, Clock::now());
  }
  bool allow_at(std::string_view kind, std::string_view key, Clock::time_point now);

  // How many buckets are kept now (tests).
  size_t bucket_count();

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  const RateLimit* limit_of(std::string_view kind) const;
  // How full the bucket of `id` would be at `now`, from 0 to 1 (1 for a kind with no limit).
  double fill_at(const std::string& id, const Bucket& bucket, Clock::time_point now) const;
  // Drops buckets that have refilled completely: they hold no information. When a flood of
  // distinct keys leaves more than half of max_buckets_ that are not full, drops the fullest
  // of them down to half: an empty bucket, a key being hammered, is the last to go.
  void prune(Clock::time_point now);

  RateLimits limits_;
  size_t max_buckets_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  size_t prune_at_;
};

}  // namespace sotto::server
