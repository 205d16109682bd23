#include "sotto/client/directory_verifier.h"

#include "sotto/core/tls.h"
#include "sotto/kt/verifier.h"
#include "sotto/proto/directory_value.h"
#include "sotto/proto/protocol.h"

namespace sotto::client {

struct DirectoryVerifier::State {
  kt::Verifier verifier;
};

DirectoryVerifier::DirectoryVerifier(std::unique_ptr<State> state) : state_(std::move(state)) {}
DirectoryVerifier::~DirectoryVerifier() = default;
DirectoryVerifier::DirectoryVerifier(DirectoryVerifier&&) noexcept = default;
DirectoryVerifier& DirectoryVerifier::operator=(DirectoryVerifier&&) noexcept = default;

Result<DirectoryVerifier> DirectoryVerifier::restore(const std::optional<Bytes>& state) {
  auto s = std::make_unique<State>();
  if (state) {
    SOTTO_TRY_ASSIGN(s->verifier, kt::Verifier::restore(*state));
  }
  return DirectoryVerifier(std::move(s));
}

Bytes DirectoryVerifier::save() const {
  return state_->verifier.save();
}

uint64_t DirectoryVerifier::known_log_size() const {
  return state_->verifier.known_log_size();
}

Result<VerifiedDevices> DirectoryVerifier::verify_lookup(const std::string& username,
                                                         BytesView proof, const DirectoryKeys& keys,
                                                         uint64_t now) {
  SOTTO_TRY_ASSIGN(auto lookup, tls::decode<kt::LookupProof>(proof));
  // The verifier moves to the proof's head only when the whole proof verifies, so a copy is
  // not needed to keep a refused proof from changing anything.
  SOTTO_TRY_ASSIGN(auto value,
                   state_->verifier.verify_lookup(
                       as_bytes(username), lookup,
                       kt::DirectoryKeys{keys.vrf_public_key, keys.signing_public_key}, now));
  VerifiedDevices out;
  out.version = value.version;
  out.epoch = value.epoch;
  if (value.value.empty()) {
    out.erased = true;
    return out;
  }
  auto decoded = tls::decode<proto::DirectoryValue>(value.value);
  if (!decoded) {
    return std::move(decoded).error().with_context("the directory's value for " + username);
  }
  for (auto& d : decoded->devices) {
    if (d.device_id.size() != proto::kIdSize || d.signature_key.size() != 32) {
      return Error(Errc::invalid_value, "a directory device with a malformed id or key");
    }
    out.devices.push_back(ContactDevice{std::move(d.device_id), std::move(d.signature_key)});
  }
  return out;
}

}  // namespace sotto::client
