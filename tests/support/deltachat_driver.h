// The real Delta Chat core (npm @deltachat/stdio-rpc-server) as a child process, driven by
// tests/interop/deltachat/dc_driver.mjs: for the interop tests and the mail benchmark.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace sotto::testing {

namespace fs = std::filesystem;
using json = nlohmann::json;

// dc_driver.mjs as a child: one JSON request per line on its stdin, one JSON answer per line
// on its stdout; its stderr goes to a file for when a test fails.
class DeltaChat {
 public:
  // `node` runs `source_dir`/tests/interop/deltachat/dc_driver.mjs with its account in `dir`.
  DeltaChat(const std::string& node, const std::string& source_dir, const fs::path& dir)
      : log_(dir / "driver.log") {
    fs::create_directories(dir);
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) return;
    std::string driver = source_dir + "/tests/interop/deltachat/dc_driver.mjs";
    std::string data = (dir / "data").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      int err = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      ::close(in[1]);
      ::close(out[0]);
      ::execl(node.c_str(), node.c_str(), driver.c_str(), data.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_ = in[1];
    from_ = out[0];
    json ready = read_line(std::chrono::seconds(60));
    if (ready.is_object()) ready_ = std::move(ready);
  }
  ~DeltaChat() {
    if (to_ >= 0 && pid_ > 0) {
      std::string quit = "{\"op\":\"quit\"}\n";
      (void)!::write(to_, quit.data(), quit.size());
      read_line(std::chrono::seconds(10));
    }
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  DeltaChat(const DeltaChat&) = delete;
  DeltaChat& operator=(const DeltaChat&) = delete;

  const json& ready() const { return ready_; }
  std::string log() const {
    std::ifstream f(log_);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

  // Sends a request and returns its answer ({"ok":false,...} when the driver gave none).
  json call(const json& request, std::chrono::seconds limit = std::chrono::seconds(120)) {
    std::string line = request.dump() + "\n";
    if (::write(to_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      return {{"ok", false}, {"error", "the driver's stdin is closed"}};
    }
    json answer = read_line(limit);
    if (answer.is_null()) return {{"ok", false}, {"error", "no answer from the driver"}};
    return answer;
  }

 private:
  json read_line(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        json parsed = json::parse(line, nullptr, false);
        if (parsed.is_object()) return parsed;
        return {{"ok", false}, {"error", "not a JSON object from the driver: " + line}};
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || from_ < 0) return nullptr;
      pollfd p{from_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[65536];
      ssize_t n = ::read(from_, chunk, sizeof chunk);
      if (n <= 0) return nullptr;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  fs::path log_;
  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  std::string buffer_;
  json ready_ = json::object();  // the driver's first line; empty when it never came
};

}  // namespace sotto::testing
