// sottod under load, measured from outside: a real sottod (pinned to CPU 0 with taskset, on
// an empty SQLite data dir) and, in this process, many TLS WebSocket clients speaking
// sotto.v1 (on the other CPUs).
//
// relay: N authenticated devices; device i sends 1 KiB messages to device i+1 (1:1 relay) in
//   an open loop at a fixed aggregate rate, each payload carrying its send time; the receiver
//   acknowledges each message. Steps through rates and prints the achieved rate, latency
//   percentiles and sottod's CPU time per message of each, and the highest rate whose p99
//   stays within 50 ms. CPU time per message is the steadier figure on a shared machine.
// idle: opens K WebSocket connections that then sit idle, over TLS and then over sottod's
//   plain (proxy-side) listener, and prints sottod's RSS growth per connection. Client
//   sockets bind to 127.0.0.2, .3, ... so that the 4-tuple space of one source address does
//   not cap K; the file-descriptor limit is raised as far as the system allows.
//
// usage: bench_relay [--sottod PATH] [--connections N] [--rates R1,R2,...] [--seconds S]
//                    [--idle K1,K2,...] [--skip-relay] [--skip-idle]
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "sotto/crypto/primitives.h"
#include "sotto/proto/protocol.h"

extern char** environ;

namespace {

using namespace sotto;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_relay: %s\n", what.c_str());
  std::exit(1);
}

// ---- the server process -----------------------------------------------------------------

class ServerProcess {
 public:
  ServerProcess(const std::string& sottod, const fs::path& data_dir, const fs::path& config) {
    int fds[2];
    if (::pipe(fds) != 0) die("pipe failed");
    std::vector<std::string> args = {"taskset",
                                     "-c",
                                     "0",
                                     sottod,
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--data-dir",
                                     data_dir.string(),
                                     "--config",
                                     config.string(),
                                     "--log-level",
                                     "warn",
                                     "--plain-listen",
                                     "127.0.0.1:0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    if (posix_spawnp(&pid_, "taskset", &actions, nullptr, argv.data(), environ) != 0) {
      die("cannot start sottod under taskset");
    }
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    // Two lines: the TLS listener's, then the plain listener's. Both are read before the
    // pipe is closed, so that sottod never writes into a closed pipe.
    auto read_line = [&] {
      std::string line;
      char c = 0;
      while (::read(fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
      return line;
    };
    const std::string line = read_line();
    const std::string plain_line = read_line();
    ::close(fds[0]);
    const std::string prefix = "sottod listening on https://127.0.0.1:";
    if (line.rfind(prefix, 0) != 0) die("sottod did not start: " + line);
    port_ = static_cast<uint16_t>(std::stoi(line.substr(prefix.size())));
    const std::string plain_prefix = "sottod also listening WITHOUT TLS on http://127.0.0.1:";
    if (plain_line.rfind(plain_prefix, 0) != 0) die("no plain listener: " + plain_line);
    plain_port_ = static_cast<uint16_t>(std::stoi(plain_line.substr(plain_prefix.size())));
    status_fd_ = ::open(("/proc/" + std::to_string(pid_) + "/status").c_str(), O_RDONLY);
    stat_fd_ = ::open(("/proc/" + std::to_string(pid_) + "/stat").c_str(), O_RDONLY);
  }
  ~ServerProcess() {
    if (status_fd_ >= 0) ::close(status_fd_);
    if (stat_fd_ >= 0) ::close(stat_fd_);
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  uint16_t port() const { return port_; }
  uint16_t plain_port() const { return plain_port_; }
  // From /proc, read through descriptors opened at start: with every other descriptor of
  // this process taken by connections, opening the files then would fail.
  // Resident set size in KiB.
  long rss_kib() const {
    const std::string text = read_proc(status_fd_);
    const char* at = std::strstr(text.c_str(), "VmRSS:");
    return at ? std::strtol(at + 6, nullptr, 10) : -1;
  }
  // CPU time used so far (user + system, all threads), in seconds.
  double cpu_seconds() const {
    const std::string text = read_proc(stat_fd_);
    // Fields after the command name (which may hold spaces), from field 3 on.
    const size_t at = text.rfind(')');
    if (at == std::string::npos) return -1;
    std::istringstream in(text.substr(at + 1));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

 private:
  static std::string read_proc(int fd) {
    char text[8192];
    const ssize_t n = ::pread(fd, text, sizeof text, 0);
    return n > 0 ? std::string(text, static_cast<size_t>(n)) : std::string();
  }

  pid_t pid_ = -1;
  int status_fd_ = -1;
  int stat_fd_ = -1;
  uint16_t port_ = 0;
  uint16_t plain_port_ = 0;
};

// Blocking TCP connect to sottod on 127.0.0.1 from `source`, so that many source addresses
// can share the load of the 4-tuple space.
void connect_from(tcp::socket& socket, uint16_t port, const asio::ip::address& source) {
  socket.open(tcp::v4());
  socket.set_option(tcp::socket::reuse_address(true));
  socket.bind(tcp::endpoint(source, 0));
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  socket.set_option(tcp::no_delay(true));
}

// An idle WebSocket over plain TCP, to sottod's proxy-side listener.
class PlainIdleConnection {
 public:
  explicit PlainIdleConnection(asio::io_context& io) : ws_(io) {}
  void connect(uint16_t port, const asio::ip::address& source) {
    connect_from(beast::get_lowest_layer(ws_).socket(), port, source);
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, proto::kSubprotocol);
    }));
    ws_.handshake("127.0.0.1", "/v1/ws");
  }

 private:
  websocket::stream<beast::tcp_stream> ws_;
};

// ---- one client connection --------------------------------------------------------------

using WsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using ResponseHandler = std::function<void(proto::ResponseBody&)>;

  Connection(asio::io_context& io, ssl::context& tls) : ws_(io, tls) {}

  // Blocking connect and upgrade (set-up phase), from `source` (an address on loopback).
  void connect(uint16_t port, const asio::ip::address& source) {
    connect_from(beast::get_lowest_layer(ws_).socket(), port, source);
    ws_.next_layer().handshake(ssl::stream_base::client);
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, proto::kSubprotocol);
    }));
    ws_.handshake("127.0.0.1", "/v1/ws");
    ws_.binary(true);
  }

  // Blocking request (set-up phase).
  proto::ResponseBody call(proto::Request request) {
    const Bytes frame = proto::encode(proto::ClientFrame{proto::kVersion, next_id_++, request});
    ws_.write(asio::buffer(frame));
    for (;;) {
      beast::flat_buffer buffer;
      ws_.read(buffer);
      const auto* p = static_cast<const uint8_t*>(buffer.data().data());
      auto decoded = proto::decode_server_frame(BytesView(p, buffer.size()), 1 << 24);
      if (!decoded) die("bad frame from sottod: " + decoded.error().to_string());
      if (auto* r = std::get_if<proto::Response>(&decoded->content)) return std::move(r->body);
    }
  }

  // Asynchronous phase: requests with a handler for their response, events to on_message.
  void start(std::function<void(proto::QueuedMessage&)> on_message) {
    on_message_ = std::move(on_message);
    read();
  }
  void send_request(proto::Request request, ResponseHandler handler) {
    const uint64_t id = next_id_++;
    if (handler) pending_.emplace(id, std::move(handler));
    auto frame = std::make_shared<Bytes>(
        proto::encode(proto::ClientFrame{proto::kVersion, id, std::move(request)}));
    queue_.push_back(std::move(frame));
    if (!writing_) write();
  }

  Bytes device_id;

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      const auto* p = static_cast<const uint8_t*>(self->buffer_.data().data());
      auto decoded = proto::decode_server_frame(BytesView(p, self->buffer_.size()), 1 << 24);
      self->buffer_.consume(self->buffer_.size());
      if (decoded) {
        if (auto* r = std::get_if<proto::Response>(&decoded->content)) {
          auto it = self->pending_.find(r->request_id);
          if (it != self->pending_.end()) {
            it->second(r->body);
            self->pending_.erase(it);
          }
        } else if (auto* e = std::get_if<proto::Event>(&decoded->content)) {
          if (auto* m = std::get_if<proto::MessageEvent>(&e->event)) self->on_message_(m->message);
        }
      }
      self->read();
    });
  }
  void write() {
    writing_ = true;
    ws_.async_write(asio::buffer(*queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec) return;
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) self->write();
                    });
  }

  WsStream ws_;
  beast::flat_buffer buffer_;
  std::deque<std::shared_ptr<Bytes>> queue_;
  bool writing_ = false;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, ResponseHandler> pending_;
  std::function<void(proto::QueuedMessage&)> on_message_;
};

template <class T>
T& expect(proto::ResponseBody& body, const char* what) {
  if (auto* e = std::get_if<proto::ErrorResponse>(&body)) {
    die(std::string(what) + ": " + proto::to_error(*e).to_string());
  }
  auto* v = std::get_if<T>(&body);
  if (!v) die(std::string(what) + ": unexpected response");
  return *v;
}

asio::ip::address source_address(size_t i, size_t per_address) {
  // 127.0.0.2, 127.0.0.3, ...: each takes `per_address` connections.
  const auto host = static_cast<unsigned>(2 + i / per_address);
  return asio::ip::make_address_v4((127u << 24) | (host & 0xffffff));
}

// Authenticates `count` devices: accounts of up to 20 devices each (one password hash per
// account; the others are linked with add_device and authenticate by signature).
std::vector<std::shared_ptr<Connection>> authenticated_devices(asio::io_context& io,
                                                               ssl::context& tls, uint16_t port,
                                                               size_t count) {
  std::vector<std::shared_ptr<Connection>> conns;
  std::shared_ptr<Connection> owner;
  for (size_t i = 0; i < count; ++i) {
    auto c = std::make_shared<Connection>(io, tls);
    c->connect(port, source_address(i, 20000));
    auto key = crypto::Ed25519SigningKey::generate();
    if (i % 20 == 0) {
      proto::RegisterAccount reg;
      reg.username = "bench" + std::to_string(i / 20);
      reg.email = reg.username + "@bench.invalid";
      reg.password = "a bench password " + std::to_string(i);
      reg.device = proto::DeviceKey{key.public_key(), "bench"};
      auto body = c->call(reg);
      c->device_id = expect<proto::SessionResponse>(body, "register").device_id;
      owner = c;
    } else {
      auto added = owner->call(proto::AddDevice{proto::DeviceKey{key.public_key(), "bench"}});
      c->device_id = expect<proto::DeviceAddedResponse>(added, "add_device").device_id;
      auto ch = c->call(proto::AuthChallenge{});
      const Bytes challenge = expect<proto::ChallengeResponse>(ch, "auth_challenge").challenge;
      auto auth = c->call(proto::AuthDevice{
          c->device_id, challenge, key.sign(proto::device_auth_message(challenge, c->device_id))});
      expect<proto::SessionResponse>(auth, "auth_device");
    }
    conns.push_back(std::move(c));
  }
  return conns;
}

struct StepResult {
  double offered = 0;
  double achieved = 0;  // messages received per second
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  uint64_t errors = 0;
  double cpu_us = 0;  // sottod's CPU time (all threads) per message received
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// What the receivers record; shared by every step (callbacks of one step may still arrive
// during the next, so it outlives them all).
struct Recorder {
  std::vector<double> latencies;
  uint64_t received = 0;
  uint64_t errors = 0;
  int64_t since_ns = 0;  // messages sent before this (a previous step's tail) are not counted
  void reset() {
    since_ns = now_ns();
    latencies.clear();
    received = 0;
    errors = 0;
  }
};

// Receivers record the latency of each message and acknowledge it.
void start_receivers(std::vector<std::shared_ptr<Connection>>& conns, Recorder& rec) {
  for (auto& c : conns) {
    std::weak_ptr<Connection> weak = c;
    c->start([&rec, weak](proto::QueuedMessage& m) {
      int64_t sent_ns = 0;
      if (m.payload.size() >= 8) std::memcpy(&sent_ns, m.payload.data(), 8);
      if (sent_ns >= rec.since_ns) {
        rec.latencies.push_back(static_cast<double>(now_ns() - sent_ns) / 1e6);
        ++rec.received;
      }
      if (auto self = weak.lock()) self->send_request(proto::Ack{{m.seq}}, nullptr);
    });
  }
}

// One open-loop step at `rate` messages per second for `seconds`.
StepResult run_step(asio::io_context& io, std::vector<std::shared_ptr<Connection>>& conns,
                    Recorder& rec, double rate, double seconds, const ServerProcess& server) {
  StepResult out;
  const double cpu_before = server.cpu_seconds();
  out.offered = rate;
  rec.reset();
  rec.latencies.reserve(static_cast<size_t>(rate * seconds) + 16);
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  uint64_t sent = 0;
  size_t next_conn = 0;
  asio::steady_timer timer(io);
  std::function<void()> tick = [&] {
    const auto now = Clock::now();
    if (now >= end) return;
    const double due = rate * std::chrono::duration<double>(now - start).count();
    while (static_cast<double>(sent) < due) {
      auto& from = conns[next_conn];
      auto& to = conns[(next_conn + 1) % conns.size()];
      next_conn = (next_conn + 1) % conns.size();
      proto::Send s;
      s.message_id = crypto::random_bytes(proto::kMessageIdSize);
      s.recipients = {to->device_id};
      s.payload = Bytes(1024, 0x5a);
      const int64_t t = now_ns();
      std::memcpy(s.payload.data(), &t, 8);
      from->send_request(std::move(s), [&rec](proto::ResponseBody& body) {
        if (std::holds_alternative<proto::ErrorResponse>(body)) ++rec.errors;
      });
      ++sent;
    }
    timer.expires_after(std::chrono::milliseconds(1));
    timer.async_wait([&](beast::error_code) { tick(); });
  };
  tick();
  // Run until the sending ends plus a grace second for what is in flight.
  io.run_until(end + std::chrono::seconds(1));
  io.restart();
  out.achieved = static_cast<double>(rec.received) / seconds;
  if (rec.received > 0) {
    out.cpu_us = (server.cpu_seconds() - cpu_before) * 1e6 / static_cast<double>(rec.received);
  }
  out.errors = rec.errors;
  out.p50_ms = percentile(rec.latencies, 0.50);
  out.p99_ms = percentile(rec.latencies, 0.99);
  out.max_ms =
      rec.latencies.empty() ? 0 : *std::max_element(rec.latencies.begin(), rec.latencies.end());
  return out;
}

std::vector<double> parse_list(const std::string& text) {
  std::vector<double> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stod(item));
  return out;
}

fs::path make_temp_dir() {
  std::string templ = (fs::temp_directory_path() / "sotto-bench-XXXXXX").string();
  if (!::mkdtemp(templ.data())) die("mkdtemp failed");
  return templ;
}

// Limits high enough that the bench measures the server, not its abuse protection. The idle
// connections do not read, so they would not answer keep-alive pings: the idle timeout is
// longer than a run, so that the first connections are not closed before RSS is read.
fs::path write_config(const fs::path& dir) {
  const fs::path path = dir / "bench.toml";
  std::ofstream out(path);
  out << "[limits]\nmax_connections = 200000\nidle_timeout_seconds = 3600\n"
      << "[rate_limits]\nsends_per_minute = 1000000\nsends_burst = 1000000\n"
      << "registration_per_minute = 100000\nregistration_burst = 100000\n";
  return path;
}

// Clients and sottod (which inherits the limit) each need a descriptor per connection. As
// root the hard limit can go up to fs.nr_open; otherwise the soft limit goes up to the hard.
void raise_fd_limit() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  long nr_open = 0;
  std::ifstream("/proc/sys/fs/nr_open") >> nr_open;
  const rlim_t wanted = std::max<rlim_t>(rl.rlim_max, static_cast<rlim_t>(std::max(nr_open, 0L)));
  rlimit raised{wanted, wanted};
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  std::printf("file descriptors: limit %llu\n", static_cast<unsigned long long>(rl.rlim_cur));
}

}  // namespace

int main(int argc, char** argv) {
  std::string sottod = SOTTOD_PATH;
  size_t connections = 1000;
  std::vector<double> rates = {2000, 5000, 10000, 20000, 30000, 40000, 50000};
  std::vector<double> idle = {10000, 50000, 100000};
  double seconds = 5;
  bool relay = true, idle_test = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--sottod")
      sottod = next();
    else if (a == "--connections")
      connections = std::stoul(next());
    else if (a == "--rates")
      rates = parse_list(next());
    else if (a == "--seconds")
      seconds = std::stod(next());
    else if (a == "--idle")
      idle = parse_list(next());
    else if (a == "--skip-relay")
      relay = false;
    else if (a == "--skip-idle")
      idle_test = false;
    else
      die("unknown argument " + a);
  }
  raise_fd_limit();
  ssl::context tls(ssl::context::tls_client);
  tls.set_verify_mode(ssl::verify_none);  // loopback, a fresh self-signed certificate

  if (relay) {
    const fs::path dir = make_temp_dir();
    {
      ServerProcess server(sottod, dir / "data", write_config(dir));
      asio::io_context io;
      const auto setup_start = Clock::now();
      auto conns = authenticated_devices(io, tls, server.port(), connections);
      std::printf(
          "relay: %zu authenticated devices in %.1f s; sottod pinned to CPU 0, 1 KiB "
          "messages, durable queueing (SQLite WAL), each acknowledged\n",
          conns.size(), std::chrono::duration<double>(Clock::now() - setup_start).count());
      std::printf("%12s %12s %10s %10s %10s %8s %12s\n", "offered/s", "received/s", "p50 ms",
                  "p99 ms", "max ms", "errors", "cpu us/msg");
      double best = 0;
      Recorder rec;
      start_receivers(conns, rec);
      for (double rate : rates) {
        const StepResult r = run_step(io, conns, rec, rate, seconds, server);
        std::printf("%12.0f %12.0f %10.2f %10.2f %10.2f %8llu %12.1f\n", r.offered, r.achieved,
                    r.p50_ms, r.p99_ms, r.max_ms, static_cast<unsigned long long>(r.errors),
                    r.cpu_us);
        std::fflush(stdout);
        const bool kept_up = r.achieved >= 0.95 * r.offered && r.errors == 0;
        if (kept_up && r.p99_ms <= 50) best = std::max(best, r.achieved);
        if (!kept_up || r.p99_ms > 50) break;
      }
      std::printf("relay: highest rate with p99 <= 50 ms: %.0f messages/s\n", best);
    }
    fs::remove_all(dir);
  }

  if (idle_test) {
    for (double k : idle) {
      for (bool over_tls : {true, false}) {
        const fs::path dir = make_temp_dir();
        {
          ServerProcess server(sottod, dir / "data", write_config(dir));
          asio::io_context io;
          const long before = server.rss_kib();
          const auto n = static_cast<size_t>(k);
          std::vector<std::shared_ptr<Connection>> tls_conns;
          std::vector<std::unique_ptr<PlainIdleConnection>> plain_conns;
          const auto start = Clock::now();
          try {
            for (size_t i = 0; i < n; ++i) {
              if (over_tls) {
                auto c = std::make_shared<Connection>(io, tls);
                c->connect(server.port(), source_address(i, 20000));
                tls_conns.push_back(std::move(c));
              } else {
                auto c = std::make_unique<PlainIdleConnection>(io);
                c->connect(server.plain_port(), source_address(i, 20000));
                plain_conns.push_back(std::move(c));
              }
            }
          } catch (const std::exception& e) {
            std::printf("idle: stopped after %zu connections: %s\n",
                        tls_conns.size() + plain_conns.size(), e.what());
          }
          const size_t opened = tls_conns.size() + plain_conns.size();
          const double setup = std::chrono::duration<double>(Clock::now() - start).count();
          ::sleep(2);
          const long after = server.rss_kib();
          std::printf(
              "idle: %zu %s WebSocket connections (opened in %.1f s): sottod RSS %ld -> "
              "%ld KiB, %.2f KiB per connection\n",
              opened, over_tls ? "TLS" : "plain", setup, before, after,
              opened ? static_cast<double>(after - before) / static_cast<double>(opened) : 0.0);
          std::fflush(stdout);
        }
        fs::remove_all(dir);
      }
    }
  }
  return 0;
}
