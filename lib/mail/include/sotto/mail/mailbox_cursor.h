// Where reading a mailbox got to, kept by the client between runs so that a restart neither
// loses nor repeats a message: the mailbox's UIDVALIDITY and the first UID not yet taken
// (RFC 9051 section 2.3.1.1). When UIDVALIDITY changes the old UIDs name nothing any more and
// reading starts again from the first message; what was already taken is then recognised by
// its Message-ID, not by its UID.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sotto/core/result.h"

namespace sotto::mail {

struct MailboxCursor {
  uint32_t uid_validity = 0;  // 0: the mailbox was never read
  // Every message below it was taken; 2^32 once the last UID a mailbox can give was.
  uint64_t next_uid = 1;

  bool operator==(const MailboxCursor&) const = default;
};

// What to fetch now that SELECT reported `uid_validity`.
struct FetchPlan {
  uint64_t first_uid = 1;  // over 2^32 - 1: there is nothing left to fetch
  // The mailbox is not the one the cursor was about (new UIDVALIDITY): start from the first
  // message, and tell the caller, who drops its duplicates by Message-ID.
  bool restarted = false;
};

FetchPlan plan_fetch(const MailboxCursor& cursor, uint32_t uid_validity);

// The cursor once the message `uid` of the mailbox `uid_validity` is taken (stored by the
// client). UIDs only grow, so a lower one leaves the cursor where it is.
MailboxCursor advance(const MailboxCursor& cursor, uint32_t uid_validity, uint32_t uid);

// "imap-cursor-v1 <uidvalidity> <next uid>", for the client's store; decode refuses anything
// else (Errc::invalid_value), so that a damaged record is noticed rather than read as zero.
std::string encode(const MailboxCursor& cursor);
Result<MailboxCursor> decode_cursor(std::string_view text);

}  // namespace sotto::mail
