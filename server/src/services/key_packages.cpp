// Key packages: a device uploads its own; anyone authenticated claims one per device of an
// account, each consumed once, the last-resort one when a device has run out.
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "server_state.h"
#include "services/accounts.h"
#include "services/delivery.h"
#include "services/delivery_internal.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/group.h"
#include "sotto/mls/messages.h"
#include "sotto/store/store.h"

namespace sotto::server {
namespace {

// Checks one uploaded KeyPackage: an MLSMessage holding a KeyPackage of a suite this server
// knows, valid now, whose leaf is signed by the device's own key. The server does not look
// further: the members that add the device check the rest.
Result<void> check_key_package(BytesView bytes, BytesView device_signature_key,
                               uint64_t now_seconds) {
  if (bytes.size() > delivery::kMaxKeyPackageBytes) {
    return Error(Errc::too_large,
                 "over " + std::to_string(delivery::kMaxKeyPackageBytes) + " bytes");
  }
  auto message = tls::decode<mls::MlsMessage>(bytes);
  if (!message.ok()) {
    return Error(Errc::invalid_argument,
                 "not an MLSMessage: " + std::string(message.error().message()));
  }
  const auto* key_package = std::get_if<mls::KeyPackage>(&message->content);
  if (key_package == nullptr) {
    return Error(Errc::invalid_argument, "the MLSMessage does not hold a KeyPackage");
  }
  auto suite = crypto::CipherSuite::create(static_cast<uint16_t>(key_package->cipher_suite));
  if (!suite.ok()) {
    return Error(Errc::invalid_argument, "cipher suite not supported");
  }
  // Compared before the signatures: a foreign key package is refused as such, however it is
  // signed.
  if (!constant_time_equal(key_package->leaf_node.signature_key.data, device_signature_key)) {
    return Error(Errc::forbidden, "the leaf's signature key is not this device's");
  }
  auto valid = mls::validate_key_package(*suite, *key_package, now_seconds);
  if (!valid.ok()) {
    return Error(Errc::invalid_argument, valid.error().message());
  }
  return success();
}

void tell_if_low(ServerState& state, const Bytes& device_id) {
  auto stock = state.store().key_package_stock(device_id);
  if (!stock.ok() || stock->count >= delivery::kLowKeyPackageStock) return;
  if (!state.live().is_live(device_id)) return;
  proto::ServerFrame frame{proto::Event{proto::KeyPackagesLowEvent{stock->count}}};
  const Bytes encoded = proto::encode(frame);
  state.live().send(device_id, std::make_shared<const std::string>(encoded.begin(), encoded.end()));
}

// What a malicious server could serve in place of a device's key package: one with the same
// credential but keys the server made. Only with testing.swap_key_packages_of, so that tests
// can show that clients refuse it (its signature key is not the key directory's).
Result<Bytes> swapped_key_package(BytesView original, uint64_t now_seconds) {
  SOTTO_TRY_ASSIGN(auto message, tls::decode<mls::MlsMessage>(original));
  const auto* key_package = std::get_if<mls::KeyPackage>(&message.content);
  if (key_package == nullptr) return Error(Errc::invalid_value, "not a KeyPackage");
  auto signer = crypto::Ed25519SigningKey::generate();
  const mls::Random rng = [](std::span<uint8_t> out) { crypto::random_fill(out); };
  SOTTO_TRY_ASSIGN(auto forged,
                   mls::create_key_package(key_package->cipher_suite,
                                           key_package->leaf_node.credential, signer.seed(),
                                           mls::Lifetime{now_seconds - 3600, now_seconds + 86400},
                                           rng));
  mls::MlsMessage framed;
  framed.content = std::move(forged.key_package);
  return tls::encode(framed);
}

}  // namespace

void handle_upload_key_packages(ServerState& state, const Caller& caller,
                                proto::UploadKeyPackages request, Reply reply) {
  if (auto ok = delivery::require_device(caller); !ok.ok()) return reply(std::move(ok).error());
  if (request.key_packages.size() > delivery::kMaxKeyPackagesPerUpload) {
    return reply(Error(Errc::invalid_argument,
                       "at most " + std::to_string(delivery::kMaxKeyPackagesPerUpload) +
                           " key packages per upload"));
  }
  if (request.key_packages.empty() && !request.last_resort) {
    return reply(Error(Errc::invalid_argument, "no key packages to upload"));
  }
  const Bytes& device_id = *caller.device_id;
  auto device = state.store().device(device_id);
  if (!device.ok()) return reply(std::move(device).error());

  const uint64_t now = delivery::wall_clock_ms();
  for (size_t i = 0; i < request.key_packages.size(); ++i) {
    auto checked = check_key_package(request.key_packages[i], device->signature_key, now / 1000);
    if (!checked.ok()) {
      return reply(std::move(checked).error().with_context("key package " + std::to_string(i)));
    }
  }
  if (request.last_resort) {
    auto checked = check_key_package(*request.last_resort, device->signature_key, now / 1000);
    if (!checked.ok()) {
      return reply(std::move(checked).error().with_context("last-resort key package"));
    }
  }

  // The store checks the cap in the write that adds them: racing uploads cannot overshoot it.
  auto added = state.store().add_key_packages(device_id, request.key_packages, request.last_resort,
                                              delivery::kMaxKeyPackageStock, now);
  if (!added.ok()) return reply(std::move(added).error());
  reply(proto::ResponseBody{
      proto::KeyPackageStockResponse{added->count, uint8_t{added->has_last_resort}}});
}

void handle_claim_key_packages(ServerState& state, const Caller& caller,
                               proto::ClaimKeyPackages request, Reply reply) {
  if (auto ok = delivery::require_device(caller); !ok.ok()) return reply(std::move(ok).error());
  // A name that cannot be a username names no account.
  auto username = normalize_username(request.username);
  if (!username.ok()) return reply(Error(Errc::not_found, "no such account"));
  auto account = state.store().account_by_username(*username);
  if (!account.ok()) return reply(std::move(account).error());
  auto devices = state.store().devices(account->id);
  if (!devices.ok()) return reply(std::move(devices).error());

  proto::ClaimedKeyPackagesResponse response;
  response.account_id = account->id;
  std::vector<Bytes> claimed_from;
  for (const auto& device : *devices) {
    // A device never joins a group through its own key package: the caller is already in
    // every group it creates, so claiming one for it would only waste the stock.
    if (device.id == *caller.device_id) continue;
    auto key_package = state.store().claim_key_package(device.id);
    if (!key_package.ok()) {
      if (key_package.error().code() == Errc::not_found) continue;  // none left at all
      return reply(std::move(key_package).error());
    }
    Bytes served = std::move(key_package).value();
    if (!state.config().testing.swap_key_packages_of.empty() &&
        state.config().testing.swap_key_packages_of == *username) {
      auto swapped = swapped_key_package(served, delivery::wall_clock_ms() / 1000);
      if (!swapped.ok()) return reply(std::move(swapped).error());
      served = std::move(swapped).value();
    }
    response.key_packages.push_back({device.id, std::move(served)});
    claimed_from.push_back(device.id);
  }
  if (response.key_packages.empty()) {
    return reply(Error(Errc::not_found, "the account has no device with a key package"));
  }
  delivery::metrics().key_packages_claimed.fetch_add(response.key_packages.size());
  reply(proto::ResponseBody{std::move(response)});
  for (const auto& device_id : claimed_from) tell_if_low(state, device_id);
}

void handle_key_package_stock(ServerState& state, const Caller& caller, Reply reply) {
  if (auto ok = delivery::require_device(caller); !ok.ok()) return reply(std::move(ok).error());
  auto stock = state.store().key_package_stock(*caller.device_id);
  if (!stock.ok()) return reply(std::move(stock).error());
  reply(proto::ResponseBody{
      proto::KeyPackageStockResponse{stock->count, uint8_t{stock->has_last_resort}}});
}

}  // namespace sotto::server
