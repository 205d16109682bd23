// What travels inside an MLS application message between Sotto clients: one versioned,
// TLS-encoded struct, so that receipts, replies and edits can follow text without a new
// envelope. The server never sees it; only group members decrypt it.
//
//   AppMessage { uint16 version; opaque message_id; uint64 sent_at; select (uint8) { ... } }
//
// message_id is the sender's 16 random bytes (also the idempotency key of its Send);
// sent_at is the sender's clock in milliseconds since the Unix epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"

namespace sotto::client {

inline constexpr uint16_t kAppMessageVersion = 1;
inline constexpr size_t kMessageIdSize = 16;
// A text body over this is refused on both ends (1 MiB frames leave room for framing).
inline constexpr size_t kMaxTextBytes = 64 * 1024;

enum class AppContentKind : uint8_t { text = 1, receipt = 2 };

struct TextContent {
  static constexpr AppContentKind tls_tag = AppContentKind::text;
  std::string body;               // UTF-8
  std::optional<Bytes> reply_to;  // the message_id this one answers
  SOTTO_TLS_FIELDS(body, reply_to)
};

enum class ReceiptKind : uint8_t { delivered = 1, read = 2 };

struct ReceiptContent {
  static constexpr AppContentKind tls_tag = AppContentKind::receipt;
  ReceiptKind kind = ReceiptKind::delivered;
  std::vector<Bytes> message_ids;
  SOTTO_TLS_FIELDS(kind, message_ids)
};

using AppContent = std::variant<TextContent, ReceiptContent>;

struct AppMessage {
  uint16_t version = kAppMessageVersion;
  Bytes message_id;
  uint64_t sent_at = 0;
  AppContent content;
  SOTTO_TLS_FIELDS(version, message_id, sent_at, content)
};

Bytes encode_app_message(const AppMessage& message);
// Strict: Errc::unsupported_version for another version (checked first), Errc::invalid_value
// for a message id that is not kMessageIdSize bytes, a body that is not UTF-8 or over
// kMaxTextBytes, an unknown receipt kind, and the codec's errors otherwise.
Result<AppMessage> decode_app_message(BytesView bytes);

}  // namespace sotto::client
