#include "witness.h"

#include <string>
#include <utility>

#include "sotto/kt/log_tree.h"

namespace sotto::witness {

namespace {

std::string epoch_text(uint64_t epoch) {
  return "epoch " + std::to_string(epoch);
}

}  // namespace

Result<Witness> Witness::create(BytesView log_public_key, crypto::Ed25519SigningKey key) {
  if (log_public_key.size() != crypto::kEd25519PublicKeySize) {
    return Error(
        Errc::invalid_argument,
        "the log's public key is " + std::to_string(log_public_key.size()) + " bytes, not 32");
  }
  return Witness(to_bytes(log_public_key), std::move(key));
}

Result<Witness> Witness::restore(BytesView state) {
  SOTTO_TRY_ASSIGN(WitnessState decoded, tls::decode<WitnessState>(state));
  if (decoded.format != 1) {
    return Error(Errc::invalid_value,
                 "unknown witness state format " + std::to_string(decoded.format));
  }
  SOTTO_TRY_ASSIGN(auto key, crypto::Ed25519SigningKey::from_seed(decoded.witness_seed));
  SOTTO_TRY_ASSIGN(Witness witness, create(decoded.log_public_key, std::move(key)));
  if (decoded.cosigned) {
    SOTTO_TRY_CTX(kt::verify_tree_head(*decoded.cosigned, witness.log_public_key_),
                  "the head in the witness state");
  }
  witness.cosigned_ = std::move(decoded.cosigned);
  return witness;
}

Bytes Witness::save() const {
  WitnessState state;
  state.log_public_key = log_public_key_;
  state.witness_seed = key_.seed();
  state.cosigned = cosigned_;
  return tls::encode(state);
}

Result<void> Witness::check(const kt::SignedTreeHead& head,
                            std::span<const Bytes> consistency) const {
  SOTTO_TRY(kt::verify_tree_head(head, log_public_key_));
  if (!cosigned_) return success();  // the first head: trusted on the log's signature alone
  const kt::SignedTreeHead& held = *cosigned_;
  if (head.epoch < held.epoch) {
    return Error(Errc::stale, "the head of " + epoch_text(head.epoch) + " is older than the " +
                                  epoch_text(held.epoch) + " this witness cosigned (a rollback)");
  }
  if (head.epoch == held.epoch) {
    if (kt::tree_head_tbs(head) != kt::tree_head_tbs(held)) {
      return Error(Errc::split_view, "the log signed two different heads for " +
                                         epoch_text(head.epoch) + " (a forked log)");
    }
    return success();
  }
  if (consistency.empty()) {
    return Error(Errc::bad_proof, "the head of " + epoch_text(head.epoch) +
                                      " needs a consistency proof from the cosigned " +
                                      epoch_text(held.epoch));
  }
  auto consistent = kt::verify_consistency(held.log_size, head.log_size, consistency, held.log_root,
                                           head.log_root);
  if (!consistent.ok()) {
    return Error(Errc::split_view,
                 "the log of " + epoch_text(head.epoch) + " does not extend the cosigned log of " +
                     epoch_text(held.epoch) + " (a forked log): " + consistent.error().message());
  }
  return success();
}

Result<kt::Cosignature> Witness::cosign(const kt::SignedTreeHead& head,
                                        std::span<const Bytes> consistency) {
  SOTTO_TRY(check(head, consistency));
  kt::Cosignature cosignature{key_.public_key(), key_.sign(kt::cosignature_tbs(head))};
  cosigned_ = head;
  return cosignature;
}

}  // namespace sotto::witness
