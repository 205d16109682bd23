#include "sotto/client/client_store.h"

namespace sotto::client {

const char* delivery_state_name(DeliveryState state) {
  switch (state) {
    case DeliveryState::pending:
      return "pending";
    case DeliveryState::sent:
      return "sent";
    case DeliveryState::received:
      return "received";
    case DeliveryState::failed:
      return "failed";
  }
  return "unknown";
}

bool ClientStoreBatch::empty() const {
  return !identity && !directory_state && put_key_packages.empty() && remove_key_packages.empty() &&
         put_contacts.empty() && put_conversations.empty() && put_messages.empty() &&
         delivery_updates.empty() && remove_messages.empty() && put_outbox.empty() &&
         remove_outbox.empty() && add_processed.empty() && remove_processed.empty() &&
         !mail_account && put_mail_peers.empty() && put_mail_joins.empty() &&
         remove_mail_joins.empty() && put_mail_group_invites.empty() &&
         remove_mail_group_invites.empty() && !mail_cursor;
}

}  // namespace sotto::client
