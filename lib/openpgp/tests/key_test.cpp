// Keys, signatures and certificates: the RFC 9580 A.1 key and A.2 signature, generated
// certificates that parse back and validate, and the signatures validation must refuse.
#include <gtest/gtest.h>

#include "sotto/core/encoding.h"
#include "sotto/openpgp/armor.h"
#include "sotto/openpgp/cert.h"
#include "sotto/openpgp/signature.h"
#include "vectors.h"

namespace sotto::openpgp {
namespace {

constexpr uint32_t kNow = 1700000000;

const testing::Json& appendix_a() {
  static const testing::Json doc =
      testing::load_vectors("openpgp/rfc9580_appendix_a.json").value_or(testing::Json{});
  return doc;
}

Result<PublicKey> a1_key() {
  SOTTO_TRY_ASSIGN(Armored a, dearmor(appendix_a()["a1_v4_ed25519_legacy_key"]["armored"].get<std::string>()));
  SOTTO_TRY_ASSIGN(auto packets, parse_packets(a.data));
  if (packets.size() != 1 || packets[0].tag != PacketTag::public_key) {
    return Error(Errc::invalid_value, "A.1 is not one public key packet");
  }
  return PublicKey::parse(packets[0].body);
}

TEST(Rfc9580, A1KeyFingerprintAndKeyId) {
  const auto& v = appendix_a()["a1_v4_ed25519_legacy_key"];
  auto key = a1_key();
  ASSERT_TRUE(key.ok()) << key.error().to_string();
  EXPECT_EQ(key->algorithm, PublicKeyAlgorithm::eddsa_legacy);
  EXPECT_EQ(key->created, v["created"].get<uint32_t>());
  EXPECT_EQ(to_hex(key->fingerprint()), v["fingerprint"].get<std::string>());
  EXPECT_EQ(to_hex(key->key_id()), v["key_id"].get<std::string>());
  // Re-encoding gives the same packet body.
  auto a = dearmor(v["armored"].get<std::string>());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(encode_packet(PacketTag::public_key, key->encode()), a->data);
}

TEST(Rfc9580, A2SignatureVerifies) {
  const auto& v = appendix_a()["a2_v4_ed25519_legacy_signature"];
  auto key = a1_key();
  ASSERT_TRUE(key.ok());
  auto a = dearmor(v["armored"].get<std::string>());
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  auto packets = parse_packets(a->data);
  ASSERT_TRUE(packets.ok());
  ASSERT_EQ(packets->size(), 1u);
  auto sig = Signature::parse((*packets)[0].body);
  ASSERT_TRUE(sig.ok()) << sig.error().to_string();
  EXPECT_EQ(sig->type, SignatureType::binary);
  EXPECT_EQ(sig->creation_time(), std::optional<uint32_t>(v["created"].get<uint32_t>()));
  EXPECT_EQ(sig->issuer_key_id(), std::optional<Bytes>(key->key_id()));
  EXPECT_EQ(sig->encode(), (*packets)[0].body);
  const Bytes data = to_bytes(v["signed_data_utf8"].get<std::string>());
  auto ok = verify(*sig, *key, data, kNow);
  EXPECT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(verify(*sig, *key, to_bytes("OpenPGp"), kNow).error().code(), Errc::bad_signature);
  Signature tampered = *sig;
  tampered.s[5] ^= 1;
  EXPECT_EQ(verify(tampered, *key, data, kNow).error().code(), Errc::bad_signature);
  // Made in 2015: "now" before that is a signature from the future.
  EXPECT_EQ(verify(*sig, *key, data, 1400000000).error().code(), Errc::bad_signature);
}

TEST(Key, SecretKeysRoundTripAndMatchTheirPublicKeys) {
  for (SecretKey key : {SecretKey::generate_ed25519(kNow), SecretKey::generate_cv25519(kNow)}) {
    const SecureBytes body = key.encode();
    auto back = SecretKey::parse(body);
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    EXPECT_EQ(back->secret, key.secret);
    EXPECT_EQ(back->public_key.fingerprint(), key.public_key.fingerprint());
    // The public part of the secret packet is the public key packet.
    auto pub = PublicKey::parse(key.public_key.encode());
    ASSERT_TRUE(pub.ok());
    EXPECT_EQ(pub->point, key.public_key.point);

    Bytes bad = body.reveal();
    bad[bad.size() - 1] ^= 1;  // checksum
    EXPECT_EQ(SecretKey::parse(bad).error().code(), Errc::invalid_value);
    Bytes other = body.reveal();
    other[other.size() - 5] ^= 0x10;  // a secret byte: checksum and public key no longer match
    EXPECT_FALSE(SecretKey::parse(other).ok());
  }
}

TEST(Key, CurveSecretIsWrittenBigEndian) {
  const SecretKey key = SecretKey::generate_cv25519(kNow);
  const SecureBytes body = key.encode();
  const size_t pub_size = key.public_key.encode().size();
  // usage octet, MPI header (255 bits: the clamped scalar's top bit is bit 254), then reversed.
  EXPECT_EQ(body[pub_size], 0);
  EXPECT_EQ(body[pub_size + 1], 0x00);
  EXPECT_EQ(body[pub_size + 2], 0xff);
  EXPECT_EQ(body[pub_size + 3], key.secret[31]);
  EXPECT_EQ(body[pub_size + 3 + 31], key.secret[0]);
}

TEST(Key, RefusesOtherVersionsAndAlgorithms) {
  auto key = a1_key();
  ASSERT_TRUE(key.ok());
  Bytes body = key->encode();
  Bytes v6 = body;
  v6[0] = 6;
  EXPECT_EQ(PublicKey::parse(v6).error().code(), Errc::unsupported);
  Bytes rsa = body;
  rsa[5] = 1;
  EXPECT_EQ(PublicKey::parse(rsa).error().code(), Errc::unsupported);
  Bytes wrong_curve = body;
  wrong_curve[8] ^= 1;
  EXPECT_EQ(PublicKey::parse(wrong_curve).error().code(), Errc::unsupported);
  Bytes no_prefix = body;
  no_prefix[body.size() - 33] = 0x04;
  EXPECT_EQ(PublicKey::parse(no_prefix).error().code(), Errc::invalid_value);
  Bytes longer = body;
  longer.push_back(0);
  EXPECT_EQ(PublicKey::parse(longer).error().code(), Errc::trailing_bytes);
  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_FALSE(PublicKey::parse(BytesView(body).subspan(0, n)).ok()) << n;
  }
  EXPECT_EQ(SecretKey::parse(body).error().code(), Errc::truncated);  // no secret part
  // Secret keys of another version or algorithm are unsupported (a certificate skips such
  // subkeys), not malformed.
  EXPECT_EQ(SecretKey::parse(v6).error().code(), Errc::unsupported);
  EXPECT_EQ(SecretKey::parse(rsa).error().code(), Errc::unsupported);
}

TEST(Cert, GeneratedCertificateParsesAndValidates) {
  auto secret = generate_cert("Alice <alice@example.org>", kNow);
  ASSERT_TRUE(secret.ok()) << secret.error().to_string();
  const Bytes encoded = secret->cert.encode();
  auto cert = Cert::parse(encoded);
  ASSERT_TRUE(cert.ok()) << cert.error().to_string();
  EXPECT_EQ(cert->encode(), encoded);
  auto valid = validate(*cert, kNow + 10);
  ASSERT_TRUE(valid.ok()) << valid.error().to_string();
  EXPECT_EQ(valid->user_id, "Alice <alice@example.org>");
  EXPECT_TRUE(valid->supports_seipd_v2());
  ASSERT_EQ(valid->encryption_keys.size(), 1u);
  EXPECT_EQ(valid->encryption_keys[0].fingerprint(), secret->subkeys[0].public_key.fingerprint());
  EXPECT_FALSE(valid->expires_at.has_value());

  // The secret form round-trips and holds the same keys.
  const SecureBytes secret_bytes = secret->encode();
  auto back = SecretCert::parse(secret_bytes);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->primary.secret, secret->primary.secret);
  ASSERT_EQ(back->subkeys.size(), 1u);
  EXPECT_EQ(back->subkeys[0].secret, secret->subkeys[0].secret);
  EXPECT_TRUE(validate(back->cert, kNow).ok());
  // A public certificate is not a secret key, and the other way round.
  EXPECT_FALSE(SecretCert::parse(encoded).ok());
  EXPECT_FALSE(Cert::parse(secret_bytes).ok());
}

TEST(Cert, FeaturesWithoutSeipdV2) {
  GenerateOptions options;
  options.seipd_v2 = false;
  auto secret = generate_cert("bob@example.org", kNow, options);
  ASSERT_TRUE(secret.ok());
  auto valid = validate(secret->cert, kNow);
  ASSERT_TRUE(valid.ok());
  EXPECT_FALSE(valid->supports_seipd_v2());
  EXPECT_EQ(valid->features, kFeatureSeipdV1);
}

TEST(Cert, DirectKeySignatureSetsFeatures) {
  GenerateOptions options;
  options.seipd_v2 = false;
  auto secret = generate_cert("grace@example.org", kNow, options);
  ASSERT_TRUE(secret.ok());
  Bytes key_data;
  append_key_for_hash(key_data, secret->primary.public_key);
  const uint8_t features = kFeatureSeipdV1 | kFeatureSeipdV2;
  auto direct = sign(SignatureType::direct_key, secret->primary, key_data,
                     {subpacket_bytes(SubpacketType::features, BytesView(&features, 1))}, kNow + 1);
  ASSERT_TRUE(direct.ok());
  Cert cert = secret->cert;
  cert.direct_signatures.push_back(*direct);
  auto parsed = Cert::parse(cert.encode());
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  ASSERT_EQ(parsed->direct_signatures.size(), 1u);
  auto valid = validate(*parsed, kNow + 2);
  ASSERT_TRUE(valid.ok());
  EXPECT_TRUE(valid->supports_seipd_v2());
  // A direct-key signature that does not verify is ignored.
  cert.direct_signatures[0].s[0] ^= 1;
  auto ignored = validate(cert, kNow + 2);
  ASSERT_TRUE(ignored.ok());
  EXPECT_FALSE(ignored->supports_seipd_v2());
}

TEST(Cert, ValidationRefusesBrokenSelfSignatures) {
  auto secret = generate_cert("carol@example.org", kNow);
  ASSERT_TRUE(secret.ok());
  // A changed user ID no longer matches its certification.
  Cert renamed = secret->cert;
  renamed.user_ids[0].user_id = "mallory@example.org";
  EXPECT_EQ(validate(renamed, kNow).error().code(), Errc::bad_signature);
  // A subkey swapped for another has no valid binding.
  Cert swapped = secret->cert;
  swapped.subkeys[0].key = SecretKey::generate_cv25519(kNow).public_key;
  EXPECT_EQ(validate(swapped, kNow).error().code(), Errc::not_found);
  // An unknown critical subpacket voids the signature.
  Cert critical = secret->cert;
  Subpacket odd;
  odd.type = 100;
  odd.critical = true;
  critical.user_ids[0].signatures[0].unhashed.push_back(odd);
  EXPECT_EQ(validate(critical, kNow).error().code(), Errc::bad_signature);
  // A primary key made by another key's signatures.
  auto other = generate_cert("carol@example.org", kNow);
  ASSERT_TRUE(other.ok());
  Cert foreign = secret->cert;
  foreign.user_ids = other->cert.user_ids;
  EXPECT_EQ(validate(foreign, kNow).error().code(), Errc::bad_signature);
}

TEST(Cert, ExpiredKeysAreRefused) {
  GenerateOptions options;
  options.expires_after = 3600;
  auto secret = generate_cert("dave@example.org", kNow, options);
  ASSERT_TRUE(secret.ok());
  auto valid = validate(secret->cert, kNow + 60);
  ASSERT_TRUE(valid.ok());
  EXPECT_EQ(valid->expires_at, std::optional<uint32_t>(kNow + 3600));
  EXPECT_EQ(validate(secret->cert, kNow + 3600).error().code(), Errc::expired);
}

TEST(Cert, RevocationsAreHonoured) {
  auto secret = generate_cert("frank@example.org", kNow);
  ASSERT_TRUE(secret.ok());
  Bytes key_data;
  append_key_for_hash(key_data, secret->primary.public_key);
  Bytes sub_data = key_data;
  append_key_for_hash(sub_data, secret->subkeys[0].public_key);

  Cert sub_revoked = secret->cert;
  auto sub_rev = sign(SignatureType::subkey_revocation, secret->primary, sub_data, {}, kNow + 5);
  ASSERT_TRUE(sub_rev.ok());
  sub_revoked.subkeys[0].signatures.push_back(*sub_rev);
  EXPECT_EQ(validate(sub_revoked, kNow + 10).error().code(), Errc::not_found);

  Cert key_revoked = secret->cert;
  auto key_rev = sign(SignatureType::key_revocation, secret->primary, key_data, {}, kNow + 5);
  ASSERT_TRUE(key_rev.ok());
  key_revoked.direct_signatures.push_back(*key_rev);
  EXPECT_EQ(validate(key_revoked, kNow + 10).error().code(), Errc::expired);
  // It survives encoding, and a revocation by another key counts for nothing.
  auto parsed = Cert::parse(key_revoked.encode());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(validate(*parsed, kNow + 10).error().code(), Errc::expired);
  auto other = generate_cert("mallory@example.org", kNow);
  ASSERT_TRUE(other.ok());
  Cert foreign = secret->cert;
  foreign.direct_signatures.push_back(
      sign(SignatureType::key_revocation, other->primary, key_data, {}, kNow + 5).value());
  EXPECT_TRUE(validate(foreign, kNow + 10).ok());
}

TEST(Cert, SkipsSubkeysOfOtherAlgorithms) {
  auto secret = generate_cert("erin@example.org", kNow);
  ASSERT_TRUE(secret.ok());
  Bytes encoded = secret->cert.encode();
  // An RSA subkey packet (algorithm 1) with a signature after it: skipped, not an error.
  const Bytes rsa{4, 0x65, 0x00, 0x00, 0x00, 1, 0x00, 0x01, 0x01, 0x00, 0x01, 0x01};
  append_packet(encoded, PacketTag::public_subkey, rsa);
  append_packet(encoded, PacketTag::signature, secret->cert.subkeys[0].signatures[0].encode());
  auto cert = Cert::parse(encoded);
  ASSERT_TRUE(cert.ok()) << cert.error().to_string();
  EXPECT_EQ(cert->subkeys.size(), 1u);
  EXPECT_TRUE(validate(*cert, kNow).ok());
  // A literal data packet inside a certificate is not.
  Bytes odd = secret->cert.encode();
  append_packet(odd, PacketTag::literal_data, Bytes(6));
  EXPECT_EQ(Cert::parse(odd).error().code(), Errc::invalid_value);
}

}  // namespace
}  // namespace sotto::openpgp
