// The engine's one use of the key directory (lib/kt): verify a kt_lookup proof for a
// username against the newest signed head seen, and return the account's devices. Kept in
// this one place so that a change of lib/kt's proof structure touches one file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sotto/client/client_store.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::client {

// The directory's public keys, pinned in the client's configuration.
struct DirectoryKeys {
  Bytes vrf_public_key;
  Bytes signing_public_key;
};

struct VerifiedDevices {
  std::vector<ContactDevice> devices;  // empty for an erased (tombstoned) account
  bool erased = false;
  uint32_t version = 0;
  uint64_t epoch = 0;
};

class DirectoryVerifier {
 public:
  // From the saved state (nullopt: no head seen yet). Errc::invalid_value for bad state.
  static Result<DirectoryVerifier> restore(const std::optional<Bytes>& state);
  ~DirectoryVerifier();
  DirectoryVerifier(DirectoryVerifier&&) noexcept;
  DirectoryVerifier& operator=(DirectoryVerifier&&) noexcept;

  Bytes save() const;
  // The log size to send with kt_lookup.
  uint64_t known_log_size() const;

  // Verifies `proof` (a KtProofResponse's bytes) for `username` and, only when it verifies,
  // moves to its head. Errc::bad_proof / bad_signature / stale / split_view as lib/kt finds;
  // Errc::not_found when the proof shows the username has no value; Errc::invalid_value when
  // the proven value is not a DirectoryValue.
  // `now`: seconds since the Unix epoch, for the head's age.
  Result<VerifiedDevices> verify_lookup(const std::string& username, BytesView proof,
                                        const DirectoryKeys& keys, uint64_t now);

 private:
  struct State;
  explicit DirectoryVerifier(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace sotto::client
