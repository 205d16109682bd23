// The two curve OIDs this library speaks (RFC 9580 section 9.2), without the DER tag and length.
#pragma once

#include <cstdint>

namespace sotto::openpgp {

// 1.3.6.1.4.1.11591.15.1
inline constexpr uint8_t kEd25519LegacyOid[] = {0x2b, 0x06, 0x01, 0x04, 0x01,
                                                0xda, 0x47, 0x0f, 0x01};
// 1.3.6.1.4.1.3029.1.5.1
inline constexpr uint8_t kCurve25519LegacyOid[] = {0x2b, 0x06, 0x01, 0x04, 0x01,
                                                   0x97, 0x55, 0x01, 0x05, 0x01};

}  // namespace sotto::openpgp
