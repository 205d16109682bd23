// The witness's protocol logic, sans-IO: it holds the log's public signing key, its own
// signing key and the newest head it cosigned, and turns (a new signed head, a consistency
// proof from the held one) into a cosignature or a typed error:
//
//   * a head the log did not sign, or a malformed one: Errc::bad_signature / Errc::bad_proof;
//   * a head older than the held one: Errc::stale (a rollback);
//   * a head of the held epoch that differs from it, or a newer head whose log does not extend
//     the held one: Errc::split_view (the log shows different views to different parties);
//   * a newer head without a consistency proof: Errc::bad_proof.
//
// The state changes only when a cosignature is produced. The caller persists save() (see
// state_file.h) before it publishes the cosignature, so that a restart cannot lead the witness
// to cosign a fork of a head it already vouched for.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/primitives.h"
#include "sotto/kt/directory_proofs.h"
#include "sotto/kt/witness.h"

namespace sotto::witness {

// The persisted form of a Witness. Holds the witness's private key: the file must be private.
struct WitnessState {
  uint8_t format = 1;
  Bytes log_public_key;
  SecureBytes witness_seed;                    // Ed25519 seed of the witness's own key
  std::optional<kt::SignedTreeHead> cosigned;  // the newest head cosigned, if any
  SOTTO_TLS_FIELDS(format, log_public_key, witness_seed, cosigned)
};

class Witness {
 public:
  // A new witness of the log whose heads `log_public_key` signs, signing with `key`.
  // Errc::invalid_argument for a log key that is not 32 bytes.
  static Result<Witness> create(BytesView log_public_key, crypto::Ed25519SigningKey key);
  // Errc::invalid_value (and the codec's errors) for state that does not decode.
  static Result<Witness> restore(BytesView state);
  Bytes save() const;

  const Bytes& log_public_key() const { return log_public_key_; }
  const Bytes& public_key() const { return key_.public_key(); }
  const std::optional<kt::SignedTreeHead>& cosigned() const { return cosigned_; }

  // Checks `head` against the held one and, when it is the held head or extends it, cosigns
  // it and holds it. Cosigning the held head again gives the same cosignature (Ed25519 is
  // deterministic), so a retry after a lost reply is safe.
  Result<kt::Cosignature> cosign(const kt::SignedTreeHead& head,
                                 std::span<const Bytes> consistency);

 private:
  Witness(Bytes log_public_key, crypto::Ed25519SigningKey key)
      : log_public_key_(std::move(log_public_key)), key_(std::move(key)) {}
  Result<void> check(const kt::SignedTreeHead& head, std::span<const Bytes> consistency) const;

  Bytes log_public_key_;
  crypto::Ed25519SigningKey key_;
  std::optional<kt::SignedTreeHead> cosigned_;
};

}  // namespace sotto::witness
