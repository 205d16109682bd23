// What every ClientStore does: batches apply whole or not at all, and records replace by
// their keys. A store's test instantiates these cases with a harness type that owns a store
// (default-constructible, `ClientStore& store()`):
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Memory, ClientStoreContract, MemoryHarness);
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>

#include "sotto/client/client_store.h"

namespace sotto::client {

inline StoredMessage contract_message(uint8_t group, uint8_t id, std::string body) {
  StoredMessage m;
  m.group_id = Bytes(4, group);
  m.message_id = Bytes(16, id);
  m.body = std::move(body);
  return m;
}

template <class Harness>
class ClientStoreContract : public ::testing::Test {
 protected:
  ClientStore& store() { return harness_.store(); }
  Harness harness_;
};

TYPED_TEST_SUITE_P(ClientStoreContract);

TYPED_TEST_P(ClientStoreContract, ABatchAppliesEverythingItHolds) {
  ClientStore& store = this->store();
  ClientStoreBatch batch;
  EXPECT_TRUE(batch.empty());
  batch.put_conversations.push_back(
      Conversation{Bytes(4, 1), "bob", {"alice", "bob"}, SecureBytes{1, 2}, true});
  batch.put_messages.push_back(contract_message(1, 1, "one"));
  batch.put_outbox.push_back(OutboxEntry{Bytes(16, 1), Bytes(4, 1), {Bytes(16, 9)}, Bytes{5}, 0});
  batch.add_processed = {3, 4};
  EXPECT_FALSE(batch.empty());
  ASSERT_TRUE(store.apply(batch).ok());
  auto conversation = store.conversation(Bytes(4, 1)).value();
  ASSERT_TRUE(conversation.has_value());
  EXPECT_EQ(conversation->members, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(conversation->group_state, (SecureBytes{1, 2}));
  EXPECT_TRUE(conversation->members_verified);
  EXPECT_EQ(conversation->kind, ConversationKind::direct);
  EXPECT_EQ(conversation->membership, Membership::member);
  EXPECT_EQ(store.messages(Bytes(4, 1)).value().size(), 1u);
  EXPECT_TRUE(store.has_message(Bytes(4, 1), Bytes(16, 1)).value());
  EXPECT_FALSE(store.has_message(Bytes(4, 1), Bytes(16, 2)).value());
  EXPECT_FALSE(store.has_message(Bytes(4, 2), Bytes(16, 1)).value());
  auto outbox = store.outbox().value();
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].recipients, (std::vector<Bytes>{Bytes(16, 9)}));
  EXPECT_TRUE(store.is_processed(3).value());

  ClientStoreBatch sent;
  sent.remove_outbox.push_back(Bytes(16, 1));
  sent.delivery_updates.push_back(
      DeliveryUpdate{Bytes(4, 1), Bytes(16, 1), DeliveryState::sent, 77});
  sent.remove_processed = {3};
  ASSERT_TRUE(store.apply(sent).ok());
  EXPECT_TRUE(store.outbox().value().empty());
  auto stored = store.messages(Bytes(4, 1)).value();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].state, DeliveryState::sent);
  EXPECT_EQ(stored[0].accepted_at, 77u);
  EXPECT_FALSE(store.is_processed(3).value());
  EXPECT_TRUE(store.is_processed(4).value());
}

TYPED_TEST_P(ClientStoreContract, ARefusedBatchChangesNothing) {
  ClientStore& store = this->store();
  ClientStoreBatch batch;
  batch.put_messages.push_back(contract_message(1, 1, "one"));
  batch.remove_outbox.push_back(Bytes(16, 1));
  batch.delivery_updates.push_back(
      DeliveryUpdate{Bytes(4, 1), Bytes(16, 2), DeliveryState::sent, 0});
  auto r = store.apply(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::not_found);
  EXPECT_TRUE(store.messages(Bytes(4, 1)).value().empty());
}

TYPED_TEST_P(ClientStoreContract, RecordsReplaceByTheirKeysInOrder) {
  ClientStore& store = this->store();
  ClientStoreBatch batch;
  batch.put_messages = {contract_message(1, 1, "one"), contract_message(1, 2, "two"),
                        contract_message(1, 1, "one, edited")};
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
  auto kept = store.key_package(Bytes{4}).value();
  ASSERT_TRUE(kept.has_value());
  EXPECT_TRUE(kept->last_resort);
  EXPECT_EQ(kept->private_keys, SecureBytes{6});

  ClientStoreBatch contacts;
  contacts.put_contacts.push_back(
      Contact{"bob", {{Bytes{1}, Bytes{2}}, {Bytes{3}, Bytes{4}}}, 1, 5});
  ASSERT_TRUE(store.apply(contacts).ok());
  ClientStoreBatch changed;
  changed.put_contacts.push_back(Contact{"bob", {{Bytes{3}, Bytes{4}}}, 2, 9});
  ASSERT_TRUE(store.apply(changed).ok());
  auto bob = store.contact("bob").value();
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(bob->devices, (std::vector<ContactDevice>{{Bytes{3}, Bytes{4}}}));
  EXPECT_EQ(bob->directory_version, 2u);
  EXPECT_EQ(bob->verified_epoch, 9u);
  EXPECT_FALSE(store.contact("carol").value().has_value());
}

TYPED_TEST_P(ClientStoreContract, AFileMessageKeepsItsFile) {
  ClientStore& store = this->store();
  StoredMessage m = contract_message(1, 1, "the caption");
  FileContent file;
  file.file_id = Bytes(16, 1);
  file.key = SecureBytes(Bytes(32, 2));
  file.ciphertext_sha256 = Bytes(32, 3);
  file.size = 123456;
  file.name = "plan.pdf";
  file.media_type = "application/pdf";
  file.caption = "the caption";
  m.file = file;
  ClientStoreBatch batch;
  batch.put_messages = {m, contract_message(1, 2, "text")};
  ASSERT_TRUE(store.apply(batch).ok());
  const auto messages = store.messages(Bytes(4, 1)).value();
  ASSERT_EQ(messages.size(), 2u);
  ASSERT_TRUE(messages[0].file.has_value());
  EXPECT_EQ(messages[0].body, "the caption");
  EXPECT_EQ(messages[0].file->file_id, file.file_id);
  EXPECT_TRUE(messages[0].file->key == file.key);
  EXPECT_EQ(messages[0].file->ciphertext_sha256, file.ciphertext_sha256);
  EXPECT_EQ(messages[0].file->size, 123456u);
  EXPECT_EQ(messages[0].file->name, "plan.pdf");
  EXPECT_EQ(messages[0].file->media_type, "application/pdf");
  EXPECT_EQ(messages[0].file->caption, "the caption");
  EXPECT_FALSE(messages[1].file.has_value());
}

TYPED_TEST_P(ClientStoreContract, AGroupKeepsItsKindAndMembership) {
  ClientStore& store = this->store();
  Conversation group{Bytes(4, 7), "team", {"alice", "bob", "carol"}, SecureBytes{9}, true};
  group.kind = ConversationKind::group;
  ClientStoreBatch batch;
  batch.put_conversations.push_back(group);
  ASSERT_TRUE(store.apply(batch).ok());
  auto stored = store.conversation(Bytes(4, 7)).value();
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->kind, ConversationKind::group);
  EXPECT_EQ(stored->membership, Membership::member);

  group.membership = Membership::removed;
  ClientStoreBatch removed;
  removed.put_conversations.push_back(group);
  ASSERT_TRUE(store.apply(removed).ok());
  auto all = store.conversations().value();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].kind, ConversationKind::group);
  EXPECT_EQ(all[0].membership, Membership::removed);
  EXPECT_EQ(all[0].name, "team");

  // An e-mail group's member timestamps and past members, kept and replaced whole.
  group.members_added_at = {100, 0, 300};
  group.past_members = {PastMember{"dave", 250}, PastMember{"erin", 260}};
  ClientStoreBatch timed;
  timed.put_conversations.push_back(group);
  ASSERT_TRUE(store.apply(timed).ok());
  auto kept = store.conversation(Bytes(4, 7)).value();
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->members, group.members);
  EXPECT_EQ(kept->members_added_at, (std::vector<uint64_t>{100, 0, 300}));
  EXPECT_EQ(kept->past_members, group.past_members);
  group.past_members = {PastMember{"erin", 270}};
  group.members_added_at.clear();
  ClientStoreBatch replaced;
  replaced.put_conversations.push_back(group);
  ASSERT_TRUE(store.apply(replaced).ok());
  kept = store.conversation(Bytes(4, 7)).value();
  ASSERT_TRUE(kept.has_value());
  EXPECT_TRUE(std::all_of(kept->members_added_at.begin(), kept->members_added_at.end(),
                          [](uint64_t t) { return t == 0; }));
  EXPECT_EQ(kept->past_members, (std::vector<PastMember>{PastMember{"erin", 270}}));
}

TYPED_TEST_P(ClientStoreContract, AMessageKeepsItsReplyEditReceiptsAndExpiry) {
  ClientStore& store = this->store();
  StoredMessage m = contract_message(1, 2, "fixed");
  m.outgoing = true;
  m.reply_to = Bytes(16, 1);
  m.edited_at = 1234;
  m.expires_at = 99000;
  m.delivered_to = {"carol", "bob"};
  m.read_by = {"bob"};
  StoredMessage incoming = contract_message(1, 3, "");
  incoming.read = true;
  incoming.deleted = true;
  incoming.receipt_requested = true;
  StoredMessage timer = contract_message(1, 4, "");
  timer.timer_set_s = 0;  // "off" is a system line too, unlike no line at all
  ClientStoreBatch batch;
  batch.put_messages = {m, incoming, timer};
  ASSERT_TRUE(store.apply(batch).ok());

  auto found = store.message(Bytes(4, 1), Bytes(16, 2)).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->body, "fixed");
  EXPECT_EQ(found->reply_to, Bytes(16, 1));
  EXPECT_EQ(found->edited_at, 1234u);
  EXPECT_EQ(found->expires_at, 99000u);
  EXPECT_EQ(found->delivered_to, (std::vector<std::string>{"carol", "bob"}));
  EXPECT_EQ(found->read_by, (std::vector<std::string>{"bob"}));
  EXPECT_FALSE(found->deleted);
  EXPECT_FALSE(found->read);
  EXPECT_FALSE(found->receipt_requested);
  EXPECT_FALSE(found->timer_set_s.has_value());
  EXPECT_FALSE(store.message(Bytes(4, 1), Bytes(16, 9)).value().has_value());
  EXPECT_FALSE(store.message(Bytes(4, 2), Bytes(16, 2)).value().has_value());

  const auto all = store.messages(Bytes(4, 1)).value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_FALSE(all[0].read);
  EXPECT_TRUE(all[1].read);
  EXPECT_TRUE(all[1].deleted);
  EXPECT_TRUE(all[1].receipt_requested);
  EXPECT_FALSE(all[1].reply_to.has_value());
  EXPECT_EQ(all[2].timer_set_s, std::optional<uint64_t>(0));

  // Stored again, the receipts are replaced, not added to.
  m.delivered_to = {"bob"};
  m.read_by.clear();
  batch.put_messages = {m};
  ASSERT_TRUE(store.apply(batch).ok());
  found = store.message(Bytes(4, 1), Bytes(16, 2)).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->delivered_to, (std::vector<std::string>{"bob"}));
  EXPECT_TRUE(found->read_by.empty());
}

TYPED_TEST_P(ClientStoreContract, RemovedMessagesAreGoneAndAbsentOnesIgnored) {
  ClientStore& store = this->store();
  StoredMessage a = contract_message(1, 1, "one");
  a.delivered_to = {"bob"};
  ClientStoreBatch batch;
  batch.put_messages = {a, contract_message(1, 2, "two"), contract_message(2, 1, "other")};
  ASSERT_TRUE(store.apply(batch).ok());
  ClientStoreBatch removal;
  removal.remove_messages = {MessageKey{Bytes(4, 1), Bytes(16, 1)},
                             MessageKey{Bytes(4, 1), Bytes(16, 7)},
                             MessageKey{Bytes(4, 9), Bytes(16, 1)}};
  EXPECT_FALSE(removal.empty());
  ASSERT_TRUE(store.apply(removal).ok());
  const auto left = store.messages(Bytes(4, 1)).value();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].body, "two");
  EXPECT_FALSE(store.has_message(Bytes(4, 1), Bytes(16, 1)).value());
  EXPECT_TRUE(store.has_message(Bytes(4, 2), Bytes(16, 1)).value());
  // The same id stored again starts without the old receipts.
  batch.put_messages = {contract_message(1, 1, "again")};
  ASSERT_TRUE(store.apply(batch).ok());
  EXPECT_TRUE(store.message(Bytes(4, 1), Bytes(16, 1)).value()->delivered_to.empty());
}

TYPED_TEST_P(ClientStoreContract, AConversationKeepsItsTimer) {
  ClientStore& store = this->store();
  Conversation c{Bytes(4, 1), "bob", {"alice", "bob"}, SecureBytes{1}, true};
  c.disappear_after_s = 3600;
  ClientStoreBatch batch;
  batch.put_conversations = {c};
  ASSERT_TRUE(store.apply(batch).ok());
  EXPECT_EQ(store.conversation(Bytes(4, 1)).value()->disappear_after_s, 3600u);
  EXPECT_EQ(store.conversations().value().at(0).disappear_after_s, 3600u);
  c.disappear_after_s = 0;
  batch.put_conversations = {c};
  ASSERT_TRUE(store.apply(batch).ok());
  EXPECT_EQ(store.conversation(Bytes(4, 1)).value()->disappear_after_s, 0u);
}

TYPED_TEST_P(ClientStoreContract, APreviousEpochHeadRecordAndOutboxContentAreKept) {
  ClientStore& store = this->store();
  Conversation c{Bytes(4, 1), "bob", {"alice", "bob"}, SecureBytes{1}, true};
  c.previous_group_state = SecureBytes{7, 8, 9};
  c.previous_epoch_until = 1'700'000'600'000;
  c.head_sent_size = 12;
  c.head_sent_at = 1'700'000'000'123;
  OutboxEntry e{Bytes(16, 1), Bytes(4, 1), {Bytes(16, 9)}, Bytes{5}, 3};
  e.content = SecureBytes{4, 2};
  e.epoch = 6;
  ClientStoreBatch batch;
  batch.put_conversations = {c};
  batch.put_outbox = {e};
  ASSERT_TRUE(store.apply(batch).ok());
  for (const auto& got :
       {*store.conversation(Bytes(4, 1)).value(), store.conversations().value().at(0)}) {
    EXPECT_EQ(got.previous_group_state, c.previous_group_state);
    EXPECT_EQ(got.previous_epoch_until, c.previous_epoch_until);
    EXPECT_EQ(got.head_sent_size, 12u);
    EXPECT_EQ(got.head_sent_at, c.head_sent_at);
  }
  const auto outbox = store.outbox().value();
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].content, e.content);
  EXPECT_EQ(outbox[0].epoch, 6u);

  // Dropped again: nothing is kept.
  c.previous_group_state = SecureBytes();
  c.previous_epoch_until = 0;
  e.content = SecureBytes();
  batch.put_conversations = {c};
  batch.put_outbox = {e};
  ASSERT_TRUE(store.apply(batch).ok());
  EXPECT_TRUE(store.conversation(Bytes(4, 1)).value()->previous_group_state.empty());
  EXPECT_TRUE(store.outbox().value().at(0).content.empty());
}

TYPED_TEST_P(ClientStoreContract, AMailAccountItsPeersAndCursorAreKept) {
  ClientStore& store = this->store();
  EXPECT_FALSE(store.mail_account().value().has_value());
  EXPECT_FALSE(store.mail_cursor().value().has_value());
  EXPECT_TRUE(store.mail_peers().value().empty());

  ClientStoreBatch batch;
  batch.mail_account =
      MailAccount{"alice@example.org", SecureBytes{1, 2}, SecureBytes{3, 4}, "n1", SecureBytes{5}};
  batch.put_mail_peers = {
      MailPeer{"carol@example.org", Bytes{7}, MailKeySource::imported, 5, false},
      MailPeer{"bob@example.org", Bytes{8}, MailKeySource::autocrypt, 6, false}};
  EXPECT_FALSE(batch.empty());
  ASSERT_TRUE(store.apply(batch).ok());
  EXPECT_EQ(store.mail_account().value()->address, "alice@example.org");
  EXPECT_EQ(store.mail_account().value()->secret_key, (SecureBytes{3, 4}));
  auto peers = store.mail_peers().value();
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[0].address, "bob@example.org");  // by address
  EXPECT_EQ(peers[1].source, MailKeySource::imported);
  EXPECT_FALSE(store.mail_peer("dave@example.org").value().has_value());

  // A peer's key replaced (gossip), and the cursor moved with the messages read.
  ClientStoreBatch next;
  next.put_mail_peers = {MailPeer{"bob@example.org", Bytes{9}, MailKeySource::gossip, 8, false}};
  next.mail_cursor = "imap-cursor-v1 1 5";
  next.put_messages.push_back(contract_message(3, 1, "from bob"));
  ASSERT_TRUE(store.apply(next).ok());
  EXPECT_EQ(store.mail_peer("bob@example.org").value()->cert, Bytes{9});
  EXPECT_EQ(store.mail_peer("bob@example.org").value()->source, MailKeySource::gossip);
  EXPECT_EQ(store.mail_cursor().value(), std::optional<std::string>("imap-cursor-v1 1 5"));
  EXPECT_EQ(store.mail_account().value()->password, (SecureBytes{1, 2}));

  // SecureJoin: a peer verified, a join started and then done.
  ClientStoreBatch joined;
  MailPeer verified{"carol@example.org", Bytes{7}, MailKeySource::imported, 9, true};
  joined.put_mail_peers = {verified};
  joined.put_mail_joins = {MailJoin{"dave@example.org", Bytes{1, 2}, "n", SecureBytes{3}, 4, ""}};
  EXPECT_FALSE(joined.empty());
  ASSERT_TRUE(store.apply(joined).ok());
  EXPECT_TRUE(store.mail_peer("carol@example.org").value()->verified);
  EXPECT_FALSE(store.mail_peer("bob@example.org").value()->verified);
  EXPECT_EQ(store.mail_join("dave@example.org").value()->auth, SecureBytes{3});
  EXPECT_TRUE(store.mail_join("dave@example.org").value()->group_id.empty());
  // A join into a group keeps the group's id; a later join to the same inviter replaces it.
  ClientStoreBatch into_group;
  into_group.put_mail_joins = {
      MailJoin{"erin@example.org", Bytes{5}, "m", SecureBytes{6}, 7, "Gr-1_x"}};
  ASSERT_TRUE(store.apply(into_group).ok());
  EXPECT_EQ(store.mail_join("erin@example.org").value()->group_id, "Gr-1_x");
  into_group.put_mail_joins.back().group_id.clear();
  ASSERT_TRUE(store.apply(into_group).ok());
  EXPECT_TRUE(store.mail_join("erin@example.org").value()->group_id.empty());
  ClientStoreBatch done;
  done.remove_mail_joins = {"dave@example.org", "erin@example.org", "nobody@example.org"};
  EXPECT_FALSE(done.empty());
  ASSERT_TRUE(store.apply(done).ok());
  EXPECT_FALSE(store.mail_join("dave@example.org").value().has_value());

  // A group's invite link: its secrets kept by group id, replaced, then withdrawn.
  EXPECT_TRUE(store.mail_group_invites().value().empty());
  ClientStoreBatch invites;
  invites.put_mail_group_invites = {MailGroupInvite{Bytes{0x20}, "g2", SecureBytes{2}, 20},
                                    MailGroupInvite{Bytes{0x10}, "g1", SecureBytes{1}, 10}};
  EXPECT_FALSE(invites.empty());
  ASSERT_TRUE(store.apply(invites).ok());
  auto kept = store.mail_group_invites().value();
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].group_id, Bytes{0x10});  // by group id
  EXPECT_EQ(kept[0].invite_number, "g1");
  EXPECT_EQ(kept[0].auth, SecureBytes{1});
  EXPECT_EQ(kept[0].created_at, 10u);
  EXPECT_EQ(kept[1].auth, SecureBytes{2});
  ClientStoreBatch renewed;
  renewed.put_mail_group_invites = {MailGroupInvite{Bytes{0x20}, "g3", SecureBytes{3}, 30}};
  ASSERT_TRUE(store.apply(renewed).ok());
  kept = store.mail_group_invites().value();
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[1].invite_number, "g3");
  EXPECT_EQ(kept[1].auth, SecureBytes{3});
  ClientStoreBatch withdrawn;
  withdrawn.remove_mail_group_invites = {Bytes{0x10}, Bytes{0x99}};
  EXPECT_FALSE(withdrawn.empty());
  ASSERT_TRUE(store.apply(withdrawn).ok());
  kept = store.mail_group_invites().value();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].group_id, Bytes{0x20});

  // A refused batch moves no cursor.
  ClientStoreBatch refused;
  refused.mail_cursor = "imap-cursor-v1 1 9";
  refused.delivery_updates.push_back(DeliveryUpdate{Bytes(4, 9), Bytes(16, 9)});
  EXPECT_FALSE(store.apply(refused).ok());
  EXPECT_EQ(store.mail_cursor().value(), std::optional<std::string>("imap-cursor-v1 1 5"));
}

REGISTER_TYPED_TEST_SUITE_P(ClientStoreContract, ABatchAppliesEverythingItHolds,
                            ARefusedBatchChangesNothing, RecordsReplaceByTheirKeysInOrder,
                            AFileMessageKeepsItsFile, AGroupKeepsItsKindAndMembership,
                            AMessageKeepsItsReplyEditReceiptsAndExpiry,
                            RemovedMessagesAreGoneAndAbsentOnesIgnored, AConversationKeepsItsTimer,
                            APreviousEpochHeadRecordAndOutboxContentAreKept,
                            AMailAccountItsPeersAndCursorAreKept);

}  // namespace sotto::client
