#include "sotto/client/app_message.h"

#include <string_view>
#include <utility>

#include "sotto/kt/directory_proofs.h"
#include "sotto/proto/protocol.h"

namespace sotto::client {

static_assert(kDirectoryHeadSize == kt::kGossipSize);

namespace {

Result<void> check_size(BytesView value, size_t size, const char* what) {
  if (value.size() != size) {
    return Error(Errc::invalid_value,
                 std::string(what) + " is not " + std::to_string(size) + " bytes");
  }
  return success();
}

Result<void> check_id(const Bytes& id, const char* what) {
  return check_size(id, kMessageIdSize, what);
}

// The code point that starts at s[i] and its length in bytes; length 0 for a byte that
// starts no valid UTF-8 sequence (overlong forms and surrogates included).
std::pair<uint32_t, size_t> code_point_at(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t lead = byte(i);
  if (lead < 0x80) return {lead, 1};
  size_t length = 0;
  uint32_t cp = 0;
  uint8_t low = 0x80, high = 0xbf;  // the second byte's range
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    cp = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    cp = lead & 0x0f;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    cp = lead & 0x07;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return {0, 0};
  }
  if (i + length > s.size()) return {0, 0};
  for (size_t k = 1; k < length; ++k) {
    const uint8_t b = byte(i + k);
    if (b < (k == 1 ? low : 0x80) || b > (k == 1 ? high : 0xbf)) return {0, 0};
    cp = (cp << 6) | (b & 0x3f);
  }
  return {cp, length};
}

// What a file name may not hold: directory separators, C0 and C1 controls, and the
// direction marks that make "gpj.exe" look like "exe.jpg".
bool forbidden_in_file_name(uint32_t cp) {
  return cp < 0x20 || cp == '/' || cp == '\\' || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e ||
         cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

bool restricted_name(std::string_view part) {
  if (part.empty() || part.size() > 63) return false;
  for (size_t i = 0; i < part.size(); ++i) {
    const char c = part[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum) continue;
    if (i == 0 || std::string_view("!#$&-^_.+").find(c) == std::string_view::npos) return false;
  }
  return true;
}

Result<void> check_file(const FileContent& file) {
  SOTTO_TRY(check_size(file.file_id, kFileIdSize, "file id"));
  SOTTO_TRY(check_size(file.key, kFileKeySize, "file key"));
  SOTTO_TRY(check_size(file.ciphertext_sha256, kFileHashSize, "file hash"));
  if (file.size > kMaxFileBytes) {
    return Error(Errc::invalid_value, "a file over " + std::to_string(kMaxFileBytes) + " bytes");
  }
  if (!is_valid_file_name(file.name)) {
    return Error(Errc::invalid_value,
                 "a file name that is empty, too long, not UTF-8, or holds a path separator, "
                 "a control character or a leading dot");
  }
  if (!is_valid_media_type(file.media_type)) {
    return Error(Errc::invalid_value, "a media type that is not type/subtype");
  }
  if (file.caption) {
    if (file.caption->size() > kMaxTextBytes) {
      return Error(Errc::invalid_value, "caption over " + std::to_string(kMaxTextBytes) + " bytes");
    }
    if (!proto::is_valid_utf8(*file.caption)) {
      return Error(Errc::invalid_value, "caption is not UTF-8");
    }
  }
  return success();
}

Result<void> check_text(std::string_view body, const char* what) {
  if (body.size() > kMaxTextBytes) {
    return Error(Errc::invalid_value,
                 std::string(what) + " over " + std::to_string(kMaxTextBytes) + " bytes");
  }
  if (!proto::is_valid_utf8(body))
    return Error(Errc::invalid_value, std::string(what) + " is not UTF-8");
  return success();
}

Result<void> check(const AppMessage& message) {
  SOTTO_TRY(check_id(message.message_id, "message id"));
  if (const auto* text = std::get_if<TextContent>(&message.content)) {
    SOTTO_TRY(check_text(text->body, "text body"));
    if (text->reply_to) SOTTO_TRY(check_id(*text->reply_to, "reply_to"));
  } else if (const auto* receipt = std::get_if<ReceiptContent>(&message.content)) {
    if (receipt->kind != ReceiptKind::delivered && receipt->kind != ReceiptKind::read) {
      return Error(Errc::invalid_value, "unknown receipt kind");
    }
    if (receipt->message_ids.size() > kMaxListedMessages) {
      return Error(Errc::invalid_value, "a receipt for too many messages");
    }
    for (const auto& id : receipt->message_ids) SOTTO_TRY(check_id(id, "receipt message id"));
  } else if (const auto* edit = std::get_if<EditContent>(&message.content)) {
    SOTTO_TRY(check_id(edit->message_id, "edited message id"));
    SOTTO_TRY(check_text(edit->body, "edited body"));
  } else if (const auto* deletion = std::get_if<DeleteContent>(&message.content)) {
    if (deletion->message_ids.empty() || deletion->message_ids.size() > kMaxListedMessages) {
      return Error(Errc::invalid_value, "a delete of no message or of too many");
    }
    for (const auto& id : deletion->message_ids) SOTTO_TRY(check_id(id, "deleted message id"));
  } else if (const auto* settings = std::get_if<ConversationSettingsContent>(&message.content)) {
    if (settings->disappear_after_s > kMaxDisappearAfterS) {
      return Error(Errc::invalid_value, "a disappearing timer over a year");
    }
  } else if (const auto* metadata = std::get_if<GroupMetadataContent>(&message.content)) {
    SOTTO_TRY(check_group_name(metadata->name));
  } else if (const auto* file = std::get_if<FileContent>(&message.content)) {
    SOTTO_TRY(check_file(*file));
  } else if (const auto* head = std::get_if<DirectoryHeadContent>(&message.content)) {
    SOTTO_TRY(check_size(head->gossip, kDirectoryHeadSize, "a directory head"));
  }
  return success();
}

}  // namespace

Result<void> check_group_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxGroupNameBytes) {
    return Error(Errc::invalid_value,
                 "a group name of 1 to " + std::to_string(kMaxGroupNameBytes) + " bytes");
  }
  if (!proto::is_valid_utf8(name)) return Error(Errc::invalid_value, "a group name not in UTF-8");
  for (size_t i = 0; i < name.size(); ++i) {
    const auto u = static_cast<unsigned char>(name[i]);
    // C0 controls, DEL, and C1 controls (U+0080-U+009F, encoded 0xC2 0x80-0x9F).
    const bool c1 = u == 0xc2 && i + 1 < name.size() &&
                    static_cast<unsigned char>(name[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(name[i + 1]) <= 0x9f;
    if (u < 0x20 || u == 0x7f || c1) {
      return Error(Errc::invalid_value, "a group name with a control character");
    }
  }
  return success();
}

std::string sanitize_file_name(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size();) {
    const auto [cp, length] = code_point_at(name, i);
    if (length == 0 || forbidden_in_file_name(cp)) {
      out += '_';
      i += length == 0 ? 1 : length;
      continue;
    }
    // No hidden files, and no "." or "..".
    if (out.empty() && cp == '.') {
      ++i;
      continue;
    }
    out.append(name.substr(i, length));
    i += length;
  }
  if (out.size() > kMaxFileNameBytes) {
    // Keep a short extension; cut the stem at a character boundary.
    const size_t dot = out.rfind('.');
    const std::string extension =
        dot != std::string::npos && out.size() - dot <= 16 ? out.substr(dot) : std::string();
    size_t cut = kMaxFileNameBytes - extension.size();
    while (cut > 0 && (static_cast<uint8_t>(out[cut]) & 0xc0) == 0x80) --cut;
    out = out.substr(0, cut) + extension;
  }
  if (out.empty()) out = "file";
  return out;
}

bool is_valid_file_name(std::string_view name) {
  return !name.empty() && sanitize_file_name(name) == name;
}

bool is_valid_media_type(std::string_view media_type) {
  if (media_type.size() > kMaxMediaTypeBytes) return false;
  const size_t slash = media_type.find('/');
  if (slash == std::string_view::npos) return false;
  return restricted_name(media_type.substr(0, slash)) &&
         restricted_name(media_type.substr(slash + 1));
}

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
