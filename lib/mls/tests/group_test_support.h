// What the group tests share: a deterministic RNG, KeyPackages and small groups, and
// GroupTestAccess, which re-signs handshake messages a test has altered so that the checks
// behind the signature and the membership tag are reached.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/crypto/primitives.h"
#include "sotto/mls/framing.h"
#include "sotto/mls/group.h"

namespace sotto::mls {

struct GroupTestAccess {
  // `changed` (a PublicMessage from `sender` in its current epoch) signed again with a fresh
  // membership tag; the confirmation tag is kept as it is.
  static MlsMessage resign(const Group& sender, const PublicMessage& changed) {
    auto ac = sender.sign(changed.content, WireFormat::public_message);
    EXPECT_TRUE(ac.ok()) << ac.error().to_string();
    ac->auth.confirmation_tag = changed.auth.confirmation_tag;
    auto pub = protect_public(sender.suite_, sender.framing_keys(), *ac);
    EXPECT_TRUE(pub.ok()) << pub.error().to_string();
    return MlsMessage{ProtocolVersion::mls10, std::move(pub).value()};
  }

  // `changed` with its membership tag recomputed (signature and confirmation tag kept).
  static MlsMessage retag(const Group& sender, const PublicMessage& changed) {
    PublicMessage out = changed;
    const AuthenticatedContent ac{WireFormat::public_message, changed.content, changed.auth};
    out.membership_tag = membership_tag(sender.suite_, sender.secrets_.membership_key, ac,
                                        tls::encode(sender.context_));
    return MlsMessage{ProtocolVersion::mls10, std::move(out)};
  }
};

namespace test {

inline constexpr uint64_t kNow = 1'700'000'000;
inline constexpr auto kSuite = crypto::SuiteId::x25519_chacha20poly1305_sha256_ed25519;

// A counter hashed, so runs repeat.
inline Random counter_rng(uint32_t seed) {
  auto state = std::make_shared<uint64_t>(uint64_t{seed} << 32);
  return [state](std::span<uint8_t> out) {
    for (size_t i = 0; i < out.size(); i += 32) {
      uint8_t in[8];
      const uint64_t n = (*state)++;
      std::memcpy(in, &n, sizeof n);
      const Bytes h = crypto::sha256(BytesView(in, sizeof in));
      for (size_t j = 0; j < 32 && i + j < out.size(); ++j) out[i + j] = h[j];
    }
  };
}

// The suites this build has: both natively, suite 3 alone in the browser build.
inline std::vector<crypto::SuiteId> available_suites() {
  std::vector<crypto::SuiteId> out;
  for (auto id : {crypto::SuiteId::x25519_aes128gcm_sha256_ed25519,
                  crypto::SuiteId::x25519_chacha20poly1305_sha256_ed25519}) {
    if (crypto::CipherSuite::supported(static_cast<uint16_t>(id))) out.push_back(id);
  }
  return out;
}

inline Credential basic(std::string_view name) {
  return Credential{BasicCredential{to_bytes(name)}};
}

inline SecureBytes seed(const Random& rng) {
  SecureBytes s(32);
  rng(std::span<uint8_t>(s.data(), s.size()));
  return s;
}

inline KeyPackageBundle make_kp(std::string_view name, const Random& rng,
                                crypto::SuiteId suite = kSuite,
                                const std::optional<Capabilities>& caps = {},
                                Lifetime lifetime = {kNow - 10, kNow + 3600}) {
  auto kp = create_key_package(suite, basic(name), seed(rng), lifetime, rng, caps);
  EXPECT_TRUE(kp.ok()) << kp.error().to_string();
  return std::move(kp).value();
}

template <class T>
T take(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

inline std::string text(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

inline void expect_round_trip(Group& from, Group& to, std::string_view msg, const Random& rng) {
  auto ct = from.protect(as_bytes(msg), rng);
  ASSERT_TRUE(ct.ok()) << ct.error().to_string();
  auto pt = to.unprotect(*ct);
  ASSERT_TRUE(pt.ok()) << pt.error().to_string();
  EXPECT_EQ(text(pt->data), msg);
  EXPECT_EQ(pt->sender, from.own_leaf());
}

inline bool same_epoch(const Group& a, const Group& b) {
  return a.epoch() == b.epoch() &&
         constant_time_equal(a.epoch_authenticator(), b.epoch_authenticator());
}

// Process options with a clock and nothing else.
inline ProcessOptions at_time(uint64_t now) {
  ProcessOptions options;
  options.now = now;
  return options;
}

// The error code of a failed result; Errc::ok when it did not fail.
template <class T>
Errc code_of(const Result<T>& r) {
  return r.ok() ? Errc::ok : r.error().code();
}

// Alice creates the group and adds the others in one commit; returns every member's state,
// Alice first, all at epoch 1.
inline std::vector<Group> make_group(const std::vector<std::string>& names, const Random& rng,
                                     crypto::SuiteId suite = kSuite,
                                     const std::optional<Capabilities>& caps = {}) {
  std::vector<Group> out;
  out.push_back(
      take(Group::create(suite, to_bytes("group"), basic(names.at(0)), seed(rng), rng, caps)));
  std::vector<KeyPackageBundle> kps;
  std::vector<Proposal> adds;
  for (size_t i = 1; i < names.size(); ++i) {
    kps.push_back(make_kp(names[i], rng, suite, caps));
    adds.push_back(take(out[0].propose_add(kps.back().key_package, kNow)));
  }
  auto committed = take(out[0].commit(adds, rng, kNow));
  out[0] = std::move(committed.next);
  for (const KeyPackageBundle& kp : kps) {
    out.push_back(take(Group::join(*committed.output.welcome, kp.key_package, kp.private_keys)));
  }
  return out;
}

}  // namespace test
}  // namespace sotto::mls
