// `sotto` in e-mail mode, as separate processes against a real Postfix and Dovecot on
// loopback: set-up that checks the password before keeping anything, keys given by hand and
// learned from a mail, texts that arrive once and in order whether the reader was offline or
// waiting, mail that is not encrypted or not signed by its sender left unread, a message
// written while the mail server cannot be reached kept in the outbox until the next run,
// nothing of a message in the clear on the servers or in the profile, and logging out.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "mail_server.h"
#include "sotto/mail/mime.h"
#include "sotto/mail/smtp_submission.h"
#include "sotto/openpgp/armor.h"
#include "sotto_cli_support.h"

namespace sotto::cli::testing {
namespace {

class SottoCliMailTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mail_ = new sotto::testing::MailServer(
        "sotto.test", {"alice:secret-a", "bob:secret-b", "carol:secret-c", "dave:secret-d"});
  }
  static void TearDownTestSuite() {
    delete mail_;
    mail_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(mail_->started()) << "the mail server did not start:\n" << mail_->output();
  }

  struct Person {
    std::string name;
    fs::path work;
    std::map<std::string, std::string> env;
    std::string address() const { return name + "@sotto.test"; }
  };

  Person person(const std::string& name) {
    Person p{name, tmp_.path() / name, {}};
    fs::create_directories(p.work);
    p.env["SOTTO_PROFILE"] = (p.work / "profile").string();
    p.env["SOTTO_KEY_FILE"] = (p.work / "store.key").string();
    return p;
  }

  SottoRun run(const Person& p, std::vector<std::string> args,
               const std::map<std::string, std::string>& more_env = {}) {
    args.insert(args.begin(), "--json");
    auto env = p.env;
    for (const auto& [k, v] : more_env) env[k] = v;
    return SottoProcess(p.work, args, env, std::string()).wait();
  }

  std::vector<std::string> init_args(const Person& p) {
    return {"init",
            "--email",
            p.address(),
            "--imap",
            "127.0.0.1:" + std::to_string(mail_->imaps_port()),
            "--smtp",
            "127.0.0.1:" + std::to_string(mail_->submission_port()),
            "--smtp-security",
            "starttls",
            "--ca-file",
            mail_->certificate().string()};
  }

  SottoRun init(const Person& p) {
    return run(p, init_args(p), {{"SOTTO_MAIL_PASSWORD", "secret-" + p.name.substr(0, 1)}});
  }

  // `from` gets `to`'s key the way people exchange keys by hand: `whoami --public-key` on one
  // side, `contacts add --key` on the other.
  void give_key(const Person& to, const Person& from) {
    auto key = run(to, {"whoami", "--public-key"});
    ASSERT_EQ(key.exit_code, 0) << describe(key);
    const std::string armored = key.lines().at(0).at("public_key").get<std::string>();
    ASSERT_NE(armored.find("BEGIN PGP PUBLIC KEY BLOCK"), std::string::npos);
    const fs::path file = from.work / (to.name + ".asc");
    std::ofstream(file) << armored;
    auto added = run(from, {"contacts", "add", to.address(), "--key", file.string()});
    ASSERT_EQ(added.exit_code, 0) << describe(added);
  }

  // `p`'s public key, as `whoami --public-key` prints it.
  openpgp::Cert public_key_of(const Person& p) {
    auto key = run(p, {"whoami", "--public-key"});
    EXPECT_EQ(key.exit_code, 0) << describe(key);
    if (key.exit_code != 0) return {};
    auto armored = openpgp::dearmor(key.lines().at(0).at("public_key").get<std::string>());
    EXPECT_TRUE(armored.ok());
    if (!armored.ok()) return {};
    auto cert = openpgp::Cert::parse(armored->data);
    EXPECT_TRUE(cert.ok());
    return cert.ok() ? *std::move(cert) : openpgp::Cert{};
  }

  // The test's own way into the submission server, to send mail no sotto would write.
  static mail::MailServerEndpoint submission() {
    mail::MailServerEndpoint e;
    e.host = "127.0.0.1";
    e.port = mail_->submission_port();
    e.security = mail::MailServerEndpoint::Security::starttls;
    e.ca_file = mail_->certificate().string();
    return e;
  }

  // Two new profiles; `writer` has `reader`'s key.
  void set_up_pair(const Person& writer, const Person& reader) {
    auto w = init(writer);
    ASSERT_EQ(w.exit_code, 0) << describe(w);
    auto r = init(reader);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    give_key(reader, writer);
  }

  static std::vector<std::string> texts(const SottoRun& r) {
    std::vector<std::string> out;
    for (const auto& line : r.lines()) out.push_back(line.at("text").get<std::string>());
    return out;
  }

  static inline sotto::testing::MailServer* mail_ = nullptr;
  TempDir tmp_;
};

TEST_F(SottoCliMailTest, TwoPeopleChatOverTheirMailAccountsOnceAndInOrder) {
  Person alice = person("alice");
  Person bob = person("bob");

  // A wrong password is refused before anything is kept.
  auto wrong = run(alice, init_args(alice), {{"SOTTO_MAIL_PASSWORD", "not-it"}});
  EXPECT_EQ(wrong.exit_code, 7) << describe(wrong);
  EXPECT_FALSE(fs::exists(alice.work / "profile" / "mail.json"));

  auto a = init(alice);
  ASSERT_EQ(a.exit_code, 0) << describe(a);
  EXPECT_EQ(a.lines().at(0).at("address"), "alice@sotto.test");
  ASSERT_EQ(init(bob).exit_code, 0);
  // A second set-up of the same profile is refused.
  EXPECT_EQ(init(alice).exit_code, 9);

  // Without bob's key, nothing can be sent to him (no plaintext).
  auto keyless = run(alice, {"send", bob.address(), "hello?"});
  EXPECT_EQ(keyless.exit_code, 8) << describe(keyless);
  give_key(bob, alice);

  // Bob is offline while alice writes three messages.
  for (const char* text : {"first: the purple lighthouse", "second", "third, with ümlauts"}) {
    auto sent = run(alice, {"send", bob.address(), text});
    ASSERT_EQ(sent.exit_code, 0) << describe(sent);
    EXPECT_EQ(sent.lines().at(0).at("state"), "sent");
  }
  // What the mail server holds for bob shows none of it in the clear.
  auto stored = mail_->wait_mails("bob", 3);
  ASSERT_EQ(stored.size(), 3u);
  for (const auto& raw : stored) {
    EXPECT_EQ(raw.find("lighthouse"), std::string::npos);
    EXPECT_NE(raw.find("multipart/encrypted"), std::string::npos);
  }

  auto got = run(bob, {"recv"});
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  EXPECT_EQ(texts(got), (std::vector<std::string>{"first: the purple lighthouse", "second",
                                                  "third, with ümlauts"}));
  EXPECT_EQ(got.lines().at(0).at("from"), "alice@sotto.test");
  // Once only.
  auto again = run(bob, {"recv"});
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_TRUE(again.out.empty()) << again.out;

  // Bob learned alice's key from her mail (Autocrypt) and answers without importing it;
  // alice, waiting in `recv --wait`, is woken by the answer.
  auto contacts = run(bob, {"contacts", "list"});
  ASSERT_EQ(contacts.exit_code, 0) << describe(contacts);
  ASSERT_EQ(contacts.lines().size(), 1u);
  EXPECT_EQ(contacts.lines()[0].at("address"), "alice@sotto.test");
  EXPECT_EQ(contacts.lines()[0].at("key_source"), "from their mail");

  SottoProcess waiting(alice.work, {"--json", "recv", "--wait", "60"}, alice.env, std::string());
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto answer = run(bob, {"send", alice.address(), "got all three"});
  ASSERT_EQ(answer.exit_code, 0) << describe(answer);
  auto woken = waiting.wait();
  ASSERT_EQ(woken.exit_code, 0) << describe(woken);
  EXPECT_EQ(texts(woken), (std::vector<std::string>{"got all three"}));

  // Alice's history: her three (her own copies in her inbox are not shown twice) and his one.
  auto history = run(alice, {"history", bob.address()});
  ASSERT_EQ(history.exit_code, 0) << describe(history);
  auto lines = history.lines();
  ASSERT_EQ(lines.size(), 4u) << history.out;
  EXPECT_TRUE(lines[0].at("outgoing").get<bool>());
  EXPECT_EQ(lines[3].at("text"), "got all three");
  EXPECT_FALSE(lines[3].at("outgoing").get<bool>());

  // Nothing of the messages in the clear in the profiles.
  for (const Person* p : {&alice, &bob}) {
    for (const auto& entry : fs::recursive_directory_iterator(p->work / "profile")) {
      if (!entry.is_regular_file()) continue;
      const std::string bytes = slurp(entry.path());
      EXPECT_EQ(bytes.find("lighthouse"), std::string::npos) << entry.path();
      EXPECT_EQ(bytes.find("secret-"), std::string::npos) << entry.path();
    }
  }
}

TEST_F(SottoCliMailTest, MailThatIsNotEncryptedOrNotSignedByItsSenderIsNotShown) {
  Person carol = person("carol");
  Person dave = person("dave");
  ASSERT_NO_FATAL_FAILURE(set_up_pair(carol, dave));

  // A plain mail, and one that claims to be from dave but is not encrypted either.
  const std::string plain =
      "From: dave@sotto.test\r\nTo: carol@sotto.test\r\nSubject: hi\r\n"
      "Message-ID: <plain.1@sotto.test>\r\nChat-Version: 1.0\r\n\r\nin the clear\r\n";
  ASSERT_TRUE(mail::submit(submission(), "dave@sotto.test", "secret-d",
                           {"dave@sotto.test", {"carol@sotto.test"}}, plain)
                  .ok());
  auto sent = run(dave, {"send", carol.address(), "sealed"});
  // Dave has no key for carol: he cannot write first (she can, having his).
  EXPECT_EQ(sent.exit_code, 8) << describe(sent);
  auto hello = run(carol, {"send", dave.address(), "hello dave"});
  ASSERT_EQ(hello.exit_code, 0) << describe(hello);
  auto at_dave = run(dave, {"recv", "--wait", "30"});
  ASSERT_EQ(at_dave.exit_code, 0) << describe(at_dave);
  EXPECT_EQ(texts(at_dave), (std::vector<std::string>{"hello dave"}));
  ASSERT_EQ(run(dave, {"send", carol.address(), "sealed"}).exit_code, 0);

  mail_->wait_mails("carol", 2);
  auto got = run(carol, {"recv", "--wait", "30"});
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  EXPECT_EQ(texts(got), (std::vector<std::string>{"sealed"}));

  // Someone else writes as dave, sealed to carol's real key but signed by a key of their own
  // that their Autocrypt header offers: carol knows dave's key, so the mail is not read and
  // dave's key stays the one she has.
  const openpgp::Cert carol_cert = public_key_of(carol);
  const auto now = static_cast<uint32_t>(std::time(nullptr));
  auto forged_key = openpgp::generate_cert("<dave@sotto.test>", now - 60);
  ASSERT_TRUE(forged_key.ok());
  mail::ChatMail forged;
  forged.from_addr = "dave@sotto.test";
  forged.to = {"carol@sotto.test"};
  forged.message_id = "Mr.forged.1@sotto.test";
  forged.date = now;
  forged.chat_headers = {{"Chat-Version", "1.0"}};
  forged.text = "send the money here";
  auto sealed = mail::seal(forged, *forged_key, {carol_cert}, mail::SealOptions{now});
  ASSERT_TRUE(sealed.ok()) << sealed.error().to_string();
  auto before = run(carol, {"contacts", "list"});
  ASSERT_TRUE(mail::submit(submission(), "dave@sotto.test", "secret-d",
                           {"dave@sotto.test", {"carol@sotto.test"}}, *sealed)
                  .ok());
  // It is in carol's inbox, the one mail her client has not seen.
  auto inbox = mail_->wait_mails("carol", 1);
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_NE(inbox[0].find("Mr.forged.1@sotto.test"), std::string::npos);
  auto after_forgery = run(carol, {"recv"});
  ASSERT_EQ(after_forgery.exit_code, 0) << describe(after_forgery);
  EXPECT_TRUE(after_forgery.out.empty()) << after_forgery.out;
  EXPECT_EQ(run(carol, {"contacts", "list"}).out, before.out);
}

TEST_F(SottoCliMailTest, AMessageWrittenWhileTheMailServerIsUnreachableLeavesWithTheNextRun) {
  Person alice = person("alice");
  Person bob = person("bob");
  ASSERT_NO_FATAL_FAILURE(set_up_pair(alice, bob));
  // Drain what earlier tests left in bob's inbox.
  ASSERT_EQ(run(bob, {"recv"}).exit_code, 0);

  // The submission server "moves" to a port where nothing listens.
  const fs::path settings = alice.work / "profile" / "mail.json";
  auto j = json::parse(slurp(settings));
  const auto good_port = j["smtp"]["port"];
  j["smtp"]["port"] = sotto::testing::free_ports(1)[0];
  std::ofstream(settings) << j.dump();
  auto offline = run(alice, {"send", bob.address(), "written offline"});
  EXPECT_EQ(offline.exit_code, 6) << describe(offline);
  EXPECT_EQ(offline.lines().at(0).at("state"), "pending");

  // Back: the next run of any sending command sends it, once.
  j["smtp"]["port"] = good_port;
  std::ofstream(settings) << j.dump();
  ASSERT_EQ(run(alice, {"recv"}).exit_code, 0);
  auto got = run(bob, {"recv", "--wait", "30"});
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  EXPECT_EQ(texts(got), (std::vector<std::string>{"written offline"}));
  auto history = run(alice, {"history", bob.address()});
  ASSERT_EQ(history.lines().size(), 1u) << history.out;
  EXPECT_EQ(history.lines()[0].at("state"), "sent");
  ASSERT_EQ(run(alice, {"recv"}).exit_code, 0);
  EXPECT_TRUE(run(bob, {"recv"}).out.empty());

  // Logging out deletes this device's data, once confirmed.
  EXPECT_EQ(run(alice, {"logout"}).exit_code, 2);
  EXPECT_TRUE(fs::exists(alice.work / "profile" / "store.db"));
  auto out = run(alice, {"logout", "--yes"});
  ASSERT_EQ(out.exit_code, 0) << describe(out);
  EXPECT_FALSE(fs::exists(alice.work / "profile"));
  EXPECT_EQ(run(alice, {"whoami"}).exit_code, 3);
}

}  // namespace
}  // namespace sotto::cli::testing

namespace sotto::cli::testing {
namespace {

// A 5 MiB file over mail: sent as Delta Chat sends a large file, a small pre-message with the
// caption and then the file in a mail of its own, both encrypted (nothing of either in the
// clear on the server); read by the other side as one message whether it was online or not,
// kept encrypted in the
// profile, saved byte for byte by `file get` (which never replaces a file, and refuses a kept
// copy that was changed); the sender's own history has its copy too.
TEST_F(SottoCliMailTest, AFiveMebibyteFileArrivesWholeAndStaysEncryptedOnTheDevice) {
  Person alice = person("alice");
  Person bob = person("bob");
  set_up_pair(alice, bob);
  const std::string marker = "PURPLE-LIGHTHOUSE-FILE-";
  std::string content;
  for (size_t i = 0; content.size() < (size_t{5} << 20); ++i) {
    content += marker + std::to_string(i) + "\n";
  }
  content.resize(size_t{5} << 20);
  const fs::path film = alice.work / "film.mp4";
  std::ofstream(film, std::ios::binary) << content;

  auto sent = run(alice, {"file", "send", bob.address(), film.string(), "--caption", "our trip"});
  ASSERT_EQ(sent.exit_code, 0) << describe(sent);
  EXPECT_EQ(sent.lines().at(0).at("file").at("size"), content.size());
  EXPECT_EQ(sent.lines().at(0).at("file").at("media_type"), "video/mp4");
  auto on_server = mail_->wait_mails("bob", 2);
  ASSERT_EQ(on_server.size(), 2u);
  std::sort(on_server.begin(), on_server.end(),
            [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
  EXPECT_LT(on_server[0].size(), size_t{64} << 10);  // the pre-message: the caption only
  EXPECT_GT(on_server[1].size(), content.size());    // the file, in base64 and encrypted
  for (const std::string& raw : on_server) {
    EXPECT_EQ(raw.find(marker), std::string::npos);
    EXPECT_EQ(raw.find("film.mp4"), std::string::npos);  // the name is inside too
    EXPECT_EQ(raw.find("our trip"), std::string::npos);
  }

  auto got = run(bob, {"recv"});
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  ASSERT_EQ(got.lines().size(), 1u) << got.out;
  const json line = got.lines()[0];
  EXPECT_EQ(line.at("text"), "our trip");
  EXPECT_EQ(line.at("file").at("name"), "film.mp4");
  EXPECT_EQ(line.at("file").at("size"), content.size());
  const std::string id = line.at("message_id").get<std::string>();

  const fs::path saved = bob.work / "saved.mp4";
  auto get = run(bob, {"file", "get", id, "-o", saved.string()});
  ASSERT_EQ(get.exit_code, 0) << describe(get);
  EXPECT_EQ(slurp(saved), content);
  // Never over an existing file.
  auto twice = run(bob, {"file", "get", id, "-o", saved.string()});
  EXPECT_EQ(twice.exit_code, 9) << describe(twice);
  // Alice's history has her copy.
  const fs::path hers = alice.work / "hers.mp4";
  ASSERT_EQ(
      run(alice, {"file", "get", sent.lines()[0].at("message_id"), "-o", hers.string()}).exit_code,
      0);
  EXPECT_EQ(slurp(hers), content);

  // On the devices, nothing of it in the clear.
  for (const Person* p : {&alice, &bob}) {
    for (const auto& entry : fs::recursive_directory_iterator(p->work / "profile")) {
      if (!entry.is_regular_file()) continue;
      EXPECT_EQ(slurp(entry.path()).find(marker), std::string::npos) << entry.path();
    }
  }
  // A kept copy changed on the device is refused whole: no output.
  size_t kept = 0;
  for (const auto& entry : fs::directory_iterator(bob.work / "profile" / "files")) {
    std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    f.put('\x5a');
    ++kept;
  }
  EXPECT_EQ(kept, 1u);
  const fs::path changed = bob.work / "changed.mp4";
  auto refused = run(bob, {"file", "get", id, "-o", changed.string()});
  EXPECT_EQ(refused.exit_code, 10) << describe(refused);
  EXPECT_FALSE(fs::exists(changed));
  // No such message.
  EXPECT_EQ(run(bob, {"file", "get", "00ff", "-o", changed.string()}).exit_code, 8);
}

// Edits and deletes over mail: the reader's `recv` shows the message again as it is now (edited;
// deleted, its file gone from the reader's device too), and only the sender can do either.
TEST_F(SottoCliMailTest, ASenderEditsAMessageAndDeletesAFileForEveryone) {
  Person alice = person("alice");
  Person bob = person("bob");
  set_up_pair(alice, bob);
  auto sent = run(alice, {"send", bob.address(), "meet at 5"});
  ASSERT_EQ(sent.exit_code, 0) << describe(sent);
  const std::string id = sent.lines().at(0).at("message_id").get<std::string>();
  const fs::path plan = alice.work / "plan.txt";
  std::ofstream(plan) << "the secret plan";
  auto file = run(alice, {"file", "send", bob.address(), plan.string()});
  ASSERT_EQ(file.exit_code, 0) << describe(file);
  const std::string file_id = file.lines().at(0).at("message_id").get<std::string>();
  auto got = run(bob, {"recv", "--wait", "30"});
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  for (int i = 0; i < 5 && got.lines().size() < 2; ++i) {
    auto more = run(bob, {"recv", "--wait", "10"});
    got.out += more.out;
  }
  ASSERT_EQ(got.lines().size(), 2u) << got.out;
  EXPECT_FALSE(fs::is_empty(bob.work / "profile" / "files"));

  // Bob cannot change alice's message.
  EXPECT_EQ(run(bob, {"edit", alice.address(), id, "meet never"}).exit_code, 2);
  auto edited = run(alice, {"edit", bob.address(), id, "meet at 6"});
  ASSERT_EQ(edited.exit_code, 0) << describe(edited);
  auto deleted = run(alice, {"delete", bob.address(), file_id});
  ASSERT_EQ(deleted.exit_code, 0) << describe(deleted);
  std::vector<json> changes;
  for (int i = 0; i < 10 && changes.size() < 2; ++i) {
    auto r = run(bob, {"recv", "--wait", "10"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    for (auto& line : r.lines()) changes.push_back(std::move(line));
  }
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].at("message_id"), id);
  EXPECT_EQ(changes[0].at("text"), "meet at 6");
  EXPECT_TRUE(changes[0].contains("edited_at"));
  EXPECT_EQ(changes[1].at("message_id"), file_id);
  EXPECT_TRUE(changes[1].value("deleted", false));
  EXPECT_FALSE(changes[1].contains("file"));
  EXPECT_TRUE(fs::is_empty(bob.work / "profile" / "files"));
  EXPECT_TRUE(fs::is_empty(alice.work / "profile" / "files"));
  // The history holds two messages: one edited, one a tombstone; no edit of a deleted one.
  auto history = run(bob, {"history", alice.address()});
  ASSERT_EQ(history.lines().size(), 2u) << history.out;
  EXPECT_EQ(history.lines()[0].at("text"), "meet at 6");
  EXPECT_TRUE(history.lines()[1].value("deleted", false));
  EXPECT_EQ(run(alice, {"edit", bob.address(), file_id, "oops"}).exit_code, 2);
}

// The mail server restarts while `recv --wait` waits in IDLE: the connection breaks, recv
// connects again after a pause and gets the message written meanwhile, once.
TEST_F(SottoCliMailTest, RecvWaitingReconnectsWhenTheMailServerRestarts) {
  Person alice = person("alice");
  Person bob = person("bob");
  set_up_pair(alice, bob);
  SottoProcess waiting(bob.work, {"--json", "recv", "--wait", "90"}, bob.env, std::string());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_TRUE(mail_->stop()) << mail_->output();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_TRUE(mail_->start()) << mail_->output();
  auto sent = run(alice, {"send", bob.address(), "after the restart"});
  ASSERT_EQ(sent.exit_code, 0) << describe(sent);
  auto got = waiting.wait();
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  EXPECT_EQ(texts(got), (std::vector<std::string>{"after the restart"}));
  EXPECT_NE(got.err.find("trying again in"), std::string::npos) << got.err;
  auto again = run(bob, {"recv"});
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_TRUE(again.out.empty()) << again.out;
}

// Read receipts over mail: reading the conversation (`history`) tells the sender, whose
// history then shows who read it; with `receipts off`, it stays untold.
TEST_F(SottoCliMailTest, ReadingAConversationSendsAReadReceiptUnlessTurnedOff) {
  Person alice = person("alice");
  Person bob = person("bob");
  set_up_pair(alice, bob);
  auto first = run(alice, {"send", bob.address(), "did you read this?"});
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  ASSERT_EQ(run(bob, {"recv", "--wait", "30"}).lines().size(), 1u);
  auto history = run(bob, {"history", alice.address()});
  ASSERT_EQ(history.exit_code, 0) << describe(history);
  // Alice reads the receipt (no message is shown for it) and sees who read hers.
  json mine = json::object();
  for (int i = 0; i < 10 && mine.value("read_by", json::array()).empty(); ++i) {
    auto r = run(alice, {"recv", "--wait", "5"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(r.out.empty()) << r.out;
    mine = run(alice, {"history", bob.address()}).lines().at(0);
  }
  EXPECT_EQ(mine.at("read_by"), json::array({bob.address()}));

  // Bob turns receipts off: his next reading tells alice nothing.
  auto off = run(bob, {"receipts", "off"});
  ASSERT_EQ(off.exit_code, 0) << describe(off);
  EXPECT_FALSE(off.lines().at(0).at("read_receipts").get<bool>());
  ASSERT_EQ(run(alice, {"send", bob.address(), "and this?"}).exit_code, 0);
  // (Alice's own copy of it is read, so that her inbox holds nothing new.)
  mail_->wait_mails("alice", 1);
  ASSERT_EQ(run(alice, {"recv"}).exit_code, 0);
  ASSERT_EQ(run(bob, {"recv", "--wait", "30"}).lines().size(), 1u);
  ASSERT_EQ(run(bob, {"history", alice.address()}).exit_code, 0);
  // Bob's history sends nothing: alice's inbox stays empty.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_TRUE(mail_->mails("alice").empty());
  auto later = run(alice, {"history", bob.address()});
  ASSERT_EQ(later.lines().size(), 2u);
  EXPECT_EQ(later.lines()[1].at("read_by"), json::array());
}

// Delta Chat sends a file over 140,000 bytes as two mails: a pre-message with the text, which
// names the post-message, and the post-message with the file. Read in separate runs, the
// pre-message is shown at once and the post-message completes it: one message in the
// history, with the file; the post-message read again changes nothing.
TEST_F(SottoCliMailTest, ADeltaChatPreMessageIsCompletedByItsPostMessage) {
  Person alice = person("alice");
  ASSERT_EQ(init(alice).exit_code, 0);
  const openpgp::Cert alice_cert = public_key_of(alice);
  // Bob writes as Delta Chat does, with a key of his own that his mail brings.
  const auto now = static_cast<uint32_t>(std::time(nullptr));
  auto bob_key = openpgp::generate_cert("<bob@sotto.test>", now - 60);
  ASSERT_TRUE(bob_key.ok());
  auto send_as_bob = [&](const mail::ChatMail& m) {
    auto sealed = mail::seal(m, *bob_key, {alice_cert}, mail::SealOptions{now});
    ASSERT_TRUE(sealed.ok()) << sealed.error().to_string();
    ASSERT_TRUE(mail::submit(submission(), "bob@sotto.test", "secret-b",
                             {"bob@sotto.test", {"alice@sotto.test"}}, *sealed)
                    .ok());
  };
  mail::ChatMail pre;
  pre.from_addr = "bob@sotto.test";
  pre.to = {"alice@sotto.test"};
  pre.message_id = "Mr.pre.1@sotto.test";
  pre.date = now;
  pre.chat_headers = {{"Chat-Version", "1.0"}, {"Chat-Post-Message-ID", "<Mr.post.1@sotto.test>"}};
  pre.text = "the whole picture";
  ASSERT_NO_FATAL_FAILURE(send_as_bob(pre));
  mail_->wait_mails("alice", 1);
  auto first = run(alice, {"recv"});
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  ASSERT_EQ(first.lines().size(), 1u) << first.out;
  EXPECT_EQ(first.lines()[0].at("text"), "the whole picture");
  EXPECT_FALSE(first.lines()[0].contains("file"));

  mail::ChatMail post = pre;
  post.message_id = "Mr.post.1@sotto.test";
  post.chat_headers = {{"Chat-Version", "1.0"}, {"Chat-Is-Post-Message", "1"}};
  std::string picture(200 * 1024, '\0');
  for (size_t i = 0; i < picture.size(); ++i) picture[i] = static_cast<char>(i * 31 + (i >> 10));
  post.attachments.push_back({"picture.png", "image/png", Bytes(picture.begin(), picture.end())});
  ASSERT_NO_FATAL_FAILURE(send_as_bob(post));
  mail_->wait_mails("alice", 1);
  auto second = run(alice, {"recv"});
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  ASSERT_EQ(second.lines().size(), 1u) << second.out;
  EXPECT_EQ(second.lines()[0].at("message_id"), first.lines()[0].at("message_id"));
  EXPECT_EQ(second.lines()[0].at("text"), "the whole picture");
  EXPECT_EQ(second.lines()[0].at("file").at("name"), "picture.png");
  EXPECT_EQ(second.lines()[0].at("file").at("media_type"), "image/png");

  // Again, as a server may deliver it twice: nothing new. (The test server's "new" folder
  // holds only what no client has seen yet.)
  ASSERT_NO_FATAL_FAILURE(send_as_bob(post));
  mail_->wait_mails("alice", 1);
  auto third = run(alice, {"recv"});
  ASSERT_EQ(third.exit_code, 0) << describe(third);
  EXPECT_TRUE(third.out.empty()) << third.out;
  auto history = run(alice, {"history", "bob@sotto.test"});
  ASSERT_EQ(history.exit_code, 0) << describe(history);
  ASSERT_EQ(history.lines().size(), 1u) << history.out;
  const fs::path saved = alice.work / "picture.png";
  ASSERT_EQ(run(alice, {"file", "get", history.lines()[0].at("message_id"), "-o", saved.string()})
                .exit_code,
            0);
  EXPECT_EQ(slurp(saved), picture);
}

// `chat` over mail: kept open, it shows what comes at once (and tells the sender it was
// read), and sends each line typed; /quit ends it, and so does the end of input. In a group
// too.
TEST_F(SottoCliMailTest, AChatShowsWhatComesAndSendsWhatIsTyped) {
  Person alice = person("alice");
  Person bob = person("bob");
  set_up_pair(alice, bob);
  give_key(alice, bob);
  SottoProcess chat(alice.work, {"chat", bob.address()}, alice.env, std::nullopt);
  ASSERT_TRUE(chat.wait_output("/quit ends")) << describe(chat.wait());
  ASSERT_EQ(run(bob, {"send", alice.address(), "are you there?"}).exit_code, 0);
  ASSERT_TRUE(chat.wait_output("are you there?\n")) << describe(chat.wait());
  chat.write("yes, live\n");
  auto heard = run(bob, {"recv", "--wait", "30"});
  ASSERT_EQ(heard.exit_code, 0) << describe(heard);
  EXPECT_EQ(texts(heard), std::vector<std::string>{"yes, live"});
  chat.write("still here\n/quit\nnot sent\n");
  auto chatted = chat.wait();
  EXPECT_EQ(chatted.exit_code, 0) << describe(chatted);
  // What alice read in the chat was read: bob's history says so, once the receipt is in.
  json mine = json::object();
  for (int i = 0; i < 10 && mine.value("read_by", json::array()).empty(); ++i) {
    auto r = run(bob, {"recv", "--wait", "5"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(texts(r),
              (i == 0 ? std::vector<std::string>{"still here"} : std::vector<std::string>{}));
    mine = run(bob, {"history", alice.address()}).lines().at(0);
  }
  EXPECT_EQ(mine.at("read_by"), json::array({alice.address()}));

  // In a group, the end of input ends the chat, the last line sent all the same.
  ASSERT_EQ(run(alice, {"group", "create", "Pair", bob.address()}).exit_code, 0);
  SottoProcess in_group(alice.work, {"chat", "--group", "Pair"}, alice.env, std::nullopt);
  ASSERT_TRUE(in_group.wait_output("/quit ends")) << describe(in_group.wait());
  in_group.write("to the group");
  auto ended = in_group.wait();  // closes the input
  EXPECT_EQ(ended.exit_code, 0) << describe(ended);
  auto in_bobs = run(bob, {"recv", "--wait", "30"});
  ASSERT_EQ(in_bobs.exit_code, 0) << describe(in_bobs);
  EXPECT_EQ(texts(in_bobs), std::vector<std::string>{"to the group"});
  EXPECT_EQ(run(alice, {"chat", "--group", "Nowhere"}).exit_code, 8);
  EXPECT_EQ(run(alice, {"chat"}).exit_code, 2);
}

class SottoCliSecureJoinTest : public SottoCliMailTest {
 protected:
  // Runs `recv` as `inviter` until `joiner` (a running `join`) ends; what recv printed.
  std::string answer_until_done(const Person& inviter, SottoProcess& joiner, SottoRun& joined) {
    std::string printed;
    for (int i = 0; i < 30; ++i) {
      auto r = run(inviter, {"recv", "--wait", "2"});
      EXPECT_EQ(r.exit_code, 0) << describe(r);
      printed += r.out;
      if (auto ended = joiner.try_wait()) {
        joined = *std::move(ended);
        break;
      }
    }
    return printed;
  }
  // Runs `recv` as `inviter` until `joiner`'s `join` ends, and expects it to end well with
  // each side reporting the other verified.
  void expect_join_verifies(const Person& inviter, const Person& joiner, SottoProcess& process) {
    SottoRun joined;
    const std::string at_inviter = answer_until_done(inviter, process, joined);
    EXPECT_EQ(joined.exit_code, 0) << describe(joined);
    const auto verified = [](const Person& p) {
      return R"({"address":")" + p.address() + R"(","event":"verified"})";
    };
    EXPECT_NE(joined.out.find(verified(inviter)), std::string::npos) << joined.out;
    EXPECT_NE(at_inviter.find(verified(joiner)), std::string::npos) << at_inviter;
  }
};

// A group's invite link between sotto profiles: whoever joins through it is verified and
// added to the group, and every member hears of it; the joiner then writes to the group and
// both members read it. The link's secrets are the group's own: a contact's link with the
// group's id added adds nobody. Who learned the inviter's key that way joins through the
// group's link with the third step first; a link without v3 runs the classic steps
// (vg-request).
TEST_F(SottoCliSecureJoinTest, AGroupsInviteLinkAddsWhoeverJoinsVerified) {
  Person carol = person("carol");
  Person alice = person("alice");
  Person dave = person("dave");
  Person bob = person("bob");
  for (const Person* p : {&carol, &alice, &dave, &bob}) ASSERT_EQ(init(*p).exit_code, 0);
  give_key(alice, carol);
  ASSERT_EQ(run(carol, {"group", "create", "Hiking club", alice.address()}).exit_code, 0);
  auto invite = run(carol, {"invite", "--group", "Hiking club"});
  ASSERT_EQ(invite.exit_code, 0) << describe(invite);
  const std::string link = invite.lines().at(0).at("link").get<std::string>();
  EXPECT_NE(link.find("&x="), std::string::npos) << link;
  EXPECT_NE(link.find("&g=Hiking%20club"), std::string::npos) << link;
  // Asked again: the same link.
  EXPECT_EQ(run(carol, {"invite", "--group", "Hiking club"}).lines().at(0).at("link"), link);
  EXPECT_EQ(run(carol, {"invite", "--group", "no such group"}).exit_code, 8);

  // The contact link's secrets with the group's id: not the group's, so nobody is added.
  auto contact = run(carol, {"invite"});
  ASSERT_EQ(contact.exit_code, 0);
  const std::string contact_link = contact.lines().at(0).at("link").get<std::string>();
  const std::string forged = contact_link + link.substr(link.find("&x="));
  {
    SottoProcess joiner(dave.work, {"--json", "join", forged, "--wait", "15"}, dave.env,
                        std::string());
    SottoRun joined;
    answer_until_done(carol, joiner, joined);
    EXPECT_EQ(joined.exit_code, 6) << describe(joined);
  }

  // Dave has carol's key now (the contact link's step brought it): his request is the third
  // step, encrypted to that key, not one under the link's secret.
  SottoProcess joiner(dave.work, {"--json", "join", link, "--wait", "60"}, dave.env, std::string());
  auto requests = mail_->wait_mails("carol", 1);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_FALSE(mail::password_encrypted(requests[0])) << requests[0];
  EXPECT_NE(requests[0].find("multipart/encrypted"), std::string::npos) << requests[0];
  expect_join_verifies(carol, dave, joiner);
  // All three have the group with all three in it.
  for (const Person* p : {&carol, &dave, &alice}) {
    if (p == &alice) {
      auto told = run(alice, {"recv", "--wait", "30"});
      ASSERT_EQ(told.exit_code, 0) << describe(told);
      EXPECT_EQ(texts(told), (std::vector<std::string>{"Member dave@sotto.test added by "
                                                       "carol@sotto.test."}));
    }
    auto groups = run(*p, {"group", "list"});
    ASSERT_EQ(groups.exit_code, 0) << describe(groups);
    ASSERT_EQ(groups.lines().size(), 1u) << p->name << ": " << groups.out;
    EXPECT_EQ(groups.lines()[0].at("name"), "Hiking club");
    auto members = groups.lines()[0].at("members").get<std::vector<std::string>>();
    std::sort(members.begin(), members.end());
    EXPECT_EQ(members,
              (std::vector<std::string>{"alice@sotto.test", "carol@sotto.test", "dave@sotto.test"}))
        << p->name;
  }
  // Dave writes to the group: carol and alice (who has his key from the group's gossip) read it.
  ASSERT_EQ(run(dave, {"send", "--group", "Hiking club", "thanks for having me"}).exit_code, 0);
  for (const Person* p : {&carol, &alice}) {
    auto got = run(*p, {"recv", "--wait", "30"});
    ASSERT_EQ(got.exit_code, 0) << describe(got);
    EXPECT_EQ(texts(got), (std::vector<std::string>{"thanks for having me"})) << p->name;
  }

  // The classic steps, for a link without v=3.
  std::string classic = link;
  classic.erase(classic.find("&v=3"), 4);
  SottoProcess classic_joiner(bob.work, {"--json", "join", classic, "--wait", "60"}, bob.env,
                              std::string());
  auto clear = mail_->wait_mails("carol", 1);
  ASSERT_EQ(clear.size(), 1u);
  EXPECT_NE(clear[0].find("Secure-Join: vg-request"), std::string::npos) << clear[0];
  expect_join_verifies(carol, bob, classic_joiner);
  auto bob_groups = run(bob, {"group", "list"});
  ASSERT_EQ(bob_groups.lines().size(), 1u) << bob_groups.out;
  EXPECT_EQ(bob_groups.lines()[0].at("members").size(), 4u) << bob_groups.out;
}

// SecureJoin between two sotto profiles: a link whose secret was changed verifies nobody;
// the real link (v3: the first request encrypted under the link's secret) verifies each
// side's key on the other, and then they write without any key given by hand; a link without
// v3 runs the classic handshake; a joiner who has the inviter's key skips to the third step.
TEST_F(SottoCliSecureJoinTest, TwoPeopleVerifyEachOtherThroughAnInviteLink) {
  Person carol = person("carol");
  Person dave = person("dave");
  ASSERT_EQ(init(carol).exit_code, 0);
  ASSERT_EQ(init(dave).exit_code, 0);
  auto invite = run(carol, {"invite"});
  ASSERT_EQ(invite.exit_code, 0) << describe(invite);
  const std::string link = invite.lines().at(0).at("link").get<std::string>();
  ASSERT_EQ(link.rfind("https://i.delta.chat/#", 0), 0u) << link;

  // Someone who saw the link but not its secret.
  std::string forged = link;
  const size_t s = forged.find("&s=");
  ASSERT_NE(s, std::string::npos);
  forged[s + 3] = forged[s + 3] == 'A' ? 'B' : 'A';
  {
    SottoProcess joiner(dave.work, {"--json", "join", forged, "--wait", "15"}, dave.env,
                        std::string());
    SottoRun joined;
    answer_until_done(carol, joiner, joined);
    EXPECT_EQ(joined.exit_code, 6) << describe(joined);
  }
  auto none = run(carol, {"contacts", "list"});
  EXPECT_TRUE(none.out.empty()) << none.out;

  SottoProcess joiner(dave.work, {"--json", "join", link, "--wait", "60"}, dave.env, std::string());
  // The link offers SecureJoin v3: dave's request is encrypted under the link's secret and
  // carries nothing of his but the address it comes from (no key, no chat headers).
  auto requests = mail_->wait_mails("carol", 1);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(mail::password_encrypted(requests[0])) << requests[0];
  EXPECT_EQ(requests[0].find("Autocrypt"), std::string::npos) << requests[0];
  EXPECT_EQ(requests[0].find("Secure-Join"), std::string::npos) << requests[0];
  EXPECT_EQ(requests[0].find("Chat-Version"), std::string::npos) << requests[0];
  expect_join_verifies(carol, dave, joiner);
  for (const auto& [who, other] :
       {std::pair{&carol, "dave@sotto.test"}, std::pair{&dave, "carol@sotto.test"}}) {
    auto list = run(*who, {"contacts", "list"});
    ASSERT_EQ(list.exit_code, 0) << describe(list);
    ASSERT_EQ(list.lines().size(), 1u) << list.out;
    EXPECT_EQ(list.lines()[0].at("address"), other);
    EXPECT_TRUE(list.lines()[0].at("verified").get<bool>()) << list.out;
  }
  ASSERT_EQ(run(dave, {"send", carol.address(), "joined!"}).exit_code, 0);
  auto got = run(carol, {"recv", "--wait", "30"});
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  EXPECT_EQ(texts(got), (std::vector<std::string>{"joined!"}));

  // A link without "v=3" (an older Delta Chat's) runs the classic handshake, whose first
  // request goes in the clear with the joiner's key; it verifies both sides as well.
  Person alice = person("alice");
  ASSERT_EQ(init(alice).exit_code, 0);
  std::string classic = link;
  const size_t v = classic.find("&v=3");
  ASSERT_NE(v, std::string::npos) << classic;
  classic.erase(v, 4);
  SottoProcess classic_joiner(alice.work, {"--json", "join", classic, "--wait", "60"}, alice.env,
                              std::string());
  auto clear = mail_->wait_mails("carol", 1);
  ASSERT_EQ(clear.size(), 1u);
  EXPECT_FALSE(mail::password_encrypted(clear[0]));
  EXPECT_NE(clear[0].find("Secure-Join: vc-request"), std::string::npos) << clear[0];
  expect_join_verifies(carol, alice, classic_joiner);

  // Someone who has carol's key already (given by hand) skips to the third step: the first
  // mail carol gets is encrypted to her key and signed, and both end verified.
  Person bob = person("bob");
  ASSERT_EQ(init(bob).exit_code, 0);
  give_key(carol, bob);
  SottoProcess knowing_joiner(bob.work, {"--json", "join", link, "--wait", "60"}, bob.env,
                              std::string());
  auto third = mail_->wait_mails("carol", 1);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_FALSE(mail::password_encrypted(third[0])) << third[0];
  EXPECT_NE(third[0].find("multipart/encrypted"), std::string::npos) << third[0];
  EXPECT_EQ(third[0].find("Secure-Join"), std::string::npos) << third[0];
  expect_join_verifies(carol, bob, knowing_joiner);
}

}  // namespace
}  // namespace sotto::cli::testing

namespace sotto::cli::testing {
namespace {

class SottoCliMailGroupTest : public SottoCliMailTest {
 protected:
  // `who`'s recv until it has printed `count` messages (JSON lines with a text).
  std::vector<json> receive(const Person& who, size_t count) {
    std::vector<json> got;
    for (int i = 0; i < 10 && got.size() < count; ++i) {
      auto r = run(who, {"recv", "--wait", "10"});
      EXPECT_EQ(r.exit_code, 0) << describe(r);
      for (auto& line : r.lines()) {
        if (line.contains("text")) got.push_back(std::move(line));
      }
    }
    return got;
  }
};

// A group of three over mail: created by alice with keys she has, answered by bob with the
// key of carol that alice's mail gossiped; carol removed (told, then left out) and added again.
TEST_F(SottoCliMailGroupTest, AGroupOfThreeWithRemoveAndAddAgain) {
  Person alice = person("alice");
  Person bob = person("bob");
  Person carol = person("carol");
  for (const Person* p : {&alice, &bob, &carol}) ASSERT_EQ(init(*p).exit_code, 0);
  give_key(bob, alice);
  give_key(carol, alice);
  auto made = run(alice, {"group", "create", "Hütte", bob.address(), carol.address()});
  ASSERT_EQ(made.exit_code, 0) << describe(made);
  EXPECT_EQ(made.lines().at(0).at("members").size(), 3u);

  ASSERT_EQ(run(alice, {"send", "--group", "Hütte", "plans for saturday"}).exit_code, 0);
  for (const Person* p : {&bob, &carol}) {
    auto got = receive(*p, 1);
    ASSERT_EQ(got.size(), 1u) << p->name;
    EXPECT_EQ(got[0].at("text"), "plans for saturday");
    EXPECT_EQ(got[0].at("group"), "Hütte");
    EXPECT_EQ(got[0].at("from"), "alice@sotto.test");
  }
  // Bob writes to the group: alice's key came with her mail, carol's with its gossip.
  auto answer = run(bob, {"send", "--group", "Hütte", "bob here"});
  ASSERT_EQ(answer.exit_code, 0) << describe(answer);
  for (const Person* p : {&alice, &carol}) {
    auto got = receive(*p, 1);
    ASSERT_EQ(got.size(), 1u) << p->name;
    EXPECT_EQ(got[0].at("text"), "bob here");
  }
  // A file to the group reaches every member.
  const fs::path plan = alice.work / "plan.txt";
  std::ofstream(plan) << "08:00 train\n10:30 hut\n";
  auto file = run(alice, {"file", "send", "--group", "Hütte", plan.string()});
  ASSERT_EQ(file.exit_code, 0) << describe(file);
  for (const Person* p : {&bob, &carol}) {
    auto got = receive(*p, 1);
    ASSERT_EQ(got.size(), 1u) << p->name;
    EXPECT_EQ(got[0].at("group"), "Hütte");
    EXPECT_EQ(got[0].at("file").at("name"), "plan.txt");
    const fs::path saved = p->work / "plan.txt";
    auto get = run(*p, {"file", "get", got[0].at("message_id"), "-o", saved.string()});
    ASSERT_EQ(get.exit_code, 0) << describe(get);
    EXPECT_EQ(slurp(saved), "08:00 train\n10:30 hut\n");
  }

  // Carol is removed: she is told, bob sees two members, and what follows does not reach her.
  auto removed = run(alice, {"group", "remove", "Hütte", carol.address()});
  ASSERT_EQ(removed.exit_code, 0) << describe(removed);
  EXPECT_EQ(removed.lines().at(0).at("members").size(), 2u);
  auto told = receive(carol, 1);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_NE(told[0].at("text").get<std::string>().find("removed"), std::string::npos);
  auto carols_groups = run(carol, {"group", "list"});
  EXPECT_EQ(carols_groups.lines().at(0).at("membership"), "removed") << carols_groups.out;
  EXPECT_EQ(run(carol, {"send", "--group", "Hütte", "still here?"}).exit_code, 8);
  ASSERT_EQ(receive(bob, 1).size(), 1u);  // the removal
  auto bobs_groups = run(bob, {"group", "list"});
  EXPECT_EQ(bobs_groups.lines().at(0).at("members"), (json{"alice@sotto.test", "bob@sotto.test"}))
      << bobs_groups.out;
  ASSERT_EQ(run(alice, {"send", "--group", "Hütte", "without carol"}).exit_code, 0);
  auto at_bob = receive(bob, 1);
  ASSERT_EQ(at_bob.size(), 1u);
  EXPECT_EQ(at_bob[0].at("text"), "without carol");
  auto nothing = run(carol, {"recv", "--wait", "3"});
  EXPECT_TRUE(nothing.out.empty()) << nothing.out;

  // Added again: she is a member and hears the group again.
  ASSERT_EQ(run(alice, {"group", "add", "Hütte", carol.address()}).exit_code, 0);
  ASSERT_EQ(receive(carol, 1).size(), 1u);
  EXPECT_EQ(run(carol, {"group", "list"}).lines().at(0).at("membership"), "member");
  ASSERT_EQ(run(carol, {"send", "--group", "Hütte", "back"}).exit_code, 0);
  auto back = receive(alice, 1);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].at("text"), "back");

  // Carol renames it: the others' group has the new name.
  auto renamed = run(carol, {"group", "rename", "Hütte", "Hütte 2027"});
  ASSERT_EQ(renamed.exit_code, 0) << describe(renamed);
  EXPECT_EQ(renamed.lines().at(0).at("name"), "Hütte 2027");
  for (const Person* p : {&alice, &bob}) {
    // (Bob has not read carol's return yet: the rename comes last.)
    std::vector<json> heard;
    for (int i = 0; i < 5; ++i) {
      for (auto& line : receive(*p, 1)) heard.push_back(std::move(line));
      if (!heard.empty() &&
          heard.back().at("text").get<std::string>().find("Hütte 2027") != std::string::npos) {
        break;
      }
    }
    ASSERT_FALSE(heard.empty()) << p->name;
    EXPECT_EQ(heard.back().at("group"), "Hütte 2027");
    EXPECT_EQ(run(*p, {"group", "list"}).lines().at(0).at("name"), "Hütte 2027");
  }
}

}  // namespace
}  // namespace sotto::cli::testing
