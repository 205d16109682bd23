// The ClientStore in memory: for tests, and for a browser tab that keeps nothing.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sotto/client/client_store.h"

namespace sotto::client {

class MemoryClientStore final : public ClientStore {
 public:
  Result<std::optional<Identity>> identity() const override;
  Result<std::optional<Bytes>> directory_state() const override;
  Result<std::optional<StoredKeyPackage>> key_package(BytesView ref) const override;
  Result<size_t> key_package_count() const override;
  Result<std::optional<Contact>> contact(const std::string& username) const override;
  Result<std::optional<Conversation>> conversation(BytesView group_id) const override;
  Result<std::vector<Conversation>> conversations() const override;
  Result<std::vector<StoredMessage>> messages(BytesView group_id) const override;
  Result<std::optional<StoredMessage>> message(BytesView group_id,
                                               BytesView message_id) const override;
  Result<bool> has_message(BytesView group_id, BytesView message_id) const override;
  Result<std::vector<OutboxEntry>> outbox() const override;
  Result<bool> is_processed(uint64_t seq) const override;
  Result<std::optional<MailAccount>> mail_account() const override;
  Result<std::optional<MailPeer>> mail_peer(const std::string& address) const override;
  Result<std::vector<MailPeer>> mail_peers() const override;
  Result<std::optional<MailJoin>> mail_join(const std::string& address) const override;
  Result<std::vector<MailGroupInvite>> mail_group_invites() const override;
  Result<std::optional<std::string>> mail_cursor() const override;
  Result<void> apply(const ClientStoreBatch& batch) override;

  // Everything held, as one batch: applied to an empty store, it gives this one (the web
  // client writes it in place of the batches that made it).
  ClientStoreBatch snapshot() const;
  // Every contact kept (a verified lookup's devices), by username: the web client's list.
  std::vector<Contact> contacts() const;

  // For tests: how many batches were applied.
  size_t batches_applied() const { return batches_applied_; }
  size_t processed_count() const { return processed_.size(); }

 private:
  std::optional<Identity> identity_;
  std::optional<Bytes> directory_state_;
  std::map<Bytes, StoredKeyPackage> key_packages_;
  std::map<std::string, Contact> contacts_;
  std::map<Bytes, Conversation> conversations_;
  // Per group, in the order stored; a message id appears once per group.
  std::map<Bytes, std::vector<StoredMessage>> messages_;
  std::vector<OutboxEntry> outbox_;
  std::set<uint64_t> processed_;
  std::optional<MailAccount> mail_account_;
  std::map<std::string, MailPeer> mail_peers_;
  std::map<std::string, MailJoin> mail_joins_;
  std::map<Bytes, MailGroupInvite> mail_group_invites_;
  std::optional<std::string> mail_cursor_;
  size_t batches_applied_ = 0;
};

}  // namespace sotto::client
