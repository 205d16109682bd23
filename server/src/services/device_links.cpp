#include "services/device_links.h"

#include <spdlog/spdlog.h>

#include "server_state.h"
#include "services/accounts.h"
#include "services/mailer.h"
#include "sotto/crypto/primitives.h"

namespace sotto::server {
namespace {

// Slots open at once, over all accounts: one per account, so this bounds memory only against
// a flood of accounts.
constexpr size_t kMaxSlots = 100000;

Error no_slot() {
  return Error(Errc::not_found, "no such link slot (expired, used or closed)");
}

uint64_t seconds_now() {
  return now_ms() / 1000;
}

}  // namespace

Result<LinkSlots::Opened> LinkSlots::open(const Bytes& account_id, Bytes verifier, uint64_t now_s) {
  if (verifier.size() != proto::kLinkVerifierSize) {
    return Error(Errc::invalid_argument, "a link verifier is 32 bytes");
  }
  std::lock_guard lock(mutex_);
  prune(now_s);
  for (auto it = slots_.begin(); it != slots_.end();) {
    it = it->second.account_id == account_id ? slots_.erase(it) : std::next(it);
  }
  if (slots_.size() >= kMaxSlots) return Error(Errc::unavailable, "too many link slots open");
  Bytes id;
  do {
    id = crypto::random_bytes(proto::kLinkSlotIdSize);
  } while (slots_.count(id) != 0);
  Slot slot;
  slot.account_id = account_id;
  slot.verifier = std::move(verifier);
  slot.expires_at = now_s + proto::kLinkSlotLifetimeS;
  slots_.emplace(id, std::move(slot));
  return Opened{std::move(id), now_s + proto::kLinkSlotLifetimeS};
}

LinkSlots::Slot* LinkSlots::find(const Bytes& slot_id, uint64_t now_s) {
  auto it = slots_.find(slot_id);
  if (it == slots_.end()) return nullptr;
  if (it->second.expires_at <= now_s) {
    slots_.erase(it);
    return nullptr;
  }
  return &it->second;
}

Error LinkSlots::refuse(const Bytes& slot_id, Slot& slot) {
  if (++slot.failures >= proto::kMaxLinkAttempts) {
    slots_.erase(slot_id);
    return Error(Errc::authentication_failed,
                 "the link code does not match; the slot is closed after too many tries");
  }
  return Error(Errc::authentication_failed, "the link code does not match");
}

Result<void> LinkSlots::post(const Bytes& slot_id, Bytes sealed, BytesView mac, uint64_t now_s) {
  if (sealed.empty() || sealed.size() > proto::kMaxLinkSealedBytes) {
    return Error(Errc::invalid_argument, "a link post is 1-1024 bytes");
  }
  std::lock_guard lock(mutex_);
  Slot* slot = find(slot_id, now_s);
  if (slot == nullptr) return no_slot();
  // hmac_sha256_verify compares in constant time: the MAC proves knowledge of the secret.
  if (!crypto::hmac_sha256_verify(slot->verifier, proto::link_post_mac_input(slot_id, sealed),
                                  mac)) {
    return refuse(slot_id, *slot);
  }
  if (slot->post) return Error(Errc::already_exists, "this link slot has its device already");
  slot->post = std::move(sealed);
  return success();
}

Result<std::optional<Bytes>> LinkSlots::read_post(const Bytes& account_id, const Bytes& slot_id,
                                                  uint64_t now_s) {
  std::lock_guard lock(mutex_);
  Slot* slot = find(slot_id, now_s);
  // Another account's slot reads as absent, as another account's device does.
  if (slot == nullptr || slot->account_id != account_id) return no_slot();
  return slot->post;
}

Result<void> LinkSlots::answer(const Bytes& account_id, const Bytes& slot_id, Bytes sealed,
                               uint64_t now_s) {
  if (sealed.empty() || sealed.size() > proto::kMaxLinkSealedBytes) {
    return Error(Errc::invalid_argument, "a link answer is 1-1024 bytes");
  }
  std::lock_guard lock(mutex_);
  Slot* slot = find(slot_id, now_s);
  if (slot == nullptr || slot->account_id != account_id) return no_slot();
  if (!slot->post) return Error(Errc::forbidden, "no device has posted to this link slot yet");
  if (slot->answer) return Error(Errc::already_exists, "this link slot has its answer already");
  slot->answer = std::move(sealed);
  return success();
}

Result<std::optional<Bytes>> LinkSlots::read_answer(const Bytes& slot_id, BytesView mac,
                                                    uint64_t now_s) {
  std::lock_guard lock(mutex_);
  Slot* slot = find(slot_id, now_s);
  if (slot == nullptr) return no_slot();
  if (!crypto::hmac_sha256_verify(slot->verifier, proto::link_answer_mac_input(slot_id), mac)) {
    return refuse(slot_id, *slot);
  }
  std::optional<Bytes> answer = slot->answer;
  if (answer) slots_.erase(slot_id);  // single use: the link is done
  return answer;
}

size_t LinkSlots::size() {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

void LinkSlots::prune(uint64_t now_s) {
  for (auto it = slots_.begin(); it != slots_.end();) {
    it = it->second.expires_at <= now_s ? slots_.erase(it) : std::next(it);
  }
}

// ---- handlers ------------------------------------------------------------------------------

void handle_open_link(ServerState& state, const Caller& caller, proto::OpenLink request,
                      Reply reply) {
  auto opened =
      state.link_slots().open(*caller.account_id, std::move(request.verifier), seconds_now());
  if (!opened) return reply(std::move(opened).error());
  spdlog::info("devices: account {} opened a link slot", account_log_tag(*caller.account_id));
  reply(
      proto::ResponseBody(proto::LinkSlotResponse{std::move(opened->slot_id), opened->expires_at}));
}

void handle_post_link(ServerState& state, const Caller& caller, proto::PostLink request,
                      Reply reply) {
  // Each post may be a guess at a code: limited per address like logins.
  if (!state.rate_limiter().allow("login", caller.ip)) {
    return reply(Error(Errc::rate_limited, "too many attempts; try again later"));
  }
  auto posted = state.link_slots().post(request.slot_id, std::move(request.sealed), request.mac,
                                        seconds_now());
  if (!posted) return reply(std::move(posted).error());
  reply(proto::ResponseBody(proto::EmptyResponse{}));
}

void handle_read_link_post(ServerState& state, const Caller& caller, proto::ReadLinkPost request,
                           Reply reply) {
  auto post = state.link_slots().read_post(*caller.account_id, request.slot_id, seconds_now());
  if (!post) return reply(std::move(post).error());
  reply(proto::ResponseBody(proto::LinkSealedResponse{std::move(post).value()}));
}

void handle_answer_link(ServerState& state, const Caller& caller, proto::AnswerLink request,
                        Reply reply) {
  auto answered = state.link_slots().answer(*caller.account_id, request.slot_id,
                                            std::move(request.sealed), seconds_now());
  if (!answered) return reply(std::move(answered).error());
  reply(proto::ResponseBody(proto::EmptyResponse{}));
}

void handle_read_link_answer(ServerState& state, const Caller& caller,
                             proto::ReadLinkAnswer request, Reply reply) {
  (void)caller;
  auto answer = state.link_slots().read_answer(request.slot_id, request.mac, seconds_now());
  if (!answer) return reply(std::move(answer).error());
  reply(proto::ResponseBody(proto::LinkSealedResponse{std::move(answer).value()}));
}

}  // namespace sotto::server
