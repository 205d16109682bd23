// Accounts and sessions: registration, password login, device authentication by signature,
// session resumption, profile (rectification, e-mail verification), recovery by e-mail code,
// password change. Password hashes (Argon2id) run on the state's slow pool, never on an io
// thread; the handlers answer through Reply from whichever thread finishes.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "services/service.h"

namespace sotto::server {

// Usernames: 3-32 characters of a-z 0-9 . _ -, starting with a letter; upper case is folded.
Result<std::string> normalize_username(std::string_view username);
// A plausible address (local@domain.tld), folded to lower case.
Result<std::string> normalize_email(std::string_view email);
// 10-1024 bytes.
Result<void> check_password(std::string_view password);

// The auth_challenge state of one connection: the pending challenge and recently used ones
// (so that a replay is told apart from a challenge never issued).
struct ChallengeState {
  struct Pending {
    Bytes value;
    std::chrono::steady_clock::time_point expires;
  };
  std::optional<Pending> pending;
  std::vector<Bytes> used;
};

void handle_register(ServerState& state, const Caller& caller, proto::RegisterAccount request,
                     Reply reply);
void handle_login(ServerState& state, const Caller& caller, proto::Login request, Reply reply);
// Both run on the connection's strand: `challenges` belongs to it.
void handle_auth_challenge(ChallengeState& challenges, Reply reply);
void handle_auth_device(ServerState& state, ChallengeState& challenges, proto::AuthDevice request,
                        Reply reply);
void handle_auth_session(ServerState& state, proto::AuthSession request, Reply reply);
// `token_hash`: the hash of the connection's session token.
void handle_logout(ServerState& state, BytesView token_hash, Reply reply);
void handle_get_profile(ServerState& state, const Caller& caller, Reply reply);
void handle_update_profile(ServerState& state, const Caller& caller, proto::UpdateProfile request,
                           Reply reply);
void handle_verify_email(ServerState& state, const Caller& caller, proto::VerifyEmail request,
                         Reply reply);
void handle_request_recovery(ServerState& state, const Caller& caller,
                             proto::RequestRecovery request, Reply reply);
void handle_recover_account(ServerState& state, const Caller& caller, proto::RecoverAccount request,
                            Reply reply);
void handle_change_password(ServerState& state, const Caller& caller, proto::ChangePassword request,
                            Reply reply);

// Shared with the devices service.
// The wall clock in milliseconds since the Unix epoch (the store takes times as arguments).
uint64_t now_ms();
inline uint64_t unix_now_ms() {
  return now_ms();
}
// A new session for the device: a random token, stored as its SHA-256.
Result<proto::SessionResponse> create_session(ServerState& state, const Bytes& account_id,
                                              const Bytes& device_id);
// Errc::invalid_argument unless the key is a 32-byte Ed25519 key and the name is short.
Result<void> check_device_key(const proto::DeviceKey& device);

}  // namespace sotto::server
