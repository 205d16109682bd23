// The delivery service: a Send is written durably to every recipient device's queue, then
// acknowledged, then pushed to the recipients that are connected; the others get a
// content-free wake-up and fetch later. A device deletes what it has stored by acking it.
#include "services/delivery.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "server_state.h"
#include "services/delivery_internal.h"
#include "sotto/crypto/primitives.h"
#include "sotto/store/store.h"

namespace sotto::server {

namespace delivery {

DeliveryMetrics& metrics() {
  static DeliveryMetrics instance;
  return instance;
}

std::string DeliveryMetrics::to_prometheus() const {
  std::ostringstream out;
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    out << "# HELP " << name << ' ' << help << '\n'
        << "# TYPE " << name << " counter\n"
        << name << ' ' << value << '\n';
  };
  counter("sottod_messages_accepted_total", "Sends written to their recipients' queues.",
          messages_accepted.load());
  counter("sottod_messages_delivered_live_total",
          "Queued copies pushed at once to a connected device.", delivered_live.load());
  counter("sottod_messages_queued_offline_total", "Queued copies for a device with no connection.",
          queued_offline.load());
  counter("sottod_messages_acked_total", "Queued copies deleted by their device's ack.",
          acked.load());
  counter("sottod_key_packages_claimed_total", "Key packages handed out by claims.",
          key_packages_claimed.load());
  return out.str();
}

Result<void> require_device(const Caller& caller) {
  if (!caller.authenticated() || !caller.account_id) {
    return Error(Errc::unauthenticated, "this request needs an authenticated device");
  }
  return success();
}

}  // namespace delivery

namespace {

Result<void> check_send(const proto::Send& request, size_t max_message_bytes) {
  if (request.message_id.size() != proto::kMessageIdSize) {
    return Error(Errc::invalid_argument,
                 "message_id must be " + std::to_string(proto::kMessageIdSize) + " bytes");
  }
  if (request.recipients.empty() || request.recipients.size() > delivery::kMaxRecipients) {
    return Error(Errc::invalid_argument,
                 "1 to " + std::to_string(delivery::kMaxRecipients) + " recipients");
  }
  std::set<BytesView, decltype([](BytesView a, BytesView b) {
             return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
           })>
      seen;
  for (const auto& recipient : request.recipients) {
    if (recipient.size() != proto::kIdSize) {
      return Error(Errc::invalid_argument,
                   "a recipient device id must be " + std::to_string(proto::kIdSize) + " bytes");
    }
    if (!seen.insert(recipient).second) {
      return Error(Errc::invalid_argument, "a recipient is listed twice");
    }
  }
  const size_t max_payload = max_message_bytes > delivery::kPayloadOverhead
                                 ? max_message_bytes - delivery::kPayloadOverhead
                                 : 0;
  if (request.payload.size() > max_payload) {
    return Error(Errc::too_large, "payload of " + std::to_string(request.payload.size()) +
                                      " bytes; the limit is " + std::to_string(max_payload));
  }
  if (request.commit && request.commit->group_id.empty()) {
    return Error(Errc::invalid_argument, "a commit needs its group id");
  }
  return success();
}

std::shared_ptr<const std::string> message_event(uint64_t seq, uint64_t received_at,
                                                 const Bytes& payload) {
  proto::ServerFrame frame{proto::Event{proto::MessageEvent{{seq, received_at, payload}}}};
  const Bytes encoded = proto::encode(frame);
  return std::make_shared<const std::string>(encoded.begin(), encoded.end());
}

}  // namespace

void handle_send(ServerState& state, const Caller& caller, proto::Send request, Reply reply) {
  if (auto ok = delivery::require_device(caller); !ok.ok()) return reply(std::move(ok).error());
  if (auto ok = check_send(request, state.config().limits.max_message_bytes); !ok.ok()) {
    return reply(std::move(ok).error());
  }
  const Bytes& account_id = *caller.account_id;
  if (!state.rate_limiter().allow(
          "sends",
          std::string_view(reinterpret_cast<const char*>(account_id.data()), account_id.size()))) {
    return reply(Error(Errc::rate_limited, "too many messages; try again in a minute"));
  }

  store::Envelope envelope;
  envelope.sender_device = *caller.device_id;
  envelope.message_id = std::move(request.message_id);
  envelope.recipients = std::move(request.recipients);
  if (request.commit) {
    // The server needs only to tell groups apart, not to know them.
    envelope.commit =
        store::CommitOrder{crypto::sha256(request.commit->group_id), request.commit->epoch};
  }
  envelope.received_at = delivery::wall_clock_ms();
  const auto ttl_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(state.config().delivery.message_ttl)
          .count();
  envelope.expires_at = envelope.received_at + static_cast<uint64_t>(ttl_ms);

  // The payload stays with the callback for the live pushes; the store gets its own copy.
  auto payload = std::make_shared<const Bytes>(envelope.payload = std::move(request.payload));
  const uint64_t received_at = envelope.received_at;
  // The state outlives the pending write: the store belongs to it and finishes its jobs
  // before it goes, and a session's Reply keeps that session, and so the state, alive.
  ServerState* shared = &state;
  state.store().enqueue(
      std::move(envelope), [shared, payload, received_at,
                            reply = std::move(reply)](Result<store::EnqueueResult> result) {
        if (!result.ok()) {
          if (result.error().code() == Errc::internal) {
            spdlog::error("delivery: enqueue failed: {}", result.error().message());
          }
          return reply(std::move(result).error());
        }
        // Acknowledged only now that every copy is durable; the sender may forget it.
        reply(proto::ResponseBody{proto::SentResponse{result->accepted_at}});
        if (result->repeat) return;  // its copies went out the first time
        auto& counters = delivery::metrics();
        counters.messages_accepted.fetch_add(1);
        // This may run on the store's writer thread: a frame is encoded only for a device
        // that is connected, and a wake-up is only handed over.
        for (const auto& delivered : result->deliveries) {
          if (shared->live().is_live(delivered.device_id) &&
              shared->live().send(delivered.device_id,
                                  message_event(delivered.seq, received_at, *payload))) {
            counters.delivered_live.fetch_add(1);
          } else {
            counters.queued_offline.fetch_add(1);
            if (shared->on_offline_delivery) shared->on_offline_delivery(delivered.device_id);
          }
        }
      });
}

void handle_fetch(ServerState& state, const Caller& caller, proto::Fetch request, Reply reply) {
  if (auto ok = delivery::require_device(caller); !ok.ok()) return reply(std::move(ok).error());
  const uint32_t limit = std::clamp<uint32_t>(request.limit, 1, delivery::kMaxFetch);
  // One more than asked for tells whether more remain without a second query.
  auto stored = state.store().fetch(*caller.device_id, request.after_seq, limit + 1,
                                    delivery::wall_clock_ms());
  if (!stored.ok()) return reply(std::move(stored).error());

  // The response is one WebSocket message: it stops early rather than grow past the limit.
  // The first message always fits, since send() left room for this framing.
  const size_t max_bytes = state.config().limits.max_message_bytes;
  size_t bytes = delivery::kFetchResponseOverhead;
  proto::MessagesResponse response;
  for (auto& message : *stored) {
    const size_t cost = delivery::kQueuedMessageOverhead + message.payload.size();
    if (response.messages.size() == limit ||
        (!response.messages.empty() && bytes + cost > max_bytes)) {
      response.more = 1;
      break;
    }
    bytes += cost;
    response.messages.push_back({message.seq, message.received_at, std::move(message.payload)});
  }
  reply(proto::ResponseBody{std::move(response)});
}

void handle_ack(ServerState& state, const Caller& caller, proto::Ack request, Reply reply) {
  if (auto ok = delivery::require_device(caller); !ok.ok()) return reply(std::move(ok).error());
  if (request.seqs.size() > delivery::kMaxAckSeqs) {
    return reply(Error(Errc::invalid_argument,
                       "at most " + std::to_string(delivery::kMaxAckSeqs) + " seqs per ack"));
  }
  // Only the caller's own queue: a device cannot delete what was queued for another.
  // Answered once the deletion is committed, without holding this thread meanwhile.
  state.store().ack_async(*caller.device_id, std::move(request.seqs),
                          [reply = std::move(reply)](Result<uint64_t> deleted) {
                            if (!deleted.ok()) return reply(std::move(deleted).error());
                            delivery::metrics().acked.fetch_add(*deleted);
                            reply(proto::ResponseBody{proto::EmptyResponse{}});
                          });
}

}  // namespace sotto::server
