// Push endpoint URLs: what a push service hands out parses; anything odd is refused.
#include <gtest/gtest.h>

#include <string>

#include "sotto/webpush/webpush.h"

namespace sotto::webpush {
namespace {

TEST(Endpoint, ParsesPushServiceUrls) {
  auto fcm = parse_endpoint("https://fcm.googleapis.com/fcm/send/dKx9:APA91b?x=1");
  ASSERT_TRUE(fcm.ok()) << fcm.error().to_string();
  EXPECT_TRUE(fcm->https());
  EXPECT_EQ(fcm->host, "fcm.googleapis.com");
  EXPECT_EQ(fcm->port, 443);
  EXPECT_EQ(fcm->target, "/fcm/send/dKx9:APA91b?x=1");
  EXPECT_EQ(fcm->origin(), "https://fcm.googleapis.com");
  EXPECT_FALSE(fcm->loopback());

  auto local = parse_endpoint("http://127.0.0.1:8080/push/abc");
  ASSERT_TRUE(local.ok());
  EXPECT_FALSE(local->https());
  EXPECT_EQ(local->port, 8080);
  EXPECT_EQ(local->origin(), "http://127.0.0.1:8080");
  EXPECT_EQ(local->host_header(), "127.0.0.1:8080");
  EXPECT_TRUE(local->loopback());

  auto v6 = parse_endpoint("HTTPS://[::1]:9443");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->target, "/");
  EXPECT_EQ(v6->origin(), "https://[::1]:9443");
  EXPECT_TRUE(v6->loopback());

  auto upper = parse_endpoint("https://Push.Example.COM:443/x");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->origin(), "https://push.example.com");  // default port left out
}

TEST(Endpoint, RefusesOddUrls) {
  for (const char* url : {"",
                          "push.example.com/x",
                          "ftp://push.example.com/x",
                          "https://",
                          "https:///x",
                          "https://user@push.example.com/x",
                          "https://push.example.com:/x",
                          "https://push.example.com:0/x",
                          "https://push.example.com:65536/x",
                          "https://push.example.com:44a/x",
                          "https://push.example.com/a b",
                          "https://push.example.com/a#frag",
                          "https://push.example.com#frag",
                          "https://push.exa_mple.com/x",
                          "https://-push.example.com/x",
                          "https://push..example.com/x",
                          "https://[::1/x",
                          "https://[zz::1]/x",
                          "https://[::1]x/x",
                          "https://push.example.com/\x01",
                          "https://push%2eexample.com/"}) {
    EXPECT_FALSE(parse_endpoint(url).ok()) << url;
  }
  std::string long_url = "https://push.example.com/" + std::string(2048, 'a');
  auto r = parse_endpoint(long_url);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("2048"), std::string::npos);
  EXPECT_TRUE(parse_endpoint(long_url.substr(0, 2048)).ok());
}

TEST(Endpoint, LoopbackIsAnAddressNotAName) {
  EXPECT_FALSE(parse_endpoint("http://127.example.com/x")->loopback());
  EXPECT_FALSE(parse_endpoint("http://10.0.0.1/x")->loopback());
  EXPECT_TRUE(parse_endpoint("http://localhost:1/x")->loopback());
  EXPECT_TRUE(parse_endpoint("http://127.1.2.3/x")->loopback());
}

}  // namespace
}  // namespace sotto::webpush
