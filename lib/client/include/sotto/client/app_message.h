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
#include <string_view>
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

// A new kind takes the next free tag.
enum class AppContentKind : uint8_t {
  text = 1,
  receipt = 2,
  group_metadata = 3,
  file = 4,
  edit = 5,
  delete_messages = 6,
  conversation_settings = 7,
  directory_head = 8,
};

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
  std::vector<Bytes> message_ids;  // at most kMaxListedMessages
  SOTTO_TLS_FIELDS(kind, message_ids)
};

// How many message ids one receipt or delete may name: a screenful read at once, well under
// the frame limit (16 bytes each).
inline constexpr size_t kMaxListedMessages = 1000;

// A new body for a message this account sent before (docs/messages.md). Receivers apply it
// only when the target's sender is the edit's sender's account.
struct EditContent {
  static constexpr AppContentKind tls_tag = AppContentKind::edit;
  Bytes message_id;  // the edited message
  std::string body;  // UTF-8, at most kMaxTextBytes
  SOTTO_TLS_FIELDS(message_id, body)
};

// Deletes messages this account sent, for everyone: receivers wipe their body and file and
// keep a tombstone in their place.
struct DeleteContent {
  static constexpr AppContentKind tls_tag = AppContentKind::delete_messages;
  std::vector<Bytes> message_ids;  // 1 to kMaxListedMessages
  SOTTO_TLS_FIELDS(message_ids)
};

// The longest disappearing-message timer: a year.
inline constexpr uint64_t kMaxDisappearAfterS = 365ull * 24 * 3600;

// A conversation's settings that any member may change for everyone.
struct ConversationSettingsContent {
  static constexpr AppContentKind tls_tag = AppContentKind::conversation_settings;
  uint64_t disappear_after_s = 0;  // 0: messages stay; else at most kMaxDisappearAfterS
  SOTTO_TLS_FIELDS(disappear_after_s)
};

// The newest signed head of the key directory that the sender holds (lib/kt's gossip form,
// kDirectoryHeadSize bytes), so that members whom the server shows different logs find out
// (docs/key-transparency.md, "Heads inside conversations"). Shown to no one.
inline constexpr size_t kDirectoryHeadSize = 145;  // kt::kGossipSize

struct DirectoryHeadContent {
  static constexpr AppContentKind tls_tag = AppContentKind::directory_head;
  Bytes gossip;
  SOTTO_TLS_FIELDS(gossip)
};

// ---- file attachments (docs/attachments.md) ---------------------------------------------

inline constexpr size_t kFileIdSize = 16;          // the server's file id
inline constexpr size_t kFileKeySize = 32;         // crypto::kAttachmentKeySize
inline constexpr size_t kFileHashSize = 32;        // SHA-256
inline constexpr size_t kMaxFileNameBytes = 255;   // what most file systems take
inline constexpr size_t kMaxMediaTypeBytes = 127;  // RFC 6838's limit per name part, roughly
// The largest plaintext a file message may announce: the server's default file limit.
inline constexpr uint64_t kMaxFileBytes = 100ull * 1024 * 1024;

// An encrypted file that the sender uploaded; the server holds only its ciphertext.
// ciphertext_sha256 is the hash of the uploaded blob, checked before anything is decrypted,
// so that a blob the server (or anyone) changed or swapped is refused whole.
struct FileContent {
  static constexpr AppContentKind tls_tag = AppContentKind::file;
  Bytes file_id;                       // kFileIdSize
  SecureBytes key;                     // kFileKeySize, fresh for this file
  Bytes ciphertext_sha256;             // kFileHashSize
  uint64_t size = 0;                   // plaintext bytes, at most kMaxFileBytes
  std::string name;                    // a file name, no directories (is_valid_file_name)
  std::string media_type;              // "type/subtype"
  std::optional<std::string> caption;  // UTF-8, at most kMaxTextBytes
  SOTTO_TLS_FIELDS(file_id, key, ciphertext_sha256, size, name, media_type, caption)
};

// A name that is safe to create in a directory: 1 to kMaxFileNameBytes bytes of UTF-8, no
// '/' or '\\', no control characters, not "." or "..", not starting with '.'.
bool is_valid_file_name(std::string_view name);
// Makes a valid file name from any string (a local path's last part, a received name):
// separators and control characters become '_', leading dots are dropped, an over-long
// name is cut at a character boundary (keeping its extension), an empty one becomes "file".
std::string sanitize_file_name(std::string_view name);
// "type/subtype" of RFC 6838's restricted-name characters.
bool is_valid_media_type(std::string_view media_type);

// A group conversation's shared settings, sent by the member who creates or changes the group
// (after each commit that adds members, so that those who join learn them too).
inline constexpr size_t kMaxGroupNameBytes = 256;

struct GroupMetadataContent {
  static constexpr AppContentKind tls_tag = AppContentKind::group_metadata;
  std::string name;  // UTF-8, 1 to kMaxGroupNameBytes bytes, no C0 or C1 control characters
  SOTTO_TLS_FIELDS(name)
};

using AppContent =
    std::variant<TextContent, ReceiptContent, GroupMetadataContent, FileContent, EditContent,
                 DeleteContent, ConversationSettingsContent, DirectoryHeadContent>;

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
// kMaxTextBytes, an unknown receipt kind, a receipt naming over kMaxListedMessages ids, an
// edit whose target id has the wrong size, a delete naming no id or over kMaxListedMessages,
// a disappearing timer over kMaxDisappearAfterS, a directory head of another size than
// kDirectoryHeadSize, a file message whose id, key or hash has the wrong size, whose size is over kMaxFileBytes or whose name, media type or caption is not valid,
// a group name that check_group_name refuses, and the codec's errors otherwise.
Result<AppMessage> decode_app_message(BytesView bytes);

// Errc::invalid_value unless `name` is UTF-8, 1 to kMaxGroupNameBytes bytes long, and free of
// control characters (a name is printed on terminals).
Result<void> check_group_name(std::string_view name);

}  // namespace sotto::client
