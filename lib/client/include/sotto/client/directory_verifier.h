// The engine's one use of the key directory (lib/kt): verify a kt_lookup proof for a
// username against the newest signed head seen, and return the account's devices. Kept in
// this one place so that a change of lib/kt's proof structure touches one file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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

  // ---- heads exchanged inside conversations (lib/kt's gossip) ----
  // The held head, kDirectoryHeadSize bytes; Errc::not_found before the first verified proof.
  Result<Bytes> gossip() const;
  // A head another member sent. Nothing: the same head. A pair: the log sizes (old, new)
  // whose consistency proof complete_gossip needs. Errc::split_view when the two heads cannot
  // both be honest: the evidence is kept in this state, so save() it. Errc::bad_signature
  // for a head the directory did not sign, Errc::not_found while no head is held, and the
  // decoder's errors.
  Result<std::optional<std::pair<uint64_t, uint64_t>>> receive_gossip(BytesView gossip,
                                                                       const DirectoryKeys& keys);
  // With the consistency proof between the two heads: moves to the peer's head when it is
  // newer. Errc::split_view (evidence kept) when the logs do not extend each other.
  Result<void> complete_gossip(BytesView gossip, const std::vector<Bytes>& consistency,
                               const DirectoryKeys& keys);
  // A split view was found: the directory showed two members logs that do not agree.
  bool split_view() const;

 private:
  struct State;
  explicit DirectoryVerifier(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace sotto::client
