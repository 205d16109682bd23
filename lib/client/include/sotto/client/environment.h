// Time and randomness, the engine's only view of the world besides its transport and store:
// tests pass a deterministic one.
#pragma once

#include <cstdint>
#include <span>

namespace sotto::client {

class Environment {
 public:
  virtual ~Environment() = default;
  // Milliseconds since the Unix epoch.
  virtual uint64_t now_ms() = 0;
  // Fills `out` with cryptographically secure random bytes.
  virtual void random(std::span<uint8_t> out) = 0;
};

// The system clock and libsodium's generator; works in the browser build too.
class SystemEnvironment final : public Environment {
 public:
  uint64_t now_ms() override;
  void random(std::span<uint8_t> out) override;
};

}  // namespace sotto::client
