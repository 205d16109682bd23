// Starts the real sottod binary (SOTTOD_PATH) on 127.0.0.1 with a free port and a temporary
// data directory, and talks to it as a client would: HTTPS and WebSocket over TLS. The
// protocol's services have their own tests; these cover the transport.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "https_client.h"
#include "protocol_client.h"
#include "sotto/crypto/primitives.h"
#include "sottod_process.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

using sotto::testing::TempDir;
using Sottod = sotto::testing::SottodProcess;
using sotto::testing::https_request;
using sotto::testing::ProtocolClient;
namespace proto = sotto::proto;

std::vector<std::string> base_args(const TempDir& dir) {
  return Sottod::args_for(dir.path() / "data");
}

std::string sha256_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  std::string out;
  char hex[4];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, i ? ":%02X" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

// A client TLS context that pins nothing (the tests compare fingerprints themselves).
ssl::context client_context(int min_version = TLS1_2_VERSION, int max_version = 0) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), min_version);
  SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
  return ctx;
}

using TlsSocket = ssl::stream<tcp::socket>;

std::unique_ptr<TlsSocket> connect_tls(asio::io_context& ioc, ssl::context& ctx, uint16_t port) {
  auto s = std::make_unique<TlsSocket>(ioc, ctx);
  s->next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  SSL_set_tlsext_host_name(s->native_handle(), "localhost");
  s->handshake(ssl::stream_base::client);
  return s;
}

http::response<http::string_body> get(uint16_t port, const std::string& target) {
  return https_request(port, http::request<http::string_body>(http::verb::get, target, 11));
}

// The value of an unlabelled (or exactly labelled) Prometheus sample; -1 if absent.
double metric(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

struct WebSocketClient {
  explicit WebSocketClient(uint16_t port, int receive_buffer = 0)
      : ctx(client_context()), ws(ioc, ctx) {
    if (receive_buffer > 0) {
      // A small window makes a client that does not read visible to the server quickly.
      beast::get_lowest_layer(ws).open(tcp::v4());
      beast::get_lowest_layer(ws).set_option(
          asio::socket_base::receive_buffer_size(receive_buffer));
    }
    beast::get_lowest_layer(ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    SSL_set_tlsext_host_name(ws.next_layer().native_handle(), "localhost");
    ws.next_layer().handshake(ssl::stream_base::client);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(http::field::sec_websocket_protocol, "sotto.v1");
    }));
    websocket::response_type res;
    ws.handshake(res, "localhost", "/v1/ws");
    subprotocol = std::string(res[http::field::sec_websocket_protocol]);
    ws.binary(true);
  }

  // A request frame: answered, over this transport, with a frame carrying its id.
  void send_request(uint64_t id, proto::Request request) {
    sotto::Bytes b = proto::encode(proto::ClientFrame{proto::kVersion, id, std::move(request)});
    ws.write(asio::buffer(b.data(), b.size()));
  }

  proto::Response read_response() {
    std::string text = read();
    auto frame = proto::decode_server_frame(sotto::Bytes(text.begin(), text.end()), 1 << 20);
    EXPECT_TRUE(frame.ok());
    if (!frame.ok()) return {};
    auto* r = std::get_if<proto::Response>(&frame->content);
    EXPECT_NE(r, nullptr);
    return r ? *r : proto::Response{};
  }

  // One auth_challenge round trip: true when the answer is a challenge for `id`.
  bool challenge(uint64_t id) {
    send_request(id, proto::AuthChallenge{});
    proto::Response r = read_response();
    return r.request_id == id && std::holds_alternative<proto::ChallengeResponse>(r.body);
  }

  std::string read() {
    beast::flat_buffer buffer;
    ws.read(buffer);
    return beast::buffers_to_string(buffer.data());
  }

  // Reads until the server's close frame; the close code it carried.
  int read_until_closed() {
    beast::error_code ec;
    for (int i = 0; i < 10000; ++i) {
      beast::flat_buffer buffer;
      ws.read(buffer, ec);
      if (ec) break;
    }
    EXPECT_EQ(ec, websocket::error::closed) << ec.message();
    return ws.reason().code;
  }

  asio::io_context ioc;
  ssl::context ctx;
  websocket::stream<TlsSocket> ws;
  std::string subprotocol;
};

std::string random_bytes(std::size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Connects over plain TCP, writes `bytes`, reads whatever comes back until the server closes.
std::string raw_exchange(uint16_t port, const std::string& bytes, bool read_reply = true) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  beast::error_code ec;
  asio::write(s, asio::buffer(bytes), ec);
  std::string reply;
  if (read_reply) {
    char buf[4096];
    for (;;) {
      std::size_t n = s.read_some(asio::buffer(buf), ec);
      if (ec) break;
      reply.append(buf, n);
    }
  }
  return reply;
}

class SottodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Sottod>(base_args(dir_));
    ASSERT_TRUE(server_->wait_listening()) << "no listening line: " << server_->line();
  }
  uint16_t port() const { return server_->port(); }

  TempDir dir_;
  std::unique_ptr<Sottod> server_;
};

TEST_F(SottodTest, PrintsWhereToConnectAndTheCertificateItServes) {
  std::string p = std::to_string(port());
  EXPECT_NE(server_->line().find("(WebSocket wss://127.0.0.1:" + p + "/v1/ws)"), std::string::npos)
      << server_->line();
  asio::io_context ioc;
  auto ctx = client_context();
  auto s = connect_tls(ioc, ctx, port());
  X509* cert = SSL_get_peer_certificate(s->native_handle());
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(sha256_fingerprint(cert), server_->fingerprint());
  X509_free(cert);
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() / "data" / "tls" / "key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SottodTest, HealthzMetricsAndNotFound) {
  auto health = get(port(), "/healthz");
  EXPECT_EQ(health.result(), http::status::ok);
  EXPECT_EQ(health.body(), "ok\n");

  auto missing = get(port(), "/nope");
  EXPECT_EQ(missing.result(), http::status::not_found);
  EXPECT_EQ(get(port(), "/").result(), http::status::not_found);
  auto post =
      https_request(port(), http::request<http::string_body>(http::verb::post, "/healthz", 11));
  EXPECT_EQ(post.result(), http::status::method_not_allowed);

  {
    WebSocketClient client(port());
    EXPECT_TRUE(client.challenge(1));
    auto metrics = get(port(), "/metrics");
    ASSERT_EQ(metrics.result(), http::status::ok);
    const std::string& text = metrics.body();
    EXPECT_NE(text.find("# TYPE sottod_connections gauge"), std::string::npos);
    EXPECT_GE(metric(text, "sottod_connections"), 2);  // the WebSocket and this request
    EXPECT_GE(metric(text, "sottod_http_requests_total"), 5);
    EXPECT_GE(metric(text, "sottod_websocket_messages_total{direction=\"in\"}"), 1);
    EXPECT_GE(metric(text, "sottod_websocket_messages_total{direction=\"out\"}"), 1);
    EXPECT_EQ(metric(text, "sottod_requests_total{request=\"auth_challenge\",outcome=\"ok\"}"), 1);
    EXPECT_EQ(metric(text, "sottod_request_duration_seconds_count{request=\"auth_challenge\"}"), 1);
    EXPECT_NE(text.find("# TYPE sottod_request_duration_seconds histogram"), std::string::npos);
  }
}

TEST_F(SottodTest, RequestBodyOverTheLimitIsRefused) {
  // The declared length is enough for a refusal; the body is not sent, since the server
  // closes the connection after refusing and a client still writing would see a broken pipe.
  asio::io_context ioc;
  auto ctx = client_context();
  auto s = connect_tls(ioc, ctx, port());
  asio::write(*s,
              asio::buffer(std::string(
                  "POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 102400\r\n\r\n")));
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(*s, buffer, res);
  EXPECT_EQ(res.result(), http::status::payload_too_large);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(get(port(), "/healthz").result(), http::status::ok);
}

TEST_F(SottodTest, WebSocketAnswersFramesInOrderAndMalformedOnesWithTypedErrors) {
  WebSocketClient client(port());
  EXPECT_EQ(client.subprotocol, "sotto.v1");
  // Pipelined requests are answered in order.
  for (uint64_t id = 1; id <= 100; ++id) client.send_request(id, proto::AuthChallenge{});
  for (uint64_t id = 1; id <= 100; ++id) {
    proto::Response r = client.read_response();
    ASSERT_EQ(r.request_id, id);
    ASSERT_TRUE(std::holds_alternative<proto::ChallengeResponse>(r.body));
  }
  // Garbage, an empty frame and exactly the size limit: each gets a typed error for request
  // id 0 (nothing trustworthy to answer to), and the connection stays usable.
  for (const std::string& bad :
       {random_bytes(1000, 1), std::string(), random_bytes(1024 * 1024, 7)}) {
    client.ws.write(asio::buffer(bad));
    proto::Response r = client.read_response();
    EXPECT_EQ(r.request_id, 0u);
    ASSERT_TRUE(std::holds_alternative<proto::ErrorResponse>(r.body));
  }
  EXPECT_TRUE(client.challenge(101));
  client.ws.close(websocket::close_code::normal);
}

TEST_F(SottodTest, WebSocketWithoutTheSubprotocolIsRefused) {
  http::request<http::string_body> req(http::verb::get, "/v1/ws", 11);
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  auto res = https_request(port(), req);
  EXPECT_EQ(res.result(), http::status::bad_request);
  EXPECT_NE(res.body().find("sotto.v1"), std::string::npos) << res.body();

  req.set(http::field::sec_websocket_protocol, "chat, superchat");
  EXPECT_EQ(https_request(port(), req).result(), http::status::bad_request);

  req.set(http::field::sec_websocket_protocol, "other, sotto.v1");
  EXPECT_EQ(https_request(port(), req).result(), http::status::switching_protocols);

  // The right subprotocol at the wrong path.
  req.target("/v2/ws");
  EXPECT_EQ(https_request(port(), req).result(), http::status::not_found);
}

TEST_F(SottodTest, TextFramesAreAPolicyViolation) {
  WebSocketClient client(port());
  client.ws.text(true);
  client.ws.write(asio::buffer(std::string("hello")));
  EXPECT_EQ(client.read_until_closed(), websocket::close_code::policy_error);
  EXPECT_EQ(get(port(), "/healthz").result(), http::status::ok);
}

TEST_F(SottodTest, OversizedMessageClosesWith1009AndTheServerStaysUp) {
  WebSocketClient client(port());
  std::string too_big(1024 * 1024 + 1, 'z');
  beast::error_code ec;
  client.ws.write(asio::buffer(too_big), ec);  // the server may close before reading it all
  EXPECT_EQ(client.read_until_closed(), websocket::close_code::too_big);
  EXPECT_EQ(get(port(), "/healthz").result(), http::status::ok);
  WebSocketClient again(port());
  EXPECT_TRUE(again.challenge(1));
}

TEST_F(SottodTest, HostileBytesDoNotHurtIt) {
  raw_exchange(port(), random_bytes(8192, 3));
  // A TLS record header announcing a ClientHello, then nothing.
  raw_exchange(port(), std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), false);
  std::string reply = raw_exchange(port(), "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(reply.find("200"), std::string::npos);
  // A TLS connection that sends garbage HTTP.
  {
    asio::io_context ioc;
    auto ctx = client_context();
    auto s = connect_tls(ioc, ctx, port());
    beast::error_code ec;
    asio::write(*s, asio::buffer(std::string("\x01\x02 nonsense\r\n\r\n")), ec);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(*s, buffer, res, ec);
    if (!ec) {
      EXPECT_EQ(res.result(), http::status::bad_request);
    }
  }
  EXPECT_TRUE(server_->alive());
  EXPECT_EQ(get(port(), "/healthz").result(), http::status::ok);
}

TEST_F(SottodTest, OnlyTls12AndTls13) {
  {
    asio::io_context ioc;
    auto ctx = client_context(TLS1_1_VERSION, TLS1_1_VERSION);
    // Let this client offer TLS 1.1 at all (OpenSSL 3 refuses it at its default level).
    SSL_CTX_set_cipher_list(ctx.native_handle(), "DEFAULT:@SECLEVEL=0");
    TlsSocket s(ioc, ctx);
    s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()));
    beast::error_code ec;
    s.handshake(ssl::stream_base::client, ec);
    EXPECT_TRUE(ec) << "the server accepted TLS 1.1";
  }
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    asio::io_context ioc;
    auto ctx = client_context(version, version);
    auto s = connect_tls(ioc, ctx, port());
    EXPECT_EQ(SSL_version(s->native_handle()), version);
  }
  EXPECT_EQ(get(port(), "/healthz").result(), http::status::ok);
}

TEST_F(SottodTest, SigtermClosesSessionsGoingAwayAndExitsZero) {
  WebSocketClient client(port());
  EXPECT_TRUE(client.challenge(1));
  auto start = Clock::now();
  server_->signal(SIGTERM);
  EXPECT_EQ(client.read_until_closed(), websocket::close_code::going_away);
  auto code = server_->wait_exit(std::chrono::seconds(5));
  ASSERT_TRUE(code.has_value()) << "sottod did not exit within 5 s";
  EXPECT_EQ(*code, 0);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

TEST(Sottod, SelfSignedCertificateIsReusedAcrossRestarts) {
  TempDir dir;
  std::string first;
  {
    Sottod server(base_args(dir));
    ASSERT_TRUE(server.wait_listening());
    first = server.fingerprint();
    server.signal(SIGINT);
    EXPECT_EQ(server.wait_exit(std::chrono::seconds(5)), std::optional<int>(0));
  }
  Sottod again(base_args(dir));
  ASSERT_TRUE(again.wait_listening());
  EXPECT_EQ(again.fingerprint(), first);
  EXPECT_EQ(get(again.port(), "/healthz").result(), http::status::ok);
}

TEST(Sottod, ServesAConfiguredCertificate) {
  TempDir dir;
  std::string fingerprint;
  {
    Sottod maker(base_args(dir));  // makes a certificate to configure below
    ASSERT_TRUE(maker.wait_listening());
    fingerprint = maker.fingerprint();
  }
  fs::path tls = dir.path() / "data" / "tls";
  Sottod server({"--listen", "127.0.0.1:0", "--data-dir", (dir.path() / "other").string(),
                 "--tls-cert", (tls / "cert.pem").string(), "--tls-key",
                 (tls / "key.pem").string()});
  ASSERT_TRUE(server.wait_listening());
  EXPECT_EQ(server.fingerprint(), fingerprint);
  EXPECT_EQ(get(server.port(), "/healthz").result(), http::status::ok);
  EXPECT_FALSE(fs::exists(dir.path() / "other" / "tls" / "cert.pem"));

  Sottod missing({"--listen", "127.0.0.1:0", "--data-dir", (dir.path() / "other").string(),
                  "--tls-cert", (dir.path() / "none.pem").string(), "--tls-key",
                  (tls / "key.pem").string()});
  EXPECT_EQ(missing.wait_exit(std::chrono::seconds(10)), std::optional<int>(2));
}

TEST(Sottod, SlowConsumerIsDisconnected) {
  TempDir dir;
  auto args = base_args(dir);
  // A fixed kernel buffer on the server's side too, so that the answers pile up in sottod after
  // a few KiB rather than after the several MiB that autotuning would let the kernel hold.
  args.insert(args.end(), {"--max-send-queue-bytes", "4096", "--socket-send-buffer-bytes", "4096"});
  Sottod server(args);
  ASSERT_TRUE(server.wait_listening());
  WebSocketClient client(server.port(), 4096);
  // Pipelined requests whose answers pile up in the server, since this client never reads,
  // until it gives up on the client.
  beast::error_code ec;
  uint64_t id = 1;
  for (; id < 200000 && !ec; ++id) {
    sotto::Bytes b = proto::encode(proto::ClientFrame{proto::kVersion, id, proto::AuthChallenge{}});
    client.ws.write(asio::buffer(b.data(), b.size()), ec);
  }
  EXPECT_TRUE(ec) << "sent " << id << " requests without reading and without being cut off";
  auto metrics = get(server.port(), "/metrics");
  EXPECT_EQ(metric(metrics.body(), "sottod_websocket_slow_consumer_closes_total"), 1);
}

TEST(Sottod, ManyThreadsServeManyClients) {
  TempDir dir;
  auto args = base_args(dir);
  args.insert(args.end(), {"--threads", "4"});
  Sottod server(args);
  ASSERT_TRUE(server.wait_listening());
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&] {
      WebSocketClient client(server.port());
      for (uint64_t i = 1; i <= 50; ++i) {
        if (client.challenge(i)) answered.fetch_add(1);
      }
      client.ws.close(websocket::close_code::normal);
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), 8 * 50);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(std::chrono::seconds(5)), std::optional<int>(0));
}

TEST(Sottod, ConnectionsOverTheLimitAreRefused) {
  TempDir dir;
  auto args = base_args(dir);
  args.insert(args.end(), {"--max-connections", "1"});
  Sottod server(args);
  ASSERT_TRUE(server.wait_listening());
  {
    WebSocketClient first(server.port());
    asio::io_context ioc;
    auto ctx = client_context();
    TlsSocket second(ioc, ctx);
    second.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
    beast::error_code ec;
    second.handshake(ssl::stream_base::client, ec);
    EXPECT_TRUE(ec) << "a second connection was served";
    EXPECT_TRUE(first.challenge(1));
    first.ws.close(websocket::close_code::normal);
  }
  // Once the first is gone, a new one is served.
  for (int attempt = 0; attempt < 100; ++attempt) {
    try {
      auto metrics = get(server.port(), "/metrics");
      EXPECT_GE(metric(metrics.body(), "sottod_connections_rejected_total"), 1);
      return;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the close is in flight
    }
  }
  ADD_FAILURE() << "no connection served after the first closed";
}

// True when a TLS handshake with the server completes within `limit`.
bool served_within(uint16_t port, std::chrono::milliseconds limit) {
  asio::io_context ioc;
  auto ctx = client_context();
  TlsSocket s(ioc, ctx);
  beast::error_code ec;
  s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return false;
  SSL_set_tlsext_host_name(s.native_handle(), "localhost");
  std::optional<beast::error_code> done;
  s.async_handshake(ssl::stream_base::client, [&](beast::error_code e) { done = e; });
  ioc.run_for(limit);
  return done && !*done;
}

// The CPU time a process has used, user and system, from /proc.
std::chrono::milliseconds cpu_time_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::stol(field);  // utime, stime
  }
  return std::chrono::milliseconds(ticks * 1000 / ::sysconf(_SC_CLK_TCK));
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Out of file descriptors, sottod pauses accepting instead of spinning on the connection it
// cannot take, warns a bounded number of times, and serves again once connections close.
TEST(Sottod, OutOfDescriptorsItPausesAndRecovers) {
  TempDir dir;
  Sottod server(base_args(dir));
  ASSERT_TRUE(server.wait_listening());
  ASSERT_TRUE(served_within(server.port(), std::chrono::seconds(10)));
  // Room for a few more descriptors than it holds now.
  size_t open_now = 0;
  for ([[maybe_unused]] const auto& fd :
       fs::directory_iterator("/proc/" + std::to_string(server.pid()) + "/fd")) {
    ++open_now;
  }
  rlimit limit{};
  ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, nullptr, &limit), 0);
  limit.rlim_cur = open_now + 8;
  ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, &limit, nullptr), 0);

  // Connections that never start TLS: each holds one of its descriptors, and the ones it
  // cannot take wait in the listen queue.
  asio::io_context ioc;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 32; ++i) {
    idle.emplace_back(ioc);
    idle.back().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  }
  const std::string warning = server.wait_log("accept failed: ");
  ASSERT_NE(warning.find("pausing new connections"), std::string::npos) << warning;
  EXPECT_FALSE(served_within(server.port(), std::chrono::milliseconds(500)));
  const auto cpu_before = cpu_time_of(server.pid());
  const auto wall_before = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto cpu = cpu_time_of(server.pid()) - cpu_before;
  const auto wall =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - wall_before);
  // Spinning on accept would take a whole core.
  EXPECT_LT(cpu * 4, wall) << cpu.count() << " ms of CPU in " << wall.count() << " ms";
  EXPECT_LE(count_of(server.log(), "accept failed"), 2u);

  idle.clear();
  bool served = false;
  for (int attempt = 0; attempt < 20 && !served; ++attempt) {
    served = served_within(server.port(), std::chrono::seconds(1));
  }
  ASSERT_TRUE(server.alive()) << server.log();
  EXPECT_TRUE(served) << "no connection served once descriptors were free again\n" << server.log();
  EXPECT_EQ(get(server.port(), "/healthz").result(), http::status::ok);
}

TEST(Sottod, IdleConnectionsAreClosed) {
  TempDir dir;
  auto args = base_args(dir);
  args.insert(args.end(), {"--idle-timeout-seconds", "1"});
  Sottod server(args);
  ASSERT_TRUE(server.wait_listening());
  asio::io_context ioc;
  auto ctx = client_context();
  auto s = connect_tls(ioc, ctx, server.port());
  auto start = Clock::now();
  char c;
  beast::error_code ec;
  s->read_some(asio::buffer(&c, 1), ec);
  EXPECT_TRUE(ec);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
}

TEST(Sottod, BadConfigurationExitsWithTwo) {
  TempDir dir;
  {
    Sottod server({"--listen", "nowhere"});
    EXPECT_EQ(server.wait_exit(std::chrono::seconds(10)), std::optional<int>(2));
  }
  {
    fs::path toml = dir.path() / "bad.toml";
    std::ofstream(toml) << "[limits]\nmax_message_bytes = \"lots\"\n";
    Sottod server({"--config", toml.string()});
    EXPECT_EQ(server.wait_exit(std::chrono::seconds(10)), std::optional<int>(2));
  }
  {
    Sottod server({"--data-dir", (dir.path() / "d").string()},
                  {{"SOTTOD_LISTEN", "127.0.0.1:http"}});
    EXPECT_EQ(server.wait_exit(std::chrono::seconds(10)), std::optional<int>(2));
  }
  {
    Sottod server({"--help"});
    std::string out = server.read_all(std::chrono::seconds(10));
    EXPECT_EQ(server.wait_exit(std::chrono::seconds(10)), std::optional<int>(0));
    EXPECT_NE(out.find("--listen"), std::string::npos) << out;
    EXPECT_NE(out.find("--data-dir"), std::string::npos) << out;
  }
}

// A TLS-terminating proxy on the same host talks plain HTTP and WebSocket to sottod.
TEST(Sottod, PlainListenerServesHttpAndTheProtocolOnLoopback) {
  TempDir dir;
  Sottod sottod(Sottod::args_for(dir.path(), {"--plain-listen", "127.0.0.1:0"}));
  ASSERT_TRUE(sottod.wait_listening()) << sottod.log();
  auto plain_port = sottod.wait_plain_port();
  ASSERT_TRUE(plain_port.has_value()) << sottod.read_all(std::chrono::seconds(1));
  ASSERT_NE(*plain_port, sottod.port());

  asio::io_context ioc;
  {
    auto res = sotto::testing::plain_http_request(
        *plain_port, http::request<http::string_body>(http::verb::get, "/healthz", 11));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res.body(), "ok\n");
  }
  {
    websocket::stream<beast::tcp_stream> ws(ioc);
    beast::get_lowest_layer(ws).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), *plain_port));
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(http::field::sec_websocket_protocol, "sotto.v1");
    }));
    ws.handshake("localhost", "/v1/ws");
    ws.binary(true);
    // A registration over the plain hop: the protocol is the same.
    sotto::proto::RegisterAccount registration;
    registration.username = "plain";
    registration.email = "plain@example.org";
    registration.password = "a password for the plain hop";
    registration.device = sotto::proto::DeviceKey{
        sotto::crypto::Ed25519SigningKey::generate().public_key(), "proxy-side"};
    sotto::Bytes frame = sotto::proto::encode(
        sotto::proto::ClientFrame{sotto::proto::kVersion, 1, std::move(registration)});
    ws.write(asio::buffer(frame.data(), frame.size()));
    beast::flat_buffer buffer;
    ws.read(buffer);
    std::string text = beast::buffers_to_string(buffer.data());
    sotto::Bytes bytes(text.begin(), text.end());
    auto answer = sotto::proto::decode_server_frame(bytes, 1 << 20);
    ASSERT_TRUE(answer) << answer.error().to_string();
    auto* response = std::get_if<sotto::proto::Response>(&answer->content);
    ASSERT_NE(response, nullptr);
    EXPECT_EQ(response->request_id, 1u);
    EXPECT_NE(std::get_if<sotto::proto::SessionResponse>(&response->body), nullptr)
        << sotto::errc_name(sotto::testing::error_code(response->body));
    // Garbage on the plain port is a typed error, not a crash.
    const uint8_t junk[] = {0xff, 0x00, 0x13};
    ws.write(asio::buffer(junk, sizeof junk));
    buffer.clear();
    ws.read(buffer);
    text = beast::buffers_to_string(buffer.data());
    bytes.assign(text.begin(), text.end());
    answer = sotto::proto::decode_server_frame(bytes, 1 << 20);
    ASSERT_TRUE(answer);
    response = std::get_if<sotto::proto::Response>(&answer->content);
    ASSERT_NE(response, nullptr);
    EXPECT_NE(std::get_if<sotto::proto::ErrorResponse>(&response->body), nullptr);
  }
  // The TLS port still speaks only TLS.
  sotto::testing::ProtocolClient client(sottod.port());
  EXPECT_TRUE(sottod.alive());
}

// Registers `username` over the plain listener as a proxy forwards it, with `forwarded_for`
// as X-Forwarded-For (none when empty): "ok", or the error's name.
std::string register_through_proxy(uint16_t port, const std::string& forwarded_for,
                                   const std::string& username) {
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws(ioc);
  beast::get_lowest_layer(ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
    req.set(http::field::sec_websocket_protocol, "sotto.v1");
    if (!forwarded_for.empty()) req.set("X-Forwarded-For", forwarded_for);
  }));
  ws.handshake("localhost", "/v1/ws");
  ws.binary(true);
  proto::RegisterAccount registration;
  registration.username = username;
  registration.email = username + "@example.org";
  registration.password = "a password for the plain hop";
  registration.device =
      proto::DeviceKey{sotto::crypto::Ed25519SigningKey::generate().public_key(), "proxied"};
  sotto::Bytes frame =
      proto::encode(proto::ClientFrame{proto::kVersion, 1, std::move(registration)});
  ws.write(asio::buffer(frame.data(), frame.size()));
  beast::flat_buffer buffer;
  ws.read(buffer);
  std::string text = beast::buffers_to_string(buffer.data());
  auto answer = proto::decode_server_frame(sotto::Bytes(text.begin(), text.end()), 1 << 20);
  if (!answer) return "undecodable: " + answer.error().to_string();
  auto* response = std::get_if<proto::Response>(&answer->content);
  if (!response) return "not a response";
  if (std::holds_alternative<proto::SessionResponse>(response->body)) return "ok";
  return std::string(sotto::errc_name(sotto::testing::error_code(response->body)));
}

TEST(Sottod, BehindAProxyPerIpLimitsCountTheAddressItForwarded) {
  TempDir dir;
  Sottod sottod(Sottod::args_for(
      dir.path(), {"--plain-listen", "127.0.0.1:0", "--plain-forwarded-for", "true",
                   "--rate-registration-per-minute", "1", "--rate-registration-burst", "2"}));
  ASSERT_TRUE(sottod.wait_listening()) << sottod.log();
  auto port = sottod.wait_plain_port();
  ASSERT_TRUE(port.has_value()) << sottod.read_all(std::chrono::seconds(1));
  // One client's burst...
  EXPECT_EQ(register_through_proxy(*port, "198.51.100.7", "proxied1"), "ok");
  EXPECT_EQ(register_through_proxy(*port, "198.51.100.7", "proxied2"), "ok");
  EXPECT_EQ(register_through_proxy(*port, "198.51.100.7", "proxied3"), "rate_limited");
  // ...holds back no other client behind the same proxy,
  EXPECT_EQ(register_through_proxy(*port, "198.51.100.8", "proxied4"), "ok");
  // and an address a client writes before the proxy's own entry gets it no new bucket.
  EXPECT_EQ(register_through_proxy(*port, "203.0.113.9, 198.51.100.7", "proxied5"), "rate_limited");
  // No header, or a last entry that is no address: the proxy's own address counts.
  EXPECT_EQ(register_through_proxy(*port, "", "proxied6"), "ok");
  EXPECT_EQ(register_through_proxy(*port, "198.51.100.9, unknown", "proxied7"), "ok");
  EXPECT_EQ(register_through_proxy(*port, "", "proxied8"), "rate_limited");
  // An IPv6 client counts by its /64: another address in it is the same client.
  EXPECT_EQ(register_through_proxy(*port, "2001:db8:1:2::1", "proxied9"), "ok");
  EXPECT_EQ(register_through_proxy(*port, "2001:db8:1:2::2", "proxied10"), "ok");
  EXPECT_EQ(register_through_proxy(*port, "2001:db8:1:2:ffff::3", "proxied11"), "rate_limited");
  EXPECT_EQ(register_through_proxy(*port, "2001:db8:1:3::1", "proxied12"), "ok");
  EXPECT_TRUE(sottod.alive());
}

TEST(Sottod, WithoutPlainForwardedForTheHeaderIsIgnored) {
  TempDir dir;
  Sottod sottod(
      Sottod::args_for(dir.path(), {"--plain-listen", "127.0.0.1:0", "--rate-registration-burst",
                                    "2", "--rate-registration-per-minute", "1"}));
  ASSERT_TRUE(sottod.wait_listening()) << sottod.log();
  auto port = sottod.wait_plain_port();
  ASSERT_TRUE(port.has_value()) << sottod.read_all(std::chrono::seconds(1));
  EXPECT_EQ(register_through_proxy(*port, "198.51.100.7", "unproxied1"), "ok");
  EXPECT_EQ(register_through_proxy(*port, "198.51.100.8", "unproxied2"), "ok");
  EXPECT_EQ(register_through_proxy(*port, "198.51.100.9", "unproxied3"), "rate_limited");
  // It only applies where a proxy is: without a plain listener it is a configuration error.
  auto result = sotto::testing::run_sottod(
      Sottod::args_for(dir.path() / "other", {"--plain-forwarded-for", "true"}));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("plain_listen"), std::string::npos) << result.err;
}

TEST(Sottod, PlainListenerOnlyOnLoopback) {
  TempDir dir;
  auto result =
      sotto::testing::run_sottod(Sottod::args_for(dir.path(), {"--plain-listen", "0.0.0.0:8080"}));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("loopback"), std::string::npos) << result.err;
}

TEST(Sottod, ExampleConfigurationLoads) {
  TempDir dir;
  Sottod server({"--config", SOTTO_SOURCE_DIR "/deploy/sottod.example.toml", "--listen",
                 "127.0.0.1:0", "--data-dir", (dir.path() / "data").string()});
  ASSERT_TRUE(server.wait_listening()) << server.line();
  EXPECT_EQ(get(server.port(), "/healthz").result(), http::status::ok);
}

}  // namespace
