#include "sotto/mail/mailbox_cursor.h"

#include <charconv>

namespace sotto::mail {

namespace {

constexpr std::string_view kPrefix = "imap-cursor-v1 ";

constexpr uint64_t kPastLastUid = uint64_t{1} << 32;

// A decimal number without sign or leading zero, at most `max`.
template <class T>
bool read_number(std::string_view text, T& out, uint64_t max) {
  if (text.empty() || text.size() > 10 || (text.size() > 1 && text[0] == '0')) return false;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) return false;
  out = static_cast<T>(value);
  return true;
}

}  // namespace

FetchPlan plan_fetch(const MailboxCursor& cursor, uint32_t uid_validity) {
  if (cursor.uid_validity == 0) return FetchPlan{1, false};
  if (cursor.uid_validity != uid_validity) return FetchPlan{1, true};
  return FetchPlan{cursor.next_uid == 0 ? 1 : cursor.next_uid, false};
}

MailboxCursor advance(const MailboxCursor& cursor, uint32_t uid_validity, uint32_t uid) {
  MailboxCursor next = cursor;
  if (cursor.uid_validity != uid_validity) next = MailboxCursor{uid_validity, 1};
  if (uid >= next.next_uid) next.next_uid = uint64_t{uid} + 1;
  return next;
}

std::string encode(const MailboxCursor& cursor) {
  return std::string(kPrefix) + std::to_string(cursor.uid_validity) + " " +
         std::to_string(cursor.next_uid);
}

Result<MailboxCursor> decode_cursor(std::string_view text) {
  auto bad = [] { return Error(Errc::invalid_value, "not a mailbox cursor"); };
  if (text.substr(0, kPrefix.size()) != kPrefix) return bad();
  text.remove_prefix(kPrefix.size());
  size_t space = text.find(' ');
  if (space == std::string_view::npos) return bad();
  MailboxCursor c;
  if (!read_number(text.substr(0, space), c.uid_validity, UINT32_MAX) ||
      !read_number(text.substr(space + 1), c.next_uid, kPastLastUid) || c.next_uid == 0) {
    return bad();
  }
  return c;
}

}  // namespace sotto::mail
