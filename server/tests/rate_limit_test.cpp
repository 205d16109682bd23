// The token buckets of RateLimiter, on a clock the test moves: burst, refill, separate keys
// and kinds, and the bound on how many buckets it keeps.
#include "services/rate_limit.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <string>

#include "client_address.h"

namespace sotto::server {
namespace {

using Clock = RateLimiter::Clock;
using std::chrono::seconds;

const Clock::time_point kStart = Clock::time_point() + std::chrono::hours(1);

RateLimits limits_with_login(RateLimit login) {
  RateLimits limits;
  limits.login = login;
  return limits;
}

int allowed_of(RateLimiter& limiter, std::string_view key, int tries, Clock::time_point at) {
  int allowed = 0;
  for (int i = 0; i < tries; ++i) allowed += limiter.allow_at("login", key, at) ? 1 : 0;
  return allowed;
}

TEST(RateLimiter, AllowsABurstThenRefuses) {
  RateLimiter limiter(limits_with_login({60, 3}));
  EXPECT_EQ(allowed_of(limiter, "192.0.2.1", 10, kStart), 3);
}

TEST(RateLimiter, RefillsAtTheSustainedRateUpToTheBurst) {
  RateLimiter limiter(limits_with_login({60, 3}));  // one a second
  EXPECT_EQ(allowed_of(limiter, "k", 3, kStart), 3);
  EXPECT_FALSE(limiter.allow_at("login", "k", kStart + std::chrono::milliseconds(900)));
  EXPECT_TRUE(limiter.allow_at("login", "k", kStart + seconds(1)));
  EXPECT_FALSE(limiter.allow_at("login", "k", kStart + seconds(1)));
  EXPECT_EQ(allowed_of(limiter, "k", 3, kStart + seconds(3)), 2);
  // An hour idle fills the bucket to its burst, no further.
  EXPECT_EQ(allowed_of(limiter, "k", 10, kStart + std::chrono::hours(1)), 3);
  // A clock that goes back adds nothing.
  EXPECT_FALSE(limiter.allow_at("login", "k", kStart));
}

TEST(RateLimiter, KeysAndKindsHaveTheirOwnBuckets) {
  RateLimits limits;
  limits.login = {1, 2};
  limits.login_username = {1, 1};
  RateLimiter limiter(limits);
  EXPECT_EQ(allowed_of(limiter, "alice", 5, kStart), 2);
  EXPECT_EQ(allowed_of(limiter, "bob", 5, kStart), 2);
  EXPECT_TRUE(limiter.allow_at("login_username", "alice", kStart));
  EXPECT_FALSE(limiter.allow_at("login_username", "alice", kStart));
  EXPECT_TRUE(limiter.allow_at("login_username", "bob", kStart));
  // A kind it does not know is never limited.
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.allow_at("no such kind", "alice", kStart));
}

TEST(RateLimiter, ZeroMeansUnlimited) {
  RateLimiter limiter(limits_with_login({0, 0}));
  EXPECT_EQ(allowed_of(limiter, "k", 1000, kStart), 1000);
  EXPECT_EQ(limiter.bucket_count(), 0u);
}

TEST(RateLimiter, FullBucketsAreForgotten) {
  RateLimiter limiter(limits_with_login({60, 2}), 64);
  for (int i = 0; i < 63; ++i) limiter.allow_at("login", "k" + std::to_string(i), kStart);
  EXPECT_EQ(limiter.bucket_count(), 63u);
  // A second later every bucket is full again: the next new key finds them gone.
  EXPECT_TRUE(limiter.allow_at("login", "k63", kStart + seconds(1)));
  EXPECT_TRUE(limiter.allow_at("login", "k64", kStart + seconds(1)));
  EXPECT_LE(limiter.bucket_count(), 2u);
}

// A flood of distinct keys (a new username per try) cannot grow memory past the bound, nor
// buy back a hammered key's tries by pushing its empty bucket out.
TEST(RateLimiter, MemoryIsBoundedAndEmptyBucketsAreKept) {
  constexpr size_t kMax = 64;
  RateLimiter limiter(limits_with_login({1, 2}), kMax);
  EXPECT_EQ(allowed_of(limiter, "victim", 5, kStart), 2);
  size_t most = 0;
  for (int i = 0; i < 20000; ++i) {
    EXPECT_TRUE(limiter.allow_at("login", "flood" + std::to_string(i), kStart));
    most = std::max(most, limiter.bucket_count());
  }
  EXPECT_LE(most, kMax);
  EXPECT_FALSE(limiter.allow_at("login", "victim", kStart));
  // The default bound.
  RateLimiter defaults(limits_with_login({1, 2}));
  for (int i = 0; i < 250000; ++i) defaults.allow_at("login", std::to_string(i), kStart);
  EXPECT_LE(defaults.bucket_count(), RateLimiter::kMaxBuckets);
}

// What per-IP limits count a client under behind a proxy (client_address.h).
std::optional<std::string> forwarded(std::initializer_list<std::string> fields) {
  http::fields headers;
  headers.set(http::field::host, "chat.example.org");
  for (const auto& value : fields) headers.insert("X-Forwarded-For", value);
  return last_forwarded_for(headers);
}

TEST(ForwardedFor, TakesTheLastEntryTheOneTheProxyAppended) {
  EXPECT_EQ(forwarded({"198.51.100.7"}), "198.51.100.7");
  // What the client wrote comes first and is not believed.
  EXPECT_EQ(forwarded({"203.0.113.9, 198.51.100.7"}), "198.51.100.7");
  EXPECT_EQ(forwarded({"203.0.113.9,198.51.100.7"}), "198.51.100.7");
  EXPECT_EQ(forwarded({"  198.51.100.7\t "}), "198.51.100.7");
  // Several fields are one list, in order.
  EXPECT_EQ(forwarded({"203.0.113.9", "198.51.100.7"}), "198.51.100.7");
  EXPECT_EQ(forwarded({"203.0.113.9, 10.0.0.1", "2001:db8::1"}), "2001:db8::1");
}

TEST(ForwardedFor, WritesAddressesOneWay) {
  EXPECT_EQ(forwarded({"2001:DB8:0:0::1"}), "2001:db8::1");
  EXPECT_EQ(forwarded({"[2001:db8::1]"}), "2001:db8::1");
  EXPECT_EQ(forwarded({"::ffff:198.51.100.7"}), "198.51.100.7");
}

TEST(ForwardedFor, AnythingButAnAddressIsNothing) {
  EXPECT_EQ(forwarded({}), std::nullopt);
  EXPECT_EQ(forwarded({""}), std::nullopt);
  EXPECT_EQ(forwarded({"198.51.100.7,"}), std::nullopt);
  EXPECT_EQ(forwarded({"198.51.100.7, unknown"}), std::nullopt);
  EXPECT_EQ(forwarded({"198.51.100.7:4711"}), std::nullopt);
  EXPECT_EQ(forwarded({"[2001:db8::1]:4711"}), std::nullopt);
  EXPECT_EQ(forwarded({"_hidden"}), std::nullopt);
  EXPECT_EQ(forwarded({"198.51.100.256"}), std::nullopt);
  EXPECT_EQ(forwarded({"[]"}), std::nullopt);
  EXPECT_EQ(forwarded({std::string(100, '1')}), std::nullopt);
  // The last entry decides: an address before a bad one is not taken instead.
  EXPECT_EQ(forwarded({"198.51.100.7", "garbage"}), std::nullopt);
}

TEST(PerIpKey, IPv4ByItselfIPv6ByItsSlash64) {
  EXPECT_EQ(per_ip_key("198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(per_ip_key("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(per_ip_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(per_ip_key("2001:db8:1:2::ffff"), "2001:db8:1:2::/64");
  EXPECT_EQ(per_ip_key("2001:db8:1:3::1"), "2001:db8:1:3::/64");
  EXPECT_EQ(per_ip_key("::1"), "::/64");
  EXPECT_EQ(per_ip_key(""), "");
}

}  // namespace
}  // namespace sotto::server
