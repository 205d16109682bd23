// sottod: the Sotto server.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <iostream>

#include "admin.h"
#include "config.h"
#include "server.h"
#include "services/directory.h"
#include "sotto/core/encoding.h"

namespace {

constexpr int kExitBadConfig = 2;
constexpr int kExitFailure = 1;

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// Each connection holds a descriptor; the usual soft limit (1024) would cap a server far
// below max_connections. The hard limit is the administrator's, so go only that far.
void raise_descriptor_limit(std::size_t max_connections) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  // Some descriptors go to the database, files being served and push requests.
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < max_connections + 64) {
    spdlog::warn(
        "the open-file limit ({}) is below max_connections ({}) plus what the server "
        "needs besides; raise it (ulimit -n, LimitNOFILE=) to serve that many",
        static_cast<unsigned long long>(rl.rlim_cur), max_connections);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sotto::server;
  // Everything sottod writes (database, keys, files, certificate) is for its own eyes only.
  ::umask(077);
  if (argc > 1 && std::string_view(argv[1]) == "admin") {
    // Admin commands print their results on stdout; what the services log goes to stderr.
    spdlog::set_default_logger(spdlog::stderr_color_mt("sottod"));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
    return run_admin(argc - 1, argv + 1, std::cout, std::cerr);
  }
  auto loaded = load_config(argc, argv, process_environment(), std::cout);
  if (!loaded) {
    std::cerr << "sottod: bad configuration: " << loaded.error().message() << "\n";
    return kExitBadConfig;
  }
  if (!loaded->has_value()) return 0;  // --help
  Config config = std::move(**loaded);

  // Logs go to stderr; stdout carries only the listening line, for people and scripts.
  auto logger = spdlog::stderr_color_mt("sottod");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");

  if (!config.testing.swap_key_packages_of.empty()) {
    spdlog::warn("testing: key packages of one account are replaced by the server's own; this "
                 "server attacks its users and is for tests only");
  }

  // Broken connections must not kill the process; Asio reports EPIPE as an error instead.
  std::signal(SIGPIPE, SIG_IGN);
  raise_descriptor_limit(config.limits.max_connections);

  try {
    Server server(config);
    auto opened = server.open();
    if (!opened) {
      spdlog::critical("cannot start: {}", opened.error().message());
      std::cerr << "sottod: cannot start: " << opened.error().message() << "\n";
      return opened.error().code() == sotto::Errc::invalid_argument ? kExitBadConfig : kExitFailure;
    }
    const auto& id = server.identity();
    if (id.generated) {
      spdlog::info("made a self-signed certificate: {}", id.cert_file.string());
    }
    spdlog::info("certificate SHA-256 fingerprint {}", id.fingerprint_sha256);
    std::string signing_key = sotto::to_hex(server.directory().signing_public_key());
    std::string vrf_key = sotto::to_hex(server.directory().vrf_public_key());
    spdlog::info("key directory signing key {}, VRF key {}", signing_key, vrf_key);
    std::string host = url_host(server.bound_host());
    std::string port = std::to_string(server.bound_port());
    // One line with everything a client pins: certificate, directory signing and VRF keys.
    std::cout << "sottod listening on https://" << host << ":" << port << " (WebSocket wss://"
              << host << ":" << port << "/v1/ws), certificate SHA-256 " << id.fingerprint_sha256
              << ", key directory signing key " << signing_key << ", VRF key " << vrf_key
              << std::endl;
    if (auto plain = server.bound_plain_port()) {
      std::cout << "sottod also listening WITHOUT TLS on http://"
                << url_host(server.bound_plain_host()) << ":" << *plain
                << " (for a TLS-terminating proxy on this host)" << std::endl;
    }
    // The same pins as a command to paste (docs: cli/README.md).
    std::cout << "connect with: sotto init --server " << host << ":" << port << " --fingerprint "
              << id.fingerprint_sha256 << " --directory-key " << signing_key << " --vrf-key "
              << vrf_key << " --username NAME --email ADDRESS" << std::endl;
    if (!config.web.root.empty()) {
      std::cout << "web client: https://" << host << ":" << port
                << "/ (a self-signed certificate: compare its SHA-256 above)" << std::endl;
    }
    server.run();
    spdlog::info("stopped");
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return kExitFailure;
  }
  return 0;
}
