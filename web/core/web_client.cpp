// The browser's face of the client engine (lib/client), for the web UI. The page owns the
// WebSocket and calls connected / disconnected / frame; the engine's outgoing frames go to
// host.send(Uint8Array), each batch the store applies to host.persist(Uint8Array), and
// whatever the engine tells its observer to host.event(object).
// Operations take a callback `done(error, value)`: error is null or {code, message}, never
// plaintext. Conversations are named by their group id in hex.
//
// Everything here runs on the page's one thread, as the engine wants: JavaScript calls in,
// the engine calls out, no call is reentered from another thread.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "js_bytes.h"
#include "sotto/client/engine.h"
#include "sotto/client/memory_client_store.h"
#include "sotto/client/safety_number.h"
#include "sotto/core/encoding.h"
#include "web_files.h"

namespace sotto::web {
namespace {

using emscripten::val;

val error_value(const Error& error) {
  val e = val::object();
  e.set("code", std::string(errc_name(error.code())));
  e.set("message", error.message());
  return e;
}

val strings(const std::vector<std::string>& list) {
  val out = val::array();
  for (const auto& s : list) out.call<void>("push", s);
  return out;
}

val message_value(const client::StoredMessage& m) {
  val v = val::object();
  v.set("conversation", to_hex(m.group_id));
  v.set("id", to_hex(m.message_id));
  v.set("sender", m.sender);
  v.set("outgoing", m.outgoing);
  v.set("sentAt", static_cast<double>(m.sent_at));
  v.set("acceptedAt", static_cast<double>(m.accepted_at));
  v.set("state", std::string(client::delivery_state_name(m.state)));
  v.set("body", m.body);
  v.set("deleted", m.deleted);
  v.set("edited", m.edited_at != 0);
  v.set("read", m.read);
  v.set("deliveredTo", strings(m.delivered_to));
  v.set("readBy", strings(m.read_by));
  if (m.reply_to) v.set("replyTo", to_hex(*m.reply_to));
  if (m.timer_set_s) v.set("timerSet", static_cast<double>(*m.timer_set_s));
  if (m.file) {
    val f = val::object();
    f.set("name", m.file->name);
    f.set("type", m.file->media_type);
    f.set("size", static_cast<double>(m.file->size));
    v.set("file", f);
  }
  return v;
}

val conversation_value(const client::Conversation& c) {
  val v = val::object();
  v.set("id", to_hex(c.group_id));
  v.set("name", c.name);
  v.set("kind", std::string(c.kind == client::ConversationKind::group ? "group" : "direct"));
  v.set("members", strings(c.members));
  v.set("verified", c.members_verified);
  v.set("member", c.membership == client::Membership::member);
  v.set("timer", static_cast<double>(c.disappear_after_s));
  return v;
}

val contact_value(const client::Contact& c) {
  val v = val::object();
  v.set("username", c.username);
  v.set("devices", static_cast<double>(c.devices.size()));
  v.set("epoch", static_cast<double>(c.verified_epoch));
  return v;
}

// The engine's store in the page: everything in memory, and each batch, once applied, handed
// to host.persist(bytes) (encode_batch's form), which encrypts it and adds it to IndexedDB.
// The page sends no frame before the writes asked for ahead of it are done (core.ts), so an
// Ack never leaves before what it acknowledges is kept. At start the page gives back what it
// kept, oldest first (restore), or one snapshot in their place.
class PersistingStore final : public client::ClientStore {
 public:
  explicit PersistingStore(val host) : host_(std::move(host)) {}

  Result<void> restore(BytesView bytes) {
    SOTTO_TRY_ASSIGN(auto batch, client::decode_batch(bytes));
    return memory_.apply(batch);
  }
  SecureBytes snapshot() const { return client::encode_batch(memory_.snapshot()); }
  std::vector<client::Contact> contacts() const { return memory_.contacts(); }

  Result<std::optional<client::Identity>> identity() const override { return memory_.identity(); }
  Result<std::optional<Bytes>> directory_state() const override {
    return memory_.directory_state();
  }
  Result<std::optional<client::StoredKeyPackage>> key_package(BytesView ref) const override {
    return memory_.key_package(ref);
  }
  Result<size_t> key_package_count() const override { return memory_.key_package_count(); }
  Result<std::optional<client::Contact>> contact(const std::string& username) const override {
    return memory_.contact(username);
  }
  Result<std::optional<client::Conversation>> conversation(BytesView group_id) const override {
    return memory_.conversation(group_id);
  }
  Result<std::vector<client::Conversation>> conversations() const override {
    return memory_.conversations();
  }
  Result<std::vector<client::StoredMessage>> messages(BytesView group_id) const override {
    return memory_.messages(group_id);
  }
  Result<std::optional<client::StoredMessage>> message(BytesView group_id,
                                                       BytesView message_id) const override {
    return memory_.message(group_id, message_id);
  }
  Result<bool> has_message(BytesView group_id, BytesView message_id) const override {
    return memory_.has_message(group_id, message_id);
  }
  Result<std::vector<client::OutboxEntry>> outbox() const override { return memory_.outbox(); }
  Result<bool> is_processed(uint64_t seq) const override { return memory_.is_processed(seq); }
  // The browser has no e-mail mode; these answer as an empty store does.
  Result<std::optional<client::MailAccount>> mail_account() const override {
    return memory_.mail_account();
  }
  Result<std::optional<client::MailPeer>> mail_peer(const std::string& address) const override {
    return memory_.mail_peer(address);
  }
  Result<std::vector<client::MailPeer>> mail_peers() const override { return memory_.mail_peers(); }
  Result<std::optional<client::MailJoin>> mail_join(const std::string& address) const override {
    return memory_.mail_join(address);
  }
  Result<std::vector<client::MailGroupInvite>> mail_group_invites() const override {
    return memory_.mail_group_invites();
  }
  Result<std::optional<std::string>> mail_cursor() const override { return memory_.mail_cursor(); }

  Result<void> apply(const client::ClientStoreBatch& batch) override {
    SOTTO_TRY(memory_.apply(batch));
    host_.call<void>("persist", uint8_array(client::encode_batch(batch)));
    return success();
  }

 private:
  val host_;
  client::MemoryClientStore memory_;
};

class WebClient final : public client::Transport, public client::EngineObserver {
 public:
  // `records`: what the page kept of an earlier session (Uint8Arrays, oldest first).
  WebClient(val host, const std::string& directory_key, const std::string& vrf_key,
            const val& records)
      : host_(host), store_(host) {
    const auto count = records["length"].as<size_t>();
    for (size_t i = 0; i < count && restore_error_.empty(); ++i) {
      Bytes record = bytes_of(records[i]);
      if (auto restored = store_.restore(record); !restored) {
        restore_error_ = restored.error().to_string();
      }
      secure_wipe(record.data(), record.size());
    }
    client::EngineConfig config;
    auto signing = from_hex(directory_key);
    auto vrf = from_hex(vrf_key);
    if (signing && signing->size() == 32 && vrf && vrf->size() == 32) {
      config.directory_keys.signing_public_key = std::move(signing).value();
      config.directory_keys.vrf_public_key = std::move(vrf).value();
    } else {
      // An engine without directory keys verifies no contact: every lookup fails, loudly.
      keys_ok_ = false;
    }
    config.device_name = "browser";
    engine_ = std::make_unique<client::Engine>(std::move(config), store_, *this, env_, *this);
  }

  bool keys_ok() const { return keys_ok_; }
  // Empty, or why what the page kept could not be read back (the page then starts over).
  std::string restore_error() const { return restore_error_; }
  // Everything the store holds, as one record to keep in place of all the others.
  val snapshot() const { return uint8_array(store_.snapshot()); }
  bool has_identity() const { return engine_->has_identity(); }
  bool ready() const { return engine_->state() == client::ConnectionState::ready; }
  std::string username() const {
    auto id = store_.identity();
    return id && *id ? (*id)->username : std::string();
  }

  // ---- the page's WebSocket ----------------------------------------------------------
  void connected() { engine_->on_connected(); }
  void disconnected() { engine_->on_disconnected(); }
  void frame(const val& bytes) {
    Bytes data = bytes_of(bytes);
    engine_->on_frame(data);
  }

  // ---- operations --------------------------------------------------------------------
  void register_account(std::string username, std::string email, std::string password,
                        std::string invite_code, val done) {
    client::Registration r;
    r.username = std::move(username);
    r.email = std::move(email);
    r.password = std::move(password);
    r.invite_code = std::move(invite_code);
    engine_->register_account(std::move(r), finish(std::move(done)));
  }
  void login(std::string username, std::string password, val done) {
    engine_->login(std::move(username), std::move(password), finish(std::move(done)));
  }
  void start_conversation(std::string username, val done) {
    engine_->start_conversation(std::move(username), finish_id(std::move(done)));
  }
  void create_group(std::string name, const val& usernames, val done) {
    auto names = emscripten::vecFromJSArray<std::string>(usernames);
    engine_->create_group(std::move(name), std::move(names), finish_id(std::move(done)));
  }
  void send_text(const std::string& conversation, std::string text, val done) {
    auto id = id_of(conversation, "conversation", done);
    if (!id) return;
    engine_->send_text(*id, std::move(text), finish_id(std::move(done)));
  }
  // A text that answers `reply_to` (a message's id in hex).
  void send_reply(const std::string& conversation, const std::string& reply_to, std::string text,
                  val done) {
    auto id = id_of(conversation, "conversation", done);
    if (!id) return;
    auto to = id_of(reply_to, "message", done);
    if (!to) return;
    engine_->send_reply(*id, *to, std::move(text), finish_id(std::move(done)));
  }
  void edit_message(const std::string& conversation, const std::string& message, std::string text,
                    val done) {
    auto id = id_of(conversation, "conversation", done);
    if (!id) return;
    auto which = id_of(message, "message", done);
    if (!which) return;
    engine_->edit_message(*id, *which, std::move(text), finish(std::move(done)));
  }
  void delete_message(const std::string& conversation, const std::string& message, val done) {
    auto id = id_of(conversation, "conversation", done);
    if (!id) return;
    auto which = id_of(message, "message", done);
    if (!which) return;
    engine_->delete_messages(*id, {std::move(*which)}, finish(std::move(done)));
  }
  // Seconds after which new messages disappear, for every member (0: off).
  void set_timer(const std::string& conversation, double seconds, val done) {
    auto id = id_of(conversation, "conversation", done);
    if (!id) return;
    if (!(seconds >= 0) || seconds > static_cast<double>(client::kMaxDisappearAfterS)) {
      done(error_value(Error(Errc::invalid_argument, "no such timer")), val::null());
      return;
    }
    engine_->set_disappearing_timer(*id, static_cast<uint64_t>(seconds), finish(std::move(done)));
  }
  // A file the page encrypted with `sealer` and uploaded as `file_id` (base64url).
  void send_file(const std::string& conversation, const FileSealer& sealer,
                 const std::string& file_id, const std::string& name, const std::string& media_type,
                 std::string caption, val done) {
    auto id = id_of(conversation, "conversation", done);
    if (!id) return;
    auto file = sealer.content(file_id, name, media_type);
    if (!file) {
      done(error_value(file.error()), val::null());
      return;
    }
    if (!caption.empty()) file->caption = std::move(caption);
    engine_->send_file(*id, std::move(file).value(), finish_id(std::move(done)));
  }
  // What the page needs to download, check and decrypt the file of a stored message.
  std::unique_ptr<FileOpener> open_file(const std::string& conversation,
                                        const std::string& message_id) const {
    auto group = from_hex(conversation);
    auto message = from_hex(message_id);
    if (!group || !message) {
      return std::make_unique<FileOpener>(Error(Errc::invalid_argument, "no such message"));
    }
    auto stored = store_.message(*group, *message);
    if (!stored || !*stored || !(*stored)->file || (*stored)->deleted) {
      return std::make_unique<FileOpener>(Error(Errc::not_found, "no such file"));
    }
    return std::make_unique<FileOpener>(*(*stored)->file);
  }
  // "Bearer <token>" for the one request that turns this device's session into the page's
  // HttpOnly cookie (POST /v1/web-session); empty before there is a session.
  std::string session_authorization() const {
    auto id = store_.identity();
    if (!id || !*id || (*id)->session_token.empty()) return {};
    return "Bearer " + to_base64url((*id)->session_token);
  }

  // ---- linking devices -----------------------------------------------------------------
  // On a device with the account: the code to show, and {id, name} once a device used it.
  void link_offer(val done) {
    engine_->link_device_offer(then<client::LinkSlot>(std::move(done), [](const auto& slot) {
      val v = val::object();
      v.set("code", slot.code);
      v.set("expiresAt", static_cast<double>(slot.expires_at) * 1000);
      return v;
    }));
  }
  void link_poll(val done) {
    using Linked = std::optional<client::LinkedDevice>;
    engine_->link_device_poll(then<Linked>(std::move(done), [](const Linked& linked) {
      if (!linked) return val::null();
      val v = val::object();
      v.set("id", to_hex(linked->device_id));
      v.set("name", linked->name);
      return v;
    }));
  }
  // On this browser, which has no account yet: posts its key under the code, then gives
  // true once the other device has added it.
  void link_accept(std::string code, val done) {
    engine_->link_device_accept(std::move(code), finish(std::move(done)));
  }
  void link_wait(val done) {
    engine_->link_device_wait(then<bool>(std::move(done), [](bool linked) { return val(linked); }));
  }
  void mark_read(const std::string& conversation, val done) {
    auto id = id_of(conversation, "conversation", done);
    if (!id) return;
    engine_->mark_read(*id, finish(std::move(done)));
  }
  void fetch(val done) { engine_->fetch(finish(std::move(done))); }
  void export_account(val done) {
    engine_->export_account(
        then<std::string>(std::move(done), [](const std::string& json) { return val(json); }));
  }
  void delete_account(std::string password, val done) {
    engine_->delete_account(std::move(password), finish(std::move(done)));
  }
  void list_devices(val done) {
    using Devices = std::vector<proto::DeviceInfo>;
    engine_->list_devices(then<Devices>(std::move(done), [](const Devices& devices) {
      val out = val::array();
      for (const auto& d : devices) {
        val v = val::object();
        v.set("id", to_hex(d.device_id));
        v.set("name", d.name);
        out.call<void>("push", v);
      }
      return out;
    }));
  }
  // The safety number with `username`, from both accounts' verified devices (a lookup
  // first, so that it shows what the key directory proves now).
  void safety_number(std::string username, val done) {
    engine_->lookup_contact(
        std::move(username), [this, done = std::move(done)](Result<client::Contact> them) {
          if (!them) {
            done(error_value(them.error()), val::null());
            return;
          }
          engine_->check_own_account(then<client::Contact>(
              done, [them = std::move(them).value()](const client::Contact& self) {
                return val(client::safety_number(client::safety_side(self.username, self.devices),
                                                 client::safety_side(them.username, them.devices)));
              }));
        });
  }

  // Looks `username` up in the key directory, verifies the proof and keeps their devices.
  void add_contact(std::string username, val done) {
    engine_->lookup_contact(std::move(username),
                            then<client::Contact>(std::move(done), &contact_value));
  }

  // ---- what the store holds ----------------------------------------------------------
  // The contacts kept (not this account), by name.
  val contacts() const {
    val out = val::array();
    const std::string self = username();
    for (const auto& c : store_.contacts()) {
      if (c.username != self) out.call<void>("push", contact_value(c));
    }
    return out;
  }
  val conversations() const {
    val out = val::array();
    auto list = store_.conversations();
    if (!list) return out;
    for (const auto& c : list.value()) out.call<void>("push", conversation_value(c));
    return out;
  }
  val history(const std::string& conversation) {
    val out = val::array();
    auto id = from_hex(conversation);
    if (!id) return out;
    (void)engine_->expire_messages();
    auto list = store_.messages(*id);
    if (!list) return out;
    for (const auto& m : list.value()) out.call<void>("push", message_value(m));
    return out;
  }

 private:
  // ---- Transport -----------------------------------------------------------------------
  void send(Bytes frame) override { host_.call<void>("send", uint8_array(frame)); }

  // ---- EngineObserver ------------------------------------------------------------------
  void event(const char* type, val v = val::object()) {
    v.set("type", std::string(type));
    host_.call<void>("event", v);
  }
  void on_message(const client::StoredMessage& m) override {
    val v = val::object();
    v.set("message", message_value(m));
    event("message", v);
  }
  void on_message_changed(const client::StoredMessage& m) override {
    val v = val::object();
    v.set("message", message_value(m));
    event("message_changed", v);
  }
  void on_message_expired(const client::StoredMessage& m) override {
    val v = val::object();
    v.set("message", message_value(m));
    event("message_expired", v);
  }
  void on_delivery_state(BytesView group, BytesView message, client::DeliveryState s) override {
    val v = val::object();
    v.set("conversation", to_hex(group));
    v.set("id", to_hex(message));
    v.set("state", std::string(client::delivery_state_name(s)));
    event("delivery", v);
  }
  void on_conversation(const client::Conversation& c) override {
    val v = val::object();
    v.set("conversation", conversation_value(c));
    event("conversation", v);
  }
  void on_contact_keys_changed(const client::Contact& before,
                               const client::Contact& after) override {
    val v = val::object();
    v.set("username", after.username);
    v.set("before",
          client::safety_number_side(client::safety_side(before.username, before.devices)));
    v.set("after", client::safety_number_side(client::safety_side(after.username, after.devices)));
    event("keys_changed", v);
  }
  void on_unknown_own_device(const client::ContactDevice& device) override {
    val v = val::object();
    v.set("device", to_hex(device.device_id));
    event("unknown_own_device", v);
  }
  void on_directory_split_view(const std::string& reported_by) override {
    val v = val::object();
    v.set("reportedBy", reported_by);
    event("split_view", v);
  }
  void on_authenticated() override { event("authenticated"); }
  void on_session_ended(Errc reason) override {
    val v = val::object();
    v.set("reason", std::string(errc_name(reason)));
    event("session_ended", v);
  }
  void on_error(const Error& error) override {
    val v = val::object();
    v.set("error", error_value(error));
    event("error", v);
  }

  // ---- completions ---------------------------------------------------------------------
  // done(error, null) on failure, else done(null, convert(value)).
  template <class T, class Convert>
  static client::Engine::Then<T> then(val done, Convert convert) {
    return [done = std::move(done), convert = std::move(convert)](Result<T> r) {
      if (!r) {
        done(error_value(r.error()), val::null());
        return;
      }
      done(val::null(), convert(r.value()));
    };
  }
  static client::Engine::Done finish(val done) {
    return [done = std::move(done)](Result<void> r) {
      done(r ? val::null() : error_value(r.error()), val::null());
    };
  }
  // For operations that give an id (a conversation's, a message's): its hex.
  static client::Engine::Then<Bytes> finish_id(val done) {
    return then<Bytes>(std::move(done), [](const Bytes& id) { return val(to_hex(id)); });
  }
  // The bytes of an id the page gave in hex (`what` it names: a conversation, a message);
  // done(error) when it cannot be one.
  static std::optional<Bytes> id_of(const std::string& hex, const char* what, const val& done) {
    auto id = from_hex(hex);
    if (!id || id->empty()) {
      done(error_value(Error(Errc::invalid_argument, std::string("no such ") + what)), val::null());
      return std::nullopt;
    }
    return std::move(id).value();
  }

  val host_;
  bool keys_ok_ = true;
  std::string restore_error_;
  PersistingStore store_;
  client::SystemEnvironment env_;
  std::unique_ptr<client::Engine> engine_;
};

}  // namespace
}  // namespace sotto::web

EMSCRIPTEN_BINDINGS(sotto_web) {
  using sotto::web::WebClient;
  emscripten::class_<WebClient>("WebClient")
      .constructor<emscripten::val, std::string, std::string, emscripten::val>()
      .function("keysOk", &WebClient::keys_ok)
      .function("restoreError", &WebClient::restore_error)
      .function("snapshot", &WebClient::snapshot)
      .function("hasIdentity", &WebClient::has_identity)
      .function("ready", &WebClient::ready)
      .function("username", &WebClient::username)
      .function("connected", &WebClient::connected)
      .function("disconnected", &WebClient::disconnected)
      .function("frame", &WebClient::frame)
      .function("register", &WebClient::register_account)
      .function("login", &WebClient::login)
      .function("startConversation", &WebClient::start_conversation)
      .function("createGroup", &WebClient::create_group)
      .function("sendText", &WebClient::send_text)
      .function("sendFile", &WebClient::send_file)
      .function("sendReply", &WebClient::send_reply)
      .function("editMessage", &WebClient::edit_message)
      .function("deleteMessage", &WebClient::delete_message)
      .function("setTimer", &WebClient::set_timer)
      .function("openFile", &WebClient::open_file)
      .function("sessionAuthorization", &WebClient::session_authorization)
      .function("linkOffer", &WebClient::link_offer)
      .function("linkPoll", &WebClient::link_poll)
      .function("linkAccept", &WebClient::link_accept)
      .function("linkWait", &WebClient::link_wait)
      .function("markRead", &WebClient::mark_read)
      .function("fetch", &WebClient::fetch)
      .function("exportAccount", &WebClient::export_account)
      .function("deleteAccount", &WebClient::delete_account)
      .function("listDevices", &WebClient::list_devices)
      .function("safetyNumber", &WebClient::safety_number)
      .function("addContact", &WebClient::add_contact)
      .function("contacts", &WebClient::contacts)
      .function("conversations", &WebClient::conversations)
      .function("history", &WebClient::history);
}
