// Device linking by code: the rendezvous slots through which a new device hands its key to an
// existing device of the account and hears back which account and device id it has become.
//
// Slots live in memory only: they last minutes, hold nothing a restart should keep, and a
// user whose slot is lost opens another. (Several sottod nodes would need them shared, like
// the rate limits.) The server never learns the link code's secret: a slot keeps the
// verifier (a key derived from it) to check the new device's MACs, and sealed bytes it cannot
// open. Time comes in as an argument so that expiry can be tested.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

#include "services/service.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::server {

class LinkSlots {
 public:
  struct Opened {
    Bytes slot_id;
    uint64_t expires_at = 0;  // seconds
  };

  // A new slot for the account, replacing the one it had open.
  Result<Opened> open(const Bytes& account_id, Bytes verifier, uint64_t now_s);
  // The new device's post: not_found (no such slot, expired or closed), authentication_failed
  // (a MAC that does not verify; the slot closes after proto::kMaxLinkAttempts of them),
  // already_exists (the slot has its post).
  Result<void> post(const Bytes& slot_id, Bytes sealed, BytesView mac, uint64_t now_s);
  // The post, for the account that opened the slot (not_found for anyone else).
  Result<std::optional<Bytes>> read_post(const Bytes& account_id, const Bytes& slot_id,
                                         uint64_t now_s);
  // The answer, once; forbidden before there is a post, already_exists after an answer.
  Result<void> answer(const Bytes& account_id, const Bytes& slot_id, Bytes sealed, uint64_t now_s);
  // The answer for the new device; reading it closes the slot.
  Result<std::optional<Bytes>> read_answer(const Bytes& slot_id, BytesView mac, uint64_t now_s);

  size_t size();

 private:
  struct Slot {
    Bytes account_id;
    Bytes verifier;
    uint64_t expires_at = 0;
    uint32_t failures = 0;
    std::optional<Bytes> post;
    std::optional<Bytes> answer;
  };
  // The live slot `slot_id` (expired ones are dropped on the way), or nullptr.
  Slot* find(const Bytes& slot_id, uint64_t now_s);
  // Counts a wrong MAC; closes the slot at the limit.
  Error refuse(const Bytes& slot_id, Slot& slot);
  void prune(uint64_t now_s);

  std::mutex mutex_;
  std::map<Bytes, Slot> slots_;
};

void handle_open_link(ServerState& state, const Caller& caller, proto::OpenLink request,
                      Reply reply);
void handle_post_link(ServerState& state, const Caller& caller, proto::PostLink request,
                      Reply reply);
void handle_read_link_post(ServerState& state, const Caller& caller, proto::ReadLinkPost request,
                           Reply reply);
void handle_answer_link(ServerState& state, const Caller& caller, proto::AnswerLink request,
                        Reply reply);
void handle_read_link_answer(ServerState& state, const Caller& caller,
                             proto::ReadLinkAnswer request, Reply reply);

}  // namespace sotto::server
