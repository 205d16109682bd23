// TlsStream against a real TLS client over loopback (Asio's ssl::stream, blocking, on a thread
// of its own), and SendQueue.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "beast.h"
#include "send_queue.h"
#include "tls.h"

namespace sotto::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sotto-tls-stream-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    Config config;
    config.data_dir = dir_;
    auto identity = load_or_create_identity(config);
    ASSERT_TRUE(identity.ok()) << identity.error().to_string();
    ASSERT_TRUE(configure_server_context(server_ctx_, *identity).ok());
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
  }
  void TearDown() override {
    if (client_.joinable()) client_.join();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Runs `body` as the client on its own thread, with a connected socket not yet shaken hands.
  template <class Body>
  void client(Body body) {
    uint16_t port = acceptor_.local_endpoint().port();
    client_ = std::thread([port, body] {
      asio::io_context io;
      ssl::context ctx(ssl::context::tls_client);
      ctx.set_verify_mode(ssl::verify_none);
      ssl::stream<tcp::socket> stream(io, ctx);
      stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
      body(stream);
    });
  }

  // The server's side of the next connection.
  TlsStream accept() { return TlsStream(acceptor_.accept(), server_ctx_); }

  // Runs the io_context until `done` or 10 s.
  template <class Done>
  void run_until(Done done) {
    io_.restart();
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < deadline) io_.run_for(10ms);
    ASSERT_TRUE(done()) << "timed out";
  }

  beast::error_code handshake(TlsStream& stream) {
    beast::error_code result = asio::error::would_block;
    stream.async_handshake(ssl::stream_base::server, [&](beast::error_code ec) { result = ec; });
    run_until([&] { return result != asio::error::would_block; });
    return result;
  }

  fs::path dir_;
  asio::io_context io_;
  ssl::context server_ctx_{ssl::context::tls_server};
  tcp::acceptor acceptor_{io_};
  std::thread client_;
};

std::string pattern(std::size_t n, char seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31 % 251);
  return s;
}

TEST_F(TlsStreamTest, LargeTransfersBothWaysAndGatheredPieces) {
  const std::string up = pattern(3 * 1024 * 1024 + 17, 'u');
  const std::string down_head = "head", down_mid = pattern(700, 'm'),
                    down_big = pattern(1 << 20, 'b');
  std::string got_down;
  client([&](ssl::stream<tcp::socket>& s) {
    s.handshake(ssl::stream_base::client);
    asio::write(s, asio::buffer(up));
    got_down.resize(down_head.size() + down_mid.size() + down_big.size());
    asio::read(s, asio::buffer(got_down));
    beast::error_code ec;
    s.shutdown(ec);  // close_notify, then waits for the server's
  });
  TlsStream stream = accept();
  ASSERT_FALSE(handshake(stream));
  EXPECT_EQ(SSL_version(stream.native_handle()), TLS1_3_VERSION);

  std::string got_up(up.size(), '\0');
  bool read_done = false, write_done = false;
  beast::error_code read_ec, write_ec;
  asio::async_read(stream, asio::buffer(got_up), [&](beast::error_code ec, std::size_t) {
    read_ec = ec;
    read_done = true;
  });
  // Three pieces in one sequence: the small ones go out gathered, the big one after.
  std::array<asio::const_buffer, 3> pieces{asio::buffer(down_head), asio::buffer(down_mid),
                                           asio::buffer(down_big)};
  asio::async_write(stream, pieces, [&](beast::error_code ec, std::size_t) {
    write_ec = ec;
    write_done = true;
  });
  run_until([&] { return read_done && write_done; });
  EXPECT_FALSE(read_ec) << read_ec.message();
  EXPECT_FALSE(write_ec) << write_ec.message();
  EXPECT_TRUE(got_up == up);

  // The client's close_notify ends the stream as eof.
  char byte;
  beast::error_code end = asio::error::would_block;
  stream.async_read_some(asio::buffer(&byte, 1),
                         [&](beast::error_code ec, std::size_t) { end = ec; });
  run_until([&] { return end != asio::error::would_block; });
  EXPECT_EQ(end, asio::error::eof) << end.message();
  // The server's close_notify in answer ends the client's shutdown.
  beast::error_code closed = asio::error::would_block;
  stream.async_shutdown([&](beast::error_code ec) { closed = ec; });
  run_until([&] { return closed != asio::error::would_block; });
  EXPECT_FALSE(closed) << closed.message();
  client_.join();
  EXPECT_TRUE(got_down == down_head + down_mid + down_big);
}

TEST_F(TlsStreamTest, ADeadlineEndsAHandshakeThePeerNeverStarts) {
  std::promise<void> release;
  auto released = release.get_future().share();
  client([released](ssl::stream<tcp::socket>&) { released.wait(); });
  TlsStream stream = accept();
  stream.expires_after(100ms);
  auto started = std::chrono::steady_clock::now();
  beast::error_code ec = handshake(stream);
  EXPECT_EQ(ec, beast::error::timeout) << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_FALSE(stream.socket().is_open());
  // Later operations fail the same way, at once.
  char byte;
  beast::error_code later = asio::error::would_block;
  stream.async_read_some(asio::buffer(&byte, 1),
                         [&](beast::error_code e, std::size_t) { later = e; });
  run_until([&] { return later != asio::error::would_block; });
  EXPECT_EQ(later, beast::error::timeout);
  release.set_value();
}

TEST_F(TlsStreamTest, ExpiresNeverKeepsAnIdleConnectionAndCancelEndsItsRead) {
  std::promise<void> release;
  auto released = release.get_future().share();
  client([released](ssl::stream<tcp::socket>& s) {
    s.handshake(ssl::stream_base::client);
    released.wait();
  });
  TlsStream stream = accept();
  stream.expires_after(5s);
  ASSERT_FALSE(handshake(stream));
  stream.expires_after(50ms);
  stream.expires_never();
  char byte;
  beast::error_code ec = asio::error::would_block;
  stream.async_read_some(asio::buffer(&byte, 1), [&](beast::error_code e, std::size_t) { ec = e; });
  io_.restart();
  io_.run_for(300ms);  // well past the deadline that was taken back
  EXPECT_EQ(ec, asio::error::would_block);
  stream.cancel();
  run_until([&] { return ec != asio::error::would_block; });
  EXPECT_EQ(ec, asio::error::operation_aborted) << ec.message();
  EXPECT_TRUE(stream.socket().is_open());
  release.set_value();
}

TEST_F(TlsStreamTest, APeerThatLeavesWithoutCloseNotifyIsATruncation) {
  std::promise<void> release;
  auto released = release.get_future().share();
  client([released](ssl::stream<tcp::socket>& s) {
    s.handshake(ssl::stream_base::client);
    asio::write(s, asio::buffer(std::string("partial")));
    s.next_layer().shutdown(tcp::socket::shutdown_send);  // TCP's end, not TLS's
    released.wait();
  });
  TlsStream stream = accept();
  ASSERT_FALSE(handshake(stream));
  std::string got(7, '\0');
  beast::error_code first = asio::error::would_block;
  asio::async_read(stream, asio::buffer(got), [&](beast::error_code e, std::size_t) { first = e; });
  run_until([&] { return first != asio::error::would_block; });
  EXPECT_FALSE(first);
  EXPECT_EQ(got, "partial");
  char byte;
  beast::error_code ec = asio::error::would_block;
  stream.async_read_some(asio::buffer(&byte, 1), [&](beast::error_code e, std::size_t) { ec = e; });
  run_until([&] { return ec != asio::error::would_block; });
  EXPECT_EQ(ec, ssl::error::stream_truncated) << ec.message();
  release.set_value();
}

TEST_F(TlsStreamTest, ShutdownSendsCloseNotifyAndDrainsUntilThePeers) {
  std::string seen_by_client;
  beast::error_code client_end;
  client([&](ssl::stream<tcp::socket>& s) {
    s.handshake(ssl::stream_base::client);
    // Bytes the server will never read: its shutdown drops them instead of resetting.
    asio::write(s, asio::buffer(pattern(50000, 'x')));
    char buf[256];
    beast::error_code ec;
    std::size_t n = s.read_some(asio::buffer(buf), ec);
    seen_by_client.assign(buf, n);
    client_end = ec;  // the server's close_notify
    s.shutdown(ec);   // answers with its own
  });
  TlsStream stream = accept();
  ASSERT_FALSE(handshake(stream));
  stream.expires_after(5s);
  beast::error_code ec = asio::error::would_block;
  stream.async_shutdown([&](beast::error_code e) { ec = e; });
  run_until([&] { return ec != asio::error::would_block; });
  EXPECT_FALSE(ec) << ec.message();
  client_.join();
  EXPECT_TRUE(seen_by_client.empty());
  EXPECT_EQ(client_end, asio::error::eof) << client_end.message();
}

TEST_F(TlsStreamTest, PlainBytesOnTheTlsPortFailTheHandshake) {
  client([](ssl::stream<tcp::socket>& s) {
    asio::write(s.next_layer(), asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
    char buf[64];
    beast::error_code ec;
    s.next_layer().read_some(asio::buffer(buf), ec);
  });
  TlsStream stream = accept();
  beast::error_code ec = handshake(stream);
  EXPECT_TRUE(ec);
  EXPECT_EQ(ec.category(), asio::error::get_ssl_category()) << ec.message();
  stream.close();
}

TEST(SendQueue, FirstInFirstOutThroughCompactionAndEmptyHoldsNothing) {
  SendQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.capacity(), 0u);
  // Never running dry: 1,000 in, always one more in than out, then drained.
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 500; ++round) {
    q.push_back(std::make_shared<const std::string>(std::to_string(next_in++)));
    q.push_back(std::make_shared<const std::string>(std::to_string(next_in++)));
    ASSERT_EQ(q.front(), std::to_string(next_out));
    q.pop_front();
    ++next_out;
  }
  EXPECT_EQ(q.size(), 500u);
  EXPECT_LE(q.capacity(), 2048u);
  while (!q.empty()) {
    ASSERT_EQ(q.front(), std::to_string(next_out++));
    q.pop_front();
  }
  EXPECT_EQ(next_out, 1000);
  EXPECT_LE(q.capacity(), 16u);
  // A steady queue of two compacts instead of growing.
  for (int i = 0; i < 10000; ++i) {
    q.push_back(std::make_shared<const std::string>("m"));
    if (q.size() > 2) q.pop_front();
  }
  EXPECT_LE(q.capacity(), 128u);
  q.clear();
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace sotto::server
