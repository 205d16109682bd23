#include "test_devices.h"

#include <gtest/gtest.h>

#include <chrono>
#include <span>

#include "sotto/core/tls.h"
#include "sotto/mls/group.h"
#include "sotto/mls/messages.h"

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

Bytes device_key_package(const crypto::Ed25519SigningKey& key) {
  const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  auto bundle = mls::create_key_package(crypto::SuiteId::x25519_chacha20poly1305_sha256_ed25519,
                                        mls::Credential{mls::BasicCredential{to_bytes("device")}},
                                        key.seed(), {now - 60, now + 86400},
                                        [](std::span<uint8_t> out) { crypto::random_fill(out); });
  EXPECT_TRUE(bundle.ok());
  mls::MlsMessage m;
  m.content = std::move(bundle).value().key_package;
  return tls::encode(m);
}

}  // namespace sotto::testing
