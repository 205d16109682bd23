#include "sotto/client/mail_members.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace sotto::client {

namespace {

// members_added_at with one entry per member.
void pad(Conversation& c) {
  c.members_added_at.resize(c.members.size(), 0);
}

std::optional<size_t> member_index(const Conversation& c, std::string_view address) {
  const auto at = std::find(c.members.begin(), c.members.end(), address);
  if (at == c.members.end()) return std::nullopt;
  return static_cast<size_t>(at - c.members.begin());
}

std::vector<PastMember>::iterator past_entry(Conversation& c, std::string_view address) {
  return std::find_if(c.past_members.begin(), c.past_members.end(),
                      [&](const PastMember& p) { return p.address == address; });
}

std::optional<std::vector<uint64_t>> parse_timestamps(std::string_view text, uint64_t latest) {
  std::vector<uint64_t> out;
  size_t at = 0;
  while (at < text.size()) {
    if (text[at] == ' ' || text[at] == '\t') {
      ++at;
      continue;
    }
    const size_t end = std::min(text.find_first_of(" \t", at), text.size());
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data() + at, text.data() + end, value);
    if (ec != std::errc() || ptr != text.data() + end) return std::nullopt;
    out.push_back(std::min(value, latest));
    if (out.size() > 10000) return std::nullopt;
    at = end;
  }
  return out;
}

}  // namespace

uint64_t member_added_at(const Conversation& c, std::string_view address) {
  const auto i = member_index(c, address);
  if (!i || *i >= c.members_added_at.size()) return 0;
  return c.members_added_at[*i];
}

uint64_t next_member_time(const Conversation& c, uint64_t now) {
  uint64_t latest = 0;
  for (uint64_t t : c.members_added_at) latest = std::max(latest, t);
  for (const auto& p : c.past_members) latest = std::max(latest, p.removed_at);
  return std::max(now, latest + 1);
}

void add_member(Conversation& c, const std::string& address, uint64_t when) {
  pad(c);
  if (auto past = past_entry(c, address); past != c.past_members.end()) c.past_members.erase(past);
  if (const auto i = member_index(c, address)) {
    c.members_added_at[*i] = when;
    return;
  }
  c.members.push_back(address);
  c.members_added_at.push_back(when);
}

void remove_member(Conversation& c, const std::string& address, uint64_t when) {
  pad(c);
  if (const auto i = member_index(c, address)) {
    c.members.erase(c.members.begin() + static_cast<std::ptrdiff_t>(*i));
    c.members_added_at.erase(c.members_added_at.begin() + static_cast<std::ptrdiff_t>(*i));
  }
  if (auto past = past_entry(c, address); past != c.past_members.end()) {
    past->removed_at = when;
  } else {
    c.past_members.push_back(PastMember{address, when});
  }
}

MemberHeaders member_headers(const Conversation& c, const std::string& self, uint64_t now) {
  MemberHeaders h;
  std::string stamps;
  auto stamp = [&](uint64_t t) { stamps += (stamps.empty() ? "" : " ") + std::to_string(t); };
  for (size_t i = 0; i < c.members.size(); ++i) {
    if (c.members[i] == self) continue;
    h.to.push_back(c.members[i]);
    stamp(i < c.members_added_at.size() ? c.members_added_at[i] : 0);
  }
  for (const auto& p : c.past_members) {
    if (p.address == self || p.removed_at + kPastMemberSeconds < now) continue;
    h.past.push_back(p.address);
    stamp(p.removed_at);
  }
  h.timestamps = std::move(stamps);
  return h;
}

bool apply_member_timestamps(Conversation& c, const std::vector<std::string>& to,
                             const std::vector<std::string>& past, std::string_view timestamps,
                             const std::string& sender, uint64_t now, bool& changed) {
  changed = false;
  const auto stamps = parse_timestamps(timestamps, now + kMemberClockTolerance);
  if (!stamps || stamps->size() != to.size() + past.size()) return false;
  pad(c);
  for (size_t i = 0; i < to.size(); ++i) {
    const uint64_t ts = (*stamps)[i];
    if (to[i] == sender) continue;
    if (const auto m = member_index(c, to[i])) {
      if (ts > c.members_added_at[*m]) {
        c.members_added_at[*m] = ts;
        changed = true;
      }
      continue;
    }
    auto gone = past_entry(c, to[i]);
    if (gone == c.past_members.end() || ts >= gone->removed_at) {
      add_member(c, to[i], ts);
      changed = true;
    }
  }
  for (size_t j = 0; j < past.size(); ++j) {
    const uint64_t ts = (*stamps)[to.size() + j];
    if (const auto m = member_index(c, past[j])) {
      if (ts > c.members_added_at[*m]) {
        remove_member(c, past[j], ts);
        changed = true;
      }
      continue;
    }
    auto gone = past_entry(c, past[j]);
    if (gone == c.past_members.end()) {
      c.past_members.push_back(PastMember{past[j], ts});
      changed = true;
    } else if (ts > gone->removed_at) {
      gone->removed_at = ts;
      changed = true;
    }
  }
  return true;
}

}  // namespace sotto::client
