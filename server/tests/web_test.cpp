// The web client's files and config as the real sottod serves them (web.root): headers,
// caching, methods, and paths that try to leave the web root; the Origin check of WebSocket
// upgrades; and the loading rules (links skipped, a size cap, a missing root refused).
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "http_web.h"
#include "https_client.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sotto/proto/protocol.h"
#include "sottod_process.h"
#include "web_root.h"

namespace sotto::server {
namespace {

namespace fs = std::filesystem;

using testing::HttpRequest;
using testing::HttpResponse;
using testing::https_request;
using testing::TempDir;
using Sottod = testing::SottodProcess;

const std::string kIndex = "<!doctype html><title>Sotto</title><script src=/assets/app-1a2b3c.js>";
const std::string kScript = "console.log('sotto');\n";
const std::string kWasm("\0asm\1\0\0\0 a module", 17);
const std::string kNested = "nested text\n";
// Beside the web root, never inside it: no response may carry these bytes.
const std::string kSecret = "the-secret-beside-the-web-root";

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string quoted_sha256(const std::string& content) {
  auto digest =
      crypto::sha256(BytesView(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
  return "\"" + to_hex(digest) + "\"";
}

// DIR/web: the web root; DIR/secret beside it, and links from inside to both.
fs::path make_web_root(const fs::path& dir) {
  fs::path root = dir / "web";
  write_file(root / "index.html", kIndex);
  write_file(root / "assets" / "app-1a2b3c.js", kScript);
  write_file(root / "assets" / "core-9f8e.wasm", kWasm);
  write_file(root / "nested" / "deeper" / "notes.txt", kNested);
  write_file(root / ".env", kSecret);
  write_file(dir / "secret", kSecret);
  fs::create_symlink(dir / "secret", root / "linked-secret");
  fs::create_directory_symlink(dir, root / "linked-dir");
  return root;
}

HttpRequest make_request(http::verb method, const std::string& target) {
  return HttpRequest(method, target, 11);
}

HttpResponse get(uint16_t port, const std::string& target) {
  return https_request(port, make_request(http::verb::get, target));
}

// Every response from the web root, and /api/web-config, carries these.
void expect_page_headers(const HttpResponse& res, bool over_tls = true) {
  EXPECT_EQ(res["Content-Security-Policy"],
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
            "img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; "
            "manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(res["Referrer-Policy"], "no-referrer");
  EXPECT_EQ(res["X-Frame-Options"], "DENY");
  EXPECT_EQ(res["Cross-Origin-Opener-Policy"], "same-origin");
  EXPECT_EQ(res["Cross-Origin-Resource-Policy"], "same-origin");
  EXPECT_EQ(res["Permissions-Policy"], "camera=(), microphone=(), geolocation=()");
  if (over_tls) {
    EXPECT_EQ(res[http::field::strict_transport_security], "max-age=31536000");
  } else {
    EXPECT_EQ(res.find(http::field::strict_transport_security), res.end());
  }
  EXPECT_EQ(res.find(http::field::set_cookie), res.end());
}

// A WebSocket upgrade as a browser sends it, with `origin` unless empty.
HttpRequest upgrade_request(const std::string& host, const std::string& origin) {
  HttpRequest req = make_request(http::verb::get, "/v1/ws");
  req.set(http::field::host, host);
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  req.set(http::field::sec_websocket_protocol, "sotto.v1");
  if (!origin.empty()) req.set(http::field::origin, origin);
  return req;
}

class WebRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::path root = make_web_root(dir_.path());
    server_ = std::make_unique<Sottod>(Sottod::args_for(
        dir_.path() / "data", {"--web-root", root.string(), "--plain-listen", "127.0.0.1:0"}));
    ASSERT_TRUE(server_->wait_listening()) << server_->log();
    auto plain = server_->wait_plain_port();
    ASSERT_TRUE(plain.has_value());
    plain_port_ = *plain;
  }
  uint16_t port() const { return server_->port(); }

  TempDir dir_;
  std::unique_ptr<Sottod> server_;
  uint16_t plain_port_ = 0;
};

TEST_F(WebRootTest, RootIsIndexHtmlWithEveryHeader) {
  for (const char* target : {"/", "/index.html", "/?from=link", "/index.html?v=2"}) {
    auto res = get(port(), target);
    ASSERT_EQ(res.result(), http::status::ok) << target;
    EXPECT_EQ(res.body(), kIndex) << target;
    EXPECT_EQ(res[http::field::content_type], "text/html; charset=utf-8");
    EXPECT_EQ(res[http::field::cache_control], "no-cache");
    EXPECT_EQ(res[http::field::etag], quoted_sha256(kIndex));
    EXPECT_EQ(res[http::field::content_length], std::to_string(kIndex.size()));
    expect_page_headers(res);
  }
  // The plain listener is the hop behind a TLS proxy: everything but HSTS, which is the
  // proxy's to send.
  auto plain = testing::plain_http_request(plain_port_, make_request(http::verb::get, "/"));
  ASSERT_EQ(plain.result(), http::status::ok);
  EXPECT_EQ(plain.body(), kIndex);
  expect_page_headers(plain, false);
}

TEST_F(WebRootTest, AssetsAreImmutableAndTyped) {
  auto script = get(port(), "/assets/app-1a2b3c.js");
  ASSERT_EQ(script.result(), http::status::ok);
  EXPECT_EQ(script.body(), kScript);
  EXPECT_EQ(script[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(script[http::field::cache_control], "public, max-age=31536000, immutable");
  EXPECT_EQ(script[http::field::etag], quoted_sha256(kScript));
  expect_page_headers(script);

  auto wasm = get(port(), "/assets/core-9f8e.wasm");
  ASSERT_EQ(wasm.result(), http::status::ok);
  EXPECT_EQ(wasm.body(), kWasm);
  EXPECT_EQ(wasm[http::field::content_type], "application/wasm");
  EXPECT_EQ(wasm[http::field::cache_control], "public, max-age=31536000, immutable");

  // Outside /assets/ names carry no hash: checked again each time.
  auto nested = get(port(), "/nested/deeper/notes.txt");
  ASSERT_EQ(nested.result(), http::status::ok);
  EXPECT_EQ(nested.body(), kNested);
  EXPECT_EQ(nested[http::field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(nested[http::field::cache_control], "no-cache");
}

TEST_F(WebRootTest, HeadHasTheLengthAndNoBody) {
  for (const char* target : {"/", "/assets/core-9f8e.wasm"}) {
    auto full = get(port(), target);
    auto head = https_request(port(), make_request(http::verb::head, target));
    ASSERT_EQ(head.result(), http::status::ok) << target;
    EXPECT_EQ(head[http::field::content_length], std::to_string(full.body().size())) << target;
    EXPECT_EQ(head[http::field::etag], full[http::field::etag]);
    EXPECT_EQ(head[http::field::content_type], full[http::field::content_type]);
    EXPECT_TRUE(head.body().empty());
    expect_page_headers(head);
  }
}

TEST_F(WebRootTest, IfNoneMatchWithItsTagIsNotModified) {
  std::string etag = quoted_sha256(kScript);
  for (const std::string& header : {etag, "\"other\", " + etag, "W/" + etag, std::string("*")}) {
    HttpRequest req = make_request(http::verb::get, "/assets/app-1a2b3c.js");
    req.set(http::field::if_none_match, header);
    auto res = https_request(port(), req);
    EXPECT_EQ(res.result(), http::status::not_modified) << header;
    EXPECT_TRUE(res.body().empty());
    EXPECT_EQ(res[http::field::etag], etag);
    EXPECT_EQ(res[http::field::cache_control], "public, max-age=31536000, immutable");
    expect_page_headers(res);
  }
  HttpRequest stale = make_request(http::verb::get, "/assets/app-1a2b3c.js");
  stale.set(http::field::if_none_match, quoted_sha256("an older build"));
  auto res = https_request(port(), stale);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), kScript);
}

TEST_F(WebRootTest, UnknownPathsAreNotFound) {
  for (const char* target : {"/missing.html", "/assets/", "/assets", "/nested", "/nested/",
                             "/INDEX.HTML", "/index.html/", "/v1/other", "/api/other"}) {
    auto res = get(port(), target);
    EXPECT_EQ(res.result(), http::status::not_found) << target;
    expect_page_headers(res);
  }
}

TEST_F(WebRootTest, NoPathLeavesTheWebRoot) {
  const std::vector<std::string> targets = {
      "/../secret",
      "/%2e%2e/secret",
      "/%2E%2E/secret",
      "/assets/../../secret",
      "/assets/..%2f..%2fsecret",
      "/assets/%2e%2e%2f%2e%2e%2fsecret",
      "//secret",
      "//index.html",
      "/assets\\..\\..\\secret",
      "/assets\\..\\index.html",
      "/./index.html",
      "/assets/./app-1a2b3c.js",
      "/index.html%00",
      "/%69ndex.html",
      "/linked-secret",
      "/linked-dir/secret",
      "/linked-dir/web/index.html",
      "/.env",
      "/nested/../index.html",
      "/nested/deeper/../../../secret",
  };
  for (const auto& target : targets) {
    auto res = get(port(), target);
    EXPECT_EQ(res.result(), http::status::not_found) << target;
    EXPECT_EQ(res.body().find(kSecret), std::string::npos) << target;
  }
  // A NUL in the request line is not HTTP: refused before routing, with nothing served.
  auto nul = get(port(), std::string("/index.html\0/../secret", 22));
  EXPECT_EQ(nul.result(), http::status::bad_request);
  EXPECT_EQ(nul.body().find(kSecret), std::string::npos);
  EXPECT_NE(server_->log().find("linked-secret is not served"), std::string::npos);
}

TEST_F(WebRootTest, OnlyGetAndHead) {
  for (auto method : {http::verb::post, http::verb::put, http::verb::delete_, http::verb::patch,
                      http::verb::options}) {
    for (const char* target : {"/", "/assets/app-1a2b3c.js", "/api/web-config"}) {
      auto res = https_request(port(), make_request(method, target));
      EXPECT_EQ(res.result(), http::status::method_not_allowed) << target;
      EXPECT_EQ(res[http::field::allow], "GET, HEAD");
      EXPECT_EQ(res.body().find(kIndex), std::string::npos);
      expect_page_headers(res);
    }
  }
  // The server's own routes keep their answers.
  EXPECT_EQ(get(port(), "/healthz").body(), "ok\n");
  EXPECT_EQ(get(port(), "/v1/ws").result(), http::status::upgrade_required);
}

TEST_F(WebRootTest, WebConfigGivesThePrintedKeys) {
  auto res = get(port(), "/api/web-config");
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "{\"directory_key\":\"" + server_->kt_signing_key() + "\",\"vrf_key\":\"" +
                            server_->kt_vrf_key() + "\"}");
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(res[http::field::cache_control], "no-store");
  expect_page_headers(res);
}

TEST_F(WebRootTest, WebSocketFromAnotherOriginIsRefused) {
  std::string host = "127.0.0.1:" + std::to_string(port());
  for (const std::string& origin :
       {std::string("https://evil.example"), "https://127.0.0.1:" + std::to_string(port() + 1),
        std::string("https://127.0.0.1"), "https://" + host + ".evil.example", std::string("null"),
        host}) {
    auto res = https_request(port(), upgrade_request(host, origin));
    EXPECT_EQ(res.result(), http::status::forbidden) << origin;
  }
  EXPECT_EQ(https_request(port(), upgrade_request(host, "https://" + host)).result(),
            http::status::switching_protocols);
  // Native clients send no Origin.
  EXPECT_EQ(https_request(port(), upgrade_request(host, "")).result(),
            http::status::switching_protocols);

  // A page of this server opens the protocol and is answered.
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);
  websocket::stream<ssl::stream<tcp::socket>> ws(ioc, ctx);
  beast::get_lowest_layer(ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()));
  ws.next_layer().handshake(ssl::stream_base::client);
  ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
    req.set(http::field::sec_websocket_protocol, "sotto.v1");
    req.set(http::field::origin, "https://" + host);
  }));
  ws.handshake(host, "/v1/ws");
  ws.binary(true);
  Bytes frame = proto::encode(proto::ClientFrame{proto::kVersion, 1, proto::AuthChallenge{}});
  ws.write(asio::buffer(frame.data(), frame.size()));
  beast::flat_buffer buffer;
  ws.read(buffer);
  std::string text = beast::buffers_to_string(buffer.data());
  auto answer = proto::decode_server_frame(Bytes(text.begin(), text.end()), 1 << 20);
  ASSERT_TRUE(answer.ok());
  auto* response = std::get_if<proto::Response>(&answer->content);
  ASSERT_NE(response, nullptr);
  EXPECT_TRUE(std::holds_alternative<proto::ChallengeResponse>(response->body));
}

TEST(WebRoot, WithoutOneTheRootSaysSoAndTheConfigIsServed) {
  TempDir dir;
  Sottod server(Sottod::args_for(dir.path() / "data"));
  ASSERT_TRUE(server.wait_listening()) << server.log();
  auto root = get(server.port(), "/");
  EXPECT_EQ(root.result(), http::status::not_found);
  EXPECT_NE(root.body().find("no web client"), std::string::npos) << root.body();
  expect_page_headers(root);
  EXPECT_EQ(get(server.port(), "/index.html").result(), http::status::not_found);
  auto config = get(server.port(), "/api/web-config");
  ASSERT_EQ(config.result(), http::status::ok);
  EXPECT_NE(config.body().find(server.kt_signing_key()), std::string::npos);
  EXPECT_NE(config.body().find(server.kt_vrf_key()), std::string::npos);
}

TEST(WebRoot, AMissingRootIsAStartupError) {
  TempDir dir;
  fs::path missing = dir.path() / "no-such-build";
  auto by_flag =
      testing::run_sottod(Sottod::args_for(dir.path() / "data", {"--web-root", missing.string()}));
  EXPECT_EQ(by_flag.exit_code, 2);
  EXPECT_NE(by_flag.err.find("web root \"" + missing.string() + "\": cannot open the directory"),
            std::string::npos)
      << by_flag.err;

  write_file(dir.path() / "a-file", "not a directory");
  Sottod by_env(Sottod::args_for(dir.path() / "data"),
                {{"SOTTOD_WEB_ROOT", (dir.path() / "a-file").string()}});
  EXPECT_EQ(by_env.wait_exit(std::chrono::seconds(20)), std::optional<int>(2));
}

TEST(WebRoot, OverTheCapIsAStartupError) {
  TempDir dir;
  fs::path root = dir.path() / "web";
  write_file(root / "index.html", kIndex);
  { std::ofstream(root / "huge.wasm"); }
  fs::resize_file(root / "huge.wasm", WebRoot::kMaxTotalBytes);  // sparse
  auto result =
      testing::run_sottod(Sottod::args_for(dir.path() / "data", {"--web-root", root.string()}));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("add up to more than 67108864 bytes"), std::string::npos) << result.err;
}

TEST(WebRoot, LoadsRegularFilesOnly) {
  TempDir dir;
  fs::path root = make_web_root(dir.path());
  auto loaded = WebRoot::load(root);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->file_count(), 4u);
  EXPECT_EQ(loaded->total_bytes(), kIndex.size() + kScript.size() + kWasm.size() + kNested.size());
  const auto* wasm = loaded->find("/assets/core-9f8e.wasm");
  ASSERT_NE(wasm, nullptr);
  EXPECT_EQ(wasm->content, kWasm);
  EXPECT_TRUE(wasm->immutable);
  EXPECT_EQ(wasm->etag, quoted_sha256(kWasm));
  for (const char* absent : {"/linked-secret", "/linked-dir/secret", "/.env", "/", "index.html"}) {
    EXPECT_EQ(loaded->find(absent), nullptr) << absent;
  }
  auto capped = WebRoot::load(root, kIndex.size() + kScript.size());
  ASSERT_FALSE(capped.ok());
  EXPECT_EQ(capped.error().code(), Errc::invalid_argument);
}

TEST(WebRoot, ContentTypesByExtension) {
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("a.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("a.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("a.wasm"), "application/wasm");
  EXPECT_EQ(content_type_for("a.json"), "application/json");
  EXPECT_EQ(content_type_for("a.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("a.png"), "image/png");
  EXPECT_EQ(content_type_for("favicon.ico"), "image/x-icon");
  EXPECT_EQ(content_type_for("manifest.webmanifest"), "application/manifest+json");
  EXPECT_EQ(content_type_for("robots.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(content_type_for("INDEX.HTML"), "text/html; charset=utf-8");
  for (const char* other : {"a.map", "LICENSE", "a.js.gz", "html", "dir.js/file"}) {
    EXPECT_EQ(content_type_for(other), "application/octet-stream") << other;
  }
}

TEST(WebRoot, OriginMatchesHost) {
  EXPECT_TRUE(origin_matches_host("https://chat.example.org", "chat.example.org"));
  EXPECT_TRUE(origin_matches_host("https://chat.example.org:8443", "chat.example.org:8443"));
  EXPECT_TRUE(origin_matches_host("https://Chat.Example.org", "chat.example.ORG"));
  EXPECT_TRUE(origin_matches_host("https://chat.example.org", "chat.example.org:443"));
  EXPECT_TRUE(origin_matches_host("https://chat.example.org:443", "chat.example.org"));
  EXPECT_TRUE(origin_matches_host("http://127.0.0.1:8080", "127.0.0.1:8080"));
  EXPECT_TRUE(origin_matches_host("https://[::1]:8443", "[::1]:8443"));
  EXPECT_FALSE(origin_matches_host("https://evil.example", "chat.example.org"));
  EXPECT_FALSE(origin_matches_host("https://chat.example.org:8443", "chat.example.org"));
  EXPECT_FALSE(origin_matches_host("https://chat.example.org", "chat.example.org:8443"));
  EXPECT_FALSE(origin_matches_host("http://chat.example.org", "chat.example.org:443"));
  EXPECT_FALSE(origin_matches_host("https://chat.example.org.evil", "chat.example.org"));
  EXPECT_FALSE(origin_matches_host("https://chat.example.org/", "chat.example.org"));
  EXPECT_FALSE(origin_matches_host("null", "chat.example.org"));
  EXPECT_FALSE(origin_matches_host("chat.example.org", "chat.example.org"));
  EXPECT_FALSE(origin_matches_host("https://", ""));
  EXPECT_FALSE(origin_matches_host("https://chat.example.org", ""));
  // Plain http only on loopback; other schemes never.
  EXPECT_TRUE(origin_matches_host("HTTPS://chat.example.org", "chat.example.org"));
  EXPECT_TRUE(origin_matches_host("http://localhost:8080", "localhost:8080"));
  EXPECT_TRUE(origin_matches_host("http://[::1]:8080", "[::1]:8080"));
  EXPECT_TRUE(origin_matches_host("http://127.0.0.1", "127.0.0.1:80"));
  EXPECT_FALSE(origin_matches_host("http://chat.example.org", "chat.example.org"));
  EXPECT_FALSE(origin_matches_host("http://chat.example.org:8443", "chat.example.org:8443"));
  EXPECT_FALSE(origin_matches_host("http://127.0.0.1.evil.example", "127.0.0.1.evil.example"));
  EXPECT_FALSE(origin_matches_host("http://localhost.evil.example", "localhost.evil.example"));
  EXPECT_FALSE(origin_matches_host("ws://chat.example.org", "chat.example.org"));
  EXPECT_FALSE(origin_matches_host("file://chat.example.org", "chat.example.org"));
}

}  // namespace
}  // namespace sotto::server
