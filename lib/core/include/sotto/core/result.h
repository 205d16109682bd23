// Result<T>: the one error type of Sotto. No exception crosses a library, C or wasm
// boundary; a failure is a value with a stable code and a message for the person reading it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sotto {

// Stable error codes: the numbers are part of the wire protocol and of logs, never reuse one.
enum class Errc : uint16_t {
  ok = 0,
  // Decoding untrusted bytes.
  truncated = 1,           // input ended inside a value
  trailing_bytes = 2,      // bytes left over after a complete value
  non_minimal_varint = 3,  // a varint length that could have been shorter
  length_limit = 4,        // a declared length over the configured limit
  invalid_value = 5,       // a value outside its allowed set (unknown tag, bad flag, ...)
  invalid_encoding = 6,    // text encodings: hex, base64
  // Cryptography.
  crypto_failure = 20,         // a primitive failed (bad key, all-zero DH output, ...)
  authentication_failed = 21,  // AEAD tag or MAC did not verify
  bad_signature = 22,
  unsupported = 23,    // algorithm or suite not available in this build
  message_limit = 24,  // a sequence number or key use limit reached
  // General.
  invalid_argument = 40,
  not_found = 41,
  internal = 60,
  // Key transparency: what a client concludes from a server's proofs.
  bad_proof = 70,         // a Merkle, prefix-tree or VRF proof that does not verify
  stale = 71,             // a signed tree head older than one already seen
  split_view = 72,        // two signed heads that cannot both be honest (a forked log)
  unexpected_value = 73,  // a monitored label holds a value its owner did not publish
  // Services (client-server protocol): what a request to a server can fail with.
  unauthenticated = 80,      // no session, or the session/challenge signature is not valid
  forbidden = 81,            // authenticated, but not allowed (another device's queue, ...)
  already_exists = 82,       // a username, e-mail or device key that is taken
  conflict = 83,             // a commit for an epoch that already has one; retry after fetching
  rate_limited = 84,         // too many requests; try again later
  quota_exceeded = 85,       // storage quota, queue depth
  too_large = 86,            // a message or file over the server's limit
  expired = 87,              // a session, code or challenge past its lifetime
  replayed = 88,             // a request id or nonce already used
  unsupported_version = 89,  // a protocol version the peer does not speak
  unavailable = 90,          // the server is shutting down or a dependency failed
  // MLS groups: why a handshake message or a Welcome was refused.
  wrong_epoch = 91,           // a message for another epoch than the group's
  bad_membership_tag = 92,    // a PublicMessage's membership tag does not verify
  bad_parent_hash = 93,       // a ratchet tree or UpdatePath whose parent hashes do not chain
  bad_confirmation_tag = 94,  // a commit's or GroupInfo's confirmation tag does not verify
  missing_capability = 95,    // a member or KeyPackage lacks a capability the group requires
  invalid_commit = 96,    // a commit's proposals break the rules (disallowed type, no path, ...)
  outside_lifetime = 97,  // a KeyPackage used before not_before or after not_after
  group_ended = 98,       // a group that a ReInit closed: it takes no new messages
};

std::string_view errc_name(Errc code);

class Error {
 public:
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  Errc code() const { return code_; }
  const std::string& message() const { return message_; }

  // "context: message", so that an error read at the top says where it came from.
  Error with_context(std::string_view context) && {
    message_.insert(0, ": ");
    message_.insert(0, context);
    return std::move(*this);
  }

  // "<code name>: <message>".
  std::string to_string() const;

 private:
  Errc code_;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT: implicit

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_{Errc::ok, {}};
  bool failed_ = false;
};

inline Result<void> success() {
  return {};
}

}  // namespace sotto

#define SOTTO_CONCAT_INNER(a, b) a##b
#define SOTTO_CONCAT(a, b) SOTTO_CONCAT_INNER(a, b)

// Return the error of `expr` (a Result) from the enclosing function.
#define SOTTO_TRY(expr)                            \
  do {                                             \
    auto&& sotto_try_result_ = (expr);             \
    if (!sotto_try_result_.ok()) {                 \
      return std::move(sotto_try_result_).error(); \
    }                                              \
  } while (0)

// As SOTTO_TRY, prefixing the error message with `context`.
#define SOTTO_TRY_CTX(expr, context)                                     \
  do {                                                                   \
    auto&& sotto_try_result_ = (expr);                                   \
    if (!sotto_try_result_.ok()) {                                       \
      return std::move(sotto_try_result_).error().with_context(context); \
    }                                                                    \
  } while (0)

// `SOTTO_TRY_ASSIGN(auto x, f());` declares x from the value of f() or returns its error.
#define SOTTO_TRY_ASSIGN(lhs, expr) \
  SOTTO_TRY_ASSIGN_IMPL(SOTTO_CONCAT(sotto_try_value_, __LINE__), lhs, expr)
#define SOTTO_TRY_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) {                            \
    return std::move(tmp).error();            \
  }                                           \
  lhs = std::move(tmp).value()
