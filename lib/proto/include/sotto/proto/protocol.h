// The client-server protocol, version 1 (WebSocket subprotocol "sotto.v1"): every WebSocket
// message is one binary frame in the TLS presentation language of RFC 9420 section 2.1 (the
// codec of sotto/core/tls.h). docs/protocol.md describes the flows; this file is the wire.
//
//   client -> server   ClientFrame { u16 version; u64 request_id; Request request }
//   server -> client   ServerFrame { Response | Event }
//
// Every request gets exactly one Response carrying its request_id: the result type of the
// request or an ErrorResponse with a stable code (sotto::Errc). Request ids must increase
// within a connection; a request id that does not is answered with Errc::replayed. Events
// (a queued message, low key-package stock, a revoked session) carry no request id.
//
// Identifiers (account, device, file) are 16 random bytes chosen by the server; strings are
// UTF-8, checked by decode_client_frame().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"

namespace sotto::proto {

inline constexpr uint16_t kVersion = 1;
inline constexpr std::string_view kSubprotocol = "sotto.v1";
inline constexpr size_t kIdSize = 16;          // account, device and file ids
inline constexpr size_t kSessionTokenSize = 32;
inline constexpr size_t kChallengeSize = 32;
inline constexpr size_t kMessageIdSize = 16;   // a sender's idempotency key for Send
inline constexpr size_t kLinkSlotIdSize = 6;   // a device-linking slot (chosen by the server)
inline constexpr size_t kLinkVerifierSize = 32;
inline constexpr size_t kMaxLinkSealedBytes = 1024;
inline constexpr uint64_t kLinkSlotLifetimeS = 600;
inline constexpr uint32_t kMaxLinkAttempts = 5;  // requests with a wrong MAC before it closes

// The signature a device makes to authenticate: Ed25519 over
// "sotto.v1 device auth" || opaque challenge || opaque device_id.
Bytes device_auth_message(BytesView challenge, BytesView device_id);

// What the MACs of device linking cover (HMAC-SHA256 under the slot's verifier, a key derived
// from the link code's secret): "sotto.v1 link post" || opaque slot_id || opaque sealed, and
// "sotto.v1 link answer" || opaque slot_id.
Bytes link_post_mac_input(BytesView slot_id, BytesView sealed);
Bytes link_answer_mac_input(BytesView slot_id);

enum class RequestType : uint16_t {
  // Accounts and sessions.
  register_account = 1,
  login = 2,
  auth_challenge = 3,
  auth_device = 4,
  auth_session = 5,
  logout = 6,
  // Profile and account recovery.
  get_profile = 10,
  update_profile = 11,
  verify_email = 12,
  request_recovery = 13,
  recover_account = 14,
  change_password = 15,
  // Devices.
  list_devices = 20,
  add_device = 21,
  revoke_device = 22,
  // Device linking by code (a rendezvous slot, docs/protocol.md).
  open_link = 23,
  post_link = 24,
  read_link_post = 25,
  answer_link = 26,
  read_link_answer = 27,
  // Key directory.
  kt_head = 30,
  kt_lookup = 31,
  kt_history = 32,
  kt_consistency = 33,
  kt_audit = 34,
  // Key packages.
  upload_key_packages = 40,
  claim_key_packages = 41,
  key_package_stock = 42,
  // Delivery.
  send = 50,
  fetch = 51,
  ack = 52,
  // Push.
  register_push = 60,
  unregister_push = 61,
  push_key = 62,
  // Users' rights.
  export_account = 70,
  delete_account = 71,
};

// A new device: its Ed25519 public key (32 bytes) and a name its owner chose.
struct DeviceKey {
  Bytes signature_key;
  std::string name;
  SOTTO_TLS_FIELDS(signature_key, name)
};

// ---- requests -------------------------------------------------------------------------

struct RegisterAccount {
  static constexpr RequestType tls_tag = RequestType::register_account;
  std::string username;  // rules: docs/protocol.md (3-32 of a-z 0-9 . _ -, starts with a letter)
  std::string email;
  std::string password;  // 10-1024 bytes
  std::string invite_code;  // empty when registration is open
  std::optional<std::string> display_name;
  DeviceKey device;
  SOTTO_TLS_FIELDS(username, email, password, invite_code, display_name, device)
};

// Password login; registers `device` as a new device of the account.
struct Login {
  static constexpr RequestType tls_tag = RequestType::login;
  std::string username;
  std::string password;
  DeviceKey device;
  SOTTO_TLS_FIELDS(username, password, device)
};

// Asks for a fresh single-use challenge for auth_device (valid for 60 s).
struct AuthChallenge {
  static constexpr RequestType tls_tag = RequestType::auth_challenge;
  SOTTO_TLS_FIELDS()
};

struct AuthDevice {
  static constexpr RequestType tls_tag = RequestType::auth_device;
  Bytes device_id;
  Bytes challenge;
  Bytes signature;  // over device_auth_message(challenge, device_id)
  SOTTO_TLS_FIELDS(device_id, challenge, signature)
};

struct AuthSession {
  static constexpr RequestType tls_tag = RequestType::auth_session;
  Bytes token;
  SOTTO_TLS_FIELDS(token)
};

struct Logout {
  static constexpr RequestType tls_tag = RequestType::logout;
  SOTTO_TLS_FIELDS()
};

struct GetProfile {
  static constexpr RequestType tls_tag = RequestType::get_profile;
  SOTTO_TLS_FIELDS()
};

// Rectification: each field present replaces the stored one (an empty string clears the
// optional ones). A new e-mail address is unverified until verify_email.
struct UpdateProfile {
  static constexpr RequestType tls_tag = RequestType::update_profile;
  std::optional<std::string> email;
  std::optional<std::string> display_name;
  std::optional<std::string> phone;
  SOTTO_TLS_FIELDS(email, display_name, phone)
};

struct VerifyEmail {
  static constexpr RequestType tls_tag = RequestType::verify_email;
  std::string code;
  SOTTO_TLS_FIELDS(code)
};

// Unauthenticated: sends a recovery code to the account's e-mail address. Answers the same
// whether or not the account exists.
struct RequestRecovery {
  static constexpr RequestType tls_tag = RequestType::request_recovery;
  std::string username;
  SOTTO_TLS_FIELDS(username)
};

// Unauthenticated: sets a new password with a recovery code, revoking every session.
struct RecoverAccount {
  static constexpr RequestType tls_tag = RequestType::recover_account;
  std::string username;
  std::string code;
  std::string new_password;
  SOTTO_TLS_FIELDS(username, code, new_password)
};

struct ChangePassword {
  static constexpr RequestType tls_tag = RequestType::change_password;
  std::string old_password;
  std::string new_password;
  SOTTO_TLS_FIELDS(old_password, new_password)
};

struct ListDevices {
  static constexpr RequestType tls_tag = RequestType::list_devices;
  SOTTO_TLS_FIELDS()
};

// An authenticated device adds another (device linking: the new device's key reached the old
// one through a code or QR); the new device then authenticates with auth_device.
struct AddDevice {
  static constexpr RequestType tls_tag = RequestType::add_device;
  DeviceKey device;
  SOTTO_TLS_FIELDS(device)
};

struct RevokeDevice {
  static constexpr RequestType tls_tag = RequestType::revoke_device;
  Bytes device_id;
  SOTTO_TLS_FIELDS(device_id)
};

// Device linking. The existing device opens a slot (one per account; opening again replaces
// it) for a few minutes and shows the user a code: the slot id and a secret that never
// reaches the server. The server holds only `verifier`, a key derived from the secret, with
// which it checks the MACs of the new device's requests; the contents are sealed under
// another key derived from the secret. A slot takes one post and one answer, and closes after
// the answer is read or after kMaxLinkAttempts requests with a wrong MAC.
struct OpenLink {
  static constexpr RequestType tls_tag = RequestType::open_link;
  Bytes verifier;  // kLinkVerifierSize bytes
  SOTTO_TLS_FIELDS(verifier)
};

// Unauthenticated: the new device's sealed key and name.
struct PostLink {
  static constexpr RequestType tls_tag = RequestType::post_link;
  Bytes slot_id;
  Bytes sealed;
  Bytes mac;  // over link_post_mac_input(slot_id, sealed)
  SOTTO_TLS_FIELDS(slot_id, sealed, mac)
};

// The opening account reads what was posted (LinkSealedResponse, empty while nothing was).
struct ReadLinkPost {
  static constexpr RequestType tls_tag = RequestType::read_link_post;
  Bytes slot_id;
  SOTTO_TLS_FIELDS(slot_id)
};

// The opening account puts the sealed answer (account, new device id) into the slot.
struct AnswerLink {
  static constexpr RequestType tls_tag = RequestType::answer_link;
  Bytes slot_id;
  Bytes sealed;
  SOTTO_TLS_FIELDS(slot_id, sealed)
};

// Unauthenticated: the new device reads the answer (LinkSealedResponse, empty while there is
// none). Reading an answer closes the slot.
struct ReadLinkAnswer {
  static constexpr RequestType tls_tag = RequestType::read_link_answer;
  Bytes slot_id;
  Bytes mac;  // over link_answer_mac_input(slot_id)
  SOTTO_TLS_FIELDS(slot_id, mac)
};

struct KtHead {
  static constexpr RequestType tls_tag = RequestType::kt_head;
  SOTTO_TLS_FIELDS()
};

// known_log_size: the log size of the newest head the client holds (0: none).
struct KtLookup {
  static constexpr RequestType tls_tag = RequestType::kt_lookup;
  std::string username;
  uint64_t known_log_size = 0;
  SOTTO_TLS_FIELDS(username, known_log_size)
};

struct KtHistory {
  static constexpr RequestType tls_tag = RequestType::kt_history;
  std::string username;
  uint64_t known_log_size = 0;
  SOTTO_TLS_FIELDS(username, known_log_size)
};

struct KtConsistency {
  static constexpr RequestType tls_tag = RequestType::kt_consistency;
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  SOTTO_TLS_FIELDS(old_size, new_size)
};

struct KtAudit {
  static constexpr RequestType tls_tag = RequestType::kt_audit;
  uint64_t epoch = 0;
  SOTTO_TLS_FIELDS(epoch)
};

// KeyPackages are MLSMessage-framed KeyPackages of this device; the server checks only that
// they parse and are signed by a leaf whose signature key is the device's.
struct UploadKeyPackages {
  static constexpr RequestType tls_tag = RequestType::upload_key_packages;
  std::vector<Bytes> key_packages;
  std::optional<Bytes> last_resort;  // replaces the previous last-resort one
  SOTTO_TLS_FIELDS(key_packages, last_resort)
};

// One KeyPackage for each device of the account (the last-resort one when a device has no
// other left), each consumed atomically.
struct ClaimKeyPackages {
  static constexpr RequestType tls_tag = RequestType::claim_key_packages;
  std::string username;
  SOTTO_TLS_FIELDS(username)
};

struct KeyPackageStockRequest {
  static constexpr RequestType tls_tag = RequestType::key_package_stock;
  SOTTO_TLS_FIELDS()
};

// Set for an MLS commit: the server accepts the first commit of (group, epoch) and answers
// later ones with Errc::conflict. It keeps only SHA-256(group_id) -> next epoch.
struct CommitOrder {
  Bytes group_id;
  uint64_t epoch = 0;  // the epoch the commit was made in
  SOTTO_TLS_FIELDS(group_id, epoch)
};

// Queues `payload` for each recipient device. Answered once every copy is durable. A retry
// with the same message_id from the same device is answered as the first was and queues
// nothing again.
struct Send {
  static constexpr RequestType tls_tag = RequestType::send;
  Bytes message_id;  // kMessageIdSize random bytes
  std::vector<Bytes> recipients;  // device ids
  std::optional<CommitOrder> commit;
  Bytes payload;
  SOTTO_TLS_FIELDS(message_id, recipients, commit, payload)
};

// Messages queued for this device with seq > after_seq, oldest first, at most `limit`.
struct Fetch {
  static constexpr RequestType tls_tag = RequestType::fetch;
  uint64_t after_seq = 0;
  uint32_t limit = 0;
  SOTTO_TLS_FIELDS(after_seq, limit)
};

// Deletes the listed messages of this device's queue. Unknown sequence numbers are ignored
// (an ack may be repeated).
struct Ack {
  static constexpr RequestType tls_tag = RequestType::ack;
  std::vector<uint64_t> seqs;
  SOTTO_TLS_FIELDS(seqs)
};

// A Web Push subscription (RFC 8030 endpoint, RFC 8291 keys) for this device.
struct RegisterPush {
  static constexpr RequestType tls_tag = RequestType::register_push;
  std::string endpoint;  // https URL
  Bytes p256dh;          // 65-byte uncompressed P-256 point
  Bytes auth;            // 16 bytes
  SOTTO_TLS_FIELDS(endpoint, p256dh, auth)
};

struct UnregisterPush {
  static constexpr RequestType tls_tag = RequestType::unregister_push;
  SOTTO_TLS_FIELDS()
};

// The server's VAPID public key (RFC 8292), for the browser's applicationServerKey.
struct PushKey {
  static constexpr RequestType tls_tag = RequestType::push_key;
  SOTTO_TLS_FIELDS()
};

struct ExportAccount {
  static constexpr RequestType tls_tag = RequestType::export_account;
  SOTTO_TLS_FIELDS()
};

// Erases the account and everything the server holds about it; the password confirms.
struct DeleteAccount {
  static constexpr RequestType tls_tag = RequestType::delete_account;
  std::string password;
  SOTTO_TLS_FIELDS(password)
};

using Request =
    std::variant<RegisterAccount, Login, AuthChallenge, AuthDevice, AuthSession, Logout, GetProfile,
                 UpdateProfile, VerifyEmail, RequestRecovery, RecoverAccount, ChangePassword,
                 ListDevices, AddDevice, RevokeDevice, OpenLink, PostLink, ReadLinkPost, AnswerLink,
                 ReadLinkAnswer, KtHead, KtLookup, KtHistory, KtConsistency, KtAudit,
                 UploadKeyPackages, ClaimKeyPackages, KeyPackageStockRequest, Send, Fetch, Ack,
                 RegisterPush, UnregisterPush, PushKey, ExportAccount, DeleteAccount>;

struct ClientFrame {
  uint16_t version = kVersion;
  uint64_t request_id = 0;
  Request request;
  SOTTO_TLS_FIELDS(version, request_id, request)
};

// ---- responses ------------------------------------------------------------------------

enum class ResponseType : uint16_t {
  error = 0,
  empty = 1,
  session = 2,
  challenge = 3,
  profile = 4,
  devices = 5,
  device_added = 6,
  kt_head = 7,
  kt_proof = 8,
  kt_hashes = 9,
  key_package_stock = 10,
  claimed_key_packages = 11,
  sent = 12,
  messages = 13,
  push_key = 14,
  account_export = 15,
  link_slot = 16,
  link_sealed = 17,
};

struct ErrorResponse {
  static constexpr ResponseType tls_tag = ResponseType::error;
  uint16_t code = 0;  // sotto::Errc
  std::string message;
  SOTTO_TLS_FIELDS(code, message)
};

// Success with nothing to return.
struct EmptyResponse {
  static constexpr ResponseType tls_tag = ResponseType::empty;
  SOTTO_TLS_FIELDS()
};

// The connection is now authenticated as (account_id, device_id); `token` resumes it with
// auth_session until expires_at (seconds since the Unix epoch).
struct SessionResponse {
  static constexpr ResponseType tls_tag = ResponseType::session;
  Bytes account_id;
  Bytes device_id;
  Bytes token;
  uint64_t expires_at = 0;
  SOTTO_TLS_FIELDS(account_id, device_id, token, expires_at)
};

struct ChallengeResponse {
  static constexpr ResponseType tls_tag = ResponseType::challenge;
  Bytes challenge;
  SOTTO_TLS_FIELDS(challenge)
};

struct ProfileResponse {
  static constexpr ResponseType tls_tag = ResponseType::profile;
  Bytes account_id;
  std::string username;
  std::string email;
  uint8_t email_verified = 0;
  std::optional<std::string> display_name;
  std::optional<std::string> phone;
  uint64_t created_at = 0;
  SOTTO_TLS_FIELDS(account_id, username, email, email_verified, display_name, phone, created_at)
};

struct DeviceInfo {
  Bytes device_id;
  Bytes signature_key;
  std::string name;
  uint64_t created_at = 0;
  uint64_t last_seen = 0;  // day resolution
  SOTTO_TLS_FIELDS(device_id, signature_key, name, created_at, last_seen)
};

struct DevicesResponse {
  static constexpr ResponseType tls_tag = ResponseType::devices;
  std::vector<DeviceInfo> devices;
  SOTTO_TLS_FIELDS(devices)
};

struct DeviceAddedResponse {
  static constexpr ResponseType tls_tag = ResponseType::device_added;
  Bytes device_id;
  SOTTO_TLS_FIELDS(device_id)
};

// A TLS-encoded kt::SignedTreeHead.
struct KtHeadResponse {
  static constexpr ResponseType tls_tag = ResponseType::kt_head;
  Bytes head;
  SOTTO_TLS_FIELDS(head)
};

// A TLS-encoded kt::LookupProof, kt::HistoryProof or kt::EpochAudit, as requested.
struct KtProofResponse {
  static constexpr ResponseType tls_tag = ResponseType::kt_proof;
  Bytes proof;
  SOTTO_TLS_FIELDS(proof)
};

// A log consistency proof.
struct KtHashesResponse {
  static constexpr ResponseType tls_tag = ResponseType::kt_hashes;
  std::vector<Bytes> hashes;
  SOTTO_TLS_FIELDS(hashes)
};

struct KeyPackageStockResponse {
  static constexpr ResponseType tls_tag = ResponseType::key_package_stock;
  uint32_t count = 0;  // not counting the last-resort one
  uint8_t has_last_resort = 0;
  SOTTO_TLS_FIELDS(count, has_last_resort)
};

struct ClaimedKeyPackage {
  Bytes device_id;
  Bytes key_package;
  SOTTO_TLS_FIELDS(device_id, key_package)
};

struct ClaimedKeyPackagesResponse {
  static constexpr ResponseType tls_tag = ResponseType::claimed_key_packages;
  Bytes account_id;
  std::vector<ClaimedKeyPackage> key_packages;
  SOTTO_TLS_FIELDS(account_id, key_packages)
};

struct SentResponse {
  static constexpr ResponseType tls_tag = ResponseType::sent;
  uint64_t accepted_at = 0;  // server time, milliseconds since the Unix epoch
  SOTTO_TLS_FIELDS(accepted_at)
};

struct QueuedMessage {
  uint64_t seq = 0;
  uint64_t received_at = 0;  // milliseconds since the Unix epoch
  Bytes payload;
  SOTTO_TLS_FIELDS(seq, received_at, payload)
};

struct MessagesResponse {
  static constexpr ResponseType tls_tag = ResponseType::messages;
  std::vector<QueuedMessage> messages;
  uint8_t more = 0;
  SOTTO_TLS_FIELDS(messages, more)
};

struct PushKeyResponse {
  static constexpr ResponseType tls_tag = ResponseType::push_key;
  Bytes vapid_public_key;  // 65-byte uncompressed P-256 point
  SOTTO_TLS_FIELDS(vapid_public_key)
};

// The account's data as JSON (UTF-8), documented in docs/privacy.md.
struct AccountExportResponse {
  static constexpr ResponseType tls_tag = ResponseType::account_export;
  std::string json;
  SOTTO_TLS_FIELDS(json)
};

struct LinkSlotResponse {
  static constexpr ResponseType tls_tag = ResponseType::link_slot;
  Bytes slot_id;            // kLinkSlotIdSize bytes
  uint64_t expires_at = 0;  // seconds since the Unix epoch
  SOTTO_TLS_FIELDS(slot_id, expires_at)
};

// What a slot holds for the asker: the post (read_link_post) or the answer
// (read_link_answer), absent while there is none yet.
struct LinkSealedResponse {
  static constexpr ResponseType tls_tag = ResponseType::link_sealed;
  std::optional<Bytes> sealed;
  SOTTO_TLS_FIELDS(sealed)
};

using ResponseBody =
    std::variant<ErrorResponse, EmptyResponse, SessionResponse, ChallengeResponse, ProfileResponse,
                 DevicesResponse, DeviceAddedResponse, KtHeadResponse, KtProofResponse,
                 KtHashesResponse, KeyPackageStockResponse, ClaimedKeyPackagesResponse,
                 SentResponse, MessagesResponse, PushKeyResponse, AccountExportResponse,
                 LinkSlotResponse, LinkSealedResponse>;

// ---- server frames --------------------------------------------------------------------

enum class ServerFrameType : uint8_t { response = 1, event = 2 };
enum class EventType : uint16_t { message = 1, key_packages_low = 2, session_ended = 3 };

struct Response {
  static constexpr ServerFrameType tls_tag = ServerFrameType::response;
  uint64_t request_id = 0;
  ResponseBody body;
  SOTTO_TLS_FIELDS(request_id, body)
};

// A message queued for this (authenticated) device; ack it once stored.
struct MessageEvent {
  static constexpr EventType tls_tag = EventType::message;
  QueuedMessage message;
  SOTTO_TLS_FIELDS(message)
};

struct KeyPackagesLowEvent {
  static constexpr EventType tls_tag = EventType::key_packages_low;
  uint32_t remaining = 0;
  SOTTO_TLS_FIELDS(remaining)
};

// The session was revoked (device revoked, logout elsewhere, account erased); the server
// closes the connection after this event.
struct SessionEndedEvent {
  static constexpr EventType tls_tag = EventType::session_ended;
  uint16_t reason = 0;  // sotto::Errc
  SOTTO_TLS_FIELDS(reason)
};

struct Event {
  static constexpr ServerFrameType tls_tag = ServerFrameType::event;
  std::variant<MessageEvent, KeyPackagesLowEvent, SessionEndedEvent> event;
  SOTTO_TLS_FIELDS(event)
};

struct ServerFrame {
  std::variant<Response, Event> content;
  SOTTO_TLS_FIELDS(content)
};

// ---- helpers --------------------------------------------------------------------------

// Strict decoding with the protocol's limits: Errc::unsupported_version for another version
// (checked before the body), Errc::invalid_value for a string that is not UTF-8.
Result<ClientFrame> decode_client_frame(BytesView bytes, size_t max_frame_bytes);
Result<ServerFrame> decode_server_frame(BytesView bytes, size_t max_frame_bytes);
Bytes encode(const ClientFrame& frame);
// Overwrites the secrets a request carries (passwords, a recovery code, a session token) with
// zeros, in place, once the request is encoded: a client calls it so that they do not linger
// in freed memory.
void wipe_secrets(Request& request);
Bytes encode(const ServerFrame& frame);

Response error_response(uint64_t request_id, const Error& error);
// The request's type as a short name for logs and metrics ("send", "kt_lookup", ...).
std::string_view request_name(const Request& request);
// Turns an ErrorResponse back into an Error (for clients).
Error to_error(const ErrorResponse& response);

bool is_valid_utf8(std::string_view s);

}  // namespace sotto::proto
