// The real sottod binary as a child process, for tests: a temporary data directory, a free
// port on 127.0.0.1, its stdout (the listening line) read through a pipe and its log (stderr)
// written to a file the test can search.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sotto::testing {

// A directory removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The result of running a sottod command to its end (e.g. `sottod admin ...`).
struct CommandResult {
  int exit_code = -1;  // -1: killed or timed out
  std::string out;
  std::string err;
};
CommandResult run_sottod(const std::vector<std::string>& args,
                         std::chrono::seconds limit = std::chrono::seconds(30));

// A sottod child process. The destructor kills it if it still runs, so that a failing test
// leaves no orphan; PR_SET_PDEATHSIG covers a test binary that dies.
class SottodProcess {
 public:
  // Runs `sottod args...`; `env` adds variables (SOTTOD_* from the test's own environment are
  // dropped). The log goes to `log_file` (default: a file in a private temporary directory).
  explicit SottodProcess(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                         std::optional<std::filesystem::path> log_file = std::nullopt);
  ~SottodProcess();
  SottodProcess(const SottodProcess&) = delete;
  SottodProcess& operator=(const SottodProcess&) = delete;

  // The usual arguments: listen on 127.0.0.1:0, data in `data_dir`.
  static std::vector<std::string> args_for(const std::filesystem::path& data_dir,
                                           std::vector<std::string> extra = {});

  // Reads stdout until the listening line; false if the process ends or times out first.
  bool wait_listening(std::chrono::seconds limit = std::chrono::seconds(30));
  // The port of the plain (non-TLS) listener, from the line after the listening line;
  // nullopt when none is printed within `limit`.
  std::optional<uint16_t> wait_plain_port(std::chrono::seconds limit = std::chrono::seconds(5));
  // Everything the process writes to stdout until it exits (or the limit passes).
  std::string read_all(std::chrono::seconds limit);
  // Waits for the exit; the exit code, or nullopt on timeout or death by signal.
  std::optional<int> wait_exit(std::chrono::milliseconds limit);
  bool alive();
  void signal(int sig);

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& line() const { return line_; }
  // From the listening line: "AB:CD:..." and the key directory's keys in hex.
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& kt_signing_key() const { return kt_signing_key_; }
  const std::string& kt_vrf_key() const { return kt_vrf_key_; }

  // The log so far.
  std::string log() const;
  // Waits until the log holds a line containing `needle` and returns the text after it on
  // that line ("" on timeout).
  std::string wait_log(const std::string& needle,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) const;

 private:
  bool read_some(std::chrono::steady_clock::time_point deadline);
  bool parse_line();

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::optional<TempDir> log_dir_;
  std::filesystem::path log_file_;
  std::string output_;
  std::string line_;
  uint16_t port_ = 0;
  std::string fingerprint_;
  std::string kt_signing_key_;
  std::string kt_vrf_key_;
};

}  // namespace sotto::testing
