// Linking a second device by code, against the real sottod: the new device joins the
// account's existing 1:1 conversation, hears and speaks in it, and leaves it when revoked.
#include <cctype>

#include "client_e2e_support.h"

namespace sotto::client {
namespace {

using namespace e2e;

using ClientLinkE2eTest = ClientE2eTest;

TEST_F(ClientLinkE2eTest, ASecondDeviceLinkedByCodeJoinsTheConversationsAndIsRevoked) {
  auto alice = device();
  auto bob = device();
  register_as(*alice, "lina");
  register_as(*bob, "boris");
  std::optional<Result<Bytes>> started;
  alice->engine.start_conversation("boris", [&](Result<Bytes> r) { started = std::move(r); });
  auto group = wait(started);
  ASSERT_TRUE(group.ok()) << group.error().to_string();
  ASSERT_TRUE(run_until([&] { return bob->store.conversation(*group).value().has_value(); }));

  // The existing device opens a slot and shows a code.
  std::optional<Result<LinkSlot>> offered;
  alice->engine.link_device_offer([&](Result<LinkSlot> r) { offered = std::move(r); });
  auto slot = wait(offered);
  ASSERT_TRUE(slot.ok()) << slot.error().to_string();
  EXPECT_EQ(slot->code.size(), 39u);  // 32 letters in groups of four

  // A mistyped code is refused before anything is sent.
  auto tablet = device();
  connect(*tablet);
  std::string typo = slot->code;
  typo[0] = typo[0] == 'A' ? 'B' : 'A';
  std::optional<Result<void>> refused;
  tablet->engine.link_device_accept(typo, [&](Result<void> r) { refused = std::move(r); });
  auto typo_result = wait(refused);
  ASSERT_FALSE(typo_result.ok());
  EXPECT_EQ(typo_result.error().code(), Errc::invalid_argument);

  // The new device posts its key under the code (lower case and spaces are fine).
  std::string typed;
  for (char c : slot->code) typed.push_back(c == '-' ? ' ' : static_cast<char>(std::tolower(c)));
  std::optional<Result<void>> accepted;
  tablet->engine.link_device_accept(typed, [&](Result<void> r) { accepted = std::move(r); });
  auto accept = wait(accepted);
  ASSERT_TRUE(accept.ok()) << accept.error().to_string();

  // The existing device adds it and answers; the new device authenticates with its key.
  std::optional<LinkedDevice> linked;
  std::optional<Result<bool>> joined;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  bool tablet_ready = false;
  while (!(linked && tablet_ready) && std::chrono::steady_clock::now() < deadline) {
    if (!linked) {
      std::optional<Result<std::optional<LinkedDevice>>> polled;
      alice->engine.link_device_poll([&](auto r) { polled = std::move(r); });
      auto p = wait(polled);
      ASSERT_TRUE(p.ok()) << p.error().to_string();
      if (*p) linked = **p;
    }
    if (!tablet_ready) {
      std::optional<Result<bool>> waited;
      tablet->engine.link_device_wait([&](Result<bool> r) { waited = std::move(r); });
      auto w = wait(waited);
      ASSERT_TRUE(w.ok()) << w.error().to_string();
      tablet_ready = *w;
    }
    run_until([] { return false; }, 100ms);
  }
  ASSERT_TRUE(linked.has_value());
  ASSERT_TRUE(tablet_ready);
  auto tablet_identity = tablet->store.identity().value();
  ASSERT_TRUE(tablet_identity.has_value());
  EXPECT_EQ(tablet_identity->username, "lina");
  EXPECT_EQ(linked->device_id, tablet_identity->device_id);
  EXPECT_EQ(tablet->engine.state(), ConnectionState::ready);

  // The tablet joins the existing conversation through the Welcome.
  ASSERT_TRUE(run_until([&] { return tablet->store.conversation(*group).value().has_value(); }));

  // Bob's message after the link reaches both of Lina's devices.
  ASSERT_TRUE(run_until([&] {
    auto c = bob->store.conversation(*group).value();
    return c && c->members_verified;
  }));
  std::optional<Result<Bytes>> hello;
  bob->engine.send_text(*group, "hello both", [&](Result<Bytes> r) { hello = std::move(r); });
  ASSERT_TRUE(wait(hello).ok());
  ASSERT_TRUE(run_until([&] { return tablet->recorder.incoming().size() == 1; }));
  EXPECT_EQ(tablet->recorder.incoming()[0].body, "hello both");
  EXPECT_EQ(tablet->recorder.incoming()[0].sender, "boris");
  ASSERT_TRUE(run_until([&] { return alice->recorder.incoming().size() == 1; }));

  // And what the tablet says reaches Bob.
  std::optional<Result<Bytes>> reply;
  tablet->engine.send_text(*group, "from the tablet",
                           [&](Result<Bytes> r) { reply = std::move(r); });
  auto sent = wait(reply);
  ASSERT_TRUE(sent.ok()) << sent.error().to_string();
  ASSERT_TRUE(run_until([&] { return bob->recorder.incoming().size() == 1; }));
  EXPECT_EQ(bob->recorder.incoming()[0].body, "from the tablet");
  EXPECT_EQ(bob->recorder.incoming()[0].sender_device, tablet_identity->device_id);

  // Two devices listed; revoking the tablet removes it from the account and the conversation.
  std::optional<Result<std::vector<proto::DeviceInfo>>> listed;
  alice->engine.list_devices([&](auto r) { listed = std::move(r); });
  auto devices = wait(listed);
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ(devices->size(), 2u);
  std::optional<Result<void>> revoked;
  alice->engine.revoke_device(tablet_identity->device_id,
                              [&](Result<void> r) { revoked = std::move(r); });
  auto revoke = wait(revoked);
  ASSERT_TRUE(revoke.ok()) << revoke.error().to_string();
  listed.reset();
  alice->engine.list_devices([&](auto r) { listed = std::move(r); });
  devices = wait(listed);
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ(devices->size(), 1u);
  auto conversation = alice->store.conversation(*group).value();
  ASSERT_TRUE(conversation.has_value());
  auto state = mls::Group::deserialize(conversation->group_state);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->members().size(), 2u);  // Lina's first device and Bob

  // A device added behind this device's back (by password) is reported when the account is
  // next looked up; the linked tablet never was.
  EXPECT_TRUE(alice->recorder.unknown_own_devices.empty());
  auto intruder = device();
  connect(*intruder);
  std::optional<Result<void>> logged_in;
  intruder->engine.login("lina", "correct horse battery",
                         [&](Result<void> r) { logged_in = std::move(r); });
  ASSERT_TRUE(wait(logged_in).ok());
  auto intruder_id = intruder->store.identity().value()->device_id;
  std::optional<Result<Contact>> own;
  alice->engine.check_own_account([&](Result<Contact> r) { own = std::move(r); });
  ASSERT_TRUE(wait(own).ok());
  ASSERT_EQ(alice->recorder.unknown_own_devices.size(), 1u);
  EXPECT_EQ(alice->recorder.unknown_own_devices[0].device_id, intruder_id);

  // Bob takes the removal in; his next message goes to Lina's first device only.
  ASSERT_TRUE(run_until([&] {
    auto c = bob->store.conversation(*group).value();
    if (!c) return false;
    auto g = mls::Group::deserialize(c->group_state);
    return g.ok() && g->members().size() == 2;
  }));
  std::optional<Result<Bytes>> after;
  bob->engine.send_text(*group, "just you now", [&](Result<Bytes> r) { after = std::move(r); });
  ASSERT_TRUE(wait(after).ok());
  ASSERT_TRUE(run_until([&] { return alice->recorder.incoming().size() == 2; }));
  EXPECT_EQ(tablet->recorder.incoming().size(), 1u);
}

}  // namespace
}  // namespace sotto::client
