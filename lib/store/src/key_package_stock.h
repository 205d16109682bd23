// The cap on a device's one-time key packages, checked by both stores inside the write that
// adds them, so that uploads racing each other cannot together pass it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "sotto/core/result.h"

namespace sotto::store {

inline Result<void> check_key_package_stock(uint64_t stock, size_t adding, uint64_t max_stock) {
  if (stock + adding <= max_stock) return success();
  return Error(Errc::quota_exceeded, "a device keeps at most " + std::to_string(max_stock) +
                                         " key packages; it has " + std::to_string(stock));
}

}  // namespace sotto::store
