#include "services/rate_limit.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace sotto::server {
namespace {

// Below this many buckets none are dropped: pruning walks them all.
constexpr size_t kPruneFloor = 4096;
// A token short by rounding alone (refills added in small steps) still counts as one.
constexpr double kRoundingSlack = 1e-9;

double minutes_between(RateLimiter::Clock::time_point from, RateLimiter::Clock::time_point to) {
  return std::max(0.0, std::chrono::duration<double, std::ratio<60>>(to - from).count());
}

}  // namespace

RateLimiter::RateLimiter(const RateLimits& limits, size_t max_buckets)
    : limits_(limits),
      max_buckets_(std::max<size_t>(max_buckets, 2)),
      prune_at_(std::min(kPruneFloor, max_buckets_)) {}

const RateLimit* RateLimiter::limit_of(std::string_view kind) const {
  if (kind == "login") return &limits_.login;
  if (kind == "login_username") return &limits_.login_username;
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
    b.tokens = std::min<double>(limit->burst,
                                b.tokens + minutes_between(b.updated, now) * limit->per_minute);
  }
  b.updated = now;
  if (b.tokens < 1.0 - kRoundingSlack) return false;
  b.tokens -= 1.0;
  return true;
}

size_t RateLimiter::bucket_count() {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

double RateLimiter::fill_at(const std::string& id, const Bucket& bucket,
                            Clock::time_point now) const {
  const RateLimit* limit = limit_of(std::string_view(id.data(), id.find('\0')));
  if (!limit || limit->burst == 0) return 1.0;
  const double tokens = bucket.tokens + minutes_between(bucket.updated, now) * limit->per_minute;
  return std::min(1.0, tokens / limit->burst);
}

void RateLimiter::prune(Clock::time_point now) {
  std::erase_if(buckets_,
                [&](const auto& entry) { return fill_at(entry.first, entry.second, now) >= 1.0; });
  const size_t keep = max_buckets_ / 2;
  if (buckets_.size() > keep) {
    std::vector<std::pair<double, decltype(buckets_)::iterator>> by_fill;
    by_fill.reserve(buckets_.size());
    for (auto it = buckets_.begin(); it != buckets_.end(); ++it) {
      by_fill.emplace_back(fill_at(it->first, it->second, now), it);
    }
    const auto drop = static_cast<std::ptrdiff_t>(by_fill.size() - keep);
    std::nth_element(by_fill.begin(), by_fill.begin() + drop - 1, by_fill.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (auto entry = by_fill.begin(); entry != by_fill.begin() + drop; ++entry) {
      buckets_.erase(entry->second);
    }
  }
  // Under a flood of distinct keys every bucket may be live: grow rather than forget them,
  // up to the cap.
  prune_at_ =
      std::clamp<size_t>(buckets_.size() * 2, std::min(kPruneFloor, max_buckets_), max_buckets_);
}

}  // namespace sotto::server
