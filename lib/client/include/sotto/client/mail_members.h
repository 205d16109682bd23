// Who is in an e-mail group, as Delta Chat settles it (sans-IO). Every member keeps, for each
// address, when it was last added and when last removed; a group mail carries the timestamps
// of its To members (their additions) and of its past members (their removals) in
// Chat-Group-Member-Timestamps, and the receiver keeps the later of each. An address is a
// member when its addition is not older than its removal. So two members who change the
// group at the same time, or mail that arrives out of order, leave every device with the
// same members. Removed members are remembered for 60 days (Chat-Group-Past-Members).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/client/client_store.h"

namespace sotto::client {

inline constexpr uint64_t kPastMemberSeconds = uint64_t{60} * 24 * 3600;
// How far in the future a timestamp may lie (clocks differ); later ones count as this.
inline constexpr uint64_t kMemberClockTolerance = 60;

// When `address` was added to `c` (s), 0 when not known or not a member.
uint64_t member_added_at(const Conversation& c, std::string_view address);

// The time to give a change made now: `now`, or a second past the group's latest change when
// that is not earlier, so that changes one after another (in the same second) keep their
// order everywhere.
uint64_t next_member_time(const Conversation& c, uint64_t now);

// Makes `address` a member since `when` (taking it off the past members), or a past member
// since `when`.
void add_member(Conversation& c, const std::string& address, uint64_t when);
void remove_member(Conversation& c, const std::string& address, uint64_t when);

// What a group mail from `self` says of the members at `now`: To (the members but `self`),
// the past members removed in the last 60 days, and the timestamps of both, in that order.
struct MemberHeaders {
  std::vector<std::string> to;
  std::vector<std::string> past;
  std::string timestamps;  // space-separated seconds
};
MemberHeaders member_headers(const Conversation& c, const std::string& self, uint64_t now);

// Applies a member's group mail: `to` and `past` as the mail lists them, `timestamps` its
// Chat-Group-Member-Timestamps. The sender's own entry in `to` is skipped (`sender`). Each
// address takes the mail's timestamp only when it is later than what is known (an addition
// also not older than a removal). Returns false, changing nothing, when the timestamps are
// not one number per address. `changed` says whether anything changed.
bool apply_member_timestamps(Conversation& c, const std::vector<std::string>& to,
                             const std::vector<std::string>& past, std::string_view timestamps,
                             const std::string& sender, uint64_t now, bool& changed);

}  // namespace sotto::client
