#include "services/rate_limit.h"

#include <algorithm>
#include <vector>

namespace sotto::server {

const RateLimit* RateLimiter::limit_of(std::string_view kind) const {
  if (kind == "login") return &limits_.login;
  if (kind == "registration") return &limits_.registration;
  if (kind == "sends") return &limits_.sends;
  if (kind == "uploads") return &limits_.uploads;
  return nullptr;
}

bool RateLimiter::allow_at(std::string_view kind, std::string_view key, Clock::time_point now) {
  const RateLimit* limit = limit_of(kind);
  if (!limit || limit->per_minute == 0 || limit->burst == 0) return true;
  std::string id;
  id.reserve(kind.size() + 1 + key.size());
  id.append(kind).push_back('\0');
  id.append(key);
  std::lock_guard lock(mutex_);
  if (buckets_.size() >= prune_at_) prune(now);
  auto [it, fresh] = buckets_.try_emplace(std::move(id));
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = limit->burst;
  } else {
    double minutes = std::chrono::duration<double, std::ratio<60>>(now - b.updated).count();
    b.tokens =
        std::min<double>(limit->burst, b.tokens + std::max(0.0, minutes) * limit->per_minute);
  }
  b.updated = now;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

void RateLimiter::prune(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    std::string_view kind(it->first.data(), it->first.find('\0'));
    const RateLimit* limit = limit_of(kind);
    double minutes =
        std::chrono::duration<double, std::ratio<60>>(now - it->second.updated).count();
    bool full = !limit || it->second.tokens + minutes * limit->per_minute >= limit->burst;
    it = full ? buckets_.erase(it) : std::next(it);
  }
  // Under a flood of distinct keys every bucket may be live: grow rather than forget them.
  prune_at_ = std::max<size_t>(4096, buckets_.size() * 2);
}

}  // namespace sotto::server
