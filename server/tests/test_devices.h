// Devices of test accounts, each with its own connection to a real sottod.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "protocol_client.h"
#include "sotto/crypto/primitives.h"

namespace sotto::testing {

inline constexpr const char* kTestPassword = "correct horse battery";

struct TestDevice {
  crypto::Ed25519SigningKey key = crypto::Ed25519SigningKey::generate();
  std::unique_ptr<ProtocolClient> client;
  proto::SessionResponse session;

  const Bytes& id() const { return session.device_id; }
};

// Registers `username` (e-mail username@example.org, password kTestPassword) with a first
// device; a failed registration is a test failure and leaves `session` empty.
TestDevice register_device(uint16_t port, const std::string& username,
                           std::optional<std::string> display_name = std::nullopt);
// Another device of the account, by password login.
TestDevice login_device(uint16_t port, const std::string& username);

// A KeyPackage (suite 3, valid from a minute ago for a day) signed with the device's key,
// framed as an MLSMessage, as a client uploads it.
Bytes device_key_package(const crypto::Ed25519SigningKey& key);

}  // namespace sotto::testing
