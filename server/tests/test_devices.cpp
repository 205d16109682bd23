#include "test_devices.h"

#include <gtest/gtest.h>

namespace sotto::testing {

TestDevice register_device(uint16_t port, const std::string& username,
                           std::optional<std::string> display_name) {
  TestDevice d;
  d.client = std::make_unique<ProtocolClient>(port);
  proto::RegisterAccount r;
  r.username = username;
  r.email = username + "@example.org";
  r.password = kTestPassword;
  r.display_name = std::move(display_name);
  r.device = proto::DeviceKey{d.key.public_key(), "phone"};
  auto answer = d.client->request(r);
  const auto* session = as<proto::SessionResponse>(answer);
  EXPECT_NE(session, nullptr) << "register: " << errc_name(error_code(answer));
  if (session) d.session = *session;
  return d;
}

TestDevice login_device(uint16_t port, const std::string& username) {
  TestDevice d;
  d.client = std::make_unique<ProtocolClient>(port);
  auto answer =
      d.client->request(proto::Login{username, kTestPassword, {d.key.public_key(), "laptop"}});
  const auto* session = as<proto::SessionResponse>(answer);
  EXPECT_NE(session, nullptr) << "login: " << errc_name(error_code(answer));
  if (session) d.session = *session;
  return d;
}

}  // namespace sotto::testing
