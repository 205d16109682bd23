// sottod's cold start, measured from outside: the time from spawning a real sottod to its
// first answer over TLS (GET /healthz, 200), on an empty data directory (it makes its
// certificate, its database and its keys) and on one it made before (a restart). Each run is
// a new process; the figures are the median and the extremes of the runs.
//
// usage: bench_startup [--sottod PATH] [--runs N]
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_startup: %s\n", what.c_str());
  std::exit(1);
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Run {
  double listening_ms = 0;  // until sottod says where it listens
  double serving_ms = 0;    // until the first /healthz answer over TLS
};

// GET /healthz over TLS: true on a 200.
bool healthz(uint16_t port) {
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);  // the self-signed certificate it just made
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  beast::error_code ec;
  beast::get_lowest_layer(stream).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                          ec);
  if (ec) return false;
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) return false;
  http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req, ec);
  if (ec) return false;
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  return !ec && res.result() == http::status::ok;
}

Run start_once(const std::string& sottod, const fs::path& data_dir) {
  int fds[2];
  if (::pipe(fds) != 0) die("pipe failed");
  std::vector<std::string> args = {
      sottod, "--listen", "127.0.0.1:0", "--data-dir", data_dir.string(), "--log-level", "warn"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  pid_t pid = 0;
  const auto t0 = Clock::now();
  if (posix_spawn(&pid, sottod.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
    die("cannot start " + sottod);
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  std::string line;
  char c = 0;
  while (::read(fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  Run run;
  run.listening_ms = ms_since(t0);
  const std::string prefix = "sottod listening on https://127.0.0.1:";
  if (line.rfind(prefix, 0) != 0) die("sottod did not start: " + line);
  const auto port = static_cast<uint16_t>(std::stoi(line.substr(prefix.size())));
  while (!healthz(port)) {
    if (ms_since(t0) > 10000) die("no answer from /healthz within 10 s");
  }
  run.serving_ms = ms_since(t0);
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ::close(fds[0]);
  return run;
}

void report(const char* what, std::vector<Run> runs) {
  auto line = [&](const char* label, auto field) {
    std::vector<double> v;
    for (const Run& r : runs) v.push_back(r.*field);
    std::sort(v.begin(), v.end());
    std::printf("  %-34s median %7.1f ms   min %7.1f   max %7.1f\n", label, v[v.size() / 2],
                v.front(), v.back());
  };
  std::printf("%s (%zu runs):\n", what, runs.size());
  line("spawn -> listening", &Run::listening_ms);
  line("spawn -> first /healthz over TLS", &Run::serving_ms);
}

}  // namespace

int main(int argc, char** argv) {
  std::string sottod = SOTTOD_PATH;
  int runs = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--sottod" && i + 1 < argc) {
      sottod = argv[++i];
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      die("usage: bench_startup [--sottod PATH] [--runs N]");
    }
  }
  const fs::path base =
      fs::temp_directory_path() / ("sotto-bench-startup-" + std::to_string(::getpid()));
  std::vector<Run> cold, warm;
  for (int i = 0; i < runs; ++i) {
    const fs::path dir = base / std::to_string(i);
    fs::create_directories(dir.parent_path());
    cold.push_back(start_once(sottod, dir));  // the directory does not exist yet
    warm.push_back(start_once(sottod, dir));  // the same directory, as sottod left it
  }
  std::error_code ignored;
  fs::remove_all(base, ignored);
  report("sottod on an empty data directory (cold start)", cold);
  report("sottod on the data directory it made (restart)", warm);
  return 0;
}
