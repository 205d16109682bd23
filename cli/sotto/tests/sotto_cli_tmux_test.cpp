// `sotto chat` as a person uses it, at a terminal: bob's chat runs in a detached tmux session on
// a private tmux server; the test reads the screen and types, while alice uses send and recv.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sotto_cli_support.h"

namespace {

namespace fs = std::filesystem;
using sotto::cli::testing::describe;
using sotto::cli::testing::SottoCliTest;

// `text` as one word for /bin/sh.
std::string quoted(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a shell command; its exit status and what it printed (stdout and stderr).
std::pair<int, std::string> shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {-1, ""};
  std::array<char, 4096> buffer{};
  while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A tmux server of the test's own (`tmux -L NAME`), with one session of that name running one
// command in a 120x40 window; the pane stays after the command ends, to be looked at. The
// server is killed when this goes.
class TmuxSession {
 public:
  TmuxSession(const fs::path& work, const std::string& command)
      : name_("sotto-cli-test-" + std::to_string(::getpid())), config_(work / "tmux.conf") {
    std::ofstream(config_) << "set-option -g remain-on-exit on\n";
    started_ = tmux("-f " + quoted(config_.string()) + " new-session -d -s " + name_ +
                    " -x 120 -y 40 " + quoted(command));
  }
  ~TmuxSession() { (void)tmux("kill-server"); }
  TmuxSession(const TmuxSession&) = delete;
  TmuxSession& operator=(const TmuxSession&) = delete;

  const std::pair<int, std::string>& started() const { return started_; }
  std::string screen() const { return tmux("capture-pane -p -J -t " + name_).second; }
  // "1 STATUS" once the command has ended, "0 " while it runs.
  std::string pane_state() const {
    return tmux("display-message -p -t " + name_ + " '#{pane_dead} #{pane_dead_status}'").second;
  }
  void type(const std::string& line) const {
    (void)tmux("send-keys -t " + name_ + " -l " + quoted(line));
    (void)tmux("send-keys -t " + name_ + " Enter");
  }
  // Waits until the screen shows `text`; false when a minute passes first.
  bool wait_screen(const std::string& text) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (screen().find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }
  bool wait_ended() const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (pane_state().rfind("1 ", 0) != 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }

 private:
  std::pair<int, std::string> tmux(const std::string& args) const {
    return shell("env -u TMUX tmux -L " + name_ + " " + args);
  }

  std::string name_;
  fs::path config_;
  std::pair<int, std::string> started_;
};

using SottoChatAtATerminalTest = SottoCliTest;

TEST_F(SottoChatAtATerminalTest, BobChatsInATerminalWhileAliceSendsAndReceives) {
  const auto found = shell("command -v tmux");
  ASSERT_EQ(found.first, 0) << "tmux is not installed (scripts/install-deps.sh installs it); "
                               "this test drives `sotto chat` at a terminal through tmux";

  const Person alice = person("alice", true);
  const Person bob = person("bob", true);
  auto a = init(alice);
  ASSERT_EQ(a.exit_code, 0) << describe(a);
  auto b = init(bob);
  ASSERT_EQ(b.exit_code, 0) << describe(b);
  // Alice writes first; bob has not fetched anything when he opens the chat.
  auto first = run(alice, {"send", "bob", "hello bob"});
  ASSERT_EQ(first.exit_code, 0) << describe(first);

  // Bob's chat, with only his profile in its environment.
  std::string command = "env -i PATH=/usr/bin:/bin TERM=xterm HOME=" + quoted(bob.work.string());
  for (const auto& [k, v] : bob.env) command += " " + k + "=" + quoted(v);
  command += " " + quoted(SOTTO_CLI_PATH) + " chat alice";
  TmuxSession chat(bob.work, command);
  ASSERT_EQ(chat.started().first, 0) << chat.started().second;
  ASSERT_TRUE(chat.wait_screen("/quit ends")) << chat.screen();
  ASSERT_TRUE(chat.wait_screen("alice: hello bob")) << chat.screen();

  auto live = run(alice, {"send", "bob", "are you there?"});
  ASSERT_EQ(live.exit_code, 0) << describe(live);
  ASSERT_TRUE(chat.wait_screen("alice: are you there?")) << chat.screen();

  chat.type("yes, typing at a terminal");
  auto heard = run(alice, {"recv", "--wait", "30"});
  ASSERT_EQ(heard.exit_code, 0) << describe(heard);
  EXPECT_EQ(heard.out, "bob: yes, typing at a terminal\n") << describe(heard) << chat.screen();

  chat.type("/quit");
  ASSERT_TRUE(chat.wait_ended()) << chat.screen();
  // tmux may mark the pane dead (its terminal closed) before it knows the exit status.
  const std::string ended = chat.pane_state();
  EXPECT_TRUE(ended == "1 0\n" || ended == "1 \n") << ended << chat.screen();

  // One conversation, the same on both sides, with each side's receipts: bob's chat read
  // alice's messages as it showed them; alice's recv confirmed bob's, which his chat hears
  // unless it ended first.
  auto alices = run(alice, {"history", "bob"});
  EXPECT_EQ(alices.out,
            "alice: hello bob \u2713\u2713 read\nalice: are you there? \u2713\u2713 read\n"
            "bob: yes, typing at a terminal\n")
      << describe(alices);
  auto bobs = run(bob, {"history", "alice"});
  const std::string bobs_view =
      "alice: hello bob\nalice: are you there?\nbob: yes, typing at a terminal";
  EXPECT_TRUE(bobs.out == bobs_view + "\n" || bobs.out == bobs_view + " \u2713\u2713\n")
      << describe(bobs);
}

}  // namespace
