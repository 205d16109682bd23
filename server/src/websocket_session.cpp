#include "websocket_session.h"

#include <spdlog/spdlog.h>

#include "account_export.h"
#include "push/push_handlers.h"
#include "services/delivery.h"
#include "services/device_links.h"
#include "services/devices.h"
#include "services/directory.h"
#include "sotto/crypto/primitives.h"

namespace sotto::server {
namespace {

// A client that keeps sending frames that do not decode is broken or probing.
constexpr unsigned kMaxBadFrames = 10;

bool needs_authentication(proto::RequestType type) {
  using T = proto::RequestType;
  switch (type) {
    case T::register_account:
    case T::login:
    case T::auth_challenge:
    case T::auth_device:
    case T::auth_session:
    case T::request_recovery:
    case T::recover_account:
    case T::kt_head:
    case T::kt_lookup:
    case T::kt_history:
    case T::kt_consistency:
    case T::kt_audit:
    case T::push_key:
    case T::post_link:
    case T::read_link_answer:
      return false;
    default:
      return true;
  }
}

uint64_t now_seconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::shared_ptr<const std::string> encode_frame(const proto::ServerFrame& frame) {
  Bytes bytes = proto::encode(frame);
  return std::make_shared<const std::string>(bytes.begin(), bytes.end());
}

}  // namespace

WebSocketSession::WebSocketSession(asio::any_io_executor executor, ConnectionSlot slot,
                                   std::string peer_ip)
    : executor_(std::move(executor)), slot_(std::move(slot)) {
  slot_.state().metrics().websocket_sessions.fetch_add(1);
  caller_.ip = std::move(peer_ip);
}

WebSocketSession::~WebSocketSession() {
  if (caller_.device_id) slot_.state().live().remove(*caller_.device_id, this);
  slot_.state().remove(this);
  slot_.state().metrics().websocket_sessions.fetch_sub(1);
}

void WebSocketSession::register_session() {
  slot_.state().add(this, weak_from_this());
}

void WebSocketSession::on_accept(beast::error_code ec) {
  if (ec) {
    spdlog::debug("websocket: upgrade failed: {}", ec.message());
    return;
  }
  accepted_ = true;
  if (closing_) {
    // shutdown() arrived during the handshake.
    closing_ = false;
    close(websocket::close_code::going_away);
    return;
  }
  do_read();
}

void WebSocketSession::do_read() {
  start_read();
}

void WebSocketSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    if (ec == websocket::error::message_too_big) {
      // Beast has already sent close 1009 (message too big) and torn the connection down.
      spdlog::info("websocket: closed a connection whose message exceeded {} bytes",
                   slot_.state().limits().max_message_bytes);
    } else if (is_ordinary_end(ec)) {
      spdlog::debug("websocket: connection ended: {}", ec.message());
    } else {
      spdlog::debug("websocket: read failed: {}", ec.message());
    }
    return;
  }
  if (!got_binary()) {
    // The protocol is binary; text frames are a client bug or a probe.
    buffer_.consume(buffer_.size());
    close(websocket::close_code::policy_error);
    // Keep reading so that the peer's close reply completes the closing handshake.
    do_read();
    return;
  }
  on_message();
  do_read();
}

void WebSocketSession::on_message() {
  slot_.state().metrics().websocket_messages_in.fetch_add(1);
  auto data = buffer_.data();
  Bytes bytes(static_cast<const uint8_t*>(data.data()),
              static_cast<const uint8_t*>(data.data()) + data.size());
  buffer_.consume(buffer_.size());
  auto frame = proto::decode_client_frame(bytes, slot_.state().limits().max_message_bytes);
  if (!frame) {
    // Undecodable: there is no trustworthy request id to answer with, so 0.
    slot_.state().metrics().bad_frames.fetch_add(1);
    spdlog::debug("websocket: undecodable frame: {}", frame.error().to_string());
    answer(0, proto::error_response(0, frame.error()).body);
    if (++bad_frames_ >= kMaxBadFrames) close(websocket::close_code::policy_error);
    return;
  }
  dispatch(std::move(*frame));
}

void WebSocketSession::dispatch(proto::ClientFrame frame) {
  const uint64_t id = frame.request_id;
  const auto type = static_cast<proto::RequestType>(
      std::visit([](const auto& r) { return static_cast<uint16_t>(r.tls_tag); }, frame.request));
  const std::string_view name = proto::request_name(frame.request);
  const auto start = std::chrono::steady_clock::now();
  if (id <= last_request_id_) {
    return finish(id, type, name, start,
                  Error(Errc::replayed, "request ids must increase within a connection"));
  }
  last_request_id_ = id;
  ServerState& state = slot_.state();
  if (!state.has_store()) {
    return finish(id, type, name, start, Error(Errc::unavailable, "the server has no storage"));
  }
  if (caller_.authenticated() && now_seconds() >= expires_at_) {
    // The session lapsed while the connection stayed open: it must be renewed by logging in
    // or authenticating the device again.
    deauthenticate();
    if (type != proto::RequestType::auth_session) {
      return finish(id, type, name, start, Error(Errc::expired, "the session has expired"));
    }
  }
  if (needs_authentication(type) && !caller_.authenticated()) {
    return finish(id, type, name, start,
                  Error(Errc::unauthenticated, "this request needs an authenticated session"));
  }

  // Handlers may answer from any thread; the answer comes back to this strand.
  Reply reply = [self = shared_from_this(), id, type, name,
                 start](Result<proto::ResponseBody> result) {
    asio::post(self->executor_,
               [self, id, type, name, start, result = std::move(result)]() mutable {
                 self->finish(id, type, name, start, std::move(result));
               });
  };
  const Caller& caller = caller_;
  auto unsupported = [&reply](std::string_view what) {
    reply(Error(Errc::unsupported, std::string(what) + " is not available on this server yet"));
  };
  std::visit(
      [&](auto& r) {
        using R = std::decay_t<decltype(r)>;
        (void)r;  // requests without fields are not read
        if constexpr (std::is_same_v<R, proto::RegisterAccount>) {
          handle_register(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::Login>) {
          handle_login(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::AuthChallenge>) {
          handle_auth_challenge(challenges_, std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::AuthDevice>) {
          handle_auth_device(state, challenges_, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::AuthSession>) {
          handle_auth_session(state, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::Logout>) {
          handle_logout(state, token_hash_, std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::GetProfile>) {
          handle_get_profile(state, caller, std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::UpdateProfile>) {
          handle_update_profile(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::VerifyEmail>) {
          handle_verify_email(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::RequestRecovery>) {
          handle_request_recovery(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::RecoverAccount>) {
          handle_recover_account(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::ChangePassword>) {
          handle_change_password(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::ListDevices>) {
          handle_list_devices(state, caller, std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::AddDevice>) {
          handle_add_device(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::RevokeDevice>) {
          handle_revoke_device(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::OpenLink>) {
          handle_open_link(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::PostLink>) {
          handle_post_link(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::ReadLinkPost>) {
          handle_read_link_post(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::AnswerLink>) {
          handle_answer_link(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::ReadLinkAnswer>) {
          handle_read_link_answer(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::KtHead>) {
          handle_kt_head(state, std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::KtLookup>) {
          handle_kt_lookup(state, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::KtHistory>) {
          handle_kt_history(state, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::KtConsistency>) {
          handle_kt_consistency(state, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::KtAudit>) {
          handle_kt_audit(state, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::UploadKeyPackages>) {
          handle_upload_key_packages(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::ClaimKeyPackages>) {
          handle_claim_key_packages(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::KeyPackageStockRequest>) {
          handle_key_package_stock(state, caller, std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::Send>) {
          handle_send(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::Fetch>) {
          handle_fetch(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::Ack>) {
          handle_ack(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::RegisterPush>) {
          handle_register_push(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::UnregisterPush>) {
          handle_unregister_push(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::PushKey>) {
          if (state.vapid_public_key().empty()) return unsupported(name);
          handle_push_key(state, caller, std::move(r), state.vapid_public_key(), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::ExportAccount>) {
          handle_export_account(state, caller, std::move(r), std::move(reply));
        } else if constexpr (std::is_same_v<R, proto::DeleteAccount>) {
          handle_delete_account(state, caller, std::move(r), std::move(reply));
        } else {
          unsupported(name);
        }
      },
      frame.request);
}

void WebSocketSession::finish(uint64_t request_id, proto::RequestType type, std::string_view name,
                              std::chrono::steady_clock::time_point start,
                              Result<proto::ResponseBody> result) {
  ServerState& state = slot_.state();
  if (result) {
    if (auto* session = std::get_if<proto::SessionResponse>(&*result)) {
      authenticate(*session);
    } else if (type == proto::RequestType::logout) {
      deauthenticate();
    }
  }
  auto outcome = result ? std::string_view("ok") : errc_name(result.error().code());
  proto::ResponseBody body =
      result ? std::move(*result) : proto::error_response(request_id, result.error()).body;
  answer(request_id, std::move(body));
  state.metrics().requests.record(name, outcome, std::chrono::steady_clock::now() - start);
}

void WebSocketSession::answer(uint64_t request_id, proto::ResponseBody body) {
  enqueue(encode_frame(proto::ServerFrame{proto::Response{request_id, std::move(body)}}));
}

void WebSocketSession::authenticate(const proto::SessionResponse& session) {
  if (caller_.device_id && *caller_.device_id != session.device_id) deauthenticate();
  token_hash_ = crypto::sha256(session.token);
  expires_at_ = session.expires_at;
  if (!caller_.device_id) {
    caller_.account_id = session.account_id;
    caller_.device_id = session.device_id;
    slot_.state().live().add(session.device_id, shared_from_this());
  }
}

void WebSocketSession::deauthenticate() {
  if (caller_.device_id) slot_.state().live().remove(*caller_.device_id, this);
  caller_.account_id.reset();
  caller_.device_id.reset();
  token_hash_.clear();
  expires_at_ = 0;
}

void WebSocketSession::end_session(Errc reason) {
  asio::post(executor_, [self = shared_from_this(), reason] {
    self->deauthenticate();
    self->enqueue(encode_frame(
        proto::ServerFrame{proto::Event{proto::SessionEndedEvent{static_cast<uint16_t>(reason)}}}));
    self->close(websocket::close_code::policy_error);
  });
}

void WebSocketSession::send(std::shared_ptr<const std::string> message) {
  asio::post(executor_, [self = shared_from_this(), m = std::move(message)]() mutable {
    self->enqueue(std::move(m));
  });
}

void WebSocketSession::enqueue(std::shared_ptr<const std::string> message) {
  if (closing_ || !accepted_) return;
  queued_bytes_ += message->size();
  queue_.push_back(std::move(message));
  if (queued_bytes_ > slot_.state().limits().max_send_queue_bytes) {
    // The client does not read fast enough. Queuing more would let one slow client hold the
    // server's memory; a close frame could not be sent behind the stuck write, so drop it.
    slot_.state().metrics().websocket_slow_consumer_closes.fetch_add(1);
    spdlog::info("websocket: closed a connection whose send queue exceeded {} bytes",
                 slot_.state().limits().max_send_queue_bytes);
    closing_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    drop_connection();
    return;
  }
  if (!writing_) do_write();
}

void WebSocketSession::do_write() {
  writing_ = true;
  start_write(queue_.front());
}

void WebSocketSession::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (ec) {
    spdlog::debug("websocket: write failed: {}", ec.message());
    return;
  }
  slot_.state().metrics().websocket_messages_out.fetch_add(1);
  queued_bytes_ -= queue_.front().size();
  queue_.pop_front();
  // A close waits until what was queued before it is written (a final SessionEndedEvent).
  if (close_pending_ && queue_.empty()) {
    close_pending_ = false;
    queue_.clear();
    queued_bytes_ = 0;
    start_close(pending_close_);
    return;
  }
  if (!queue_.empty()) do_write();
}

void WebSocketSession::close(websocket::close_code code) {
  if (closing_) return;
  closing_ = true;
  if (writing_) {
    // One write at a time, and a close frame is a write: send it after the one in flight.
    close_pending_ = true;
    pending_close_ = code;
    return;
  }
  queue_.clear();
  queued_bytes_ = 0;
  start_close(code);
}

void WebSocketSession::on_close(beast::error_code ec) {
  if (ec && !is_ordinary_end(ec)) spdlog::debug("websocket: close failed: {}", ec.message());
}

void WebSocketSession::shutdown() {
  asio::post(executor_, [self = shared_from_this()] {
    if (!self->accepted_) {
      self->closing_ = true;  // on_accept closes once the handshake is done
      return;
    }
    self->close(websocket::close_code::going_away);
  });
}

namespace {

// The WebSocket over `Stream`: TlsStream for wss://, PlainStream for ws:// behind a proxy.
template <class Stream>
class WebSocketSessionOver final : public WebSocketSession {
 public:
  WebSocketSessionOver(Stream&& stream, ConnectionSlot slot, std::string peer_ip)
      : WebSocketSession(stream.get_executor(), std::move(slot), std::move(peer_ip)),
        ws_(std::move(stream)) {}

  void run(http::request<http::string_body> request) override {
    // The HTTP session's deadline no longer applies: the WebSocket timeouts take over, and
    // keep-alive pings tell a live idle client from a dead one.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = std::chrono::seconds(10);  // also bounds the closing handshake
    timeout.idle_timeout = limits().idle_timeout;
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, kServerHeader);
      res.set(http::field::sec_websocket_protocol, kSubprotocol);
    }));
    ws_.read_message_max(limits().max_message_bytes);
    ws_.auto_fragment(false);
    ws_.binary(true);
    register_session();
    start_accept(std::move(request));
  }

 private:
  std::shared_ptr<WebSocketSessionOver> shared() {
    return std::static_pointer_cast<WebSocketSessionOver>(shared_from_this());
  }

  void start_accept(http::request<http::string_body> request) override {
    // Beast reads the request during the handshake; it must outlive the operation.
    auto owned = std::make_shared<http::request<http::string_body>>(std::move(request));
    ws_.async_accept(*owned,
                     [self = shared(), owned](beast::error_code ec) { self->on_accept(ec); });
  }
  // Waits for the next message's first frame with an empty buffer, so that an idle connection
  // holds no read buffer of its own (Beast's frame buffer is part of the stream), then reads
  // the message. Beast answers pings and closes while it waits.
  void start_read() override {
    buffer_.shrink_to_fit();  // empty between messages: gives the memory back
    // Zero bytes, at an address that is not null: Beast's UTF-8 check of a text frame does
    // pointer arithmetic on it.
    static char nowhere;
    ws_.async_read_some(
        asio::mutable_buffer(&nowhere, 0), [self = shared()](beast::error_code first, std::size_t) {
          // An empty message is complete already.
          if (first || self->ws_.is_message_done()) return self->on_read(first, 0);
          self->ws_.async_read(
              self->buffer_, [self](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
        });
  }
  bool got_binary() const override { return ws_.got_binary(); }
  void start_write(const std::string& message) override {
    ws_.async_write(asio::buffer(message), [self = shared()](beast::error_code ec, std::size_t n) {
      self->on_write(ec, n);
    });
  }
  void start_close(websocket::close_code code) override {
    ws_.async_close(code, [self = shared()](beast::error_code ec) { self->on_close(ec); });
  }
  void drop_connection() override {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
  }

  websocket::stream<Stream> ws_;
};

}  // namespace

std::shared_ptr<WebSocketSession> make_websocket_session(TlsStream&& stream, ConnectionSlot slot,
                                                         std::string client_ip) {
  return std::make_shared<WebSocketSessionOver<TlsStream>>(std::move(stream), std::move(slot),
                                                           std::move(client_ip));
}

std::shared_ptr<WebSocketSession> make_websocket_session(PlainStream&& stream, ConnectionSlot slot,
                                                         std::string client_ip) {
  return std::make_shared<WebSocketSessionOver<PlainStream>>(std::move(stream), std::move(slot),
                                                             std::move(client_ip));
}

}  // namespace sotto::server
