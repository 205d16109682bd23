// Group conversations through the sotto command against a real sottod: alice, bob and carol as
// separate processes with their own profiles. A group of three whose messages arrive once and
// in order; a removal after which the removed member reads nothing and is told so; adding her
// again; a member leaving, committed out by the next member to read the group; a rename.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sotto_cli_support.h"

namespace {

using nlohmann::json;
using sotto::cli::testing::describe;
using sotto::cli::testing::SottoCliTest;
using sotto::cli::testing::SottoRun;

using Names = std::vector<std::string>;

class SottoCliGroupTest : public SottoCliTest {
 protected:
  // `sotto --json args...`, which must succeed without a warning; its output lines.
  std::vector<json> ok_json(const Person& p, std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    const SottoRun r = run(p, args);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.err, "") << describe(r);
    return r.exit_code == 0 ? r.lines() : std::vector<json>();
  }
  // `sotto args...`, which must succeed without a warning; its standard output.
  std::string ok(const Person& p, const std::vector<std::string>& args) {
    const SottoRun r = run(p, args);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.err, "") << describe(r);
    return r.out;
  }
  // The group as `sotto group list` shows it to `p`.
  json listed(const Person& p, const std::string& group_id) {
    for (const auto& g : ok_json(p, {"group", "list"})) {
      if (g["group_id"] == group_id) return g;
    }
    ADD_FAILURE() << p.name << " does not list " << group_id;
    return json::object();
  }
  std::vector<std::string> texts(const Person& p) {
    std::vector<std::string> out;
    for (const auto& m : ok_json(p, {"history", "--group", "Book club"})) out.push_back(m["text"]);
    return out;
  }
};

TEST_F(SottoCliGroupTest, ThreeTalkOneIsRemovedAddedAgainAnotherLeavesAndTheRestRename) {
  const Person alice = person("alice", false);
  const Person bob = person("bob", true);
  const Person carol = person("carol", false);
  for (const Person* p : {&alice, &bob, &carol}) ASSERT_EQ(init(*p).exit_code, 0) << p->name;

  auto created = ok_json(alice, {"group", "create", "Book club", "Bob", "carol"});
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0]["name"], "Book club");
  EXPECT_EQ(created[0]["members"], (Names{"alice", "bob", "carol"}));
  EXPECT_EQ(created[0]["membership"], "member");
  const std::string id = created[0]["group_id"];
  ASSERT_EQ(id.size(), 64u);

  // Each message once and in order, each member reading before writing.
  EXPECT_EQ(ok(alice, {"send", "--group", "Book club", "one from alice"}), "sent to Book club\n");
  auto bobs = ok_json(bob, {"recv"});
  ASSERT_EQ(bobs.size(), 2u);
  EXPECT_EQ(bobs[0]["event"], "joined");
  EXPECT_EQ(bobs[0]["name"], "Book club");
  EXPECT_EQ(bobs[0]["members"], (Names{"alice", "bob", "carol"}));
  EXPECT_EQ(bobs[1]["group"], "Book club");
  EXPECT_EQ(bobs[1]["from"], "alice");
  EXPECT_EQ(bobs[1]["text"], "one from alice");
  ok(bob, {"send", "--group", "Book club", "two from bob"});
  EXPECT_EQ(ok(carol, {"recv"}),
            "joined the group Book club (alice, bob, carol)\n"
            "[Book club] alice: one from alice\n"
            "[Book club] bob: two from bob\n");
  // The group's id names it too.
  ok(carol, {"send", "--group", id, "three from carol"});
  EXPECT_EQ(ok(alice, {"recv"}),
            "[Book club] bob: two from bob\n[Book club] carol: three from carol\n");
  EXPECT_EQ(ok(bob, {"recv"}), "[Book club] carol: three from carol\n");
  EXPECT_EQ(ok(bob, {"recv"}), "");
  const Names three = {"one from alice", "two from bob", "three from carol"};
  for (const Person* p : {&alice, &bob, &carol}) EXPECT_EQ(texts(*p), three) << p->name;

  // Alice removes carol. What alice writes next reaches bob; carol's client reads nothing of
  // it and says she was removed.
  auto removed = ok_json(alice, {"group", "remove", "Book club", "carol"});
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0]["members"], (Names{"alice", "bob"}));
  ok(alice, {"send", "--group", "Book club", "after carol"});
  EXPECT_EQ(ok(bob, {"recv"}), "[Book club] alice: after carol\n");
  const SottoRun carols = run(carol, {"--json", "recv"});
  ASSERT_EQ(carols.exit_code, 0) << describe(carols);
  EXPECT_EQ(carols.out.find("after carol"), std::string::npos) << describe(carols);
  EXPECT_EQ(carols.err, "") << describe(carols);
  ASSERT_EQ(carols.lines().size(), 1u) << describe(carols);
  EXPECT_EQ(carols.lines()[0]["event"], "removed");
  EXPECT_EQ(carols.lines()[0]["name"], "Book club");
  EXPECT_EQ(listed(carol, id)["membership"], "removed");
  EXPECT_EQ(listed(bob, id)["members"], (Names{"alice", "bob"}));
  EXPECT_EQ(texts(carol), three);
  const SottoRun refused = run(carol, {"send", "--group", "Book club", "let me in"});
  EXPECT_EQ(refused.exit_code, 8) << describe(refused);
  EXPECT_EQ(run(carol, {"group", "remove", "Book club", "bob"}).exit_code, 8);

  // Alice adds her again: a new Welcome into the same group, and its name after it.
  auto readded = ok_json(alice, {"group", "add", "Book club", "carol"});
  ASSERT_EQ(readded.size(), 1u);
  EXPECT_EQ(readded[0]["members"], (Names{"alice", "bob", "carol"}));
  EXPECT_EQ(ok(carol, {"recv"}), "joined the group Book club (alice, bob, carol)\n");
  EXPECT_EQ(listed(carol, id)["membership"], "member");

  // Bob leaves: his client stops at once; alice, the next to read the group, commits his
  // removal, and carol hears of it from her.
  auto left = ok_json(bob, {"group", "leave", "Book club"});
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["membership"], "left");
  EXPECT_EQ(ok(alice, {"recv"}), "");
  EXPECT_EQ(listed(alice, id)["members"], (Names{"alice", "carol"}));
  ok(alice, {"send", "--group", "Book club", "without bob"});
  EXPECT_EQ(ok(carol, {"recv"}), "[Book club] alice: without bob\n");
  EXPECT_EQ(listed(carol, id)["members"], (Names{"alice", "carol"}));
  const SottoRun bobs_last = run(bob, {"recv"});
  EXPECT_EQ(bobs_last.exit_code, 0) << describe(bobs_last);
  EXPECT_EQ(bobs_last.out, "") << describe(bobs_last);
  EXPECT_EQ(listed(bob, id)["membership"], "left");

  // Any member may rename the group; the others hear it on their next read.
  auto renamed = ok_json(carol, {"group", "rename", "Book club", "Reading circle"});
  ASSERT_EQ(renamed.size(), 1u);
  EXPECT_EQ(renamed[0]["name"], "Reading circle");
  EXPECT_EQ(ok(alice, {"recv"}), "the group Book club is now Reading circle\n");
  EXPECT_EQ(listed(alice, id)["name"], "Reading circle");
  EXPECT_EQ(run(alice, {"send", "--group", "Book club", "old name"}).exit_code, 8);
  EXPECT_EQ(ok(alice, {"send", "--group", "Reading circle", "new name"}),
            "sent to Reading circle\n");
  EXPECT_EQ(ok(carol, {"recv"}), "[Reading circle] alice: new name\n");
  EXPECT_EQ(run(carol, {"group", "rename", id, "bad\tname"}).exit_code, 2);
}

TEST_F(SottoCliGroupTest, BadGroupCommandsHaveTheirExitStatuses) {
  const Person dave = person("dave", true);
  ASSERT_EQ(init(dave).exit_code, 0);
  // Unknown users and groups: 8. A bad command line: 2.
  EXPECT_EQ(run(dave, {"group", "create", "Ghosts", "nobody-here"}).exit_code, 8);
  EXPECT_EQ(run(dave, {"send", "--group", "Ghosts", "boo"}).exit_code, 8);
  EXPECT_EQ(run(dave, {"history", "--group", "Ghosts"}).exit_code, 8);
  EXPECT_EQ(run(dave, {"group", "leave", "Ghosts"}).exit_code, 8);
  EXPECT_EQ(run(dave, {"group", "create", "Ghosts"}).exit_code, 2);
  EXPECT_EQ(run(dave, {"group", "create", "Ghosts", "dave"}).exit_code, 2);
  EXPECT_EQ(run(dave, {"group", "create", "a\nb", "alice"}).exit_code, 2);
  EXPECT_EQ(run(dave, {"send", "--group", "Ghosts", "alice", "boo"}).exit_code, 2);
  EXPECT_EQ(run(dave, {"history", "alice", "--group", "Ghosts"}).exit_code, 2);
  EXPECT_EQ(run(dave, {"group"}).exit_code, 2);
  EXPECT_EQ(run(dave, {"file", "send", "--group", "Ghosts", "/etc/hostname"}).exit_code, 8);
  EXPECT_EQ(run(dave, {"file", "send", "--group", "Ghosts", "alice", "/etc/hostname"}).exit_code,
            2);
  EXPECT_EQ(ok(dave, {"group", "list"}), "");
}

TEST_F(SottoCliGroupTest, AFileSentToAGroupReachesEveryMemberAndNotOneWhoLeft) {
  const Person erin = person("erin", true);
  const Person fred = person("fred", false);
  const Person gina = person("gina", true);
  for (const Person* p : {&erin, &fred, &gina}) ASSERT_EQ(init(*p).exit_code, 0) << p->name;
  ASSERT_EQ(ok_json(erin, {"group", "create", "Photos", "fred", "gina"}).size(), 1u);
  EXPECT_EQ(ok(fred, {"recv"}), "joined the group Photos (erin, fred, gina)\n");
  EXPECT_EQ(ok(gina, {"recv"}), "joined the group Photos (erin, fred, gina)\n");

  const auto original = erin.work / "holiday.txt";
  std::ofstream(original) << std::string(300000, 'x') << "the end\n";
  auto sent = ok_json(erin, {"file", "send", "--group", "Photos", original.string()});
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["group"], "Photos");
  EXPECT_EQ(sent[0]["state"], "sent");
  const std::string id = sent[0]["message_id"];

  for (const Person* p : {&fred, &gina}) {
    auto got = ok_json(*p, {"recv"});
    ASSERT_EQ(got.size(), 1u) << p->name;
    EXPECT_EQ(got[0]["message_id"], id);
    EXPECT_EQ(got[0]["file"]["name"], "holiday.txt");
    const auto copy = p->work / "copy.txt";
    ok_json(*p, {"file", "get", id, "--output", copy.string()});
    EXPECT_EQ(sotto::cli::testing::slurp(copy), sotto::cli::testing::slurp(original)) << p->name;
  }

  // gina leaves; a file sent from her device to the group is refused before any upload.
  ok(gina, {"group", "leave", "Photos"});
  auto refused = run(gina, {"file", "send", "--group", "Photos", original.string()});
  EXPECT_EQ(refused.exit_code, 8) << describe(refused);
}

TEST_F(SottoCliGroupTest, AGroupChatShowsMessagesAsTheyComeAndSendsEachLine) {
  const Person hana = person("hana", true);
  const Person ivan = person("ivan", false);
  const Person jill = person("jill", true);
  for (const Person* p : {&hana, &ivan, &jill}) ASSERT_EQ(init(*p).exit_code, 0) << p->name;
  ASSERT_EQ(ok_json(hana, {"group", "create", "Climbing", "ivan", "jill"}).size(), 1u);

  // ivan's chat has not fetched the invitation yet: it joins, then talks.
  sotto::cli::testing::SottoProcess chat(ivan.work, {"chat", "--group", "Climbing"},
                                         env_of(ivan, {}), std::nullopt);
  ASSERT_TRUE(chat.wait_output("chat in the group Climbing")) << describe(chat.wait());
  EXPECT_EQ(ok(hana, {"send", "--group", "Climbing", "rope check at six"}),
            "sent to Climbing\n");
  ASSERT_TRUE(chat.wait_output("[Climbing] hana: rope check at six")) << describe(chat.wait());
  chat.write("on my way\n");
  chat.write("/quit\n");
  const SottoRun ended = chat.wait();
  EXPECT_EQ(ended.exit_code, 0) << describe(ended);

  EXPECT_EQ(ok(jill, {"recv"}),
            "joined the group Climbing (hana, ivan, jill)\n"
            "[Climbing] hana: rope check at six\n"
            "[Climbing] ivan: on my way\n");
  EXPECT_EQ(run(ivan, {"chat", "--group", "Climbing", "hana"}).exit_code, 2);
  EXPECT_EQ(run(ivan, {"chat", "--group", "Nowhere"}).exit_code, 8);
}

}  // namespace
