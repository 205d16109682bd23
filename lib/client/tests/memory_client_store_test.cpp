// The memory store: batches apply whole or not at all, and records replace by their keys.
#include "sotto/client/memory_client_store.h"

#include <gtest/gtest.h>

namespace sotto::client {
namespace {

StoredMessage message(uint8_t group, uint8_t id, std::string body) {
  StoredMessage m;
  m.group_id = Bytes(4, group);
  m.message_id = Bytes(16, id);
  m.body = std::move(body);
  return m;
}

TEST(MemoryClientStore, ABatchAppliesEverythingItHolds) {
  MemoryClientStore store;
  ClientStoreBatch batch;
  EXPECT_TRUE(batch.empty());
  batch.put_conversations.push_back(
      Conversation{Bytes(4, 1), "bob", {"alice", "bob"}, SecureBytes{1, 2}, true});
  batch.put_messages.push_back(message(1, 1, "one"));
  batch.put_outbox.push_back(OutboxEntry{Bytes(16, 1), Bytes(4, 1), {Bytes(16, 9)}, Bytes{5}, 0});
  batch.add_processed = {3, 4};
  EXPECT_FALSE(batch.empty());
  ASSERT_TRUE(store.apply(batch).ok());
  EXPECT_TRUE(store.conversation(Bytes(4, 1)).value().has_value());
  EXPECT_EQ(store.messages(Bytes(4, 1)).value().size(), 1u);
  EXPECT_EQ(store.outbox().value().size(), 1u);
  EXPECT_TRUE(store.is_processed(3).value());

  ClientStoreBatch sent;
  sent.remove_outbox.push_back(Bytes(16, 1));
  sent.delivery_updates.push_back(
      DeliveryUpdate{Bytes(4, 1), Bytes(16, 1), DeliveryState::sent, 77});
  sent.remove_processed = {3};
  ASSERT_TRUE(store.apply(sent).ok());
  EXPECT_TRUE(store.outbox().value().empty());
  auto stored = store.messages(Bytes(4, 1)).value();
  EXPECT_EQ(stored[0].state, DeliveryState::sent);
  EXPECT_EQ(stored[0].accepted_at, 77u);
  EXPECT_FALSE(store.is_processed(3).value());
  EXPECT_TRUE(store.is_processed(4).value());
}

TEST(MemoryClientStore, ARefusedBatchChangesNothing) {
  MemoryClientStore store;
  ClientStoreBatch batch;
  batch.put_messages.push_back(message(1, 1, "one"));
  batch.remove_outbox.push_back(Bytes(16, 1));
  batch.delivery_updates.push_back(
      DeliveryUpdate{Bytes(4, 1), Bytes(16, 2), DeliveryState::sent, 0});
  auto r = store.apply(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::not_found);
  EXPECT_TRUE(store.messages(Bytes(4, 1)).value().empty());
  EXPECT_EQ(store.batches_applied(), 0u);
}

TEST(MemoryClientStore, RecordsReplaceByTheirKeysInOrder) {
  MemoryClientStore store;
  ClientStoreBatch batch;
  batch.put_messages = {message(1, 1, "one"), message(1, 2, "two"), message(1, 1, "one, edited")};
  ASSERT_TRUE(store.apply(batch).ok());
  auto list = store.messages(Bytes(4, 1)).value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].body, "one, edited");
  EXPECT_EQ(list[1].body, "two");

  ClientStoreBatch kps;
  kps.put_key_packages.push_back(StoredKeyPackage{Bytes{1}, Bytes{2}, SecureBytes{3}, false});
  kps.put_key_packages.push_back(StoredKeyPackage{Bytes{4}, Bytes{5}, SecureBytes{6}, true});
  ASSERT_TRUE(store.apply(kps).ok());
  EXPECT_EQ(store.key_package_count().value(), 2u);
  ClientStoreBatch used;
  used.remove_key_packages.push_back(Bytes{1});
  ASSERT_TRUE(store.apply(used).ok());
  EXPECT_FALSE(store.key_package(Bytes{1}).value().has_value());
  EXPECT_TRUE(store.key_package(Bytes{4}).value()->last_resort);
}

}  // namespace
}  // namespace sotto::client
