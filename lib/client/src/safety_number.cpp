#include "sotto/client/safety_number.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "sotto/core/tls.h"
#include "sotto/crypto/primitives.h"

namespace sotto::client {

SafetyNumberSide safety_side(const std::string& username,
                             const std::vector<ContactDevice>& devices) {
  SafetyNumberSide side{username, {}};
  for (const auto& d : devices) side.device_keys.push_back(d.signature_key);
  return side;
}

namespace {

constexpr std::string_view kLabel = "sotto safety number v1";
constexpr int kIterations = 5200;
constexpr size_t kSideBytes = 30;
constexpr size_t kChunkBytes = 5;

Bytes side_input(const SafetyNumberSide& side) {
  std::vector<Bytes> keys = side.device_keys;
  std::sort(keys.begin(), keys.end());
  tls::Writer w;
  w.raw(BytesView(reinterpret_cast<const uint8_t*>(kLabel.data()), kLabel.size()));
  w.opaque(BytesView(reinterpret_cast<const uint8_t*>(side.username.data()), side.username.size()));
  w.varint(keys.size());
  for (const auto& key : keys) w.opaque(key);
  return w.take();
}

}  // namespace

std::string safety_number_side(const SafetyNumberSide& side) {
  const Bytes input = side_input(side);
  Bytes hash = crypto::sha512(input);
  Bytes next;
  for (int i = 0; i < kIterations; ++i) {
    next.assign(hash.begin(), hash.end());
    next.insert(next.end(), input.begin(), input.end());
    hash = crypto::sha512(next);
  }
  std::string digits;
  for (size_t at = 0; at < kSideBytes; at += kChunkBytes) {
    uint64_t chunk = 0;
    for (size_t i = 0; i < kChunkBytes; ++i) chunk = (chunk << 8) | hash[at + i];
    char group[8];
    std::snprintf(group, sizeof group, "%05u", static_cast<unsigned>(chunk % 100000));
    if (!digits.empty()) digits += ' ';
    digits += group;
  }
  return digits;
}

std::string safety_number(const SafetyNumberSide& a, const SafetyNumberSide& b) {
  const bool a_first = a.username <= b.username;
  return safety_number_side(a_first ? a : b) + " " + safety_number_side(a_first ? b : a);
}

}  // namespace sotto::client
