// Replies, edits, deletes, receipts and disappearing messages through the sotto command against
// a real sottod: alice and bob as separate processes with their own profiles.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sotto_cli_support.h"

namespace {

using nlohmann::json;
using sotto::cli::testing::describe;
using sotto::cli::testing::SottoCliTest;
using sotto::cli::testing::SottoRun;

class SottoCliMessagesTest : public SottoCliTest {
 protected:
  // `sotto args...`, which must succeed; its standard output.
  std::string ok(const Person& p, const std::vector<std::string>& args) {
    const SottoRun r = run(p, args);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return r.out;
  }
  static bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
};

TEST_F(SottoCliMessagesTest, ReplyEditDeleteReceiptsAndATimer) {
  const Person alice = person("alice", true);
  const Person bob = person("bob", true);
  for (const Person* p : {&alice, &bob}) ASSERT_EQ(init(*p).exit_code, 0) << p->name;

  auto first = run(alice, {"--json", "send", "bob", "see you at 5"});
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  const std::string id = first.lines().at(0)["message_id"];
  EXPECT_EQ(ok(bob, {"recv"}), "alice: see you at 5\n");

  // A reply names the message it answers, by the id `--json` shows; history quotes it.
  auto reply = run(bob, {"--json", "send", "alice", "make it 6", "--reply-to", id});
  ASSERT_EQ(reply.exit_code, 0) << describe(reply);
  auto got = run(alice, {"--json", "recv"});
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  ASSERT_EQ(got.lines().size(), 1u) << describe(got);
  EXPECT_EQ(got.lines()[0]["reply_to"], id);
  EXPECT_EQ(run(bob, {"send", "alice", "x", "--reply-to", std::string(32, '0')}).exit_code, 8);
  EXPECT_EQ(run(bob, {"send", "alice", "x", "--reply-to", "12ab"}).exit_code, 2);

  // Bob's fetch sent a delivery receipt, which alice's recv fetched; her history shows two
  // ticks, and reading it (history) tells bob.
  const std::string alices = ok(alice, {"history", "bob"});
  EXPECT_TRUE(has(alices, "alice: see you at 5 \u2713\u2713\n")) << alices;
  EXPECT_TRUE(has(alices, "bob: [reply to alice: \"see you at 5\"] make it 6\n")) << alices;
  // Bob reads it: history marks it read and tells alice.
  ok(bob, {"history", "alice"});
  ok(alice, {"recv"});
  EXPECT_TRUE(has(ok(alice, {"history", "bob"}), "alice: see you at 5 \u2713\u2713 read\n"));

  // Alice edits her message; bob may not.
  EXPECT_EQ(ok(alice, {"edit", "bob", id, "see you at 6"}), "edited\n");
  // recv shows an edit of a message it showed before, as it is now.
  const std::string edited = ok(bob, {"recv"});
  EXPECT_EQ(edited, "alice: see you at 6 (edited)\n") << edited;
  auto refused = run(bob, {"edit", "alice", id, "nope"});
  EXPECT_EQ(refused.exit_code, 7) << describe(refused);
  const std::string bobs = ok(bob, {"history", "alice"});
  EXPECT_TRUE(has(bobs, "alice: see you at 6 (edited)\n")) << bobs;
  EXPECT_TRUE(has(bobs, "[reply to alice: \"see you at 6\"] make it 6")) << bobs;

  // Alice deletes it for everyone: bob keeps a tombstone.
  EXPECT_EQ(ok(alice, {"delete", "bob", id}), "deleted for everyone\n");
  EXPECT_EQ(ok(bob, {"recv"}), "alice: (message deleted)\n");
  const std::string after_delete = ok(bob, {"history", "alice"});
  EXPECT_TRUE(has(after_delete, "alice: (message deleted)\n")) << after_delete;
  EXPECT_FALSE(has(after_delete, "see you at 6")) << after_delete;
  EXPECT_TRUE(has(after_delete, "[reply to alice: message deleted] make it 6")) << after_delete;
  EXPECT_EQ(run(alice, {"edit", "bob", id}).exit_code, 2);  // no text

  // A two-second timer: the message is gone from both histories once it has run out.
  EXPECT_EQ(ok(alice, {"timer", "bob", "2s"}), "messages disappear after 2s\n");
  EXPECT_EQ(run(alice, {"timer", "bob", "5x"}).exit_code, 2);
  ok(alice, {"send", "bob", "gone soon"});
  const std::string heard = ok(bob, {"recv"});
  EXPECT_EQ(heard, "* alice set disappearing messages to 2s\nalice: gone soon\n") << heard;
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  for (const Person* p : {&alice, &bob}) {
    const std::string history = ok(*p, {"history", p == &alice ? "bob" : "alice"});
    EXPECT_FALSE(has(history, "gone soon")) << history;
    EXPECT_TRUE(has(history, "* alice set disappearing messages to 2s\n")) << history;
  }
  EXPECT_EQ(ok(alice, {"timer", "bob", "off"}), "disappearing messages off\n");
  ok(alice, {"send", "bob", "here to stay"});
  // What expired does not hide what comes after it from recv.
  EXPECT_EQ(ok(bob, {"recv"}), "* alice turned disappearing messages off\nalice: here to stay\n");
}

TEST_F(SottoCliMessagesTest, EditTimerReceiptsAndDeleteInAGroup) {
  const Person carol = person("carol", true);
  const Person dave = person("dave", true);
  for (const Person* p : {&carol, &dave}) ASSERT_EQ(init(*p).exit_code, 0) << p->name;
  ASSERT_EQ(run(carol, {"group", "create", "Club", "dave"}).exit_code, 0);
  auto sent = run(carol, {"--json", "send", "--group", "Club", "meet on friday"});
  ASSERT_EQ(sent.exit_code, 0) << describe(sent);
  const std::string id = sent.lines().at(0)["message_id"];
  ok(dave, {"recv"});

  EXPECT_EQ(run(dave, {"edit", "--group", "Club", id, "not mine"}).exit_code, 7);
  EXPECT_EQ(run(carol, {"edit", "--group", "Club", id}).exit_code, 2);  // no text
  EXPECT_EQ(ok(carol, {"edit", "--group", "Club", id, "meet on saturday"}), "edited\n");
  EXPECT_EQ(ok(carol, {"timer", "--group", "Club", "1h"}), "messages disappear after 1h\n");
  ok(dave, {"recv"});
  const std::string daves = ok(dave, {"history", "--group", "Club"});
  EXPECT_TRUE(has(daves, "[Club] carol: meet on saturday (edited)\n")) << daves;
  EXPECT_TRUE(has(daves, "[Club] * carol set disappearing messages to 1h\n")) << daves;
  // Dave read it; in a group, carol sees who.
  ok(carol, {"recv"});
  EXPECT_TRUE(has(ok(carol, {"history", "--group", "Club"}),
                  "[Club] carol: meet on saturday (edited) \u2713\u2713 read by dave\n"));
  // With read receipts off, dave's reading stays his own: carol sees two ticks, no more.
  EXPECT_EQ(ok(dave, {"receipts", "off"}), "read receipts off\n");
  EXPECT_EQ(run(dave, {"receipts", "maybe"}).exit_code, 2);
  ok(carol, {"send", "--group", "Club", "second"});
  ok(dave, {"recv"});
  ok(dave, {"history", "--group", "Club"});
  ok(carol, {"recv"});
  const std::string carols = ok(carol, {"history", "--group", "Club"});
  EXPECT_TRUE(has(carols, "[Club] carol: second \u2713\u2713\n")) << carols;
  EXPECT_EQ(ok(carol, {"delete", "--group", "Club", id}), "deleted for everyone\n");
  ok(dave, {"recv"});
  EXPECT_TRUE(has(ok(dave, {"history", "--group", "Club"}), "[Club] carol: (message deleted)\n"));
}

}  // namespace
