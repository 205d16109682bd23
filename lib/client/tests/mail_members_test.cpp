// E-mail group membership by timestamps (Delta Chat's Chat-Group-Member-Timestamps): what a
// group mail says of the members, and how a member's mail changes what is known — the later
// timestamp wins, so changes that cross or arrive out of order settle the same everywhere.
#include "sotto/client/mail_members.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace sotto::client {
namespace {

constexpr uint64_t kNow = 1'800'000'000;

Conversation group_of(const std::vector<std::string>& members, uint64_t at) {
  Conversation c;
  c.kind = ConversationKind::group;
  for (const auto& m : members) add_member(c, m, at);
  return c;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(MailMembers, AGroupMailListsTheOthersAndTheRecentlyRemovedWithTheirTimes) {
  Conversation c = group_of({"alice@x.org", "bob@x.org", "carol@x.org"}, kNow - 100);
  add_member(c, "dave@x.org", kNow - 50);
  remove_member(c, "bob@x.org", kNow - 10);
  remove_member(c, "old@x.org", kNow - kPastMemberSeconds - 1);  // too long ago to say
  EXPECT_EQ(c.members, (std::vector<std::string>{"alice@x.org", "carol@x.org", "dave@x.org"}));
  EXPECT_EQ(member_added_at(c, "dave@x.org"), kNow - 50);
  EXPECT_EQ(member_added_at(c, "bob@x.org"), 0u);
  const MemberHeaders h = member_headers(c, "alice@x.org", kNow);
  EXPECT_EQ(h.to, (std::vector<std::string>{"carol@x.org", "dave@x.org"}));
  EXPECT_EQ(h.past, (std::vector<std::string>{"bob@x.org"}));
  EXPECT_EQ(h.timestamps, std::to_string(kNow - 100) + " " + std::to_string(kNow - 50) + " " +
                              std::to_string(kNow - 10));
  // Added again: a member, no longer a past one.
  add_member(c, "bob@x.org", kNow);
  EXPECT_TRUE(std::find(c.members.begin(), c.members.end(), "bob@x.org") != c.members.end());
  EXPECT_EQ(member_headers(c, "alice@x.org", kNow).past, std::vector<std::string>{});
}

TEST(MailMembers, TheLaterTimestampWinsWhateverTheOrder) {
  // Alice removes carol at t+10; bob adds erin at t+20. Each device gets both mails, in
  // either order; all end with the same members.
  const uint64_t t = kNow - 1000;
  const Conversation start = group_of({"alice@x.org", "bob@x.org", "carol@x.org"}, t);
  Conversation from_alice = start;
  remove_member(from_alice, "carol@x.org", t + 10);
  Conversation from_bob = start;
  add_member(from_bob, "erin@x.org", t + 20);
  const MemberHeaders alice_says = member_headers(from_alice, "alice@x.org", kNow);
  const MemberHeaders bob_says = member_headers(from_bob, "bob@x.org", kNow);

  auto receive = [&](Conversation c, const MemberHeaders& first, const std::string& first_sender,
                     const MemberHeaders& second, const std::string& second_sender) {
    bool changed = false;
    EXPECT_TRUE(apply_member_timestamps(c, first.to, first.past, first.timestamps, first_sender,
                                        kNow, changed));
    EXPECT_TRUE(apply_member_timestamps(c, second.to, second.past, second.timestamps, second_sender,
                                        kNow, changed));
    return sorted(c.members);
  };
  const std::vector<std::string> want = {"alice@x.org", "bob@x.org", "erin@x.org"};
  EXPECT_EQ(receive(start, alice_says, "alice@x.org", bob_says, "bob@x.org"), want);
  EXPECT_EQ(receive(start, bob_says, "bob@x.org", alice_says, "alice@x.org"), want);
  // Bob's device, which knew its own change, takes alice's; and the other way round.
  bool changed = false;
  Conversation at_bob = from_bob;
  ASSERT_TRUE(apply_member_timestamps(at_bob, alice_says.to, alice_says.past, alice_says.timestamps,
                                      "alice@x.org", kNow, changed));
  EXPECT_TRUE(changed);
  EXPECT_EQ(sorted(at_bob.members), want);
  Conversation at_alice = from_alice;
  ASSERT_TRUE(apply_member_timestamps(at_alice, bob_says.to, bob_says.past, bob_says.timestamps,
                                      "bob@x.org", kNow, changed));
  EXPECT_EQ(sorted(at_alice.members), want);

  // An older mail that still lists carol (sent before her removal) does not bring her back.
  const MemberHeaders stale = member_headers(start, "bob@x.org", kNow);
  ASSERT_TRUE(apply_member_timestamps(at_alice, stale.to, stale.past, stale.timestamps, "bob@x.org",
                                      kNow, changed));
  EXPECT_FALSE(changed);
  EXPECT_EQ(sorted(at_alice.members), want);
  // A later addition of carol does.
  Conversation readd = at_bob;
  add_member(readd, "carol@x.org", t + 30);
  const MemberHeaders again = member_headers(readd, "bob@x.org", kNow);
  ASSERT_TRUE(apply_member_timestamps(at_alice, again.to, again.past, again.timestamps, "bob@x.org",
                                      kNow, changed));
  EXPECT_TRUE(changed);
  EXPECT_EQ(sorted(at_alice.members),
            (std::vector<std::string>{"alice@x.org", "bob@x.org", "carol@x.org", "erin@x.org"}));
}

TEST(MailMembers, ChangesInOneSecondKeepTheirOrder) {
  Conversation c = group_of({"alice@x.org", "bob@x.org"}, kNow);
  const uint64_t added = next_member_time(c, kNow);
  EXPECT_EQ(added, kNow + 1);
  add_member(c, "carol@x.org", added);
  const uint64_t removed = next_member_time(c, kNow);
  EXPECT_EQ(removed, kNow + 2);
  remove_member(c, "carol@x.org", removed);
  // Bob, who saw the addition, takes the removal made in the same second.
  Conversation at_bob = group_of({"alice@x.org", "bob@x.org", "carol@x.org"}, kNow);
  at_bob.members_added_at[2] = added;
  const MemberHeaders h = member_headers(c, "alice@x.org", kNow);
  bool changed = false;
  ASSERT_TRUE(
      apply_member_timestamps(at_bob, h.to, h.past, h.timestamps, "alice@x.org", kNow, changed));
  EXPECT_TRUE(changed);
  EXPECT_EQ(at_bob.members, (std::vector<std::string>{"alice@x.org", "bob@x.org"}));
  EXPECT_GT(next_member_time(c, kNow + 100), kNow + 99);
}

TEST(MailMembers, TimestampsThatDoNotFitChangeNothing) {
  Conversation c = group_of({"alice@x.org", "bob@x.org"}, kNow - 100);
  const Conversation before = c;
  bool changed = true;
  for (const char* bad : {"", "1", "1 2 3", "1 x", "-5 7", "1.5 2", "99999999999999999999999 1"}) {
    EXPECT_FALSE(apply_member_timestamps(c, {"bob@x.org", "carol@x.org"}, {}, bad, "alice@x.org",
                                         kNow, changed))
        << bad;
    EXPECT_EQ(c.members, before.members) << bad;
  }
  // A timestamp far in the future counts as now and a little.
  ASSERT_TRUE(apply_member_timestamps(c, {"bob@x.org", "carol@x.org"}, {}, "1 99999999999",
                                      "alice@x.org", kNow, changed));
  EXPECT_EQ(member_added_at(c, "carol@x.org"), kNow + kMemberClockTolerance);
  // The sender's own entry is not taken from its own mail.
  ASSERT_TRUE(apply_member_timestamps(c, {"alice@x.org"}, {}, std::to_string(kNow), "alice@x.org",
                                      kNow, changed));
  EXPECT_EQ(member_added_at(c, "alice@x.org"), kNow - 100);
}

}  // namespace
}  // namespace sotto::client
