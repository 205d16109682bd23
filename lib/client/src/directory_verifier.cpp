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

Result<Bytes> DirectoryVerifier::gossip() const {
  return state_->verifier.gossip();
}

Result<std::optional<std::pair<uint64_t, uint64_t>>> DirectoryVerifier::receive_gossip(
    BytesView gossip, const DirectoryKeys& keys) {
  SOTTO_TRY_ASSIGN(auto check, state_->verifier.receive_gossip(gossip, keys.signing_public_key));
  if (!check.request) return std::optional<std::pair<uint64_t, uint64_t>>();
  return std::optional<std::pair<uint64_t, uint64_t>>(
      std::pair{check.request->old_size, check.request->new_size});
}

Result<void> DirectoryVerifier::complete_gossip(BytesView gossip,
                                                const std::vector<Bytes>& consistency,
                                                const DirectoryKeys& keys) {
  SOTTO_TRY_ASSIGN(auto peer, kt::decode_gossip(gossip));
  return state_->verifier.complete_gossip(peer, consistency, keys.signing_public_key);
}

bool DirectoryVerifier::split_view() const {
  return state_->verifier.split_view_evidence().has_value();
}

}  // namespace sotto::client
