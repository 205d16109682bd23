#include "online.h"

#include <algorithm>
#include <utility>

#include "sotto/core/encoding.h"

namespace sotto::cli {

using namespace std::chrono_literals;

namespace {

client::WebSocketOptions transport_options(const ServerPins& server) {
  client::WebSocketOptions o;
  static_cast<client::TlsEndpoint&>(o) = tls_endpoint(server);
  return o;
}

}  // namespace

client::TlsEndpoint tls_endpoint(const ServerPins& server) {
  client::TlsEndpoint e;
  e.host = server.host;
  e.port = server.port;
  e.pinned_fingerprint = server.fingerprint;
  return e;
}

client::EngineConfig engine_config(const ServerPins& server, std::string device_name,
                                   bool read_receipts) {
  client::EngineConfig config;
  config.send_read_receipts = read_receipts;
  config.directory_keys = {server.vrf_key, server.directory_key};
  config.device_name = std::move(device_name);
  return config;
}

Online::Online(const ServerPins& server, client::ClientStore& store, const Output& out,
               std::string device_name, bool read_receipts)
    : out_(out),
      transport_(ioc_, transport_options(server)),
      engine_(engine_config(server, std::move(device_name), read_receipts), store, transport_, env_,
              *this) {
  transport_.set_listener(this);
}

Online::~Online() {
  transport_.set_listener(nullptr);
}

Result<void> Online::connect(std::chrono::seconds limit) {
  transport_.connect();
  const bool account = engine_.has_identity();
  const size_t errors_before = errors_.size();
  const bool settled = run_until(
      [&] {
        const auto state = engine_.state();
        if (!account) return state != client::ConnectionState::disconnected;
        if (state == client::ConnectionState::ready) return true;
        // Authentication failed: the engine is back to merely connected, and said why.
        return state == client::ConnectionState::connected && errors_.size() > errors_before;
      },
      limit);
  if (!settled) return lost_or_timeout();
  if (account && engine_.state() != client::ConnectionState::ready) {
    Error error = errors_.back();
    errors_.pop_back();
    return error;
  }
  return success();
}

bool Online::run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (lost_ || session_ended_ || std::chrono::steady_clock::now() >= deadline) return false;
    ioc_.restart();
    ioc_.run_for(20ms);
  }
  return true;
}

Error Online::lost_or_timeout() const {
  if (session_ended_) {
    return Error(Errc::unauthenticated, "the server ended this device's session (" +
                                            std::string(errc_name(*session_ended_)) + ")");
  }
  if (lost_) return Error(Errc::unavailable, "the connection to the server was lost or refused");
  return Error(Errc::unavailable, "the server did not answer in time");
}

void Online::finish() {
  if (!lost_) {
    (void)run_until([&] { return engine_.idle(); }, 15s);
    transport_.close();
    (void)run_until([&] { return lost_; }, 2s);
  }
  for (const auto& error : errors_) out_.warn(error);
  errors_.clear();
}

void Online::on_connected() {
  engine_.on_connected();
}

void Online::on_disconnected() {
  lost_ = true;
  engine_.on_disconnected();
}

void Online::on_frame(BytesView frame) {
  engine_.on_frame(frame);
}

void Online::on_message(const client::StoredMessage& message) {
  if (on_stored) on_stored(message);
}

void Online::on_message_changed(const client::StoredMessage& message) {
  // Receipts and read marks change messages too; only a sender's edit or delete is news.
  if (message.outgoing || (message.edited_at == 0 && !message.deleted)) return;
  auto same = std::find_if(rewritten_.begin(), rewritten_.end(), [&](const auto& m) {
    return m.group_id == message.group_id && m.message_id == message.message_id;
  });
  if (same != rewritten_.end()) rewritten_.erase(same);
  rewritten_.push_back(message);
}

std::vector<client::StoredMessage> Online::take_rewritten() {
  return std::exchange(rewritten_, {});
}

void Online::on_message_expired(const client::StoredMessage& message) {
  ++expired_[message.group_id];
}

void Online::on_delivery_state(BytesView, BytesView message_id, client::DeliveryState state) {
  deliveries_[Bytes(message_id.begin(), message_id.end())] = state;
}

void Online::on_contact_keys_changed(const client::Contact& before, const client::Contact& after) {
  (void)before;
  out_.warn(Error(Errc::unexpected_value,
                  after.username + "'s devices changed in the key directory: check with them "
                                   "that the new keys are theirs (`sotto contacts list`)"));
}

void Online::on_unknown_own_device(const client::ContactDevice& device) {
  out_.warn(Error(Errc::unexpected_value,
                  "a device this device does not know was added to your account (device " +
                      to_hex(device.device_id).substr(0, 8) +
                      "): if it is not yours, revoke it (`sotto devices revoke`) and change "
                      "your password"));
}

void Online::on_directory_split_view(const std::string& reported_by) {
  out_.warn(Error(Errc::split_view,
                  "the server showed " + reported_by +
                      " a key directory that does not agree with yours: it may be serving "
                      "false keys. New contacts and new keys are refused from now on; compare "
                      "safety numbers in person (`sotto verify`) before you trust anything new"));
}

void Online::on_session_ended(Errc reason) {
  session_ended_ = reason;
}

void Online::on_error(const Error& error) {
  errors_.push_back(error);
}

}  // namespace sotto::cli
