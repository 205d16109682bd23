#include "sotto/client/app_message.h"

#include "sotto/proto/protocol.h"

namespace sotto::client {

namespace {

Result<void> check_id(const Bytes& id, const char* what) {
  if (id.size() != kMessageIdSize) {
    return Error(Errc::invalid_value,
                 std::string(what) + " is not " + std::to_string(kMessageIdSize) + " bytes");
  }
  return success();
}

Result<void> check(const AppMessage& message) {
  SOTTO_TRY(check_id(message.message_id, "message id"));
  if (const auto* text = std::get_if<TextContent>(&message.content)) {
    if (text->body.size() > kMaxTextBytes) {
      return Error(Errc::invalid_value,
                   "text body over " + std::to_string(kMaxTextBytes) + " bytes");
    }
    if (!proto::is_valid_utf8(text->body)) {
      return Error(Errc::invalid_value, "text body is not UTF-8");
    }
    if (text->reply_to) SOTTO_TRY(check_id(*text->reply_to, "reply_to"));
  } else if (const auto* receipt = std::get_if<ReceiptContent>(&message.content)) {
    if (receipt->kind != ReceiptKind::delivered && receipt->kind != ReceiptKind::read) {
      return Error(Errc::invalid_value, "unknown receipt kind");
    }
    for (const auto& id : receipt->message_ids) SOTTO_TRY(check_id(id, "receipt message id"));
  }
  return success();
}

}  // namespace

Bytes encode_app_message(const AppMessage& message) {
  return tls::encode(message);
}

Result<AppMessage> decode_app_message(BytesView bytes) {
  // The version first, so that a newer sender's message is reported as such rather than as
  // a decoding error of fields it may have changed.
  tls::Reader r(bytes);
  SOTTO_TRY_ASSIGN(const uint16_t version, r.u16());
  if (version != kAppMessageVersion) {
    return Error(Errc::unsupported_version,
                 "application message version " + std::to_string(version));
  }
  SOTTO_TRY_ASSIGN(AppMessage message, tls::decode<AppMessage>(bytes));
  SOTTO_TRY(check(message));
  return message;
}

}  // namespace sotto::client
