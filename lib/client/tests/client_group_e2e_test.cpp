// Group conversations between engines against the real sottod: a named group of three, its
// messages, a removal that shuts the removed member out, two members committing in the same
// epoch (the server takes one; the other fetches and commits again), a member leaving, and a
// rename.
#include <algorithm>

#include "client_e2e_support.h"

namespace sotto::client {
namespace {

using namespace e2e;

using Names = std::vector<std::string>;

class ClientGroupE2eTest : public ClientE2eTest {
 protected:
  // One registered device for each of `names`, in order.
  std::vector<std::unique_ptr<Device>> people(const Names& names) {
    std::vector<std::unique_ptr<Device>> out;
    for (const auto& name : names) {
      out.push_back(device());
      register_as(*out.back(), name);
    }
    return out;
  }

  Bytes create_group(Device& d, const std::string& name, std::vector<std::string> members) {
    std::optional<Result<Bytes>> made;
    d.engine.create_group(name, std::move(members), [&](Result<Bytes> r) { made = std::move(r); });
    auto group = wait(made);
    EXPECT_TRUE(group.ok()) << group.error().to_string();
    return group.ok() ? *group : Bytes();
  }

  Bytes send(Device& d, const Bytes& group, const std::string& text) {
    std::optional<Result<Bytes>> sent;
    d.engine.send_text(group, text, [&](Result<Bytes> r) { sent = std::move(r); });
    auto id = wait(sent);
    EXPECT_TRUE(id.ok()) << id.error().to_string();
    if (!id.ok()) return {};
    EXPECT_TRUE(run_until([&] { return d.recorder.sent(*id); }));
    return *id;
  }

  // The conversation as `d` stores it, once `ready` holds for it.
  std::optional<Conversation> view_when(Device& d, const Bytes& group,
                                        const std::function<bool(const Conversation&)>& ready) {
    std::optional<Conversation> out;
    run_until([&] {
      out = d.store.conversation(group).value();
      return out && ready(*out);
    });
    return out;
  }

  static std::vector<std::string> bodies(const std::vector<StoredMessage>& messages) {
    std::vector<std::string> out;
    for (const auto& m : messages) out.push_back(m.body);
    return out;
  }
};

TEST_F(ClientGroupE2eTest, ThreeTalkThenOneIsRemovedAndReadsNothingMore) {
  auto devices = people({"g1-alice", "g1-bob", "g1-carol"});
  Device& alice = *devices[0];
  Device& bob = *devices[1];
  Device& carol = *devices[2];

  const Bytes group = create_group(alice, "Book club", {"G1-Bob", "g1-carol"});
  ASSERT_FALSE(group.empty());
  auto own = alice.store.conversation(group).value();
  ASSERT_TRUE(own.has_value());
  EXPECT_EQ(own->kind, ConversationKind::group);
  EXPECT_EQ(own->name, "Book club");
  EXPECT_EQ(own->members, (Names{"g1-alice", "g1-bob", "g1-carol"}));
  ASSERT_EQ(alice.engine.groups().value().size(), 1u);

  // The others join from the Welcome and learn the name from the message after it.
  for (Device* d : {&bob, &carol}) {
    auto view = view_when(*d, group, [](const Conversation& c) {
      return c.kind == ConversationKind::group && c.members_verified;
    });
    ASSERT_TRUE(view.has_value());
    EXPECT_EQ(view->name, "Book club");
    EXPECT_EQ(view->members, (Names{"g1-alice", "g1-bob", "g1-carol"}));
  }

  // Each speaks after hearing the one before, so that every history has one order (a sender
  // stores its own message when it sends it).
  send(alice, group, "first from alice");
  ASSERT_TRUE(run_until([&] {
    return bob.recorder.incoming().size() == 1 && carol.recorder.incoming().size() == 1;
  }));
  send(bob, group, "then bob");
  ASSERT_TRUE(run_until([&] { return carol.recorder.incoming().size() == 2; }));
  send(carol, group, "and carol");
  ASSERT_TRUE(run_until([&] { return alice.recorder.incoming().size() == 2; }));
  ASSERT_TRUE(run_until([&] { return bob.recorder.incoming().size() == 2; }));
  const Names all = {"first from alice", "then bob", "and carol"};
  for (Device* d : {&alice, &bob, &carol}) {
    EXPECT_EQ(bodies(d->store.messages(group).value()), all);
  }
  EXPECT_EQ(bob.recorder.incoming()[1].sender, "g1-carol");
  // The delivered receipts that each fetch sends back land before the epoch changes: one
  // protected in the old epoch and sent after the commit would reach members who have moved
  // on and cannot open it any more.
  ASSERT_TRUE(run_until([&] {
    for (Device* d : {&alice, &bob, &carol}) {
      const auto messages = d->store.messages(group).value();
      for (const auto& m : messages) {
        if (m.outgoing && m.delivered_to.size() != 2) return false;
      }
    }
    return true;
  }));

  // Alice removes Carol: only a member can, and removing oneself is leaving instead.
  std::optional<Result<void>> removed;
  alice.engine.remove_members(group, {"g1-carol"}, [&](Result<void> r) { removed = std::move(r); });
  ASSERT_TRUE(wait(removed).ok());
  EXPECT_EQ(alice.store.conversation(group).value()->members, (Names{"g1-alice", "g1-bob"}));
  auto carols = view_when(
      carol, group, [](const Conversation& c) { return c.membership == Membership::removed; });
  ASSERT_TRUE(carols.has_value());
  EXPECT_EQ(carols->membership, Membership::removed);
  auto bobs = view_when(bob, group, [](const Conversation& c) { return c.members.size() == 2; });
  ASSERT_TRUE(bobs.has_value());
  EXPECT_EQ(bobs->members, (Names{"g1-alice", "g1-bob"}));

  send(alice, group, "after carol left");
  ASSERT_TRUE(run_until([&] { return bob.recorder.incoming().size() == 3; }));
  EXPECT_EQ(bob.recorder.incoming()[2].body, "after carol left");
  (void)run_until([] { return false; }, 500ms);
  EXPECT_EQ(carol.recorder.incoming().size(), 2u);
  EXPECT_EQ(carol.store.messages(group).value().size(), 3u);

  // Carol can no longer write into the group nor change it.
  std::optional<Result<Bytes>> refused;
  carol.engine.send_text(group, "still here?", [&](Result<Bytes> r) { refused = std::move(r); });
  auto r = wait(refused);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::not_found);
  std::optional<Result<void>> readd;
  carol.engine.remove_members(group, {"g1-bob"}, [&](Result<void> x) { readd = std::move(x); });
  EXPECT_EQ(wait(readd).error().code(), Errc::not_found);
  std::optional<Result<void>> self;
  bob.engine.remove_members(group, {"g1-bob"}, [&](Result<void> x) { self = std::move(x); });
  EXPECT_EQ(wait(self).error().code(), Errc::invalid_argument);
  std::optional<Result<void>> absent;
  bob.engine.remove_members(group, {"g1-carol"}, [&](Result<void> x) { absent = std::move(x); });
  EXPECT_EQ(wait(absent).error().code(), Errc::not_found);
}

TEST_F(ClientGroupE2eTest, TwoCommitsInOneEpochBothLandALeaverIsCommittedOutAndARenameFollows) {
  auto devices = people({"g2-gina", "g2-hank", "g2-ivan", "g2-jill"});
  Device& gina = *devices[0];
  Device& hank = *devices[1];
  Device& ivan = *devices[2];
  Device& jill = *devices[3];

  const Bytes group = create_group(gina, "Climbing", {"g2-hank", "g2-ivan"});
  ASSERT_FALSE(group.empty());
  for (Device* d : {&hank, &ivan}) {
    ASSERT_TRUE(view_when(*d, group, [](const Conversation& c) {
      return c.kind == ConversationKind::group && c.members_verified;
    }));
  }

  // Both change the group in the same epoch before either hears of the other: the server
  // takes the first commit and refuses the second, whose engine fetches the winner and
  // commits again on top of it.
  std::optional<Result<void>> removed;
  std::optional<Result<void>> added;
  gina.engine.remove_members(group, {"g2-ivan"}, [&](Result<void> r) { removed = std::move(r); });
  hank.engine.add_members(group, {"g2-jill"}, [&](Result<void> r) { added = std::move(r); });
  auto r1 = wait(removed);
  auto r2 = wait(added);
  ASSERT_TRUE(r1.ok()) << r1.error().to_string();
  ASSERT_TRUE(r2.ok()) << r2.error().to_string();
  const Names after = {"g2-gina", "g2-hank", "g2-jill"};
  for (Device* d : {&gina, &hank, &jill}) {
    auto view = view_when(*d, group, [&](const Conversation& c) {
      return c.members == after && c.kind == ConversationKind::group;
    });
    ASSERT_TRUE(view.has_value());
    EXPECT_EQ(view->name, "Climbing");
  }
  ASSERT_TRUE(view_when(ivan, group,
                        [](const Conversation& c) { return c.membership == Membership::removed; }));
  // Adding someone twice is refused before anything is claimed.
  std::optional<Result<void>> twice;
  gina.engine.add_members(group, {"g2-jill"}, [&](Result<void> r) { twice = std::move(r); });
  EXPECT_EQ(wait(twice).error().code(), Errc::already_exists);

  send(jill, group, "thanks for adding me");
  ASSERT_TRUE(run_until([&] { return gina.recorder.incoming().size() == 1; }));
  ASSERT_TRUE(run_until([&] { return hank.recorder.incoming().size() == 1; }));
  EXPECT_EQ(gina.recorder.incoming()[0].body, "thanks for adding me");

  // Jill leaves: her device proposes its own removal and stops reading at once; the first of
  // the others to read the proposal commits it.
  std::optional<Result<void>> left;
  jill.engine.leave_group(group, [&](Result<void> r) { left = std::move(r); });
  ASSERT_TRUE(wait(left).ok());
  EXPECT_EQ(jill.store.conversation(group).value()->membership, Membership::left);
  const Names rest = {"g2-gina", "g2-hank"};
  for (Device* d : {&gina, &hank}) {
    ASSERT_TRUE(view_when(*d, group, [&](const Conversation& c) { return c.members == rest; }));
  }
  send(hank, group, "just us two");
  ASSERT_TRUE(run_until([&] { return gina.recorder.incoming().size() == 2; }));
  EXPECT_EQ(gina.recorder.incoming()[1].body, "just us two");
  (void)run_until([] { return false; }, 500ms);
  EXPECT_EQ(jill.recorder.incoming().size(), 0u);

  // A rename reaches the members still in, and not the one who left.
  std::optional<Result<void>> renamed;
  hank.engine.rename_group(group, "Bouldering", [&](Result<void> r) { renamed = std::move(r); });
  ASSERT_TRUE(wait(renamed).ok());
  EXPECT_EQ(hank.store.conversation(group).value()->name, "Bouldering");
  ASSERT_TRUE(view_when(gina, group, [](const Conversation& c) { return c.name == "Bouldering"; }));
  EXPECT_EQ(jill.store.conversation(group).value()->name, "Climbing");
  std::optional<Result<void>> bad;
  hank.engine.rename_group(group, "", [&](Result<void> r) { bad = std::move(r); });
  EXPECT_EQ(wait(bad).error().code(), Errc::invalid_argument);
  EXPECT_EQ(hank.store.conversation(group).value()->name, "Bouldering");
}

TEST_F(ClientGroupE2eTest, BadGroupRequestsAreRefusedAndChangeNothing) {
  auto kate = device();
  register_as(*kate, "g3-kate");
  for (const auto& [name, members] :
       std::vector<std::pair<std::string, Names>>{{"", {"g1-alice"}},
                                                  {std::string("a\nb"), {"g1-alice"}},
                                                  {std::string(300, 'x'), {"g1-alice"}},
                                                  {"fine", {}},
                                                  {"fine", {"g3-kate"}}}) {
    std::optional<Result<Bytes>> made;
    kate->engine.create_group(name, members, [&](Result<Bytes> r) { made = std::move(r); });
    auto r = wait(made);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::invalid_argument);
  }
  std::optional<Result<Bytes>> unknown;
  kate->engine.create_group("ok", {"g3-nobody"}, [&](Result<Bytes> r) { unknown = std::move(r); });
  EXPECT_EQ(wait(unknown).error().code(), Errc::not_found);
  EXPECT_TRUE(kate->store.conversations().value().empty());
}

}  // namespace
}  // namespace sotto::client
