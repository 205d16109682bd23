#include "sotto/client/client_store.h"

#include "sotto/core/tls.h"

namespace sotto::client {

namespace {
constexpr uint8_t kBatchVersion = 1;
// A batch may hold a whole store (a snapshot): its lists are allowed more than the codec's
// default 16 MiB. The bytes come from this device's own encrypted records.
constexpr size_t kMaxBatchVectorBytes = size_t{1} << 28;
}  // namespace

SecureBytes encode_batch(const ClientStoreBatch& batch) {
  tls::Writer w;
  w.u8(kBatchVersion);
  tls::write(w, batch);
  Bytes plain = w.take();
  SecureBytes out(plain);
  secure_wipe(plain.data(), plain.size());
  return out;
}

Result<ClientStoreBatch> decode_batch(BytesView bytes) {
  if (bytes.empty()) return Error(Errc::truncated, "a stored batch: empty");
  if (bytes[0] != kBatchVersion) {
    return Error(Errc::unsupported_version,
                 "a stored batch of version " + std::to_string(bytes[0]));
  }
  auto batch = tls::decode<ClientStoreBatch>(bytes.subspan(1), {kMaxBatchVectorBytes});
  if (!batch) return std::move(batch).error().with_context("a stored batch");
  return batch;
}

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
