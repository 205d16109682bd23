// The memory store against the ClientStore contract, and what only it counts.
#include "sotto/client/memory_client_store.h"

#include <gtest/gtest.h>

#include "client_store_contract.h"

namespace sotto::client {
namespace {

struct MemoryHarness {
  ClientStore& store() { return store_; }
  MemoryClientStore store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Memory, ClientStoreContract, MemoryHarness);

TEST(MemoryClientStore, CountsOnlyTheBatchesItApplied) {
  MemoryClientStore store;
  ClientStoreBatch refused;
  refused.delivery_updates.push_back(
      DeliveryUpdate{Bytes(4, 1), Bytes(16, 2), DeliveryState::sent, 0});
  ASSERT_FALSE(store.apply(refused).ok());
  EXPECT_EQ(store.batches_applied(), 0u);
  ClientStoreBatch batch;
  batch.add_processed = {1};
  ASSERT_TRUE(store.apply(batch).ok());
  EXPECT_EQ(store.batches_applied(), 1u);
  EXPECT_EQ(store.processed_count(), 1u);
}

// A batch with every field set, each to something other than its default.
ClientStoreBatch full_batch() {
  ClientStoreBatch b;
  b.identity =
      Identity{"alice", Bytes(16, 1), Bytes(16, 2), SecureBytes(32), SecureBytes{7, 7}, 99};
  b.directory_state = Bytes{1, 2, 3};
  b.put_key_packages.push_back(StoredKeyPackage{Bytes(32, 3), Bytes{4}, SecureBytes{5}, true});
  b.remove_key_packages.push_back(Bytes(32, 4));
  b.put_contacts.push_back(Contact{"bob", {ContactDevice{Bytes(16, 5), Bytes(32, 6)}}, 3, 12});
  Conversation c{Bytes(4, 1), "lunch", {"alice", "bob"}, SecureBytes{1, 2}, true};
  c.kind = ConversationKind::group;
  c.membership = Membership::left;
  c.disappear_after_s = 60;
  c.previous_group_state = SecureBytes{3};
  c.previous_epoch_until = 5;
  c.head_sent_size = 6;
  c.head_sent_at = 7;
  c.members_added_at = {8, 9};
  c.past_members = {PastMember{"carol", 10}};
  b.put_conversations.push_back(c);
  StoredMessage m = contract_message(1, 1, "hello");
  m.sender = "bob";
  m.sender_device = Bytes(16, 5);
  m.outgoing = true;
  m.sent_at = 11;
  m.accepted_at = 12;
  m.state = DeliveryState::sent;
  FileContent f;
  f.file_id = Bytes(16, 8);
  f.key = SecureBytes(32);
  f.ciphertext_sha256 = Bytes(32, 9);
  f.size = 13;
  f.name = "menu.pdf";
  f.media_type = "application/pdf";
  f.caption = "this place?";
  m.file = f;
  m.reply_to = Bytes(16, 10);
  m.edited_at = 14;
  m.deleted = true;
  m.expires_at = 15;
  m.timer_set_s = 16;
  m.read = true;
  m.receipt_requested = true;
  m.delivered_to = {"bob"};
  m.read_by = {"bob"};
  b.put_messages.push_back(m);
  b.delivery_updates.push_back(
      DeliveryUpdate{Bytes(4, 1), Bytes(16, 1), DeliveryState::failed, 17});
  b.remove_messages.push_back(MessageKey{Bytes(4, 2), Bytes(16, 2)});
  b.put_outbox.push_back(
      OutboxEntry{Bytes(16, 1), Bytes(4, 1), {Bytes(16, 5)}, Bytes{6}, 18, SecureBytes{7}, 19});
  b.remove_outbox.push_back(Bytes(16, 3));
  b.add_processed = {20, 21};
  b.remove_processed = {22};
  b.mail_account =
      MailAccount{"a@example.org", SecureBytes{1}, SecureBytes{2}, "n", SecureBytes{3}};
  b.put_mail_peers.push_back(MailPeer{"b@example.org", Bytes{4}, MailKeySource::gossip, 23, true});
  b.put_mail_joins.push_back(MailJoin{"c@example.org", Bytes{5}, "m", SecureBytes{6}, 24, "group"});
  b.remove_mail_joins.push_back("d@example.org");
  b.put_mail_group_invites.push_back(MailGroupInvite{Bytes(4, 3), "o", SecureBytes{7}, 25});
  b.remove_mail_group_invites.push_back(Bytes(4, 4));
  b.mail_cursor = "cursor";
  return b;
}

TEST(ClientStoreBatchCodec, EveryFieldSurvivesTheRoundTrip) {
  const ClientStoreBatch batch = full_batch();
  const SecureBytes bytes = encode_batch(batch);
  auto decoded = decode_batch(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(encode_batch(*decoded), bytes);
  // Spot checks that the codec did not write defaults.
  EXPECT_EQ(decoded->identity->signature_seed, SecureBytes(32));
  EXPECT_EQ(decoded->identity->session_expires_at, 99u);
  const Conversation& c = decoded->put_conversations.at(0);
  EXPECT_EQ(c.membership, Membership::left);
  EXPECT_TRUE(c.members_verified);
  EXPECT_EQ(c.past_members.at(0).address, "carol");
  const StoredMessage& m = decoded->put_messages.at(0);
  EXPECT_TRUE(m.deleted);
  EXPECT_TRUE(m.receipt_requested);
  EXPECT_EQ(m.file->caption, "this place?");
  EXPECT_EQ(m.read_by, (std::vector<std::string>{"bob"}));
  EXPECT_EQ(decoded->put_mail_peers.at(0).source, MailKeySource::gossip);
  EXPECT_EQ(decoded->mail_cursor, "cursor");
  // An empty batch is two bytes or so, and round-trips too.
  auto empty = decode_batch(encode_batch(ClientStoreBatch{}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ClientStoreBatchCodec, DamagedBytesAreRefused) {
  const SecureBytes bytes = encode_batch(full_batch());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_batch(BytesView(bytes.data(), n)).ok()) << "prefix of " << n;
  }
  Bytes other_version(bytes.begin(), bytes.end());
  other_version[0] = 2;
  EXPECT_EQ(decode_batch(other_version).error().code(), Errc::unsupported_version);
  Bytes trailing(bytes.begin(), bytes.end());
  trailing.push_back(0);
  EXPECT_EQ(decode_batch(trailing).error().code(), Errc::trailing_bytes);
}

TEST(MemoryClientStore, ASnapshotRebuildsTheStore) {
  MemoryClientStore store;
  ClientStoreBatch first = full_batch();
  first.delivery_updates.clear();  // they need stored messages; the second batch has them
  first.remove_messages.clear();
  ASSERT_TRUE(store.apply(first).ok());
  ClientStoreBatch second;
  second.put_messages.push_back(contract_message(1, 2, "second"));
  second.delivery_updates.push_back(
      DeliveryUpdate{Bytes(4, 1), Bytes(16, 2), DeliveryState::received, 30});
  second.remove_processed = {20};
  second.remove_outbox.push_back(Bytes(16, 1));
  ASSERT_TRUE(store.apply(second).ok());

  auto snapshot = decode_batch(encode_batch(store.snapshot()));
  ASSERT_TRUE(snapshot.ok());
  MemoryClientStore rebuilt;
  ASSERT_TRUE(rebuilt.apply(*snapshot).ok());
  EXPECT_EQ(encode_batch(rebuilt.snapshot()), encode_batch(store.snapshot()));
  EXPECT_EQ(rebuilt.identity().value()->username, "alice");
  EXPECT_EQ(rebuilt.key_package_count().value(), 1u);
  EXPECT_EQ(rebuilt.contact("bob").value()->devices.size(), 1u);
  const auto messages = rebuilt.messages(Bytes(4, 1)).value();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].body, "hello");  // in the order stored
  EXPECT_EQ(messages[1].accepted_at, 30u);
  EXPECT_TRUE(rebuilt.outbox().value().empty());
  EXPECT_FALSE(rebuilt.is_processed(20).value());
  EXPECT_TRUE(rebuilt.is_processed(21).value());
  EXPECT_EQ(rebuilt.mail_join("c@example.org").value()->group_id, "group");
  EXPECT_EQ(rebuilt.mail_cursor().value(), "cursor");
}

TEST(MemoryClientStore, ListsItsContactsByName) {
  MemoryClientStore store;
  EXPECT_TRUE(store.contacts().empty());
  ClientStoreBatch batch;
  batch.put_contacts.push_back(Contact{"zoe", {}, 1, 4});
  batch.put_contacts.push_back(Contact{"bob", {ContactDevice{Bytes(16, 5), Bytes(32, 6)}}, 3, 12});
  ASSERT_TRUE(store.apply(batch).ok());
  ClientStoreBatch again;  // a later lookup replaces what an earlier one stored
  again.put_contacts.push_back(Contact{"zoe", {ContactDevice{Bytes(16, 7), Bytes(32, 8)}}, 2, 5});
  ASSERT_TRUE(store.apply(again).ok());
  const auto contacts = store.contacts();
  ASSERT_EQ(contacts.size(), 2u);
  EXPECT_EQ(contacts[0].username, "bob");
  EXPECT_EQ(contacts[1].username, "zoe");
  EXPECT_EQ(contacts[1].devices.size(), 1u);
  EXPECT_EQ(contacts[1].verified_epoch, 5u);
}

}  // namespace
}  // namespace sotto::client
