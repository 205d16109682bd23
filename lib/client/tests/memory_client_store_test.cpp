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

}  // namespace
}  // namespace sotto::client
