// The web client's session cookie on a real sottod: POST /v1/web-session sets it, DELETE clears
// it, and the file API takes it from this server's own page only; the Cookie header's parser as
// a unit.
#include "web_session.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "https_client.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sottod_process.h"
#include "test_devices.h"

namespace sotto::server {
namespace {

namespace fs = std::filesystem;

using testing::HttpRequest;
using testing::HttpResponse;
using testing::TempDir;
using Sottod = testing::SottodProcess;
using Headers = std::vector<std::pair<std::string, std::string>>;

const std::string kAttributes = "; Path=/v1/; Secure; HttpOnly; SameSite=Strict";
const std::string kFile = "an encrypted attachment, as far as the server can tell";

std::string error_of(const HttpResponse& res) {
  auto json = nlohmann::json::parse(res.body(), nullptr, false);
  return json.is_object() && json.contains("error") ? json["error"].get<std::string>() : "";
}

class WebSessionTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(std::vector<std::string> extra) {
    server_ = std::make_unique<Sottod>(Sottod::args_for(dir_.path() / "data", std::move(extra)));
    ASSERT_TRUE(server_->wait_listening()) << server_->log();
    host_ = "127.0.0.1:" + std::to_string(server_->port());
    own_origin_ = "https://" + host_;
    device_ = testing::register_device(server_->port(), "alice");
    token_ = to_base64url(device_.session.token);
  }

  HttpResponse send(http::verb method, const std::string& target, const Headers& headers,
                    const std::string& body = "") {
    HttpRequest req(method, target, 11);
    req.set(http::field::host, host_);
    for (const auto& [name, value] : headers) req.insert(name, value);
    req.body() = body;
    return testing::https_request(server_->port(), std::move(req));
  }

  // What the page's scripts send: its own Origin, fetched from the same origin.
  Headers from_page(const std::string& cookie) const {
    return {{"Cookie", cookie}, {"Origin", own_origin_}, {"Sec-Fetch-Site", "same-origin"}};
  }

  // The cookie as a browser sends it back: the first pair of the Set-Cookie.
  std::string cookie_from(const HttpResponse& res) const {
    std::string set_cookie(res[http::field::set_cookie]);
    return set_cookie.substr(0, set_cookie.find(';'));
  }

  // Where an upload's answer says the file is.
  static std::string file_path(const HttpResponse& uploaded) {
    return "/v1/files/" + nlohmann::json::parse(uploaded.body()).at("id").get<std::string>();
  }

  HttpResponse upload(const Headers& headers) {
    return send(http::verb::post, "/v1/files", headers, kFile);
  }

  // The blobs sottod keeps, temporaries included.
  size_t stored_files() const {
    std::error_code ec;
    size_t n = 0;
    for (fs::directory_iterator it(dir_.path() / "data" / "files", ec), end; !ec && it != end;
         it.increment(ec)) {
      ++n;
    }
    return n;
  }

  TempDir dir_;
  std::unique_ptr<Sottod> server_;
  std::string host_;
  std::string own_origin_;
  testing::TestDevice device_;
  std::string token_;
};

TEST_F(WebSessionTest, PostSetsTheTokenAsASessionCookie) {
  for (const Headers& origin : {Headers{{"Origin", own_origin_}}, Headers{}}) {
    Headers headers = origin;
    headers.emplace_back("Authorization", "Bearer " + token_);
    auto res = send(http::verb::post, "/v1/web-session", headers);
    ASSERT_EQ(res.result(), http::status::no_content) << res.body();
    EXPECT_EQ(res.count(http::field::set_cookie), 1u);
    EXPECT_EQ(res[http::field::set_cookie], "sotto_session=" + token_ + kAttributes);
    EXPECT_EQ(res[http::field::cache_control], "no-store");
    EXPECT_TRUE(res.body().empty());
  }
}

TEST_F(WebSessionTest, PostNeedsAValidBearerToken) {
  auto none = send(http::verb::post, "/v1/web-session", {{"Origin", own_origin_}});
  EXPECT_EQ(none.result(), http::status::unauthorized);
  EXPECT_EQ(error_of(none), "unauthenticated");
  EXPECT_EQ(none[http::field::www_authenticate], "Bearer");
  for (const std::string& bad :
       {to_base64url(crypto::random_bytes(32)), std::string("not a token"), token_ + "AA"}) {
    auto res = send(http::verb::post, "/v1/web-session", {{"Authorization", "Bearer " + bad}});
    EXPECT_EQ(res.result(), http::status::unauthorized) << bad;
    EXPECT_EQ(res.find(http::field::set_cookie), res.end());
  }
  // The cookie does not renew itself: minting one takes the token itself.
  auto by_cookie = send(http::verb::post, "/v1/web-session", from_page("sotto_session=" + token_));
  EXPECT_EQ(by_cookie.result(), http::status::unauthorized);
  EXPECT_EQ(by_cookie.find(http::field::set_cookie), by_cookie.end());
}

TEST_F(WebSessionTest, PostFromAnotherOriginIsRefused) {
  for (const std::string& origin :
       {std::string("https://evil.example"),
        "https://127.0.0.1:" + std::to_string(server_->port() + 1), std::string("null")}) {
    auto res = send(http::verb::post, "/v1/web-session",
                    {{"Authorization", "Bearer " + token_}, {"Origin", origin}});
    EXPECT_EQ(res.result(), http::status::forbidden) << origin;
    EXPECT_EQ(error_of(res), "forbidden");
    EXPECT_EQ(res.find(http::field::set_cookie), res.end());
  }
}

TEST_F(WebSessionTest, DeleteClearsTheCookie) {
  auto res = send(http::verb::delete_, "/v1/web-session", {{"Origin", own_origin_}});
  ASSERT_EQ(res.result(), http::status::no_content);
  EXPECT_EQ(res[http::field::set_cookie], "sotto_session=" + kAttributes + "; Max-Age=0");
  EXPECT_EQ(res[http::field::cache_control], "no-store");
  // No session is needed to clear it, but another site's page may not.
  EXPECT_EQ(send(http::verb::delete_, "/v1/web-session", {}).result(), http::status::no_content);
  auto foreign = send(http::verb::delete_, "/v1/web-session", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(foreign.result(), http::status::forbidden);
  EXPECT_EQ(foreign.find(http::field::set_cookie), foreign.end());

  for (auto method : {http::verb::get, http::verb::head, http::verb::put}) {
    auto other = send(method, "/v1/web-session", {{"Authorization", "Bearer " + token_}});
    EXPECT_EQ(other.result(), http::status::method_not_allowed);
    EXPECT_EQ(other[http::field::allow], "POST, DELETE");
    EXPECT_EQ(other.find(http::field::set_cookie), other.end());
  }
}

TEST_F(WebSessionTest, TheCookieAloneUploadsAndDownloads) {
  auto minted = send(http::verb::post, "/v1/web-session",
                     {{"Authorization", "Bearer " + token_}, {"Origin", own_origin_}});
  ASSERT_EQ(minted.result(), http::status::no_content);
  std::string cookie = cookie_from(minted);

  auto uploaded = upload(from_page("theme=dark; " + cookie + "; lang=en"));
  ASSERT_EQ(uploaded.result(), http::status::created) << uploaded.body();
  std::string path = file_path(uploaded);

  auto fetched = send(http::verb::get, path, from_page(cookie));
  ASSERT_EQ(fetched.result(), http::status::ok) << fetched.body();
  EXPECT_EQ(fetched.body(), kFile);
  // A same-origin GET from a browser carries no Origin; nor does a client without Sec-Fetch-*.
  fetched = send(http::verb::get, path, {{"Cookie", cookie}, {"Sec-Fetch-Site", "same-origin"}});
  EXPECT_EQ(fetched.result(), http::status::ok);
  fetched = send(http::verb::get, path, {{"Cookie", cookie}, {"Range", "bytes=0-1"}});
  EXPECT_EQ(fetched.result(), http::status::partial_content);
  EXPECT_EQ(fetched.body(), kFile.substr(0, 2));
  auto head = send(http::verb::head, path, {{"Cookie", cookie}});
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_EQ(head[http::field::content_length], std::to_string(kFile.size()));

  EXPECT_EQ(send(http::verb::delete_, path, from_page(cookie)).result(), http::status::no_content);
  EXPECT_EQ(stored_files(), 0u);
  EXPECT_EQ(server_->log().find(token_), std::string::npos);
}

TEST_F(WebSessionTest, CookieRequestsFromElsewhereAreRefused) {
  std::string cookie = "sotto_session=" + token_;
  const Headers refused_uploads[] = {
      {{"Cookie", cookie}, {"Origin", "https://evil.example"}},
      {{"Cookie", cookie}, {"Origin", "null"}},
      {{"Cookie", cookie}, {"Origin", own_origin_}, {"Sec-Fetch-Site", "cross-site"}},
      {{"Cookie", cookie}, {"Origin", own_origin_}, {"Sec-Fetch-Site", "same-site"}},
      // A form or a script of any page could send this: an upload shows where it comes from.
      {{"Cookie", cookie}},
      {{"Cookie", cookie}, {"Sec-Fetch-Site", "same-origin"}},
  };
  for (const auto& headers : refused_uploads) {
    auto res = upload(headers);
    EXPECT_EQ(res.result(), http::status::forbidden) << headers.back().second;
    EXPECT_EQ(error_of(res), "forbidden");
    EXPECT_FALSE(nlohmann::json::parse(res.body()).at("message").get<std::string>().empty());
  }
  EXPECT_EQ(stored_files(), 0u);

  auto uploaded = upload({{"Authorization", "Bearer " + token_}});
  ASSERT_EQ(uploaded.result(), http::status::created);
  std::string path = file_path(uploaded);
  for (const Headers& headers : {Headers{{"Cookie", cookie}, {"Origin", "https://evil.example"}},
                                 Headers{{"Cookie", cookie}, {"Sec-Fetch-Site", "cross-site"}},
                                 Headers{{"Cookie", cookie}, {"Sec-Fetch-Site", "none"}}}) {
    auto res = send(http::verb::get, path, headers);
    EXPECT_EQ(res.result(), http::status::forbidden) << headers.back().second;
    EXPECT_EQ(res.body().find(kFile), std::string::npos);
  }
  EXPECT_EQ(send(http::verb::delete_, path, {{"Cookie", cookie}}).result(),
            http::status::forbidden);
  EXPECT_EQ(
      send(http::verb::delete_, path, {{"Cookie", cookie}, {"Origin", "https://evil.example"}})
          .result(),
      http::status::forbidden);
  EXPECT_EQ(send(http::verb::get, path, {{"Authorization", "Bearer " + token_}}).body(), kFile);
}

TEST_F(WebSessionTest, BearerRequestsAreAsBefore) {
  // The cookie's rules do not apply to a request that carries its token itself.
  auto res = upload({{"Authorization", "Bearer " + token_},
                     {"Origin", "https://evil.example"},
                     {"Sec-Fetch-Site", "cross-site"}});
  EXPECT_EQ(res.result(), http::status::created) << res.body();
  // Authorization comes first: a bad one is not rescued by a good cookie.
  res = upload({{"Authorization", "Bearer " + to_base64url(crypto::random_bytes(32))},
                {"Cookie", "sotto_session=" + token_},
                {"Origin", own_origin_}});
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(stored_files(), 1u);
}

TEST_F(WebSessionTest, BadCookiesAreUnauthenticated) {
  const std::string cookies[] = {
      "sotto_session=" + to_base64url(crypto::random_bytes(32)),  // no such session
      "sotto_session=garbage",
      "sotto_session=",
      "sotto_session=\"" + token_ + "\"",
      "Sotto_Session=" + token_,
      // Malformed headers count as no cookie at all.
      "sotto_session=" + token_ + ";",
      "sotto_session=" + token_ + "; lang",
      "sotto_session " + token_,
      "sotto_session=" + token_ + "; a=b c",
      // Twice: which one is ours cannot be told.
      "sotto_session=" + token_ + "; sotto_session=" + token_,
  };
  for (const auto& cookie : cookies) {
    auto res = upload(from_page(cookie));
    EXPECT_EQ(res.result(), http::status::unauthorized) << cookie;
    EXPECT_EQ(error_of(res), "unauthenticated") << cookie;
  }
  auto twice = upload({{"Cookie", "sotto_session=" + token_},
                       {"Cookie", "sotto_session=" + token_},
                       {"Origin", own_origin_}});
  EXPECT_EQ(twice.result(), http::status::unauthorized);
  EXPECT_EQ(stored_files(), 0u);
  EXPECT_EQ(server_->log().find(token_), std::string::npos);
}

TEST_F(WebSessionTest, LogoutEndsTheCookie) {
  auto minted = send(http::verb::post, "/v1/web-session", {{"Authorization", "Bearer " + token_}});
  ASSERT_EQ(minted.result(), http::status::no_content);
  std::string cookie = cookie_from(minted);
  auto uploaded = upload({{"Authorization", "Bearer " + token_}});
  ASSERT_EQ(uploaded.result(), http::status::created);
  std::string path = file_path(uploaded);
  ASSERT_EQ(send(http::verb::get, path, from_page(cookie)).result(), http::status::ok);

  ASSERT_EQ(testing::error_code(device_.client->request(proto::Logout{})), Errc::ok);
  auto res = send(http::verb::get, path, from_page(cookie));
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(error_of(res), "unauthenticated");
  EXPECT_EQ(upload(from_page(cookie)).result(), http::status::unauthorized);
  EXPECT_EQ(stored_files(), 1u);
}

TEST(WebSessionExpiry, AnExpiredSessionsCookieIsUnauthenticated) {
  TempDir dir;
  Sottod server(Sottod::args_for(dir.path() / "data", {"--session-ttl-seconds", "3"}));
  ASSERT_TRUE(server.wait_listening()) << server.log();
  auto device = testing::register_device(server.port(), "alice");
  std::string token = to_base64url(device.session.token);
  auto started = std::chrono::steady_clock::now();
  auto request = [&](http::verb method, const std::string& target, const std::string& header,
                     const std::string& value) {
    HttpRequest req(method, target, 11);
    req.set(header, value);
    return testing::https_request(server.port(), std::move(req));
  };
  auto minted = request(http::verb::post, "/v1/web-session", "Authorization", "Bearer " + token);
  ASSERT_EQ(minted.result(), http::status::no_content);
  std::string cookie = "sotto_session=" + token;
  std::this_thread::sleep_until(started + std::chrono::milliseconds(3500));
  auto res = request(http::verb::get, "/v1/files/" + to_base64url(Bytes(16, 1)), "Cookie", cookie);
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(error_of(res), "unauthenticated");
  // Nor can it be minted again.
  res = request(http::verb::post, "/v1/web-session", "Authorization", "Bearer " + token);
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(res.find(http::field::set_cookie), res.end());
}

// ---- the Cookie header ----------------------------------------------------------------

TEST(CookieHeader, FindsTheNamedValues) {
  using Values = std::vector<std::string_view>;
  EXPECT_EQ(cookie_values("a=b", "a"), Values{"b"});
  EXPECT_EQ(cookie_values("a=b; c=d", "c"), Values{"d"});
  EXPECT_EQ(cookie_values("a=b;c=d", "c"), Values{"d"});
  EXPECT_EQ(cookie_values("a=b; c=d", "e"), Values{});
  EXPECT_EQ(cookie_values("a=; c=d", "a"), Values{""});
  EXPECT_EQ(cookie_values("a=x=y", "a"), Values{"x=y"});
  EXPECT_EQ(cookie_values("a=\"q\"", "a"), Values{"\"q\""});
  EXPECT_EQ(cookie_values("a=1; b=2; a=3", "a"), (Values{"1", "3"}));
  EXPECT_EQ(cookie_values("A=1", "a"), Values{});
}

TEST(CookieHeader, MalformedIsNothing) {
  for (const char* header :
       {"", " ", "a", "a=b;", "a=b; ", ";a=b", "a=b;; c=d", "=b", "a b=c", "a=b c", "a=b,c=d",
        "a=\"b", "a=b\\", "a=\"b\"c", "a=\x7f", "a=\xc3\xa9"}) {
    EXPECT_EQ(cookie_values(header, "a"), std::nullopt) << header;
  }
}

TEST(CookieHeader, TheSessionCookieIsOneAndWellFormed) {
  http::fields fields;
  EXPECT_EQ(session_cookie(fields), std::nullopt);
  fields.insert(http::field::cookie, "lang=en");
  EXPECT_EQ(session_cookie(fields), std::nullopt);
  fields.insert(http::field::cookie, "sotto_session=abc");
  EXPECT_EQ(session_cookie(fields), std::optional<std::string_view>("abc"));
  fields.insert(http::field::cookie, "theme=dark");
  EXPECT_EQ(session_cookie(fields), std::optional<std::string_view>("abc"));
  fields.insert(http::field::cookie, "sotto_session=def");
  EXPECT_EQ(session_cookie(fields), std::nullopt);

  http::fields malformed;
  malformed.insert(http::field::cookie, "sotto_session=abc");
  malformed.insert(http::field::cookie, "oops");
  EXPECT_EQ(session_cookie(malformed), std::nullopt);
}

}  // namespace
}  // namespace sotto::server
