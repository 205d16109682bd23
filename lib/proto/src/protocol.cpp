#include "sotto/proto/protocol.h"

#include <tuple>
#include <type_traits>

#include "sotto/core/utf8.h"

namespace sotto::proto {
namespace {

// Calls f(s) on every std::string inside a wire value (fields, optionals, lists, selects).
template <class T, class F>
void for_each_string(const T& v, F& f) {
  if constexpr (std::is_same_v<T, std::string>) {
    f(v);
  } else if constexpr (tls::is_std_variant<T>::value) {
    std::visit([&f](const auto& alt) { for_each_string(alt, f); }, v);
  } else if constexpr (tls::is_std_vector<T>::value) {
    if constexpr (!std::is_integral_v<typename T::value_type>) {
      for (const auto& element : v) for_each_string(element, f);
    }
  } else if constexpr (tls::HasFields<T>) {
    std::apply([&f](const auto&... field) { (for_each_string(field, f), ...); }, v.tls_fields());
  }
}

template <class T, class F>
void for_each_string(const std::optional<T>& v, F& f) {
  if (v) for_each_string(*v, f);
}

template <class Frame>
Result<void> check_strings(const Frame& frame) {
  bool valid = true;
  auto check = [&valid](const std::string& s) { valid = valid && is_valid_utf8(s); };
  for_each_string(frame, check);
  if (!valid) return Error(Errc::invalid_value, "a string field is not valid UTF-8");
  return success();
}

}  // namespace

Bytes device_auth_message(BytesView challenge, BytesView device_id) {
  tls::Writer w;
  w.raw(as_bytes("sotto.v1 device auth"));
  w.opaque(challenge);
  w.opaque(device_id);
  return w.take();
}

Bytes link_post_mac_input(BytesView slot_id, BytesView sealed) {
  tls::Writer w;
  w.raw(as_bytes("sotto.v1 link post"));
  w.opaque(slot_id);
  w.opaque(sealed);
  return w.take();
}

Bytes link_answer_mac_input(BytesView slot_id) {
  tls::Writer w;
  w.raw(as_bytes("sotto.v1 link answer"));
  w.opaque(slot_id);
  return w.take();
}

bool is_valid_utf8(std::string_view s) {
  return sotto::is_valid_utf8(s);
}

Result<ClientFrame> decode_client_frame(BytesView bytes, size_t max_frame_bytes) {
  if (bytes.size() > max_frame_bytes) {
    return Error(Errc::too_large, "frame of " + std::to_string(bytes.size()) +
                                      " bytes is over the limit of " +
                                      std::to_string(max_frame_bytes));
  }
  // The version comes first so that a future version's body is never misread as this one's.
  tls::Reader head(bytes);
  SOTTO_TRY_ASSIGN(const uint16_t version, head.u16());
  if (version != kVersion) {
    return Error(Errc::unsupported_version,
                 "protocol version " + std::to_string(version) + " (this server speaks 1)");
  }
  tls::Limits limits;
  limits.max_vector_bytes = max_frame_bytes;
  SOTTO_TRY_ASSIGN(ClientFrame frame, tls::decode<ClientFrame>(bytes, limits));
  SOTTO_TRY(check_strings(frame));
  return frame;
}

Result<ServerFrame> decode_server_frame(BytesView bytes, size_t max_frame_bytes) {
  if (bytes.size() > max_frame_bytes) {
    return Error(Errc::too_large, "frame over the limit");
  }
  tls::Limits limits;
  limits.max_vector_bytes = max_frame_bytes;
  SOTTO_TRY_ASSIGN(ServerFrame frame, tls::decode<ServerFrame>(bytes, limits));
  SOTTO_TRY(check_strings(frame));
  return frame;
}

Bytes encode(const ClientFrame& frame) {
  return tls::encode(frame);
}
Bytes encode(const ServerFrame& frame) {
  return tls::encode(frame);
}

Response error_response(uint64_t request_id, const Error& error) {
  Response response;
  response.request_id = request_id;
  response.body = ErrorResponse{static_cast<uint16_t>(error.code()), error.message()};
  return response;
}

Error to_error(const ErrorResponse& response) {
  return Error(static_cast<Errc>(response.code), response.message);
}

std::string_view request_name(const Request& request) {
  switch (static_cast<RequestType>(
      std::visit([](const auto& r) { return static_cast<uint16_t>(r.tls_tag); }, request))) {
    case RequestType::register_account:
      return "register_account";
    case RequestType::login:
      return "login";
    case RequestType::auth_challenge:
      return "auth_challenge";
    case RequestType::auth_device:
      return "auth_device";
    case RequestType::auth_session:
      return "auth_session";
    case RequestType::logout:
      return "logout";
    case RequestType::get_profile:
      return "get_profile";
    case RequestType::update_profile:
      return "update_profile";
    case RequestType::verify_email:
      return "verify_email";
    case RequestType::request_recovery:
      return "request_recovery";
    case RequestType::recover_account:
      return "recover_account";
    case RequestType::change_password:
      return "change_password";
    case RequestType::list_devices:
      return "list_devices";
    case RequestType::add_device:
      return "add_device";
    case RequestType::revoke_device:
      return "revoke_device";
    case RequestType::open_link:
      return "open_link";
    case RequestType::post_link:
      return "post_link";
    case RequestType::read_link_post:
      return "read_link_post";
    case RequestType::answer_link:
      return "answer_link";
    case RequestType::read_link_answer:
      return "read_link_answer";
    case RequestType::kt_head:
      return "kt_head";
    case RequestType::kt_lookup:
      return "kt_lookup";
    case RequestType::kt_history:
      return "kt_history";
    case RequestType::kt_consistency:
      return "kt_consistency";
    case RequestType::kt_audit:
      return "kt_audit";
    case RequestType::upload_key_packages:
      return "upload_key_packages";
    case RequestType::claim_key_packages:
      return "claim_key_packages";
    case RequestType::key_package_stock:
      return "key_package_stock";
    case RequestType::send:
      return "send";
    case RequestType::fetch:
      return "fetch";
    case RequestType::ack:
      return "ack";
    case RequestType::register_push:
      return "register_push";
    case RequestType::unregister_push:
      return "unregister_push";
    case RequestType::push_key:
      return "push_key";
    case RequestType::export_account:
      return "export_account";
    case RequestType::delete_account:
      return "delete_account";
  }
  return "unknown";
}

void wipe_secrets(Request& request) {
  const auto wipe = [](std::string& s) { secure_wipe(s.data(), s.capacity()); };
  std::visit(
      [&](auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, RegisterAccount> || std::is_same_v<R, Login> ||
                      std::is_same_v<R, DeleteAccount>) {
          wipe(r.password);
        } else if constexpr (std::is_same_v<R, RecoverAccount>) {
          wipe(r.code);
          wipe(r.new_password);
        } else if constexpr (std::is_same_v<R, ChangePassword>) {
          wipe(r.old_password);
          wipe(r.new_password);
        } else if constexpr (std::is_same_v<R, AuthSession>) {
          secure_wipe(r.token.data(), r.token.capacity());
        }
      },
      request);
}

}  // namespace sotto::proto
