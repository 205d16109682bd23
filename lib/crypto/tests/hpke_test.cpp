// HPKE against RFC 9180 appendix A, and the ways a caller can get it wrong: tampered input,
// wrong or inconsistent PSK inputs, low-order keys, the export-only AEAD, the message limit.
#include "sotto/crypto/hpke.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "vectors.h"

namespace sotto::crypto {

// Declared a friend in hpke.h: the key schedule's outputs, for the vectors, and the
// sequence number, for the message limit.
struct HpkeContextTestAccess {
  static const SecureBytes& key(const HpkeContext& c) { return c.key_; }
  static const SecureBytes& base_nonce(const HpkeContext& c) { return c.base_nonce_; }
  static const SecureBytes& exporter_secret(const HpkeContext& c) { return c.exporter_secret_; }
  static SecureBytes nonce(const HpkeContext& c) { return c.nonce(); }
  static void set_sequence_number(HpkeContext& c, uint64_t seq) { c.seq_ = seq; }
};

namespace {

using Access = HpkeContextTestAccess;
using sotto::testing::hex_field;
using sotto::testing::Json;

constexpr std::string_view kVectorFile = "hpke/hpke-rfc9180-appendixA.json";
constexpr uint16_t kKemX25519 = 0x0020;
constexpr uint16_t kKdfHkdfSha256 = 0x0001;

// ---- RFC 9180 appendix A -------------------------------------------------------------------

// Why `got` differs from `want`, or nullopt when they agree.
std::optional<std::string> differ(std::string_view what, BytesView got, BytesView want) {
  if (got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin())) {
    return std::nullopt;
  }
  return std::string(what) + " is " + to_hex(got) + ", want " + to_hex(want);
}

std::string failed(std::string_view what, const Error& error) {
  return std::string(what) + " failed: " + error.to_string();
}

#define RETURN_IF_DIFFER(what, got, want)                 \
  do {                                                    \
    if (auto mismatch_ = differ((what), (got), (want))) { \
      return mismatch_;                                   \
    }                                                     \
  } while (0)

// A key pair from DeriveKeyPair(ikm<role>), checked against sk<role>m and pk<role>m.
std::optional<std::string> derive_and_check(const Hpke& hpke, const Json& c, std::string_view role,
                                            HpkeKeyPair& out) {
  const std::string r(role);
  auto derived = hpke.derive_key_pair(hex_field(c, "ikm" + r));
  if (!derived.ok()) return failed("DeriveKeyPair(ikm" + r + ")", derived.error());
  RETURN_IF_DIFFER("sk" + r + "m", derived->private_key, hex_field(c, "sk" + r + "m"));
  RETURN_IF_DIFFER("pk" + r + "m", derived->public_key, hex_field(c, "pk" + r + "m"));
  out = std::move(derived).value();
  return std::nullopt;
}

std::optional<std::string> check_key_schedule(std::string_view side, const HpkeContext& context,
                                              const Json& c, bool export_only) {
  const std::string s(side);
  if (!export_only) {
    RETURN_IF_DIFFER(s + " key", Access::key(context), hex_field(c, "key"));
    RETURN_IF_DIFFER(s + " base_nonce", Access::base_nonce(context), hex_field(c, "base_nonce"));
  }
  RETURN_IF_DIFFER(s + " exporter_secret", Access::exporter_secret(context),
                   hex_field(c, "exporter_secret"));
  return std::nullopt;
}

// The first way this case's outputs differ from the vector, or nullopt when all agree.
std::optional<std::string> verify_case(const Json& c) {
  const auto mode = static_cast<HpkeMode>(c.at("mode").get<int>());
  const auto aead = static_cast<HpkeAead>(c.at("aead_id").get<int>());
  const bool export_only = aead == HpkeAead::export_only;
  const bool has_psk = mode == HpkeMode::psk || mode == HpkeMode::auth_psk;
  const bool has_auth = mode == HpkeMode::auth || mode == HpkeMode::auth_psk;

  auto hpke = Hpke::create(HpkeKem::x25519_sha256, HpkeKdf::hkdf_sha256, aead);
  if (!hpke.ok()) return failed("Hpke::create", hpke.error());

  HpkeKeyPair ephemeral, recipient, sender;
  if (auto m = derive_and_check(*hpke, c, "E", ephemeral)) return m;
  if (auto m = derive_and_check(*hpke, c, "R", recipient)) return m;
  if (has_auth) {
    if (auto m = derive_and_check(*hpke, c, "S", sender)) return m;
  }

  const Bytes info = hex_field(c, "info");
  const Bytes psk = has_psk ? hex_field(c, "psk") : Bytes{};
  const Bytes psk_id = has_psk ? hex_field(c, "psk_id") : Bytes{};

  HpkeOptions sender_options;
  sender_options.psk = psk;
  sender_options.psk_id = psk_id;
  sender_options.sender = has_auth ? &sender : nullptr;
  sender_options.ephemeral = &ephemeral;
  auto setup = hpke->setup_sender(mode, recipient.public_key, info, sender_options);
  if (!setup.ok()) return failed("setup_sender", setup.error());
  RETURN_IF_DIFFER("enc", setup->enc, hex_field(c, "enc"));
  if (auto m = check_key_schedule("sender", setup->context, c, export_only)) return m;
  HpkeContext& sending = setup->context;

  HpkeOptions receiver_options;
  receiver_options.psk = psk;
  receiver_options.psk_id = psk_id;
  const Bytes sender_public_key = has_auth ? sender.public_key : Bytes{};
  receiver_options.sender_public_key = sender_public_key;
  // The recipient's public key left out: setup_receiver derives it from the private key.
  const HpkeKeyPair recipient_private_only{recipient.private_key, {}};
  auto receiving = hpke->setup_receiver(mode, hex_field(c, "enc"), recipient_private_only, info,
                                        receiver_options);
  if (!receiving.ok()) return failed("setup_receiver", receiving.error());
  if (auto m = check_key_schedule("receiver", *receiving, c, export_only)) return m;

  // The vectors list some sequence numbers (0, 1, 2, 4, 255, 256); the messages between
  // them are filler that both sides still seal and open, so that each context reaches the
  // listed numbers through its own counting.
  std::map<uint64_t, const Json*> encryptions;
  for (const Json& e : c.at("encryptions")) {
    encryptions[e.at("sequence_number").get<uint64_t>()] = &e;
  }
  const uint64_t last = encryptions.empty() ? 0 : encryptions.rbegin()->first + 1;
  const Bytes filler = to_bytes("filler");
  for (uint64_t seq = 0; seq < last; ++seq) {
    const std::string at = "encryption " + std::to_string(seq) + ": ";
    const auto it = encryptions.find(seq);
    const bool listed = it != encryptions.end();
    const Bytes aad = listed ? hex_field(*it->second, "aad") : filler;
    const Bytes pt = listed ? hex_field(*it->second, "pt") : filler;
    if (sending.sequence_number() != seq || receiving->sequence_number() != seq) {
      return at + "sequence numbers out of step";
    }
    if (listed)
      RETURN_IF_DIFFER(at + "nonce", Access::nonce(sending), hex_field(*it->second, "nonce"));

    auto ct = sending.seal(aad, pt);
    if (!ct.ok()) return failed(at + "seal", ct.error());
    if (listed) RETURN_IF_DIFFER(at + "ct", *ct, hex_field(*it->second, "ct"));
    auto opened = receiving->open(aad, *ct);
    if (!opened.ok()) return failed(at + "open", opened.error());
    RETURN_IF_DIFFER(at + "opened pt", *opened, pt);
  }

  for (const Json& e : c.at("exports")) {
    const Bytes context = hex_field(e, "exporter_context");
    const size_t length = e.at("L").get<size_t>();
    const Bytes want = hex_field(e, "exported_value");
    const std::string at = "export (" + to_hex(context) + ", " + std::to_string(length) + ")";
    auto sent = sending.export_secret(context, length);
    if (!sent.ok()) return failed("sender " + at, sent.error());
    RETURN_IF_DIFFER("sender " + at, *sent, want);
    auto received = receiving->export_secret(context, length);
    if (!received.ok()) return failed("receiver " + at, received.error());
    RETURN_IF_DIFFER("receiver " + at, *received, want);
  }
  return std::nullopt;
}

TEST(HpkeVectors, Rfc9180AppendixA) {
  const auto vectors = sotto::testing::load_vectors(kVectorFile);
  ASSERT_TRUE(vectors.has_value());
  ASSERT_TRUE(vectors->is_array());
  sotto::testing::VectorTally tally{std::string(kVectorFile)};
  for (const Json& c : *vectors) {
    const auto kem = c.at("kem_id").get<uint16_t>();
    const auto kdf = c.at("kdf_id").get<uint16_t>();
    const auto aead = c.at("aead_id").get<uint16_t>();
    if (kem != kKemX25519) {
      tally.skip("KEM not X25519");
      continue;
    }
    if (kdf != kKdfHkdfSha256) {
      tally.skip("KDF not HKDF-SHA256");
      continue;
    }
    if (aead == static_cast<uint16_t>(HpkeAead::aes128gcm) && !aead_available(Aead::aes128gcm)) {
      tally.skip("AES-128-GCM not in this build");
      continue;
    }
    const std::string name = c.value("suite_name", std::string("?")) + ", mode " +
                             std::to_string(c.at("mode").get<int>());
    SCOPED_TRACE(name);
    const int failures_before =
        ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
    const auto mismatch = verify_case(c);
    if (mismatch) ADD_FAILURE() << name << ": " << *mismatch;
    // A field that is missing or not hex records a failure of its own.
    const int failures_after =
        ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
    tally.count(!mismatch && failures_after == failures_before);
  }
}

// ---- behaviour with generated keys ---------------------------------------------------------

Hpke make(HpkeAead aead) {
  auto hpke = Hpke::create(HpkeKem::x25519_sha256, HpkeKdf::hkdf_sha256, aead);
  EXPECT_TRUE(hpke.ok()) << hpke.error().to_string();
  return std::move(hpke).value();
}

// The PSK inputs and sender keys a mode takes, for generated keys.
struct ModeInputs {
  Bytes psk = Bytes(32, 0x5a);
  Bytes psk_id = to_bytes("psk id");
  HpkeKeyPair sender;

  HpkeOptions for_sender(HpkeMode mode) const {
    HpkeOptions o;
    if (mode == HpkeMode::psk || mode == HpkeMode::auth_psk) {
      o.psk = psk;
      o.psk_id = psk_id;
    }
    if (mode == HpkeMode::auth || mode == HpkeMode::auth_psk) o.sender = &sender;
    return o;
  }
  HpkeOptions for_receiver(HpkeMode mode) const {
    HpkeOptions o;
    if (mode == HpkeMode::psk || mode == HpkeMode::auth_psk) {
      o.psk = psk;
      o.psk_id = psk_id;
    }
    if (mode == HpkeMode::auth || mode == HpkeMode::auth_psk)
      o.sender_public_key = sender.public_key;
    return o;
  }
};

constexpr HpkeMode kModes[] = {HpkeMode::base, HpkeMode::psk, HpkeMode::auth, HpkeMode::auth_psk};

std::string mode_name(HpkeMode mode) {
  return std::to_string(static_cast<int>(mode));
}

class HpkeAeadTest : public ::testing::TestWithParam<HpkeAead> {};

// The HPKE AEADs this build has (no AES-GCM in the browser build, where Hpke::create
// refuses it: see the test below).
std::vector<HpkeAead> available_hpke_aeads() {
  std::vector<HpkeAead> out{HpkeAead::chacha20poly1305};
  if (aead_available(Aead::aes128gcm)) out.insert(out.begin(), HpkeAead::aes128gcm);
  return out;
}

TEST(Hpke, AesGcmOnlyWhereAvailable) {
  auto hpke = Hpke::create(HpkeKem::x25519_sha256, HpkeKdf::hkdf_sha256, HpkeAead::aes128gcm);
  if (aead_available(Aead::aes128gcm)) {
    EXPECT_TRUE(hpke.ok());
  } else {
    ASSERT_FALSE(hpke.ok());
    EXPECT_EQ(hpke.error().code(), Errc::unsupported);
  }
}

TEST_P(HpkeAeadTest, RoundTripAllModes) {
  const Hpke hpke = make(GetParam());
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  ModeInputs inputs;
  inputs.sender = hpke.generate_key_pair();
  const Bytes info = to_bytes("round trip info");

  for (const HpkeMode mode : kModes) {
    SCOPED_TRACE("mode " + mode_name(mode));
    auto sender = hpke.setup_sender(mode, recipient.public_key, info, inputs.for_sender(mode));
    ASSERT_TRUE(sender.ok()) << sender.error().to_string();
    auto receiver =
        hpke.setup_receiver(mode, sender->enc, recipient, info, inputs.for_receiver(mode));
    ASSERT_TRUE(receiver.ok()) << receiver.error().to_string();

    for (int i = 0; i < 3; ++i) {
      const Bytes aad = to_bytes("aad " + std::to_string(i));
      const Bytes pt = to_bytes("message " + std::to_string(i));
      auto ct = sender->context.seal(aad, pt);
      ASSERT_TRUE(ct.ok()) << ct.error().to_string();
      auto opened = receiver->open(aad, *ct);
      ASSERT_TRUE(opened.ok()) << opened.error().to_string();
      EXPECT_EQ(opened->reveal(), pt);
    }
    EXPECT_EQ(sender->context.sequence_number(), 3u);
    EXPECT_EQ(receiver->sequence_number(), 3u);

    auto exported_s = sender->context.export_secret(as_bytes("ctx"), 48);
    auto exported_r = receiver->export_secret(as_bytes("ctx"), 48);
    ASSERT_TRUE(exported_s.ok() && exported_r.ok());
    EXPECT_EQ(exported_s->size(), 48u);
    EXPECT_TRUE(*exported_s == *exported_r);

    // Single-shot.
    auto sealed = hpke.seal(mode, recipient.public_key, info, as_bytes("aad"), as_bytes("hello"),
                            inputs.for_sender(mode));
    ASSERT_TRUE(sealed.ok()) << sealed.error().to_string();
    auto opened = hpke.open(mode, sealed->enc, recipient, info, as_bytes("aad"), sealed->ciphertext,
                            inputs.for_receiver(mode));
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    EXPECT_EQ(opened->reveal(), to_bytes("hello"));
  }
}

TEST_P(HpkeAeadTest, EachSetupUsesAFreshEphemeralKey) {
  const Hpke hpke = make(GetParam());
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  auto a = hpke.seal(HpkeMode::base, recipient.public_key, {}, {}, as_bytes("same"));
  auto b = hpke.seal(HpkeMode::base, recipient.public_key, {}, {}, as_bytes("same"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->enc, b->enc);
  EXPECT_NE(a->ciphertext, b->ciphertext);
}

TEST_P(HpkeAeadTest, TamperedCiphertextAadOrEncFails) {
  const Hpke hpke = make(GetParam());
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  const Bytes info = to_bytes("info");
  const Bytes aad = to_bytes("aad");
  auto sealed = hpke.seal(HpkeMode::base, recipient.public_key, info, aad, as_bytes("secret"));
  ASSERT_TRUE(sealed.ok()) << sealed.error().to_string();

  auto expect_rejected = [&](BytesView enc, BytesView info_in, BytesView aad_in, BytesView ct) {
    auto opened = hpke.open(HpkeMode::base, enc, recipient, info_in, aad_in, ct);
    ASSERT_FALSE(opened.ok());
    EXPECT_TRUE(opened.error().code() == Errc::authentication_failed ||
                opened.error().code() == Errc::crypto_failure)
        << opened.error().to_string();
  };
  for (size_t i : {size_t{0}, sealed->ciphertext.size() - 1}) {
    Bytes ct = sealed->ciphertext;
    ct[i] ^= 0x01;
    expect_rejected(sealed->enc, info, aad, ct);
  }
  expect_rejected(sealed->enc, info, as_bytes("aae"), sealed->ciphertext);
  expect_rejected(sealed->enc, info, {}, sealed->ciphertext);
  expect_rejected(sealed->enc, as_bytes("inf0"), aad, sealed->ciphertext);
  for (size_t i : {size_t{0}, size_t{17}, size_t{31}}) {
    Bytes enc = sealed->enc;
    enc[i] ^= 0x02;
    expect_rejected(enc, info, aad, sealed->ciphertext);
  }
  // A different recipient.
  const HpkeKeyPair other = hpke.generate_key_pair();
  auto opened = hpke.open(HpkeMode::base, sealed->enc, other, info, aad, sealed->ciphertext);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code(), Errc::authentication_failed);
}

TEST_P(HpkeAeadTest, WrongPskOrPskIdFails) {
  const Hpke hpke = make(GetParam());
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  ModeInputs inputs;
  inputs.sender = hpke.generate_key_pair();
  for (const HpkeMode mode : {HpkeMode::psk, HpkeMode::auth_psk}) {
    SCOPED_TRACE("mode " + mode_name(mode));
    auto sealed =
        hpke.seal(mode, recipient.public_key, {}, {}, as_bytes("pt"), inputs.for_sender(mode));
    ASSERT_TRUE(sealed.ok()) << sealed.error().to_string();

    HpkeOptions wrong_psk = inputs.for_receiver(mode);
    const Bytes other_psk(32, 0xa5);
    wrong_psk.psk = other_psk;
    auto opened = hpke.open(mode, sealed->enc, recipient, {}, {}, sealed->ciphertext, wrong_psk);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code(), Errc::authentication_failed);

    HpkeOptions wrong_id = inputs.for_receiver(mode);
    const Bytes other_id = to_bytes("another id");
    wrong_id.psk_id = other_id;
    opened = hpke.open(mode, sealed->enc, recipient, {}, {}, sealed->ciphertext, wrong_id);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code(), Errc::authentication_failed);
  }
}

TEST_P(HpkeAeadTest, WrongSenderKeyFailsInAuthModes) {
  const Hpke hpke = make(GetParam());
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  ModeInputs inputs;
  inputs.sender = hpke.generate_key_pair();
  const HpkeKeyPair impostor = hpke.generate_key_pair();
  for (const HpkeMode mode : {HpkeMode::auth, HpkeMode::auth_psk}) {
    SCOPED_TRACE("mode " + mode_name(mode));
    auto sealed =
        hpke.seal(mode, recipient.public_key, {}, {}, as_bytes("pt"), inputs.for_sender(mode));
    ASSERT_TRUE(sealed.ok()) << sealed.error().to_string();
    HpkeOptions options = inputs.for_receiver(mode);
    options.sender_public_key = impostor.public_key;
    auto opened = hpke.open(mode, sealed->enc, recipient, {}, {}, sealed->ciphertext, options);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code(), Errc::authentication_failed);
  }
}

TEST_P(HpkeAeadTest, ModeMismatchFails) {
  const Hpke hpke = make(GetParam());
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  ModeInputs inputs;
  inputs.sender = hpke.generate_key_pair();
  auto sealed = hpke.seal(HpkeMode::psk, recipient.public_key, {}, {}, as_bytes("pt"),
                          inputs.for_sender(HpkeMode::psk));
  ASSERT_TRUE(sealed.ok());
  auto opened = hpke.open(HpkeMode::auth_psk, sealed->enc, recipient, {}, {}, sealed->ciphertext,
                          inputs.for_receiver(HpkeMode::auth_psk));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code(), Errc::authentication_failed);
}

TEST_P(HpkeAeadTest, OutOfOrderOpenFailsAndKeepsSequence) {
  const Hpke hpke = make(GetParam());
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  auto sender = hpke.setup_sender(HpkeMode::base, recipient.public_key, {});
  ASSERT_TRUE(sender.ok());
  auto receiver = hpke.setup_receiver(HpkeMode::base, sender->enc, recipient, {});
  ASSERT_TRUE(receiver.ok());
  auto first = sender->context.seal({}, as_bytes("first"));
  auto second = sender->context.seal({}, as_bytes("second"));
  ASSERT_TRUE(first.ok() && second.ok());

  auto early = receiver->open({}, *second);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code(), Errc::authentication_failed);
  EXPECT_EQ(receiver->sequence_number(), 0u);  // a failed open does not count
  auto one = receiver->open({}, *first);
  auto two = receiver->open({}, *second);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(two->reveal(), to_bytes("second"));
}

TEST_P(HpkeAeadTest, SequenceNumberLimit) {
  const Hpke hpke = make(GetParam());
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  auto sender = hpke.setup_sender(HpkeMode::base, recipient.public_key, {});
  ASSERT_TRUE(sender.ok());
  auto receiver = hpke.setup_receiver(HpkeMode::base, sender->enc, recipient, {});
  ASSERT_TRUE(receiver.ok());
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

  // The last usable sequence number is 2^64 - 2; 2^64 - 1 is never a nonce.
  Access::set_sequence_number(sender->context, kMax - 1);
  Access::set_sequence_number(*receiver, kMax - 1);
  auto last = sender->context.seal({}, as_bytes("last"));
  ASSERT_TRUE(last.ok()) << last.error().to_string();
  auto opened = receiver->open({}, *last);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->reveal(), to_bytes("last"));

  auto over = sender->context.seal({}, as_bytes("over"));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code(), Errc::message_limit);
  EXPECT_EQ(sender->context.sequence_number(), kMax);
  auto over_open = receiver->open({}, *last);
  ASSERT_FALSE(over_open.ok());
  EXPECT_EQ(over_open.error().code(), Errc::message_limit);
  // The exporter does not depend on the sequence number.
  EXPECT_TRUE(sender->context.export_secret({}, 32).ok());
}

TEST_P(HpkeAeadTest, NonceIsBaseNonceXorSequence) {
  const Hpke hpke = make(GetParam());
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  auto sender = hpke.setup_sender(HpkeMode::base, recipient.public_key, {});
  ASSERT_TRUE(sender.ok());
  HpkeContext& context = sender->context;
  const Bytes base = Access::base_nonce(context).reveal();
  ASSERT_EQ(base.size(), kAeadNonceSize);
  EXPECT_EQ(Access::nonce(context).reveal(), base);
  Access::set_sequence_number(context, 0x0102030405060708u);
  Bytes want = base;
  for (int i = 0; i < 8; ++i) want[4 + i] ^= static_cast<uint8_t>(i + 1);
  EXPECT_EQ(Access::nonce(context).reveal(), want);
}

INSTANTIATE_TEST_SUITE_P(Aeads, HpkeAeadTest, ::testing::ValuesIn(available_hpke_aeads()),
                         [](const auto& param) {
                           return param.param == HpkeAead::aes128gcm ? "Aes128Gcm"
                                                                     : "ChaCha20Poly1305";
                         });

// ---- export-only -------------------------------------------------------------------------

TEST(HpkeExportOnly, SealAndOpenAreUnsupportedExportWorks) {
  const Hpke hpke = make(HpkeAead::export_only);
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  ModeInputs inputs;
  inputs.sender = hpke.generate_key_pair();
  for (const HpkeMode mode : kModes) {
    SCOPED_TRACE("mode " + mode_name(mode));
    auto sender = hpke.setup_sender(mode, recipient.public_key, {}, inputs.for_sender(mode));
    ASSERT_TRUE(sender.ok()) << sender.error().to_string();
    auto receiver =
        hpke.setup_receiver(mode, sender->enc, recipient, {}, inputs.for_receiver(mode));
    ASSERT_TRUE(receiver.ok()) << receiver.error().to_string();

    auto sealed = sender->context.seal({}, as_bytes("pt"));
    ASSERT_FALSE(sealed.ok());
    EXPECT_EQ(sealed.error().code(), Errc::unsupported);
    auto opened = receiver->open({}, Bytes(32));
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code(), Errc::unsupported);

    auto a = sender->context.export_secret(as_bytes("label"), 32);
    auto b = receiver->export_secret(as_bytes("label"), 32);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(*a == *b);
  }
  auto single = hpke.seal(HpkeMode::base, recipient.public_key, {}, {}, as_bytes("pt"));
  ASSERT_FALSE(single.ok());
  EXPECT_EQ(single.error().code(), Errc::unsupported);
}

// ---- inputs the API rejects ---------------------------------------------------------------

Errc setup_sender_error(HpkeMode mode, const HpkeOptions& options) {
  const Hpke hpke = make(HpkeAead::chacha20poly1305);
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  auto result = hpke.setup_sender(mode, recipient.public_key, {}, options);
  return result.ok() ? Errc::ok : result.error().code();
}

Errc setup_receiver_error(HpkeMode mode, const HpkeOptions& options) {
  const Hpke hpke = make(HpkeAead::chacha20poly1305);
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  const HpkeKeyPair ephemeral = hpke.generate_key_pair();
  auto result = hpke.setup_receiver(mode, ephemeral.public_key, recipient, {}, options);
  return result.ok() ? Errc::ok : result.error().code();
}

TEST(HpkePskInputs, VerifyPskInputsRules) {
  const Bytes psk(32, 0x11);
  const Bytes psk_id = to_bytes("id");
  const Hpke hpke = make(HpkeAead::chacha20poly1305);
  const HpkeKeyPair sender = hpke.generate_key_pair();

  for (const HpkeMode mode : kModes) {
    SCOPED_TRACE("mode " + mode_name(mode));
    const bool auth = mode == HpkeMode::auth || mode == HpkeMode::auth_psk;
    const bool takes_psk = mode == HpkeMode::psk || mode == HpkeMode::auth_psk;
    auto sender_options = [&](BytesView p, BytesView id) {
      HpkeOptions o;
      o.psk = p;
      o.psk_id = id;
      if (auth) o.sender = &sender;
      return o;
    };
    auto receiver_options = [&](BytesView p, BytesView id) {
      HpkeOptions o;
      o.psk = p;
      o.psk_id = id;
      if (auth) o.sender_public_key = sender.public_key;
      return o;
    };
    // psk without psk_id, and psk_id without psk: inconsistent in every mode.
    EXPECT_EQ(setup_sender_error(mode, sender_options(psk, {})), Errc::invalid_argument);
    EXPECT_EQ(setup_sender_error(mode, sender_options({}, psk_id)), Errc::invalid_argument);
    EXPECT_EQ(setup_receiver_error(mode, receiver_options(psk, {})), Errc::invalid_argument);
    EXPECT_EQ(setup_receiver_error(mode, receiver_options({}, psk_id)), Errc::invalid_argument);
    // Both: required by the PSK modes, forbidden in the others; neither: the reverse.
    const Errc with_both = takes_psk ? Errc::ok : Errc::invalid_argument;
    const Errc with_neither = takes_psk ? Errc::invalid_argument : Errc::ok;
    EXPECT_EQ(setup_sender_error(mode, sender_options(psk, psk_id)), with_both);
    EXPECT_EQ(setup_receiver_error(mode, receiver_options(psk, psk_id)), with_both);
    EXPECT_EQ(setup_sender_error(mode, sender_options({}, {})), with_neither);
    EXPECT_EQ(setup_receiver_error(mode, receiver_options({}, {})), with_neither);
  }
}

TEST(HpkePskInputs, ShortPskIsInvalidArgument) {
  const Bytes psk(31, 0x11);
  const Bytes psk_id = to_bytes("id");
  HpkeOptions options;
  options.psk = psk;
  options.psk_id = psk_id;
  EXPECT_EQ(setup_sender_error(HpkeMode::psk, options), Errc::invalid_argument);
  EXPECT_EQ(setup_receiver_error(HpkeMode::psk, options), Errc::invalid_argument);
}

TEST(HpkeAuthInputs, SenderKeyRequiredExactlyInAuthModes) {
  const Hpke hpke = make(HpkeAead::chacha20poly1305);
  const HpkeKeyPair sender = hpke.generate_key_pair();
  HpkeOptions none;
  HpkeOptions with_sender;
  with_sender.sender = &sender;
  HpkeOptions with_sender_public;
  with_sender_public.sender_public_key = sender.public_key;

  EXPECT_EQ(setup_sender_error(HpkeMode::auth, none), Errc::invalid_argument);
  EXPECT_EQ(setup_receiver_error(HpkeMode::auth, none), Errc::invalid_argument);
  EXPECT_EQ(setup_sender_error(HpkeMode::base, with_sender), Errc::invalid_argument);
  EXPECT_EQ(setup_receiver_error(HpkeMode::base, with_sender_public), Errc::invalid_argument);
  // Each side's inputs on the wrong side.
  EXPECT_EQ(setup_sender_error(HpkeMode::auth, with_sender_public), Errc::invalid_argument);
  EXPECT_EQ(setup_receiver_error(HpkeMode::auth, with_sender), Errc::invalid_argument);
  HpkeOptions bad_sender_public;
  const Bytes short_key(31, 0x09);
  bad_sender_public.sender_public_key = short_key;
  EXPECT_EQ(setup_receiver_error(HpkeMode::auth, bad_sender_public), Errc::invalid_argument);
}

TEST(HpkeKeys, LowOrderPublicKeyIsRejected) {
  const Hpke hpke = make(HpkeAead::chacha20poly1305);
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  const Bytes zero(kX25519Size);

  auto sender = hpke.setup_sender(HpkeMode::base, zero, {});
  ASSERT_FALSE(sender.ok());
  EXPECT_EQ(sender.error().code(), Errc::crypto_failure);

  auto receiver = hpke.setup_receiver(HpkeMode::base, zero, recipient, {});
  ASSERT_FALSE(receiver.ok());
  EXPECT_EQ(receiver.error().code(), Errc::crypto_failure);

  // A low-order static sender key in the auth modes.
  const HpkeKeyPair ephemeral = hpke.generate_key_pair();
  HpkeOptions options;
  options.sender_public_key = zero;
  auto auth = hpke.setup_receiver(HpkeMode::auth, ephemeral.public_key, recipient, {}, options);
  ASSERT_FALSE(auth.ok());
  EXPECT_EQ(auth.error().code(), Errc::crypto_failure);
}

TEST(HpkeKeys, WrongSizesAreInvalidArgument) {
  const Hpke hpke = make(HpkeAead::chacha20poly1305);
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  const Bytes short_key(31, 0x09);

  auto sender = hpke.setup_sender(HpkeMode::base, short_key, {});
  ASSERT_FALSE(sender.ok());
  EXPECT_EQ(sender.error().code(), Errc::invalid_argument);

  auto receiver = hpke.setup_receiver(HpkeMode::base, short_key, recipient, {});
  ASSERT_FALSE(receiver.ok());
  EXPECT_EQ(receiver.error().code(), Errc::invalid_argument);

  const HpkeKeyPair bad_recipient{SecureBytes(short_key), {}};
  receiver = hpke.setup_receiver(HpkeMode::base, recipient.public_key, bad_recipient, {});
  ASSERT_FALSE(receiver.ok());
  EXPECT_EQ(receiver.error().code(), Errc::invalid_argument);

  auto derived = hpke.derive_key_pair(Bytes(31, 0x01));
  ASSERT_FALSE(derived.ok());
  EXPECT_EQ(derived.error().code(), Errc::invalid_argument);
}

TEST(HpkeKeys, DeriveKeyPairIsDeterministic) {
  const Hpke hpke = make(HpkeAead::chacha20poly1305);
  const Bytes ikm(32, 0x77);
  auto a = hpke.derive_key_pair(ikm);
  auto b = hpke.derive_key_pair(ikm);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->private_key == b->private_key);
  EXPECT_EQ(a->public_key, b->public_key);
  auto pub = x25519_public_key(a->private_key);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, a->public_key);
  // The KEM's suite_id does not involve the AEAD.
  auto c = make(HpkeAead::export_only).derive_key_pair(ikm);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->public_key, a->public_key);
}

TEST(HpkeExport, LengthLimit) {
  const Hpke hpke = make(HpkeAead::chacha20poly1305);
  const HpkeKeyPair recipient = hpke.generate_key_pair();
  auto sender = hpke.setup_sender(HpkeMode::base, recipient.public_key, {});
  ASSERT_TRUE(sender.ok());
  auto longest = sender->context.export_secret({}, 255 * 32);
  ASSERT_TRUE(longest.ok()) << longest.error().to_string();
  EXPECT_EQ(longest->size(), 255u * 32);
  auto too_long = sender->context.export_secret({}, 255 * 32 + 1);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code(), Errc::invalid_argument);
  auto empty = sender->context.export_secret({}, 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(HpkeCreate, SuitesThisBuildHas) {
  EXPECT_TRUE(
      Hpke::create(HpkeKem::x25519_sha256, HpkeKdf::hkdf_sha256, HpkeAead::chacha20poly1305).ok());
  EXPECT_TRUE(
      Hpke::create(HpkeKem::x25519_sha256, HpkeKdf::hkdf_sha256, HpkeAead::export_only).ok());
  auto gcm = Hpke::create(HpkeKem::x25519_sha256, HpkeKdf::hkdf_sha256, HpkeAead::aes128gcm);
#ifdef __EMSCRIPTEN__
  ASSERT_FALSE(gcm.ok());
  EXPECT_EQ(gcm.error().code(), Errc::unsupported);
#else
  EXPECT_TRUE(gcm.ok());
#endif

  auto p256 =
      Hpke::create(static_cast<HpkeKem>(0x0010), HpkeKdf::hkdf_sha256, HpkeAead::chacha20poly1305);
  ASSERT_FALSE(p256.ok());
  EXPECT_EQ(p256.error().code(), Errc::unsupported);
  auto sha512 = Hpke::create(HpkeKem::x25519_sha256, static_cast<HpkeKdf>(0x0003),
                             HpkeAead::chacha20poly1305);
  ASSERT_FALSE(sha512.ok());
  EXPECT_EQ(sha512.error().code(), Errc::unsupported);
  auto aes256 =
      Hpke::create(HpkeKem::x25519_sha256, HpkeKdf::hkdf_sha256, static_cast<HpkeAead>(0x0002));
  ASSERT_FALSE(aes256.ok());
  EXPECT_EQ(aes256.error().code(), Errc::unsupported);
}

TEST(HpkeCreate, UnknownModeIsInvalidArgument) {
  EXPECT_EQ(setup_sender_error(static_cast<HpkeMode>(4), {}), Errc::invalid_argument);
  EXPECT_EQ(setup_receiver_error(static_cast<HpkeMode>(4), {}), Errc::invalid_argument);
}

}  // namespace
}  // namespace sotto::crypto
