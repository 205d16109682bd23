#include "services/accounts.h"

// Argon2id comes straight from libsodium: lib/crypto has no password hashing (clients never
// hash passwords), and sottod is native only.
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <cctype>
#include <mutex>

#include "server_state.h"
#include "services/devices.h"
#include "services/directory.h"
#include "services/mailer.h"
#include "sotto/crypto/primitives.h"
#include "sotto/store/store.h"

namespace sotto::server {
namespace {

constexpr size_t kMinPassword = 10;
constexpr size_t kMaxPassword = 1024;
constexpr size_t kMaxDeviceName = 100;
constexpr size_t kMaxDisplayName = 100;
constexpr size_t kMaxPhone = 32;
constexpr size_t kCodeLength = 8;
constexpr uint64_t kCodeLifetimeMs = 3600 * 1000;
constexpr uint32_t kCodeAttempts = 5;
constexpr auto kChallengeLifetime = std::chrono::seconds(60);
constexpr size_t kUsedChallengesKept = 8;
constexpr uint64_t kDayMs = 24 * 3600 * 1000;
// Codes are read from a mail and typed: no 0/O, 1/I/L.
constexpr std::string_view kCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

// libsodium must be initialised before its first use; repeated calls are harmless.
[[maybe_unused]] const int kSodiumReady = sodium_init();

Error invalid(std::string message) {
  return Error(Errc::invalid_argument, std::move(message));
}

// A password copied out of a request, wiped when done.
SecureBytes take_password(std::string& password) {
  SecureBytes out(BytesView(reinterpret_cast<const uint8_t*>(password.data()), password.size()));
  secure_wipe(password.data(), password.size());
  password.clear();
  return out;
}

Result<std::string> hash_password(const SecureBytes& password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, reinterpret_cast<const char*>(password.data()), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Error(Errc::unavailable, "password hashing ran out of memory");
  }
  return std::string(out);
}

bool verify_password(const std::string& hash, const SecureBytes& password) {
  return crypto_pwhash_str_verify(hash.c_str(), reinterpret_cast<const char*>(password.data()),
                                  password.size()) == 0;
}

// A hash to check unknown usernames against, so that a login for one takes as long as for an
// account that exists.
const std::string& decoy_hash() {
  static std::once_flag once;
  static std::string hash;
  std::call_once(once, [] {
    auto h = hash_password(crypto::random_secret(16));
    hash = h ? *h : std::string();
  });
  return hash;
}

std::string random_code() {
  std::string code;
  // Rejection sampling keeps every character equally likely.
  const unsigned limit = 256 - 256 % kCodeAlphabet.size();
  while (code.size() < kCodeLength) {
    for (uint8_t b : crypto::random_bytes(16)) {
      if (b >= limit) continue;
      code.push_back(kCodeAlphabet[b % kCodeAlphabet.size()]);
      if (code.size() == kCodeLength) break;
    }
  }
  return code;
}

Bytes code_hash(std::string_view code) {
  std::string upper(code);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return crypto::sha256(BytesView(reinterpret_cast<const uint8_t*>(upper.data()), upper.size()));
}

Bytes hash_of(std::string_view text) {
  return crypto::sha256(BytesView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

MailPurpose mail_purpose(store::CodePurpose purpose) {
  return purpose == store::CodePurpose::email_verification ? MailPurpose::email_verification
                                                           : MailPurpose::account_recovery;
}

// Makes, stores and mails a one-time code.
Result<void> send_code(ServerState& state, const store::Account& account,
                       store::CodePurpose purpose) {
  std::string code = random_code();
  store::OneTimeCode record{account.id, purpose, code_hash(code), now_ms() + kCodeLifetimeMs, 0};
  SOTTO_TRY(state.store().put_code(record));
  state.mailer().send_code(account.id, account.email, mail_purpose(purpose), code);
  return success();
}

// Checks `code` against the account's code of that purpose, counting a wrong guess; consumes
// the code when it matches.
Result<void> redeem_code(ServerState& state, const Bytes& account_id, store::CodePurpose purpose,
                         std::string_view code) {
  auto stored = state.store().code(account_id, purpose);
  if (!stored) {
    if (stored.error().code() == Errc::not_found) {
      return Error(Errc::unauthenticated, "no code is pending; ask for a new one");
    }
    return std::move(stored).error();
  }
  if (stored->expires_at <= now_ms() || stored->attempts >= kCodeAttempts) {
    SOTTO_TRY(state.store().delete_code(account_id, purpose));
    return Error(Errc::expired, "the code has expired; ask for a new one");
  }
  if (!constant_time_equal(code_hash(code), stored->code_hash)) {
    SOTTO_TRY(state.store().count_code_attempt(account_id, purpose));
    return Error(Errc::unauthenticated, "wrong code");
  }
  return state.store().delete_code(account_id, purpose);
}

Result<store::Account> caller_account(ServerState& state, const Caller& caller) {
  if (!caller.account_id) return Error(Errc::unauthenticated, "not logged in");
  return state.store().account(*caller.account_id);
}

Result<void> check_optional_text(const std::optional<std::string>& text, size_t max,
                                 std::string_view what) {
  if (text && text->size() > max) {
    return invalid(std::string(what) + " is longer than " + std::to_string(max) + " bytes");
  }
  return success();
}

Result<void> check_phone(const std::optional<std::string>& phone) {
  SOTTO_TRY(check_optional_text(phone, kMaxPhone, "the phone number"));
  if (!phone) return success();
  for (char c : *phone) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '+' && c != ' ' && c != '-' &&
        c != '(' && c != ')') {
      return invalid("a phone number holds only digits, +, -, spaces and parentheses");
    }
  }
  return success();
}

// An empty string clears an optional field (rectification can remove data, not only change it).
std::optional<std::string> cleared_if_empty(std::optional<std::string> value) {
  if (value && value->empty()) return std::nullopt;
  return value;
}

// The rest of a registration, on the slow pool once the password is hashed.
Result<proto::SessionResponse> finish_registration(ServerState& state,
                                                   proto::RegisterAccount& request,
                                                   const std::string& username,
                                                   const std::string& email,
                                                   const std::string& password_hash) {
  uint64_t now = now_ms();
  store::Account account;
  account.id = crypto::random_bytes(proto::kIdSize);
  account.username = username;
  account.email = email;
  account.display_name = cleared_if_empty(std::move(request.display_name));
  account.password_hash = password_hash;
  account.created_at = now;
  store::Device device;
  device.id = crypto::random_bytes(proto::kIdSize);
  device.account_id = account.id;
  device.signature_key = std::move(request.device.signature_key);
  device.name = std::move(request.device.name);
  device.created_at = now;
  device.last_seen = now - now % kDayMs;
  std::optional<Bytes> invite;
  if (!request.invite_code.empty()) invite = hash_of(request.invite_code);
  auto created = state.store().create_account(account, device, invite, now);
  if (!created) {
    Error e = std::move(created).error();
    if (invite && e.code() == Errc::not_found) return Error(Errc::forbidden, "unknown invite code");
    return e;
  }
  SOTTO_TRY(publish_account(state, account.username, account.id));
  // The account works at once; the address is confirmed when the user types the code.
  auto mailed = send_code(state, account, store::CodePurpose::email_verification);
  if (!mailed)
    spdlog::warn("accounts: cannot send a verification code: {}", mailed.error().to_string());
  spdlog::info("accounts: registered account {}", account_log_tag(account.id));
  return create_session(state, account.id, device.id);
}

Result<proto::SessionResponse> finish_login(ServerState& state, const store::Account& account,
                                            proto::DeviceKey key) {
  uint64_t now = now_ms();
  store::Device device;
  device.id = crypto::random_bytes(proto::kIdSize);
  device.account_id = account.id;
  device.signature_key = std::move(key.signature_key);
  device.name = std::move(key.name);
  device.created_at = now;
  device.last_seen = now - now % kDayMs;
  SOTTO_TRY(state.store().add_device(device));
  SOTTO_TRY(publish_account(state, account.username, account.id));
  return create_session(state, account.id, device.id);
}

template <class T>
Result<proto::ResponseBody> body(Result<T> r) {
  if (!r) return std::move(r).error();
  return proto::ResponseBody(std::move(*r));
}

}  // namespace

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

Result<std::string> normalize_username(std::string_view username) {
  if (username.size() < 3 || username.size() > 32) {
    return invalid("a username has 3 to 32 characters");
  }
  std::string out;
  out.reserve(username.size());
  for (char c : username) {
    auto u = static_cast<unsigned char>(c);
    char lower = static_cast<char>(std::tolower(u));
    bool ok = (lower >= 'a' && lower <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (u >= 0x80 || !ok) return invalid("a username holds only a-z, 0-9, '.', '_' and '-'");
    out.push_back(lower);
  }
  if (out[0] < 'a' || out[0] > 'z') return invalid("a username starts with a letter");
  return out;
}

Result<std::string> normalize_email(std::string_view email) {
  if (email.size() < 3 || email.size() > 254) return invalid("not an e-mail address");
  auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 ||
      email.find('@', at + 1) != std::string_view::npos) {
    return invalid("not an e-mail address");
  }
  std::string_view domain = email.substr(at + 1);
  auto dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size()) {
    return invalid("not an e-mail address");
  }
  std::string out;
  for (char c : email) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"') {
      return invalid("not an e-mail address");
    }
    out.push_back(static_cast<char>(std::tolower(u)));
  }
  return out;
}

Result<void> check_password(std::string_view password) {
  if (password.size() < kMinPassword) return invalid("a password has at least 10 bytes");
  if (password.size() > kMaxPassword) return invalid("a password has at most 1024 bytes");
  return success();
}

Result<void> check_device_key(const proto::DeviceKey& device) {
  if (device.signature_key.size() != crypto::kEd25519PublicKeySize) {
    return invalid("a device key is a 32-byte Ed25519 public key");
  }
  if (device.name.size() > kMaxDeviceName) return invalid("the device name is too long");
  return success();
}

Result<proto::SessionResponse> create_session(ServerState& state, const Bytes& account_id,
                                              const Bytes& device_id) {
  uint64_t now = now_ms();
  auto ttl_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(state.config().accounts.session_ttl)
          .count());
  SecureBytes token = crypto::random_secret(proto::kSessionTokenSize);
  store::Session session{crypto::sha256(token.view()), account_id, device_id, now, now + ttl_ms};
  SOTTO_TRY(state.store().put_session(session));
  return proto::SessionResponse{account_id, device_id, token.reveal(), session.expires_at / 1000};
}

void handle_register(ServerState& state, const Caller& caller, proto::RegisterAccount request,
                     Reply reply) {
  if (!state.rate_limiter().allow("registration", caller.ip)) {
    return reply(Error(Errc::rate_limited, "too many registrations; try again later"));
  }
  auto username = normalize_username(request.username);
  if (!username) return reply(std::move(username).error());
  auto email = normalize_email(request.email);
  if (!email) return reply(std::move(email).error());
  if (auto r = check_password(request.password); !r) return reply(std::move(r).error());
  if (auto r = check_device_key(request.device); !r) return reply(std::move(r).error());
  if (auto r = check_optional_text(request.display_name, kMaxDisplayName, "the display name"); !r) {
    return reply(std::move(r).error());
  }
  if (!state.config().accounts.open_registration && request.invite_code.empty()) {
    return reply(Error(Errc::forbidden, "registration on this server needs an invite code"));
  }
  SecureBytes password = take_password(request.password);
  boost::asio::post(state.slow_pool(),
                    [&state, request = std::move(request), username = std::move(*username),
                     email = std::move(*email), password = std::move(password),
                     reply = std::move(reply)]() mutable {
                      auto hash = hash_password(password);
                      if (!hash) return reply(std::move(hash).error());
                      reply(body(finish_registration(state, request, username, email, *hash)));
                    });
}

void handle_login(ServerState& state, const Caller& caller, proto::Login request, Reply reply) {
  auto username = normalize_username(request.username);
  // A malformed username cannot exist: answer as for a wrong password. A well-formed one has
  // its bucket whether or not an account has it, so that a refusal does not tell; the IP's
  // is taken first, so that one address over its limit cannot drain a name's.
  if (!state.rate_limiter().allow("login", caller.ip) ||
      (username && !state.rate_limiter().allow("login_username", *username))) {
    return reply(Error(Errc::rate_limited, "too many login attempts; try again later"));
  }
  if (auto r = check_device_key(request.device); !r) return reply(std::move(r).error());
  SecureBytes password = take_password(request.password);
  std::string name = username ? std::move(*username) : std::string();
  boost::asio::post(
      state.slow_pool(), [&state, name = std::move(name), device = std::move(request.device),
                          password = std::move(password), reply = std::move(reply)]() mutable {
        auto account = name.empty() ? Result<store::Account>(Error(Errc::not_found, ""))
                                    : state.store().account_by_username(name);
        if (!account && account.error().code() != Errc::not_found) {
          return reply(std::move(account).error());
        }
        bool good = account ? verify_password(account->password_hash, password)
                            : (verify_password(decoy_hash(), password), false);
        if (!good) return reply(Error(Errc::unauthenticated, "wrong username or password"));
        reply(body(finish_login(state, *account, std::move(device))));
      });
}

void handle_auth_challenge(ChallengeState& challenges, Reply reply) {
  if (challenges.pending) {
    // Superseded: remember it so that a late use reads as a replay.
    challenges.used.push_back(std::move(challenges.pending->value));
  }
  Bytes value = crypto::random_bytes(proto::kChallengeSize);
  challenges.pending =
      ChallengeState::Pending{value, std::chrono::steady_clock::now() + kChallengeLifetime};
  if (challenges.used.size() > kUsedChallengesKept) challenges.used.erase(challenges.used.begin());
  reply(proto::ResponseBody(proto::ChallengeResponse{std::move(value)}));
}

void handle_auth_device(ServerState& state, ChallengeState& challenges, proto::AuthDevice request,
                        Reply reply) {
  bool matches =
      challenges.pending && constant_time_equal(challenges.pending->value, request.challenge);
  if (!matches) {
    for (const auto& used : challenges.used) {
      if (constant_time_equal(used, request.challenge)) {
        return reply(Error(Errc::replayed, "this challenge was already used"));
      }
    }
    return reply(Error(Errc::unauthenticated, "unknown challenge; ask for one first"));
  }
  // Single use, whatever the outcome.
  auto pending = std::move(*challenges.pending);
  challenges.pending.reset();
  challenges.used.push_back(pending.value);
  if (challenges.used.size() > kUsedChallengesKept) challenges.used.erase(challenges.used.begin());
  if (std::chrono::steady_clock::now() > pending.expires) {
    return reply(Error(Errc::expired, "the challenge has expired"));
  }
  if (request.device_id.size() != proto::kIdSize) {
    return reply(Error(Errc::unauthenticated, "unknown device"));
  }
  auto device = state.store().device(request.device_id);
  if (!device) {
    if (device.error().code() == Errc::not_found) {
      return reply(Error(Errc::unauthenticated, "unknown device"));
    }
    return reply(std::move(device).error());
  }
  if (!crypto::ed25519_verify(device->signature_key,
                              proto::device_auth_message(pending.value, request.device_id),
                              request.signature)) {
    return reply(Error(Errc::unauthenticated, "the signature does not verify"));
  }
  uint64_t now = now_ms();
  (void)state.store().touch_device(device->id, now - now % kDayMs);
  reply(body(create_session(state, device->account_id, device->id)));
}

void handle_auth_session(ServerState& state, proto::AuthSession request, Reply reply) {
  if (request.token.size() != proto::kSessionTokenSize) {
    return reply(Error(Errc::unauthenticated, "not a session token"));
  }
  auto session = state.store().session(crypto::sha256(request.token));
  if (!session) {
    if (session.error().code() == Errc::not_found) {
      return reply(Error(Errc::unauthenticated, "unknown or revoked session"));
    }
    return reply(std::move(session).error());
  }
  uint64_t now = now_ms();
  if (session->expires_at <= now) return reply(Error(Errc::expired, "the session has expired"));
  (void)state.store().touch_device(session->device_id, now - now % kDayMs);
  reply(proto::ResponseBody(proto::SessionResponse{session->account_id, session->device_id,
                                                   std::move(request.token),
                                                   session->expires_at / 1000}));
}

void handle_logout(ServerState& state, BytesView token_hash, Reply reply) {
  if (auto r = state.store().delete_session(token_hash); !r) return reply(std::move(r).error());
  reply(proto::ResponseBody(proto::EmptyResponse{}));
}

void handle_get_profile(ServerState& state, const Caller& caller, Reply reply) {
  auto account = caller_account(state, caller);
  if (!account) return reply(std::move(account).error());
  proto::ProfileResponse p;
  p.account_id = account->id;
  p.username = account->username;
  p.email = account->email;
  p.email_verified = account->email_verified ? 1 : 0;
  p.display_name = account->display_name;
  p.phone = account->phone;
  p.created_at = account->created_at / 1000;
  reply(proto::ResponseBody(std::move(p)));
}

void handle_update_profile(ServerState& state, const Caller& caller, proto::UpdateProfile request,
                           Reply reply) {
  auto account = caller_account(state, caller);
  if (!account) return reply(std::move(account).error());
  if (auto r = check_optional_text(request.display_name, kMaxDisplayName, "the display name"); !r) {
    return reply(std::move(r).error());
  }
  if (auto r = check_phone(request.phone); !r) return reply(std::move(r).error());
  bool new_email = false;
  if (request.email) {
    auto email = normalize_email(*request.email);
    if (!email) return reply(std::move(email).error());
    if (*email != account->email) {
      account->email = std::move(*email);
      account->email_verified = false;
      new_email = true;
    }
  }
  if (request.display_name) account->display_name = cleared_if_empty(request.display_name);
  if (request.phone) account->phone = cleared_if_empty(request.phone);
  if (auto r = state.store().update_account(*account); !r) return reply(std::move(r).error());
  if (new_email) {
    if (auto r = send_code(state, *account, store::CodePurpose::email_verification); !r) {
      return reply(std::move(r).error());
    }
  }
  handle_get_profile(state, caller, std::move(reply));
}

void handle_verify_email(ServerState& state, const Caller& caller, proto::VerifyEmail request,
                         Reply reply) {
  auto account = caller_account(state, caller);
  if (!account) return reply(std::move(account).error());
  if (auto r =
          redeem_code(state, account->id, store::CodePurpose::email_verification, request.code);
      !r) {
    return reply(std::move(r).error());
  }
  account->email_verified = true;
  if (auto r = state.store().update_account(*account); !r) return reply(std::move(r).error());
  reply(proto::ResponseBody(proto::EmptyResponse{}));
}

void handle_request_recovery(ServerState& state, const Caller& caller,
                             proto::RequestRecovery request, Reply reply) {
  if (!state.rate_limiter().allow("login", caller.ip)) {
    return reply(Error(Errc::rate_limited, "too many attempts; try again later"));
  }
  // The same answer whether or not the account exists: this must not reveal who has one.
  if (auto username = normalize_username(request.username)) {
    if (auto account = state.store().account_by_username(*username)) {
      auto sent = send_code(state, *account, store::CodePurpose::account_recovery);
      if (!sent)
        spdlog::warn("accounts: cannot send a recovery code: {}", sent.error().to_string());
    }
  }
  reply(proto::ResponseBody(proto::EmptyResponse{}));
}

void handle_recover_account(ServerState& state, const Caller& caller, proto::RecoverAccount request,
                            Reply reply) {
  auto username = normalize_username(request.username);
  if (!state.rate_limiter().allow("login", caller.ip) ||
      (username && !state.rate_limiter().allow("login_username", *username))) {
    return reply(Error(Errc::rate_limited, "too many attempts; try again later"));
  }
  if (auto r = check_password(request.new_password); !r) return reply(std::move(r).error());
  if (!username) return reply(Error(Errc::unauthenticated, "wrong username or code"));
  auto account = state.store().account_by_username(*username);
  if (!account) {
    if (account.error().code() == Errc::not_found) {
      return reply(Error(Errc::unauthenticated, "wrong username or code"));
    }
    return reply(std::move(account).error());
  }
  if (auto r = redeem_code(state, account->id, store::CodePurpose::account_recovery, request.code);
      !r) {
    return reply(std::move(r).error());
  }
  SecureBytes password = take_password(request.new_password);
  boost::asio::post(state.slow_pool(),
                    [&state, account = std::move(*account), password = std::move(password),
                     reply = std::move(reply)]() mutable {
                      auto hash = hash_password(password);
                      if (!hash) return reply(std::move(hash).error());
                      account.password_hash = std::move(*hash);
                      if (auto r = state.store().update_account(account); !r)
                        return reply(std::move(r).error());
                      // Whoever knew the old password may hold sessions: end them all.
                      if (auto r = state.store().delete_sessions(account.id); !r)
                        return reply(std::move(r).error());
                      if (auto devices = state.store().devices(account.id)) {
                        for (const auto& d : *devices)
                          end_device_sessions(state, d.id, Errc::unauthenticated);
                      }
                      spdlog::info("accounts: account {} recovered", account_log_tag(account.id));
                      reply(proto::ResponseBody(proto::EmptyResponse{}));
                    });
}

void handle_change_password(ServerState& state, const Caller& caller, proto::ChangePassword request,
                            Reply reply) {
  auto account = caller_account(state, caller);
  if (!account) return reply(std::move(account).error());
  if (!state.rate_limiter().allow("login_username", account->username)) {
    return reply(Error(Errc::rate_limited, "too many attempts; try again later"));
  }
  if (auto r = check_password(request.new_password); !r) return reply(std::move(r).error());
  SecureBytes old_password = take_password(request.old_password);
  SecureBytes new_password = take_password(request.new_password);
  boost::asio::post(state.slow_pool(),
                    [&state, account = std::move(*account), old_password = std::move(old_password),
                     new_password = std::move(new_password), reply = std::move(reply)]() mutable {
                      if (!verify_password(account.password_hash, old_password)) {
                        return reply(Error(Errc::unauthenticated, "wrong password"));
                      }
                      auto hash = hash_password(new_password);
                      if (!hash) return reply(std::move(hash).error());
                      account.password_hash = std::move(*hash);
                      if (auto r = state.store().update_account(account); !r)
                        return reply(std::move(r).error());
                      reply(proto::ResponseBody(proto::EmptyResponse{}));
                    });
}

}  // namespace sotto::server
