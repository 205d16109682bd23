#include "sotto/client/memory_client_store.h"

#include <algorithm>

namespace sotto::client {

namespace {

Bytes key(BytesView v) {
  return Bytes(v.begin(), v.end());
}

StoredMessage* find_message(std::vector<StoredMessage>& list, const Bytes& id) {
  for (auto& m : list) {
    if (m.message_id == id) return &m;
  }
  return nullptr;
}

}  // namespace

Result<std::optional<Identity>> MemoryClientStore::identity() const {
  return identity_;
}

Result<std::optional<Bytes>> MemoryClientStore::directory_state() const {
  return directory_state_;
}

Result<std::optional<StoredKeyPackage>> MemoryClientStore::key_package(BytesView ref) const {
  auto it = key_packages_.find(key(ref));
  if (it == key_packages_.end()) return std::optional<StoredKeyPackage>();
  return std::optional<StoredKeyPackage>(it->second);
}

Result<size_t> MemoryClientStore::key_package_count() const {
  return key_packages_.size();
}

Result<std::optional<Contact>> MemoryClientStore::contact(const std::string& username) const {
  auto it = contacts_.find(username);
  if (it == contacts_.end()) return std::optional<Contact>();
  return std::optional<Contact>(it->second);
}

std::vector<Contact> MemoryClientStore::contacts() const {
  std::vector<Contact> out;
  out.reserve(contacts_.size());
  for (const auto& [username, contact] : contacts_) out.push_back(contact);
  return out;
}

Result<std::optional<Conversation>> MemoryClientStore::conversation(BytesView group_id) const {
  auto it = conversations_.find(key(group_id));
  if (it == conversations_.end()) return std::optional<Conversation>();
  return std::optional<Conversation>(it->second);
}

Result<std::vector<Conversation>> MemoryClientStore::conversations() const {
  std::vector<Conversation> out;
  for (const auto& [id, c] : conversations_) out.push_back(c);
  return out;
}

Result<std::vector<StoredMessage>> MemoryClientStore::messages(BytesView group_id) const {
  auto it = messages_.find(key(group_id));
  if (it == messages_.end()) return std::vector<StoredMessage>();
  return it->second;
}

Result<std::optional<StoredMessage>> MemoryClientStore::message(BytesView group_id,
                                                                BytesView message_id) const {
  auto it = messages_.find(key(group_id));
  if (it == messages_.end()) return std::optional<StoredMessage>();
  for (const auto& m : it->second) {
    if (std::equal(m.message_id.begin(), m.message_id.end(), message_id.begin(),
                   message_id.end())) {
      return std::optional<StoredMessage>(m);
    }
  }
  return std::optional<StoredMessage>();
}

Result<bool> MemoryClientStore::has_message(BytesView group_id, BytesView message_id) const {
  auto it = messages_.find(key(group_id));
  if (it == messages_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(), [&](const StoredMessage& m) {
    return std::equal(m.message_id.begin(), m.message_id.end(), message_id.begin(),
                      message_id.end());
  });
}

Result<std::vector<OutboxEntry>> MemoryClientStore::outbox() const {
  return outbox_;
}

Result<bool> MemoryClientStore::is_processed(uint64_t seq) const {
  return processed_.count(seq) != 0;
}

Result<std::optional<MailAccount>> MemoryClientStore::mail_account() const {
  return mail_account_;
}

Result<std::optional<MailPeer>> MemoryClientStore::mail_peer(const std::string& address) const {
  auto it = mail_peers_.find(address);
  if (it == mail_peers_.end()) return std::optional<MailPeer>();
  return std::optional<MailPeer>(it->second);
}

Result<std::vector<MailPeer>> MemoryClientStore::mail_peers() const {
  std::vector<MailPeer> out;
  for (const auto& [address, peer] : mail_peers_) out.push_back(peer);
  return out;
}

Result<std::vector<MailGroupInvite>> MemoryClientStore::mail_group_invites() const {
  std::vector<MailGroupInvite> out;
  for (const auto& [group_id, invite] : mail_group_invites_) out.push_back(invite);
  return out;
}

Result<std::optional<MailJoin>> MemoryClientStore::mail_join(const std::string& address) const {
  auto it = mail_joins_.find(address);
  if (it == mail_joins_.end()) return std::optional<MailJoin>();
  return std::optional<MailJoin>(it->second);
}

Result<std::optional<std::string>> MemoryClientStore::mail_cursor() const {
  return mail_cursor_;
}

ClientStoreBatch MemoryClientStore::snapshot() const {
  ClientStoreBatch b;
  if (identity_) b.identity = *identity_;
  b.directory_state = directory_state_;
  for (const auto& [ref, kp] : key_packages_) b.put_key_packages.push_back(kp);
  for (const auto& [name, contact] : contacts_) b.put_contacts.push_back(contact);
  for (const auto& [id, c] : conversations_) b.put_conversations.push_back(c);
  for (const auto& [id, list] : messages_) {
    for (const auto& m : list) b.put_messages.push_back(m);
  }
  for (const auto& e : outbox_) b.put_outbox.push_back(e);
  b.add_processed.assign(processed_.begin(), processed_.end());
  if (mail_account_) b.mail_account = *mail_account_;
  for (const auto& [address, peer] : mail_peers_) b.put_mail_peers.push_back(peer);
  for (const auto& [address, join] : mail_joins_) b.put_mail_joins.push_back(join);
  for (const auto& [id, invite] : mail_group_invites_) b.put_mail_group_invites.push_back(invite);
  b.mail_cursor = mail_cursor_;
  return b;
}

Result<void> MemoryClientStore::apply(const ClientStoreBatch& batch) {
  // Checks first, so that a refused batch changes nothing.
  for (const auto& u : batch.delivery_updates) {
    bool found = false;
    auto it = messages_.find(u.group_id);
    if (it != messages_.end()) {
      found = find_message(it->second, u.message_id) != nullptr;
    }
    for (const auto& m : batch.put_messages) {
      found = found || (m.group_id == u.group_id && m.message_id == u.message_id);
    }
    if (!found) return Error(Errc::not_found, "delivery update of a message not stored");
  }

  if (batch.identity) identity_ = batch.identity;
  if (batch.directory_state) directory_state_ = batch.directory_state;
  for (const auto& kp : batch.put_key_packages) key_packages_[kp.ref] = kp;
  for (const auto& ref : batch.remove_key_packages) key_packages_.erase(ref);
  for (const auto& c : batch.put_contacts) contacts_[c.username] = c;
  for (const auto& c : batch.put_conversations) conversations_[c.group_id] = c;
  for (const auto& m : batch.put_messages) {
    auto& list = messages_[m.group_id];
    if (auto* existing = find_message(list, m.message_id)) {
      *existing = m;
    } else {
      list.push_back(m);
    }
  }
  for (const auto& u : batch.delivery_updates) {
    auto* m = find_message(messages_[u.group_id], u.message_id);
    m->state = u.state;
    if (u.accepted_at != 0) m->accepted_at = u.accepted_at;
  }
  for (const auto& k : batch.remove_messages) {
    auto it = messages_.find(k.group_id);
    if (it == messages_.end()) continue;
    auto& list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const StoredMessage& m) { return m.message_id == k.message_id; }),
               list.end());
  }
  for (const auto& e : batch.put_outbox) {
    auto it = std::find_if(outbox_.begin(), outbox_.end(),
                           [&](const OutboxEntry& o) { return o.message_id == e.message_id; });
    if (it != outbox_.end()) {
      *it = e;
    } else {
      outbox_.push_back(e);
    }
  }
  for (const auto& id : batch.remove_outbox) {
    outbox_.erase(std::remove_if(outbox_.begin(), outbox_.end(),
                                 [&](const OutboxEntry& o) { return o.message_id == id; }),
                  outbox_.end());
  }
  for (uint64_t seq : batch.add_processed) processed_.insert(seq);
  for (uint64_t seq : batch.remove_processed) processed_.erase(seq);
  if (batch.mail_account) mail_account_ = batch.mail_account;
  for (const auto& p : batch.put_mail_peers) mail_peers_[p.address] = p;
  for (const auto& j : batch.put_mail_joins) mail_joins_[j.address] = j;
  for (const auto& address : batch.remove_mail_joins) mail_joins_.erase(address);
  for (const auto& invite : batch.put_mail_group_invites) {
    mail_group_invites_[invite.group_id] = invite;
  }
  for (const auto& group_id : batch.remove_mail_group_invites) {
    mail_group_invites_.erase(group_id);
  }
  if (batch.mail_cursor) mail_cursor_ = batch.mail_cursor;
  ++batches_applied_;
  return success();
}

}  // namespace sotto::client
