// What the key directory maps an account to: label = the account's normalised username,
// value = the TLS encoding of DirectoryValue, the account's devices and their Ed25519
// signature keys (the keys of their MLS leaves). A client that verified a lookup proof trusts
// exactly these keys for the account. An erased account is tombstoned with an empty value
// (zero bytes, not an encoded empty list), so that "no devices" and "gone" stay distinct.
#pragma once

#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/tls.h"

namespace sotto::proto {

struct DirectoryDevice {
  Bytes device_id;      // kIdSize bytes
  Bytes signature_key;  // 32-byte Ed25519 public key
  SOTTO_TLS_FIELDS(device_id, signature_key)
};

// Devices oldest first.
struct DirectoryValue {
  std::vector<DirectoryDevice> devices;
  SOTTO_TLS_FIELDS(devices)
};

}  // namespace sotto::proto
