#include "sotto/client/environment.h"

#include <chrono>

#include "sotto/crypto/primitives.h"

namespace sotto::client {

uint64_t SystemEnvironment::now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void SystemEnvironment::random(std::span<uint8_t> out) {
  crypto::random_fill(out);
}

}  // namespace sotto::client
