// What a conversation does besides carrying texts, between two engines against the real
// sottod: replies, edits and deletes for everyone (refused from another account), delivery
// and read receipts, and disappearing messages.
#include "client_e2e_support.h"

namespace sotto::client {
namespace {

using namespace e2e;

class ClientMessagesE2eTest : public ClientE2eTest {
 protected:
  // Alice and Bob, registered under these names, in a 1:1 conversation both have verified.
  void meet(const std::string& a, const std::string& b) {
    alice = device();
    bob = device();
    register_as(*alice, a);
    register_as(*bob, b);
    std::optional<Result<Bytes>> started;
    alice->engine.start_conversation(b, [&](Result<Bytes> r) { started = std::move(r); });
    auto made = wait(started);
    ASSERT_TRUE(made.ok()) << made.error().to_string();
    group = *made;
    ASSERT_TRUE(run_until([&] {
      auto c = bob->store.conversation(group).value();
      return c && c->members_verified;
    }));
  }

  Bytes send(Device& from, const std::string& text, std::optional<Bytes> reply_to = {}) {
    std::optional<Result<Bytes>> sent;
    auto done = [&](Result<Bytes> r) { sent = std::move(r); };
    if (reply_to) {
      from.engine.send_reply(group, *reply_to, text, done);
    } else {
      from.engine.send_text(group, text, done);
    }
    auto id = wait(sent);
    EXPECT_TRUE(id.ok()) << id.error().to_string();
    return id ? *id : Bytes();
  }

  Result<void> run(const std::function<void(Engine::Done)>& start) {
    std::optional<Result<void>> done;
    start([&](Result<void> r) { done = std::move(r); });
    return wait(done);
  }

  std::optional<StoredMessage> stored(Device& d, const Bytes& id) {
    return d.store.message(group, id).value();
  }

  // Waits until `d` holds message `id` and `holds` is true of it.
  bool until(Device& d, const Bytes& id, const std::function<bool(const StoredMessage&)>& holds) {
    return run_until([&] {
      auto m = stored(d, id);
      return m && holds(*m);
    });
  }

  std::unique_ptr<Device> alice;
  std::unique_ptr<Device> bob;
  Bytes group;
};

TEST_F(ClientMessagesE2eTest, RepliesEditsDeletesAndReceipts) {
  meet("amira", "boris");
  const Bytes first = send(*alice, "see you at 5");
  ASSERT_TRUE(until(*bob, first, [](const StoredMessage&) { return true; }));

  // A reply names the message it answers; a reply to nothing stored is refused.
  const Bytes answer = send(*bob, "make it 6", first);
  ASSERT_TRUE(until(*alice, answer, [](const StoredMessage&) { return true; }));
  EXPECT_EQ(stored(*alice, answer)->reply_to, first);
  EXPECT_EQ(stored(*bob, answer)->reply_to, first);
  std::optional<Result<Bytes>> orphan;
  bob->engine.send_reply(group, Bytes(kMessageIdSize, 0x42), "to nothing",
                         [&](Result<Bytes> r) { orphan = std::move(r); });
  ASSERT_TRUE(orphan.has_value());
  EXPECT_EQ(orphan->error().code(), Errc::not_found);

  // Receipts: Bob's fetch confirmed delivery, once; his mark_read tells Alice he read it.
  ASSERT_TRUE(until(*alice, first, [](const StoredMessage& m) { return !m.delivered_to.empty(); }));
  EXPECT_EQ(stored(*alice, first)->delivered_to, (std::vector<std::string>{"boris"}));
  EXPECT_TRUE(stored(*alice, first)->read_by.empty());
  EXPECT_FALSE(stored(*bob, first)->read);
  ASSERT_TRUE(run([&](Engine::Done done) { bob->engine.mark_read(group, done); }).ok());
  EXPECT_TRUE(stored(*bob, first)->read);
  ASSERT_TRUE(until(*alice, first, [](const StoredMessage& m) { return !m.read_by.empty(); }));
  EXPECT_EQ(stored(*alice, first)->read_by, (std::vector<std::string>{"boris"}));
  // Marking read again sends nothing: nothing is unread.
  const size_t outbox_before = bob->store.outbox().value().size();
  ASSERT_TRUE(run([&](Engine::Done done) { bob->engine.mark_read(group, done); }).ok());
  EXPECT_EQ(bob->store.outbox().value().size(), outbox_before);
  // Receipts are no history.
  EXPECT_EQ(alice->store.messages(group).value().size(), 2u);
  EXPECT_EQ(bob->store.messages(group).value().size(), 2u);

  // Alice edits her message: Bob sees the new text, marked edited.
  auto edited = run(
      [&](Engine::Done done) { alice->engine.edit_message(group, first, "see you at 6", done); });
  ASSERT_TRUE(edited.ok()) << edited.error().to_string();
  EXPECT_EQ(stored(*alice, first)->body, "see you at 6");
  ASSERT_TRUE(until(*bob, first, [](const StoredMessage& m) { return m.edited_at != 0; }));
  EXPECT_EQ(stored(*bob, first)->body, "see you at 6");
  EXPECT_EQ(stored(*bob, first)->edited_at, stored(*alice, first)->edited_at);

  // Bob may not edit or delete Alice's message.
  EXPECT_EQ(run([&](Engine::Done done) { bob->engine.edit_message(group, first, "no", done); })
                .error()
                .code(),
            Errc::forbidden);
  EXPECT_EQ(run([&](Engine::Done done) { bob->engine.delete_messages(group, {first}, done); })
                .error()
                .code(),
            Errc::forbidden);

  // Nor can he make Alice's engine do it: with his own store altered to call her message his,
  // his edit leaves, and Alice's engine refuses it and changes nothing.
  const StoredMessage truth = *stored(*bob, first);
  StoredMessage forged = truth;
  forged.sender = "boris";
  ClientStoreBatch lie;
  lie.put_messages.push_back(forged);
  ASSERT_TRUE(bob->store.apply(lie).ok());
  alice->recorder.errors_expected = true;
  ASSERT_TRUE(
      run([&](Engine::Done done) { bob->engine.edit_message(group, first, "forged", done); }).ok());
  ASSERT_TRUE(run_until([&] { return !alice->recorder.errors.empty(); }));
  EXPECT_EQ(alice->recorder.errors[0].code(), Errc::forbidden);
  EXPECT_EQ(stored(*alice, first)->body, "see you at 6");
  lie.put_messages = {truth};  // Bob's store tells the truth again
  ASSERT_TRUE(bob->store.apply(lie).ok());

  // An edit whose target is not (or no longer) stored is dropped with an error, not applied.
  const Bytes second = send(*alice, "typo");
  ASSERT_TRUE(until(*bob, second, [](const StoredMessage&) { return true; }));
  bob->recorder.errors_expected = true;
  ClientStoreBatch forget;
  forget.remove_messages.push_back(MessageKey{group, second});
  ASSERT_TRUE(bob->store.apply(forget).ok());
  ASSERT_TRUE(run([&](Engine::Done done) {
                alice->engine.edit_message(group, second, "typo!", done);
              }).ok());
  ASSERT_TRUE(run_until([&] { return !bob->recorder.errors.empty(); }));
  EXPECT_EQ(bob->recorder.errors[0].code(), Errc::not_found);
  EXPECT_FALSE(stored(*bob, second).has_value());

  // Alice deletes her first message for everyone: a tombstone stays, the reply still points.
  ASSERT_TRUE(
      run([&](Engine::Done done) { alice->engine.delete_messages(group, {first}, done); }).ok());
  EXPECT_TRUE(stored(*alice, first)->deleted);
  EXPECT_TRUE(stored(*alice, first)->body.empty());
  ASSERT_TRUE(until(*bob, first, [](const StoredMessage& m) { return m.deleted; }));
  EXPECT_TRUE(stored(*bob, first)->body.empty());
  EXPECT_EQ(stored(*bob, answer)->reply_to, first);
  EXPECT_EQ(run([&](Engine::Done done) { alice->engine.edit_message(group, first, "x", done); })
                .error()
                .code(),
            Errc::invalid_argument);
}

TEST_F(ClientMessagesE2eTest, MessagesDisappearAfterTheConversationsTimer) {
  meet("dora", "emil");
  const Bytes kept = send(*alice, "before the timer");
  ASSERT_TRUE(until(*bob, kept, [](const StoredMessage&) { return true; }));

  // Bob sets the timer (any member may): Alice learns it, both histories show a system line.
  ASSERT_TRUE(
      run([&](Engine::Done done) { bob->engine.set_disappearing_timer(group, 60, done); }).ok());
  EXPECT_EQ(bob->store.conversation(group).value()->disappear_after_s, 60u);
  ASSERT_TRUE(
      run_until([&] { return alice->store.conversation(group).value()->disappear_after_s == 60; }));
  const auto line = alice->store.messages(group).value().back();
  EXPECT_EQ(line.timer_set_s, std::optional<uint64_t>(60));
  EXPECT_EQ(line.sender, "emil");

  const Bytes secret = send(*alice, "this one disappears");
  ASSERT_TRUE(until(*bob, secret, [](const StoredMessage&) { return true; }));
  EXPECT_NE(stored(*alice, secret)->expires_at, 0u);
  EXPECT_NE(stored(*bob, secret)->expires_at, 0u);
  EXPECT_EQ(stored(*bob, kept)->expires_at, 0u);

  // Not yet; then a minute later, on both sides, only that message is gone.
  EXPECT_EQ(bob->engine.expire_messages().value(), 0u);
  for (Device* d : {alice.get(), bob.get()}) {
    d->env.ahead_ms = 61'000;
    EXPECT_EQ(d->engine.expire_messages().value(), 1u);
    EXPECT_FALSE(stored(*d, secret).has_value());
    EXPECT_TRUE(stored(*d, kept).has_value());
    EXPECT_EQ(d->store.messages(group).value().size(), 2u);  // the kept one, the timer line
  }

  // Off again: new messages stay.
  ASSERT_TRUE(
      run([&](Engine::Done done) { alice->engine.set_disappearing_timer(group, 0, done); }).ok());
  ASSERT_TRUE(
      run_until([&] { return bob->store.conversation(group).value()->disappear_after_s == 0; }));
  const Bytes after = send(*alice, "after the timer");
  ASSERT_TRUE(until(*bob, after, [](const StoredMessage&) { return true; }));
  EXPECT_EQ(stored(*bob, after)->expires_at, 0u);
  EXPECT_EQ(run([&](Engine::Done done) {
              alice->engine.set_disappearing_timer(group, kMaxDisappearAfterS + 1, done);
            })
                .error()
                .code(),
            Errc::invalid_argument);
}

}  // namespace
}  // namespace sotto::client
