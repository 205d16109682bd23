// The mailbox cursor: what to fetch after a restart, after a renumbered mailbox (a new
// UIDVALIDITY), and how it is kept as text.
#include "sotto/mail/mailbox_cursor.h"

#include <gtest/gtest.h>

namespace sotto::mail {
namespace {

TEST(MailboxCursor, ANewCursorReadsFromTheFirstMessage) {
  FetchPlan plan = plan_fetch(MailboxCursor{}, 777);
  EXPECT_EQ(plan.first_uid, 1u);
  EXPECT_FALSE(plan.restarted);
}

TEST(MailboxCursor, ItGoesOnPastWhatWasTakenAndNeverBack) {
  MailboxCursor c = advance(MailboxCursor{}, 777, 5);
  EXPECT_EQ(c, (MailboxCursor{777, 6}));
  c = advance(c, 777, 9);
  EXPECT_EQ(c.next_uid, 10u);
  // A lower UID (taken again after a crash) does not move it back.
  c = advance(c, 777, 3);
  EXPECT_EQ(c.next_uid, 10u);
  FetchPlan plan = plan_fetch(c, 777);
  EXPECT_EQ(plan.first_uid, 10u);
  EXPECT_FALSE(plan.restarted);
}

TEST(MailboxCursor, ANewUidValidityStartsAgainAndSaysSo) {
  MailboxCursor c{777, 42};
  FetchPlan plan = plan_fetch(c, 778);
  EXPECT_EQ(plan.first_uid, 1u);
  EXPECT_TRUE(plan.restarted);
  // The first message taken from the renumbered mailbox replaces the old position.
  EXPECT_EQ(advance(c, 778, 2), (MailboxCursor{778, 3}));
}

TEST(MailboxCursor, TheLastPossibleUidLeavesNothingToFetch) {
  MailboxCursor c = advance(MailboxCursor{}, 1, UINT32_MAX);
  EXPECT_EQ(c.next_uid, uint64_t{1} << 32);
  EXPECT_GT(plan_fetch(c, 1).first_uid, UINT32_MAX);
  auto back = decode_cursor(encode(c));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, c);
}

TEST(MailboxCursor, TextRoundTripsAndAnythingElseIsRefused) {
  for (MailboxCursor c :
       {MailboxCursor{}, MailboxCursor{1, 1}, MailboxCursor{UINT32_MAX, 123456}}) {
    auto back = decode_cursor(encode(c));
    ASSERT_TRUE(back.ok()) << encode(c);
    EXPECT_EQ(*back, c);
  }
  EXPECT_EQ(encode(MailboxCursor{3857529045u, 4}), "imap-cursor-v1 3857529045 4");
  for (const char* bad :
       {"", "imap-cursor-v1", "imap-cursor-v1 ", "imap-cursor-v1 1", "imap-cursor-v1 1 ",
        "imap-cursor-v1 1 0", "imap-cursor-v1 01 2", "imap-cursor-v1 -1 2", "imap-cursor-v1 +1 2",
        "imap-cursor-v1 4294967296 2", "imap-cursor-v1 1 4294967297", "imap-cursor-v1 1 2 3",
        "imap-cursor-v1 1  2", "imap-cursor-v2 1 2", "IMAP-CURSOR-V1 1 2", "imap-cursor-v1 1 2x",
        "imap-cursor-v1 99999999999 2"}) {
    auto c = decode_cursor(bad);
    EXPECT_FALSE(c.ok()) << "accepted \"" << bad << "\"";
    if (!c.ok()) {
      EXPECT_EQ(c.error().code(), Errc::invalid_value);
    }
  }
}

}  // namespace
}  // namespace sotto::mail
