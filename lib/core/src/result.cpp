#include "sotto/core/result.h"

namespace sotto {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::ok:
      return "ok";
    case Errc::truncated:
      return "truncated";
    case Errc::trailing_bytes:
      return "trailing_bytes";
    case Errc::non_minimal_varint:
      return "non_minimal_varint";
    case Errc::length_limit:
      return "length_limit";
    case Errc::invalid_value:
      return "invalid_value";
    case Errc::invalid_encoding:
      return "invalid_encoding";
    case Errc::crypto_failure:
      return "crypto_failure";
    case Errc::authentication_failed:
      return "authentication_failed";
    case Errc::bad_signature:
      return "bad_signature";
    case Errc::unsupported:
      return "unsupported";
    case Errc::message_limit:
      return "message_limit";
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::internal:
      return "internal";
    case Errc::bad_proof:
      return "bad_proof";
    case Errc::stale:
      return "stale";
    case Errc::split_view:
      return "split_view";
    case Errc::unexpected_value:
      return "unexpected_value";
    case Errc::unauthenticated:
      return "unauthenticated";
    case Errc::forbidden:
      return "forbidden";
    case Errc::already_exists:
      return "already_exists";
    case Errc::conflict:
      return "conflict";
    case Errc::rate_limited:
      return "rate_limited";
    case Errc::quota_exceeded:
      return "quota_exceeded";
    case Errc::too_large:
      return "too_large";
    case Errc::expired:
      return "expired";
    case Errc::replayed:
      return "replayed";
    case Errc::unsupported_version:
      return "unsupported_version";
    case Errc::unavailable:
      return "unavailable";
    case Errc::wrong_epoch:
      return "wrong_epoch";
    case Errc::bad_membership_tag:
      return "bad_membership_tag";
    case Errc::bad_parent_hash:
      return "bad_parent_hash";
    case Errc::bad_confirmation_tag:
      return "bad_confirmation_tag";
    case Errc::missing_capability:
      return "missing_capability";
    case Errc::invalid_commit:
      return "invalid_commit";
    case Errc::outside_lifetime:
      return "outside_lifetime";
    case Errc::group_ended:
      return "group_ended";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string out(errc_name(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace sotto
