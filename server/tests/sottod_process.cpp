#include "sottod_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

extern char** environ;

namespace sotto::testing {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

TempDir::TempDir() {
  std::string templ = (fs::temp_directory_path() / "sottod-test-XXXXXX").string();
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {

struct Child {
  pid_t pid = -1;
  int out_fd = -1;
  int err_fd = -1;
};

// Forks and execs sottod with stdout (and stderr, unless `log` is open) on pipes.
Child spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            int log_fd) {
  int out[2];
  int err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (log_fd < 0 && ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
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
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(log_fd >= 0 ? log_fd : err[1], STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  if (err[1] >= 0) ::close(err[1]);
  return Child{pid, out[0], err[0]};
}

}  // namespace

CommandResult run_sottod(const std::vector<std::string>& args, std::chrono::seconds limit) {
  Child child = spawn(args, {}, -1);
  CommandResult result;
  auto deadline = Clock::now() + limit;
  pollfd fds[2] = {{child.out_fd, POLLIN, 0}, {child.err_fd, POLLIN, 0}};
  int open = 2;
  while (open > 0 && Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
        continue;
      }
      (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  while (Clock::now() < deadline) {
    if (::waitpid(child.pid, &status, WNOHANG) == child.pid) {
      if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(child.pid, SIGKILL);
  ::waitpid(child.pid, &status, 0);
  return result;
}

SottodProcess::SottodProcess(std::vector<std::string> args, std::map<std::string, std::string> env,
                             std::optional<fs::path> log_file) {
  if (log_file) {
    log_file_ = *log_file;
  } else {
    log_dir_.emplace();
    log_file_ = log_dir_->path() / "sottod.log";
  }
  int log_fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) throw std::runtime_error("cannot open the log file");
  Child child = spawn(args, env, log_fd);
  ::close(log_fd);
  pid_ = child.pid;
  out_fd_ = child.out_fd;
}

SottodProcess::~SottodProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
}

std::vector<std::string> SottodProcess::args_for(const fs::path& data_dir,
                                                 std::vector<std::string> extra) {
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--data-dir", data_dir.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

bool SottodProcess::wait_listening(std::chrono::seconds limit) {
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

std::optional<uint16_t> SottodProcess::wait_plain_port(std::chrono::seconds limit) {
  const std::string prefix = "sottod also listening WITHOUT TLS on http://127.0.0.1:";
  auto deadline = Clock::now() + limit;
  for (;;) {
    auto at = output_.find(prefix);
    if (at != std::string::npos && output_.find('\n', at) != std::string::npos) {
      return static_cast<uint16_t>(std::stoi(output_.substr(at + prefix.size())));
    }
    if (!read_some(deadline)) return std::nullopt;
  }
}

std::string SottodProcess::read_all(std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  while (read_some(deadline)) {
  }
  return output_;
}

std::optional<int> SottodProcess::wait_exit(std::chrono::milliseconds limit) {
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

bool SottodProcess::alive() {
  int status = 0;
  return pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0;
}

void SottodProcess::signal(int sig) {
  ::kill(pid_, sig);
}

std::string SottodProcess::log() const {
  std::ifstream in(log_file_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string SottodProcess::wait_log(const std::string& needle,
                                    std::chrono::milliseconds limit) const {
  auto deadline = Clock::now() + limit;
  do {
    std::string text = log();
    auto at = text.rfind(needle);
    if (at != std::string::npos) {
      auto start = at + needle.size();
      auto end = text.find('\n', start);
      if (end != std::string::npos) return text.substr(start, end - start);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (Clock::now() < deadline);
  return "";
}

bool SottodProcess::read_some(Clock::time_point deadline) {
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

bool SottodProcess::parse_line() {
  const std::string prefix = "sottod listening on https://127.0.0.1:";
  if (line_.rfind(prefix, 0) != 0) return false;
  port_ = static_cast<uint16_t>(std::stoi(line_.substr(prefix.size())));
  auto field = [this](const std::string& label, size_t size) -> std::string {
    auto at = line_.find(label);
    if (at == std::string::npos || at + label.size() + size > line_.size()) return "";
    return line_.substr(at + label.size(), size);
  };
  fingerprint_ = field("certificate SHA-256 ", 32 * 3 - 1);
  kt_signing_key_ = field("key directory signing key ", 64);
  kt_vrf_key_ = field("VRF key ", 64);
  return port_ != 0 && !fingerprint_.empty() && !kt_signing_key_.empty() && !kt_vrf_key_.empty();
}

}  // namespace sotto::testing
