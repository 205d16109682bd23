// The sotto command against a real sottod on loopback: alice and bob as separate processes
// with separate profiles register, find each other in the key directory and talk; messages
// arrive once and in order; errors have their documented exit statuses; --json parses.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sotto_cli_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using sotto::cli::testing::describe;
using sotto::cli::testing::SottoCliTest;
using sotto::cli::testing::SottodProcess;
using sotto::cli::testing::SottoProcess;
using sotto::cli::testing::SottoRun;
using sotto::cli::testing::slurp;

// Whether process `pid` holds a TCP connection to `port` on this host (its sockets' inodes
// looked up in /proc/net/tcp): how a test knows a client got as far as connecting.
bool connected_to(pid_t pid, uint16_t port) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    const std::string target = fs::read_symlink(fd.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      const auto colon = remote.rfind(':');
      if (colon == std::string::npos || !inodes.count(inode)) continue;
      if (std::stoul(remote.substr(colon + 1), nullptr, 16) == port) return true;
    }
  }
  return false;
}

// Polls `done` every few milliseconds for up to a minute.
template <typename Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

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
  // Bob's recv told alice her messages arrived (two ticks); he has not read them yet.
  EXPECT_EQ(alices.out,
            "alice: one \u2713\u2713\nalice: two \u2713\u2713\nalice: three \u2713\u2713\n"
            "bob: hi alice\n");

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
  // Grace's history read frank's message, and his recv heard of it.
  EXPECT_EQ(franks.out, "frank: hello grace \u2713\u2713 read\ngrace: hello frank\n")
      << describe(franks);
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

// Frank and grace on a server of the test's own, which it may pause.
class SottoCliCrashTest : public SottoCliTest {
 protected:
  void SetUp() override {
    own_server_ = std::make_unique<SottodProcess>(SottodProcess::args_for(tmp_.path() / "data"));
    ASSERT_TRUE(own_server_->wait_listening()) << own_server_->line();
    ASSERT_EQ(init(frank).exit_code, 0);
    ASSERT_EQ(init(grace).exit_code, 0);
  }
  const Person frank = person("frank", true);
  const Person grace = person("grace", true);
};

TEST_F(SottoCliCrashTest, ASendKilledWhileTheServerIsPausedLeavesItsMessageToTheNextCommand) {
  auto before = run(frank, {"send", "grace", "before"});
  ASSERT_EQ(before.exit_code, 0) << describe(before);

  // The server stops answering: the send writes its outbox, connects, and waits; it dies there.
  own_server_->signal(SIGSTOP);
  SottoProcess sending(frank.work, {"send", "grace", "in flight"}, frank.env, "");
  const bool connecting = eventually([&] { return connected_to(sending.pid(), server().port()); });
  ::kill(sending.pid(), SIGKILL);
  const SottoRun killed = sending.wait();
  own_server_->signal(SIGCONT);
  ASSERT_TRUE(connecting) << describe(killed);
  EXPECT_EQ(killed.exit_code, -1) << describe(killed);
  auto pending = run(frank, {"history", "grace"});
  EXPECT_EQ(pending.out, "frank: before\nfrank: in flight [pending]\n") << describe(pending);

  // Frank's next command sends it; grace gets it once.
  auto resent = run(frank, {"recv"});
  EXPECT_EQ(resent.exit_code, 0) << describe(resent);
  auto sent = run(frank, {"history", "grace"});
  EXPECT_EQ(sent.out, "frank: before\nfrank: in flight\n") << describe(sent);
  auto got = run(grace, {"recv"});
  EXPECT_EQ(got.out, "frank: before\nfrank: in flight\n") << describe(got);
  auto again = run(grace, {"recv"});
  EXPECT_EQ(again.out, "") << describe(again);
  auto history = run(grace, {"history", "frank"});
  EXPECT_EQ(history.out, "frank: before\nfrank: in flight\n") << describe(history);
}

TEST_F(SottoCliCrashTest, ARecvKilledAfterItPrintedLosesNothingAndShowsNothingTwiceAfterwards) {
  std::string expected_history;
  for (int i = 1; i <= 3; ++i) {
    const std::string round = std::to_string(i);
    std::string expected;
    for (const std::string& text : {"a" + round, "b" + round}) {
      auto sent = run(frank, {"send", "grace", text});
      ASSERT_EQ(sent.exit_code, 0) << describe(sent);
      expected += "frank: " + text + "\n";
    }
    expected_history += expected;
    // Killed as soon as its first line is out, before it has finished (or just after).
    SottoProcess receiving(grace.work, {"recv"}, grace.env, "");
    ASSERT_TRUE(receiving.wait_output("frank: a" + round + "\n")) << describe(receiving.wait());
    ::kill(receiving.pid(), SIGKILL);
    const SottoRun killed = receiving.wait();
    // The next recv shows what the killed one may not have finished showing, each once.
    auto next = run(grace, {"recv"});
    ASSERT_EQ(next.exit_code, 0) << describe(next);
    EXPECT_TRUE(next.out == expected || (next.out.empty() && killed.out == expected))
        << describe(killed) << describe(next);
    auto after = run(grace, {"recv"});
    EXPECT_EQ(after.out, "") << describe(after);
  }
  auto history = run(grace, {"history", "frank"});
  EXPECT_EQ(history.out, expected_history) << describe(history);
}

// A server that serves bob's key packages with keys of its own (a man in the middle) is caught
// against the key directory: alice refuses to send, says why, and nothing reaches anyone.
TEST_F(SottoCliTest, AServerThatSwapsAContactsKeyIsCaughtAndNothingIsSent) {
  own_server_ = std::make_unique<SottodProcess>(SottodProcess::args_for(
      tmp_.path() / "data", {"--testing-swap-key-packages-of", "heidi"}));
  ASSERT_TRUE(own_server_->wait_listening()) << own_server_->line();
  const Person ivan = person("ivan", true);
  const Person heidi = person("heidi", true);
  ASSERT_EQ(init(ivan).exit_code, 0);
  ASSERT_EQ(init(heidi).exit_code, 0);

  for (int attempt = 0; attempt < 2; ++attempt) {
    auto refused = run(ivan, {"send", "heidi", "secret plans"});
    EXPECT_EQ(refused.exit_code, 10) << describe(refused);
    EXPECT_NE(refused.err.find("key directory"), std::string::npos) << describe(refused);
    EXPECT_NE(refused.err.find("nothing was sent"), std::string::npos) << describe(refused);
  }
  auto history = run(ivan, {"history", "heidi"});
  EXPECT_EQ(history.out.find("secret plans"), std::string::npos) << describe(history);
  auto got = run(heidi, {"recv"});
  EXPECT_EQ(got.exit_code, 0) << describe(got);
  EXPECT_EQ(got.out, "") << describe(got);

  // The other way round nothing is swapped: heidi reaches ivan.
  auto answer = run(heidi, {"send", "ivan", "hello"});
  EXPECT_EQ(answer.exit_code, 0) << describe(answer);
  auto heard = run(ivan, {"recv"});
  EXPECT_EQ(heard.out, "heidi: hello\n") << describe(heard);
}

// The user's rights: `export` gives what the server holds and what the device holds, without
// keys; `account delete` erases both, after which the name is gone from the directory.
TEST_F(SottoCliTest, ExportShowsTheServerAndDeviceDataAndAccountDeleteErasesBoth) {
  const Person judy = person("judy", false);
  const Person kim = person("kim", true);
  ASSERT_EQ(init(judy).exit_code, 0);
  ASSERT_EQ(init(kim).exit_code, 0);
  ASSERT_EQ(run(judy, {"send", "kim", "see you at noon"}).exit_code, 0);
  ASSERT_EQ(run(kim, {"send", "judy", "noon it is"}).exit_code, 0);

  const fs::path file = judy.work / "export.json";
  auto exported = run(judy, {"export", "--output", file.string()});
  ASSERT_EQ(exported.exit_code, 0) << describe(exported);
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const json doc = json::parse(slurp(file));
  EXPECT_EQ(doc.at("format"), "sotto-export-1");
  const json& device = doc.at("held_on_this_device");
  EXPECT_EQ(device.at("account").at("username"), "judy");
  ASSERT_EQ(device.at("conversations").size(), 1u);
  std::vector<std::string> texts;
  for (const auto& m : device.at("conversations")[0].at("messages")) texts.push_back(m.at("text"));
  EXPECT_EQ(texts, (std::vector<std::string>{"see you at noon", "noon it is"}));
  ASSERT_EQ(device.at("contacts").size(), 1u);
  EXPECT_EQ(device.at("contacts")[0].at("username"), "kim");
  // The server's part is its own export of the account (docs/privacy.md).
  EXPECT_NE(doc.at("held_by_server").dump().find("judy@example.org"), std::string::npos)
      << doc.at("held_by_server").dump();
  // No secret of the device: its key, session token or group state never leave in an export.
  const std::string text = slurp(file);
  for (const char* secret : {"seed", "token", "group_state", "private"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
  // To standard output with --json as the format.
  auto to_stdout = run(judy, {"export"});
  ASSERT_EQ(to_stdout.exit_code, 0) << describe(to_stdout);
  EXPECT_EQ(json::parse(to_stdout.out).at("held_on_this_device").at("account").at("username"),
            "judy");

  // Deleting needs --yes, then the right password.
  auto unconfirmed = run(judy, {"account", "delete"});
  EXPECT_EQ(unconfirmed.exit_code, 2) << describe(unconfirmed);
  EXPECT_TRUE(fs::exists(judy.work / "profile" / "store.db"));
  auto wrong = run(judy, {"account", "delete", "--yes"}, "",
                   {{"SOTTO_PASSWORD", "not the password"}});
  EXPECT_EQ(wrong.exit_code, 7) << describe(wrong);
  EXPECT_TRUE(fs::exists(judy.work / "profile" / "store.db"));
  auto deleted = run(judy, {"account", "delete", "--yes"}, "",
                     {{"SOTTO_PASSWORD", "correct horse battery judy"}});
  ASSERT_EQ(deleted.exit_code, 0) << describe(deleted);
  EXPECT_FALSE(fs::exists(judy.work / "profile"));
  auto gone = run(judy, {"whoami"});
  EXPECT_EQ(gone.exit_code, 3) << describe(gone);

  // For kim, judy is erased: the key directory says so and nothing can be sent to her.
  auto lookup = run(kim, {"contacts", "add", "judy"});
  EXPECT_EQ(lookup.exit_code, 8) << describe(lookup);
  EXPECT_NE(lookup.err.find("erased"), std::string::npos) << describe(lookup);
}

// One person on two devices: the second logs in with the password; a conversation started
// afterwards has both as members, so each device shows both sides of it.
TEST_F(SottoCliTest, APersonOnTwoDevicesSeesBothSidesOnEach) {
  const Person laptop = person("lena", true);
  const Person phone = other_device("lena", "phone");
  const Person max = person("max", true);
  ASSERT_EQ(init(laptop).exit_code, 0);
  ASSERT_EQ(init(max).exit_code, 0);
  auto logged_in = login(phone);
  ASSERT_EQ(logged_in.exit_code, 0) << describe(logged_in);

  ASSERT_EQ(run(laptop, {"send", "max", "from my laptop"}).exit_code, 0);
  auto heard = run(max, {"recv"});
  EXPECT_EQ(heard.out, "lena: from my laptop\n") << describe(heard);
  ASSERT_EQ(run(max, {"send", "lena", "got it"}).exit_code, 0);
  ASSERT_EQ(run(phone, {"send", "max", "and from my phone"}).exit_code, 0);

  auto on_laptop = run(laptop, {"recv"});
  EXPECT_EQ(on_laptop.exit_code, 0) << describe(on_laptop);
  auto laptop_history = run(laptop, {"history", "max"});
  EXPECT_EQ(laptop_history.out,
            "lena: from my laptop \u2713\u2713\nmax: got it\nlena: and from my phone\n")
      << describe(laptop_history);
  // What the laptop sent is the phone's own side too, with max's receipt for it.
  auto phone_history = run(phone, {"history", "max"});
  EXPECT_EQ(phone_history.out,
            "lena: from my laptop \u2713\u2713\nmax: got it\nlena: and from my phone\n")
      << describe(phone_history);
  // And recv on the laptop showed max's answer only, not what the phone sent.
  EXPECT_EQ(on_laptop.out, "max: got it\n") << describe(on_laptop);
  auto max_heard = run(max, {"recv"});
  EXPECT_EQ(max_heard.out, "lena: and from my phone\n") << describe(max_heard);
  auto max_history = run(max, {"history", "lena"});
  // Lena's laptop read max's answer (its history) and told him.
  EXPECT_EQ(max_history.out,
            "lena: from my laptop\nmax: got it \u2713\u2713 read\nlena: and from my phone\n")
      << describe(max_history);
}

// Safety numbers: both people see the same digits; once one of them confirms, a change of the
// other's keys (here a device added) stops sending until the new number is compared.
TEST_F(SottoCliTest, AVerifiedContactWhoseKeysChangeIsNotSentToUntilVerifiedAgain) {
  const Person nina = person("nina", true);
  const Person olga = person("olga", true);
  ASSERT_EQ(init(nina).exit_code, 0);
  ASSERT_EQ(init(olga).exit_code, 0);
  auto nina_sees = run(nina, {"--json", "verify", "olga"});
  auto olga_sees = run(olga, {"--json", "verify", "nina"});
  ASSERT_EQ(nina_sees.exit_code, 0) << describe(nina_sees);
  ASSERT_EQ(olga_sees.exit_code, 0) << describe(olga_sees);
  const std::string number = nina_sees.lines().at(0).at("safety_number");
  EXPECT_EQ(olga_sees.lines().at(0).at("safety_number"), number);
  EXPECT_EQ(number.size(), 71u) << number;  // twelve groups of five digits
  EXPECT_FALSE(nina_sees.lines().at(0).at("verified").get<bool>());

  auto confirmed = run(nina, {"verify", "olga", "--matches"});
  ASSERT_EQ(confirmed.exit_code, 0) << describe(confirmed);
  EXPECT_NE(confirmed.out.find(number.substr(0, 35)), std::string::npos) << describe(confirmed);
  ASSERT_EQ(run(nina, {"send", "olga", "before"}).exit_code, 0);

  // olga adds a device: a new key in the directory, so a new number.
  auto logged_in = login(other_device("olga", "tablet"));
  ASSERT_EQ(logged_in.exit_code, 0) << describe(logged_in);
  ASSERT_EQ(run(nina, {"contacts", "add", "olga"}).exit_code, 0);

  auto refused = run(nina, {"send", "olga", "after"});
  EXPECT_EQ(refused.exit_code, 10) << describe(refused);
  EXPECT_NE(refused.err.find("changed since you verified"), std::string::npos)
      << describe(refused);
  auto shown = run(nina, {"--json", "verify", "olga"});
  ASSERT_EQ(shown.exit_code, 0) << describe(shown);
  EXPECT_NE(shown.lines().at(0).at("safety_number"), number);
  EXPECT_FALSE(shown.lines().at(0).at("verified").get<bool>());
  ASSERT_EQ(run(nina, {"verify", "olga", "--matches"}).exit_code, 0);
  auto sent = run(nina, {"send", "olga", "after"});
  EXPECT_EQ(sent.exit_code, 0) << describe(sent);
  auto got = run(olga, {"recv"});
  EXPECT_EQ(got.out, "nina: before\nnina: after\n") << describe(got);
}

}  // namespace
