// What the tests of the sotto command share: a `sotto` run as a separate process with its own
// environment and profile, and a fixture with a sottod on loopback and people to run it as.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sottod_process.h"

namespace sotto::cli::testing {

namespace fs = std::filesystem;
using nlohmann::json;
using sotto::testing::SottodProcess;
using sotto::testing::TempDir;

struct SottoRun {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out;
  std::string err;
  // stdout as JSON lines.
  std::vector<json> lines() const {
    std::vector<json> parsed;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      parsed.push_back(json::parse(line));  // throws, failing the test, when it is not JSON
    }
    return parsed;
  }
};

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One `sotto args...` process with only `env` (and PATH, HOME) in its environment, its
// output in files under `work`, and on its standard input either `input` (from a file) or,
// when that is unset, a pipe the test writes to.
class SottoProcess {
 public:
  SottoProcess(const fs::path& work, const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env,
               const std::optional<std::string>& input)
      : out_file_(work / "stdout"), err_file_(work / "stderr") {
    const fs::path in_file = work / "stdin";
    int pipe_fds[2] = {-1, -1};
    if (input) {
      std::ofstream(in_file) << *input;
    } else if (::pipe(pipe_fds) != 0) {
      throw std::runtime_error("pipe failed");
    }
    std::vector<std::string> argv_s = {SOTTO_CLI_PATH};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s = {"PATH=/usr/bin:/bin", "HOME=" + work.string()};
    for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_ = ::fork();
    if (pid_ == 0) {
      ::setsid();  // no controlling terminal: a passphrase can only come from the environment
      const int in = input ? ::open(in_file.c_str(), O_RDONLY) : pipe_fds[0];
      const int out = ::open(out_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = ::open(err_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(in, STDIN_FILENO);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      if (pipe_fds[1] >= 0) ::close(pipe_fds[1]);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    if (!input) {
      ::close(pipe_fds[0]);
      input_fd_ = pipe_fds[1];
    }
  }
  ~SottoProcess() {
    close_input();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  SottoProcess(const SottoProcess&) = delete;
  SottoProcess& operator=(const SottoProcess&) = delete;

  void write(const std::string& text) {
    ASSERT_EQ(::write(input_fd_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  pid_t pid() const { return pid_; }
  void close_input() {
    if (input_fd_ >= 0) ::close(input_fd_);
    input_fd_ = -1;
  }
  // Waits until stdout holds `text`; false when the time is up first.
  bool wait_output(const std::string& text) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (slurp(out_file_).find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  // The run, when the process has ended; nothing while it runs.
  std::optional<SottoRun> try_wait() {
    int status = 0;
    if (pid_ <= 0 || ::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    return finished(status);
  }
  // Waits for the end (killing the process after two minutes).
  SottoRun wait() {
    close_input();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) != pid_) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return finished(status);
  }

 private:
  // The run of the process that ended with `status` (reaped).
  SottoRun finished(int status) {
    pid_ = -1;
    SottoRun run;
    if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
    run.out = slurp(out_file_);
    run.err = slurp(err_file_);
    return run;
  }

  fs::path out_file_;
  fs::path err_file_;
  pid_t pid_ = -1;
  int input_fd_ = -1;
};

inline std::string describe(const SottoRun& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

class SottoCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    // Every person of the suite registers from one address: more than the default burst.
    server_ = new SottodProcess(SottodProcess::args_for(
        dir_->path() / "data",
        {"--rate-registration-burst", "100", "--rate-registration-per-minute", "100"}));
    ASSERT_TRUE(server_->wait_listening()) << server_->line();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  // One person: a profile of their own, unlocked by a passphrase or by a key file.
  struct Person {
    std::string name;
    fs::path work;
    std::map<std::string, std::string> env;
  };

  Person person(const std::string& name, bool key_file) {
    Person p{name, tmp_.path() / name, {}};
    fs::create_directories(p.work);
    p.env["SOTTO_PROFILE"] = (p.work / "profile").string();
    if (key_file) {
      p.env["SOTTO_KEY_FILE"] = (p.work / "store.key").string();
    } else {
      p.env["SOTTO_PASSPHRASE"] = name + "'s long passphrase";
    }
    return p;
  }

  // Another device of `name`'s account, with a profile (and key file) of its own.
  Person other_device(const std::string& name, const std::string& device) {
    Person p{name, tmp_.path() / (name + "-" + device), {}};
    fs::create_directories(p.work);
    p.env["SOTTO_PROFILE"] = (p.work / "profile").string();
    p.env["SOTTO_KEY_FILE"] = (p.work / "store.key").string();
    return p;
  }

  std::map<std::string, std::string> env_of(const Person& p,
                                            const std::map<std::string, std::string>& more) {
    auto env = p.env;
    for (const auto& [k, v] : more) env[k] = v;
    return env;
  }

  SottoRun run(const Person& p, const std::vector<std::string>& args, const std::string& input = "",
               const std::map<std::string, std::string>& more_env = {}) {
    return SottoProcess(p.work, args, env_of(p, more_env), input).wait();
  }

  std::vector<std::string> init_args(const Person& p, const char* command = "init") {
    std::vector<std::string> args = {command,
                                     "--server",
                                     "127.0.0.1:" + std::to_string(server().port()),
                                     "--fingerprint",
                                     server().fingerprint(),
                                     "--directory-key",
                                     server().kt_signing_key(),
                                     "--vrf-key",
                                     server().kt_vrf_key(),
                                     "--username",
                                     p.name};
    if (std::string(command) == "init") {
      args.push_back("--email");
      args.push_back(p.name + "@example.org");
    }
    return args;
  }

  SottoRun init(const Person& p) {
    auto args = init_args(p);
    args.insert(args.begin(), "--json");
    return run(p, args, "", {{"SOTTO_PASSWORD", "correct horse battery " + p.name}});
  }

  // `sotto login` on another device of an account that `init` registered.
  SottoRun login(const Person& p) {
    auto args = init_args(p, "login");
    args.insert(args.begin(), "--json");
    return run(p, args, "", {{"SOTTO_PASSWORD", "correct horse battery " + p.name}});
  }

  // The suite's server, unless a test starts its own.
  SottodProcess& server() const { return own_server_ ? *own_server_ : *server_; }

  inline static TempDir* dir_ = nullptr;
  inline static SottodProcess* server_ = nullptr;
  TempDir tmp_;
  std::unique_ptr<SottodProcess> own_server_;
};

}  // namespace sotto::cli::testing
