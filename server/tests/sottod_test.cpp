// Starts the real sottod binary (SOTTOD_PATH) on 127.0.0.1 with a free port and a temporary
// data directory, and talks to it as a client would: HTTPS and WebSocket over TLS.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
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
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "sottod-test-XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A sottod child process. The destructor kills it if it still runs, so that a failing test
// leaves no orphan; PR_SET_PDEATHSIG covers a test binary that dies.
class Sottod {
 public:
  Sottod(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> argv_s = {SOTTOD_PATH};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) {
      if (std::string_view(*e).rfind("SOTTOD_", 0) != 0) env_s.emplace_back(*e);
    }
    for (auto& [k, v] : env) env_s.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
  }

  ~Sottod() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  // Reads stdout until the listening line; false if the process ends or times out first.
  bool wait_listening(std::chrono::seconds limit = std::chrono::seconds(30)) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      auto nl = output_.find('\n');
      if (nl != std::string::npos) {
        line_ = output_.substr(0, nl);
        return parse_line();
      }
      if (!read_some(deadline)) return false;
    }
    return false;
  }

  // Everything the process writes to stdout until it exits (or the limit passes).
  std::string read_all(std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    while (read_some(deadline)) {
    }
    return output_;
  }

  // Waits for the exit; the exit code, or nullopt on timeout or death by signal.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

  bool alive() {
    int status = 0;
    return pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0;
  }

  void signal(int sig) { ::kill(pid_, sig); }
  uint16_t port() const { return port_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& line() const { return line_; }

 private:
  bool read_some(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    output_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  bool parse_line() {
    const std::string prefix = "sottod listening on https://127.0.0.1:";
    if (line_.rfind(prefix, 0) != 0) return false;
    port_ = static_cast<uint16_t>(std::stoi(line_.substr(prefix.size())));
    const std::string fp = "certificate SHA-256 ";
    auto at = line_.find(fp);
    if (at == std::string::npos) return false;
    fingerprint_ = line_.substr(at + fp.size());
    return port_ != 0 && fingerprint_.size() == 32 * 3 - 1;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string output_;
  std::string line_;
  uint16_t port_ = 0;
  std::string fingerprint_;
};

std::vector<std::string> base_args(const TempDir& dir) {
  return {"--listen", "127.0.0.1:0", "--data-dir", (dir.path() / "data").string()};
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

http::response<http::string_body> request(uint16_t port, http::request<http::string_body> req) {
  asio::io_context ioc;
  auto ctx = client_context();
  auto s = connect_tls(ioc, ctx, port);
  req.set(http::field::host, "localhost");
  req.prepare_payload();
  http::write(*s, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(*s, buffer, res);
  beast::error_code ignored;
  s->shutdown(ignored);
  return res;
}

http::response<http::string_body> get(uint16_t port, const std::string& target) {
  return request(port, http::request<http::string_body>(http::verb::get, target, 11));
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
  explicit WebSocketClient(uint16_t port) : ctx(client_context()), ws(ioc, ctx) {
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

  std::string roundtrip(const std::string& message) {
    ws.write(asio::buffer(message));
    return read();
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
  auto post = request(port(), http::request<http::string_body>(http::verb::post, "/healthz", 11));
  EXPECT_EQ(post.result(), http::status::method_not_allowed);

  {
    WebSocketClient client(port());
    EXPECT_EQ(client.roundtrip("x"), "x");
    auto metrics = get(port(), "/metrics");
    ASSERT_EQ(metrics.result(), http::status::ok);
    const std::string& text = metrics.body();
    EXPECT_NE(text.find("# TYPE sottod_connections gauge"), std::string::npos);
    EXPECT_GE(metric(text, "sottod_connections"), 2);  // the WebSocket and this request
    EXPECT_GE(metric(text, "sottod_http_requests_total"), 5);
    EXPECT_GE(metric(text, "sottod_websocket_messages_total{direction=\"in\"}"), 1);
    EXPECT_GE(metric(text, "sottod_websocket_messages_total{direction=\"out\"}"), 1);
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

TEST_F(SottodTest, WebSocketEchoesBinaryMessagesInOrder) {
  WebSocketClient client(port());
  EXPECT_EQ(client.subprotocol, "sotto.v1");
  std::string message = random_bytes(1000, 1);
  message[3] = '\0';
  EXPECT_EQ(client.roundtrip(message), message);
  EXPECT_EQ(client.roundtrip(""), "");

  std::vector<std::string> sent;
  for (int i = 0; i < 100; ++i) {
    sent.push_back(random_bytes(static_cast<std::size_t>(1 + i * 37), static_cast<uint32_t>(i)));
    client.ws.write(asio::buffer(sent.back()));
  }
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(client.read(), sent[static_cast<std::size_t>(i)]) << "message " << i;
  }
  // Exactly the limit still passes.
  std::string largest = random_bytes(1024 * 1024, 7);
  EXPECT_EQ(client.roundtrip(largest), largest);
  client.ws.close(websocket::close_code::normal);
}

TEST_F(SottodTest, WebSocketWithoutTheSubprotocolIsRefused) {
  http::request<http::string_body> req(http::verb::get, "/v1/ws", 11);
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  auto res = request(port(), req);
  EXPECT_EQ(res.result(), http::status::bad_request);
  EXPECT_NE(res.body().find("sotto.v1"), std::string::npos) << res.body();

  req.set(http::field::sec_websocket_protocol, "chat, superchat");
  EXPECT_EQ(request(port(), req).result(), http::status::bad_request);

  req.set(http::field::sec_websocket_protocol, "other, sotto.v1");
  EXPECT_EQ(request(port(), req).result(), http::status::switching_protocols);

  // The right subprotocol at the wrong path.
  req.target("/v2/ws");
  EXPECT_EQ(request(port(), req).result(), http::status::not_found);
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
  EXPECT_EQ(again.roundtrip("still here"), "still here");
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
  EXPECT_EQ(client.roundtrip("before"), "before");
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
  args.insert(args.end(), {"--max-send-queue-bytes", "65536"});
  Sottod server(args);
  ASSERT_TRUE(server.wait_listening());
  WebSocketClient client(server.port());
  std::string chunk = random_bytes(64 * 1024, 9);
  beast::error_code ec;
  int written = 0;
  // Write without ever reading: the echoes pile up in the server until it gives up.
  for (; written < 2000 && !ec; ++written) client.ws.write(asio::buffer(chunk), ec);
  EXPECT_TRUE(ec) << "wrote " << written << " messages of 64 KiB without being cut off";
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
  std::atomic<int> echoed{0};
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      WebSocketClient client(server.port());
      for (int i = 0; i < 50; ++i) {
        std::string m = random_bytes(static_cast<std::size_t>(1 + (c * 50 + i) % 3000),
                                     static_cast<uint32_t>(c * 1000 + i));
        if (client.roundtrip(m) == m) echoed.fetch_add(1);
      }
      client.ws.close(websocket::close_code::normal);
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(echoed.load(), 8 * 50);
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
    EXPECT_EQ(first.roundtrip("first"), "first");
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

TEST(Sottod, ExampleConfigurationLoads) {
  TempDir dir;
  Sottod server({"--config", SOTTO_SOURCE_DIR "/deploy/sottod.example.toml", "--listen",
                 "127.0.0.1:0", "--data-dir", (dir.path() / "data").string()});
  ASSERT_TRUE(server.wait_listening()) << server.line();
  EXPECT_EQ(get(server.port(), "/healthz").result(), http::status::ok);
}

}  // namespace
