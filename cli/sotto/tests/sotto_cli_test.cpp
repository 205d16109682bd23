// The sotto command against a real sottod on loopback: alice and bob as separate processes
// with separate profiles register, find each other in the key directory and talk; messages
// arrive once and in order; errors have their documented exit statuses; --json parses.
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

namespace {

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

std::string slurp(const fs::path& path) {
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
    pid_ = -1;
    SottoRun run;
    if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
    run.out = slurp(out_file_);
    run.err = slurp(err_file_);
    return run;
  }

 private:
  fs::path out_file_;
  fs::path err_file_;
  pid_t pid_ = -1;
  int input_fd_ = -1;
};

std::string describe(const SottoRun& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

class SottoCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    // Default limits: the suite registers three accounts, within the registration burst.
    server_ = new SottodProcess(SottodProcess::args_for(dir_->path() / "data"));
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

  // The suite's server, unless a test starts its own.
  SottodProcess& server() const { return own_server_ ? *own_server_ : *server_; }

  static TempDir* dir_;
  static SottodProcess* server_;
  TempDir tmp_;
  std::unique_ptr<SottodProcess> own_server_;
};
TempDir* SottoCliTest::dir_ = nullptr;
SottodProcess* SottoCliTest::server_ = nullptr;

TEST_F(SottoCliTest, TwoPeopleTalkAndEachMessageArrivesOnceInOrder) {
  const Person alice = person("alice", false);
  const Person bob = person("bob", true);

  auto a = init(alice);
  ASSERT_EQ(a.exit_code, 0) << describe(a);
  ASSERT_EQ(a.lines().size(), 1u) << describe(a);
  EXPECT_EQ(a.lines()[0]["username"], "alice");
  EXPECT_EQ(a.lines()[0]["device_id"].get<std::string>().size(), 32u);
  auto b = init(bob);
  ASSERT_EQ(b.exit_code, 0) << describe(b);
  EXPECT_EQ(b.lines()[0]["username"], "bob");
  // The key file was made for bob, readable by its owner alone.
  struct stat key {};
  ASSERT_EQ(::stat(bob.env.at("SOTTO_KEY_FILE").c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600u);

  auto who = run(alice, {"whoami", "--json"});
  ASSERT_EQ(who.exit_code, 0) << describe(who);
  EXPECT_EQ(who.lines().at(0)["username"], "alice");
  EXPECT_EQ(who.lines().at(0)["device_id"], a.lines()[0]["device_id"]);

  // Alice finds bob in the key directory: his one device, with the key his init made.
  auto added = run(alice, {"--json", "contacts", "add", "Bob"});
  ASSERT_EQ(added.exit_code, 0) << describe(added);
  ASSERT_EQ(added.lines().size(), 1u) << describe(added);
  EXPECT_EQ(added.lines()[0]["username"], "bob");
  ASSERT_EQ(added.lines()[0]["devices"].size(), 1u);
  EXPECT_EQ(added.lines()[0]["devices"][0]["device_id"], b.lines()[0]["device_id"]);

  for (const char* text : {"one", "two", "three"}) {
    auto sent = run(alice, {"send", "bob", text});
    ASSERT_EQ(sent.exit_code, 0) << describe(sent);
    EXPECT_EQ(sent.out, "sent to bob\n");
  }

  auto got = run(bob, {"recv"});
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  EXPECT_EQ(got.out, "alice: one\nalice: two\nalice: three\n") << describe(got);
  auto again = run(bob, {"recv"});
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_EQ(again.out, "") << describe(again);

  // Bob answers (his message read from standard input); alice sees it in JSON.
  auto reply = run(bob, {"--json", "send", "alice"}, "hi alice\n");
  ASSERT_EQ(reply.exit_code, 0) << describe(reply);
  EXPECT_EQ(reply.lines().at(0)["state"], "sent");
  auto answer = run(alice, {"recv", "--json", "--wait", "20"});
  ASSERT_EQ(answer.exit_code, 0) << describe(answer);
  const auto answers = answer.lines();
  ASSERT_EQ(answers.size(), 1u) << describe(answer);
  EXPECT_EQ(answers[0]["from"], "bob");
  EXPECT_EQ(answers[0]["text"], "hi alice");
  EXPECT_EQ(answers[0]["outgoing"], false);
  EXPECT_EQ(answers[0]["conversation"], "bob");

  // Each history holds the whole conversation in order, from the store alone.
  auto history = run(bob, {"--json", "history", "alice"});
  ASSERT_EQ(history.exit_code, 0) << describe(history);
  const auto lines = history.lines();
  ASSERT_EQ(lines.size(), 4u) << describe(history);
  const char* expected[] = {"one", "two", "three", "hi alice"};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(lines[i]["text"], expected[i]);
  EXPECT_EQ(lines[3]["outgoing"], true);
  EXPECT_EQ(lines[3]["state"], "sent");
  auto alices = run(alice, {"history", "bob"});
  ASSERT_EQ(alices.exit_code, 0) << describe(alices);
  EXPECT_EQ(alices.out, "alice: one\nalice: two\nalice: three\nbob: hi alice\n");

  // Bob never added alice by hand: the conversation's check of her keys made her a contact.
  auto contacts = run(bob, {"--json", "contacts", "list"});
  ASSERT_EQ(contacts.exit_code, 0) << describe(contacts);
  ASSERT_EQ(contacts.lines().size(), 1u) << describe(contacts);
  EXPECT_EQ(contacts.lines()[0]["username"], "alice");

  // Bob chats: alice's message appears while he is in it, and the line he types reaches her.
  SottoProcess chat(bob.work, {"chat", "alice"}, bob.env, std::nullopt);
  ASSERT_TRUE(chat.wait_output("/quit ends")) << describe(chat.wait());
  auto live = run(alice, {"send", "bob", "are you there?"});
  ASSERT_EQ(live.exit_code, 0) << describe(live);
  ASSERT_TRUE(chat.wait_output("alice: are you there?\n")) << describe(chat.wait());
  chat.write("yes, live\n/quit\n");
  auto chatted = chat.wait();
  EXPECT_EQ(chatted.exit_code, 0) << describe(chatted);
  auto heard = run(alice, {"recv"});
  EXPECT_EQ(heard.out, "bob: yes, live\n") << describe(heard);
}

TEST_F(SottoCliTest, ErrorsHaveTheirOwnExitStatuses) {
  const Person carol = person("carol", false);
  auto none = run(carol, {"whoami"});
  EXPECT_EQ(none.exit_code, 3) << describe(none);
  EXPECT_NE(none.err.find("sotto init"), std::string::npos) << describe(none);

  ASSERT_EQ(init(carol).exit_code, 0);
  auto twice = init(carol);
  EXPECT_EQ(twice.exit_code, 9) << describe(twice);

  // A wrong passphrase: a clear message on stderr, status 4, nothing on stdout.
  auto wrong = run(carol, {"whoami"}, "", {{"SOTTO_PASSPHRASE", "not carol's passphrase"}});
  EXPECT_EQ(wrong.exit_code, 4) << describe(wrong);
  EXPECT_EQ(wrong.out, "");
  EXPECT_NE(wrong.err.find("passphrase"), std::string::npos) << describe(wrong);
  auto wrong_json =
      run(carol, {"--json", "whoami"}, "", {{"SOTTO_PASSPHRASE", "not carol's passphrase"}});
  EXPECT_EQ(wrong_json.exit_code, 4);
  const json error = json::parse(wrong_json.err);
  EXPECT_EQ(error["error"], "bad_unlock");
  EXPECT_EQ(error["exit_code"], 4);

  // No passphrase and no terminal to ask on.
  auto unasked = run(carol, {"whoami"}, "", {{"SOTTO_PASSPHRASE", ""}});
  EXPECT_EQ(unasked.exit_code, 4) << describe(unasked);
  EXPECT_NE(unasked.err.find("SOTTO_PASSPHRASE"), std::string::npos) << describe(unasked);

  auto right = run(carol, {"whoami"});
  EXPECT_EQ(right.exit_code, 0) << describe(right);
  EXPECT_EQ(right.out.rfind("carol on 127.0.0.1:", 0), 0u) << describe(right);

  auto unknown = run(carol, {"send", "nobody-here", "hello?"});
  EXPECT_EQ(unknown.exit_code, 8) << describe(unknown);
  auto no_history = run(carol, {"history", "nobody-here"});
  EXPECT_EQ(no_history.exit_code, 8) << describe(no_history);

  auto usage = run(carol, {"send"});
  EXPECT_EQ(usage.exit_code, 2) << describe(usage);
  auto bad_server =
      run(carol, {"init", "--server", "127.0.0.1:99999", "--fingerprint", "00", "--directory-key",
                  "00", "--vrf-key", "00", "--username", "x", "--email", "x@example.org"});
  EXPECT_EQ(bad_server.exit_code, 2) << describe(bad_server);
}

// Bob answers with `send` before he ever ran `recv`: his answer goes into the conversation
// alice started, not into a second one of his own.
TEST_F(SottoCliTest, AnAnswerBeforeAnyRecvJoinsTheConversationThatWasStarted) {
  const Person frank = person("frank", true);
  const Person grace = person("grace", true);
  ASSERT_EQ(init(frank).exit_code, 0);
  ASSERT_EQ(init(grace).exit_code, 0);
  auto hello = run(frank, {"send", "grace", "hello grace"});
  ASSERT_EQ(hello.exit_code, 0) << describe(hello);
  auto answer = run(grace, {"send", "frank", "hello frank"});
  ASSERT_EQ(answer.exit_code, 0) << describe(answer);

  auto graces = run(grace, {"history", "frank"});
  EXPECT_EQ(graces.out, "frank: hello grace\ngrace: hello frank\n") << describe(graces);
  auto got = run(frank, {"recv", "--wait", "20"});
  EXPECT_EQ(got.out, "grace: hello frank\n") << describe(got);
  auto franks = run(frank, {"history", "grace"});
  EXPECT_EQ(franks.out, "frank: hello grace\ngrace: hello frank\n") << describe(franks);
}

TEST_F(SottoCliTest, AMessageWrittenWhileTheServerIsDownLeavesWithTheNextCommand) {
  // A server of this test's own, stopped and started again on the same port and data.
  const fs::path data = tmp_.path() / "data";
  own_server_ = std::make_unique<SottodProcess>(SottodProcess::args_for(data));
  ASSERT_TRUE(own_server_->wait_listening()) << own_server_->line();
  const std::string port = std::to_string(own_server_->port());

  const Person dave = person("dave", true);
  const Person erin = person("erin", true);
  ASSERT_EQ(init(dave).exit_code, 0);
  ASSERT_EQ(init(erin).exit_code, 0);
  auto first = run(dave, {"send", "erin", "first"});
  ASSERT_EQ(first.exit_code, 0) << describe(first);

  own_server_.reset();
  auto offline = run(dave, {"send", "erin", "while you were down"});
  EXPECT_EQ(offline.exit_code, 6) << describe(offline);
  EXPECT_NE(offline.err.find("outbox"), std::string::npos) << describe(offline);
  auto pending = run(dave, {"history", "erin"});
  EXPECT_EQ(pending.out, "dave: first\ndave: while you were down [pending]\n") << describe(pending);

  own_server_ = std::make_unique<SottodProcess>(
      std::vector<std::string>{"--listen", "127.0.0.1:" + port, "--data-dir", data.string()});
  ASSERT_TRUE(own_server_->wait_listening()) << own_server_->line();
  auto resent = run(dave, {"recv"});
  EXPECT_EQ(resent.exit_code, 0) << describe(resent);
  auto sent = run(dave, {"history", "erin"});
  EXPECT_EQ(sent.out, "dave: first\ndave: while you were down\n") << describe(sent);
  auto got = run(erin, {"recv"});
  EXPECT_EQ(got.exit_code, 0) << describe(got);
  EXPECT_EQ(got.out, "dave: first\ndave: while you were down\n") << describe(got);
}

}  // namespace
