// sottod: the Sotto server.
#include <sys/stat.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

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

  // Broken connections must not kill the process; Asio reports EPIPE as an error instead.
  std::signal(SIGPIPE, SIG_IGN);

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
    server.run();
    spdlog::info("stopped");
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return kExitFailure;
  }
  return 0;
}
