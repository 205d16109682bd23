#include "sotto/openpgp/key.h"

#include <algorithm>
#include <string>

#include "sotto/crypto/aes.h"
#include "sotto/crypto/primitives.h"
#include "sotto/openpgp/packet.h"
#include "buffer.h"
#include "oids.h"

namespace sotto::openpgp {

namespace {

constexpr size_t kPointSize = 32;

// A 0x40-prefixed native point (section 11.2.1), as an MPI magnitude.
Result<Bytes> native_point(BytesView mpi) {
  if (mpi.size() != kPointSize + 1 || mpi[0] != 0x40) {
    return Error(Errc::invalid_value, "an EC point that is not 0x40 || 32 bytes");
  }
  return Bytes(mpi.begin() + 1, mpi.end());
}

// An MPI magnitude left-padded to `size` bytes.
Result<SecureBytes> fixed_size(BytesView mpi, size_t size, const char* what) {
  if (mpi.size() > size) {
    return Error(Errc::invalid_value, std::string(what) + " longer than " + std::to_string(size));
  }
  SecureBytes out(size);
  std::copy(mpi.begin(), mpi.end(), out.data() + (size - mpi.size()));
  return out;
}

uint16_t checksum(BytesView bytes) {
  uint32_t sum = 0;
  for (uint8_t b : bytes) sum += b;
  return static_cast<uint16_t>(sum);
}

Result<void> check_public_matches(const PublicKey& pub, const SecureBytes& secret) {
  Bytes derived;
  if (pub.algorithm == PublicKeyAlgorithm::eddsa_legacy) {
    SOTTO_TRY_ASSIGN(auto key, crypto::Ed25519SigningKey::from_seed(secret));
    derived = key.public_key();
  } else {
    SOTTO_TRY_ASSIGN(derived, crypto::x25519_public_key(secret));
  }
  if (!constant_time_equal(derived, pub.point)) {
    return Error(Errc::invalid_value, "a secret key that does not match its public key");
  }
  return success();
}

}  // namespace

size_t symmetric_key_size(uint8_t algorithm) {
  switch (algorithm) {
    case 7: return 16;
    case 8: return 24;
    case 9: return 32;
    default: return 0;
  }
}

Bytes PublicKey::encode() const {
  Bytes out = start_buffer({4}, 64);
  put_u32(out, created);
  out.push_back(static_cast<uint8_t>(algorithm));
  const BytesView oid = algorithm == PublicKeyAlgorithm::ecdh ? BytesView(kCurve25519LegacyOid)
                                                              : BytesView(kEd25519LegacyOid);
  out.push_back(static_cast<uint8_t>(oid.size()));
  out.insert(out.end(), oid.begin(), oid.end());
  Bytes prefixed = start_buffer({0x40}, point.size());
  prefixed.insert(prefixed.end(), point.begin(), point.end());
  put_mpi(out, prefixed);
  if (algorithm == PublicKeyAlgorithm::ecdh) {
    out.insert(out.end(), {3, 1, static_cast<uint8_t>(kdf_hash), static_cast<uint8_t>(kdf_cipher)});
  }
  return out;
}

Result<PublicKey> PublicKey::parse(BytesView body) {
  BodyReader r(body);
  SOTTO_TRY_ASSIGN(uint8_t version, r.u8());
  if (version != 4) {
    return Error(Errc::unsupported, "key version " + std::to_string(version) + " (only 4)");
  }
  PublicKey key;
  SOTTO_TRY_ASSIGN(key.created, r.u32());
  SOTTO_TRY_ASSIGN(uint8_t algorithm, r.u8());
  if (algorithm != 18 && algorithm != 22) {
    return Error(Errc::unsupported, "public-key algorithm " + std::to_string(algorithm));
  }
  key.algorithm = PublicKeyAlgorithm{algorithm};
  SOTTO_TRY_ASSIGN(uint8_t oid_size, r.u8());
  if (oid_size == 0 || oid_size == 0xff) return Error(Errc::invalid_value, "a reserved OID length");
  SOTTO_TRY_ASSIGN(BytesView oid, r.take(oid_size));
  const BytesView want = algorithm == 18 ? BytesView(kCurve25519LegacyOid)
                                         : BytesView(kEd25519LegacyOid);
  if (!std::equal(oid.begin(), oid.end(), want.begin(), want.end())) {
    return Error(Errc::unsupported, "a curve other than Ed25519Legacy / Curve25519Legacy");
  }
  SOTTO_TRY_ASSIGN(BytesView point, r.mpi());
  SOTTO_TRY_ASSIGN(key.point, native_point(point));
  if (algorithm == 18) {
    SOTTO_TRY_ASSIGN(uint8_t size, r.u8());
    SOTTO_TRY_ASSIGN(uint8_t reserved, r.u8());
    if (size != 3 || reserved != 1) return Error(Errc::invalid_value, "malformed ECDH KDF parameters");
    SOTTO_TRY_ASSIGN(uint8_t hash, r.u8());
    SOTTO_TRY_ASSIGN(uint8_t cipher, r.u8());
    if (hash != 8 && hash != 9 && hash != 10) {
      return Error(Errc::unsupported, "ECDH KDF hash " + std::to_string(hash));
    }
    if (symmetric_key_size(cipher) == 0) {
      return Error(Errc::unsupported, "ECDH key-wrap cipher " + std::to_string(cipher));
    }
    key.kdf_hash = HashAlgorithm{hash};
    key.kdf_cipher = SymmetricAlgorithm{cipher};
  }
  SOTTO_TRY(r.finish("a public key"));
  // One encoding per key: the fingerprint is computed over what encode() writes.
  if (key.encode() != to_bytes(body)) {
    return Error(Errc::invalid_value, "a public key with a non-canonical MPI");
  }
  return key;
}

Bytes PublicKey::fingerprint() const {
  const Bytes body = encode();
  Bytes hashed = start_buffer({0x99}, body.size() + 2);
  put_u16(hashed, static_cast<uint16_t>(body.size()));
  hashed.insert(hashed.end(), body.begin(), body.end());
  // SHA-1 only fails without OpenSSL; this library is native-only.
  auto digest = crypto::sha1(hashed);
  return digest.ok() ? std::move(digest).value() : Bytes(kV4FingerprintSize);
}

Bytes PublicKey::key_id() const {
  const Bytes fpr = fingerprint();
  return Bytes(fpr.end() - kKeyIdSize, fpr.end());
}

SecureBytes SecretKey::encode() const {
  const Bytes pub = public_key.encode();
  SecureBytes out(pub);
  Bytes material;
  if (public_key.algorithm == PublicKeyAlgorithm::ecdh) {
    SecureBytes reversed(secret.view());
    std::reverse(reversed.data(), reversed.data() + reversed.size());
    put_mpi(material, reversed);
  } else {
    put_mpi(material, secret);
  }
  const uint16_t sum = checksum(material);
  const uint8_t usage = 0;
  out.append(BytesView(&usage, 1));
  out.append(material);
  const uint8_t sum_bytes[2] = {static_cast<uint8_t>(sum >> 8), static_cast<uint8_t>(sum)};
  out.append(sum_bytes);
  secure_wipe(material.data(), material.size());
  return out;
}

Result<SecretKey> SecretKey::parse(BytesView body) {
  // The public part has no length of its own: find its end by parsing the known layout.
  if (body.size() < 6) return Error(Errc::truncated, "a secret key packet ends early");
  if (body[0] != 4 || (body[5] != 18 && body[5] != 22)) {
    // Another version or algorithm: the public key parser says which, as unsupported.
    auto pub = PublicKey::parse(body);
    if (!pub.ok()) return std::move(pub).error();
    return Error(Errc::unsupported, "a secret key of an unsupported kind");
  }
  BodyReader r(body);
  SOTTO_TRY(r.take(6));  // version, created, algorithm
  SOTTO_TRY_ASSIGN(uint8_t oid_size, r.u8());
  SOTTO_TRY(r.take(oid_size));
  SOTTO_TRY(r.mpi());
  if (body[5] == 18) SOTTO_TRY(r.take(4));
  const size_t public_size = body.size() - r.remaining();
  SecretKey key;
  SOTTO_TRY_ASSIGN(key.public_key, PublicKey::parse(body.subspan(0, public_size)));
  SOTTO_TRY_ASSIGN(uint8_t usage, r.u8());
  if (usage != 0) {
    return Error(Errc::unsupported, "a passphrase-protected secret key (S2K usage " +
                                        std::to_string(usage) + ")");
  }
  const size_t material_start = body.size() - r.remaining();
  SOTTO_TRY_ASSIGN(BytesView mpi, r.mpi());
  const BytesView material = body.subspan(material_start, body.size() - r.remaining() - material_start);
  SOTTO_TRY_ASSIGN(uint16_t sum, r.u16());
  SOTTO_TRY(r.finish("a secret key"));
  if (sum != checksum(material)) return Error(Errc::invalid_value, "secret key checksum mismatch");
  SOTTO_TRY_ASSIGN(key.secret, fixed_size(mpi, kPointSize, "a secret key"));
  if (key.public_key.algorithm == PublicKeyAlgorithm::ecdh) {
    std::reverse(key.secret.data(), key.secret.data() + key.secret.size());
  }
  SOTTO_TRY(check_public_matches(key.public_key, key.secret));
  if (!constant_time_equal(key.encode(), body)) {
    return Error(Errc::invalid_value, "a secret key with a non-canonical MPI");
  }
  return key;
}

SecretKey SecretKey::generate_ed25519(uint32_t created) {
  const auto signing = crypto::Ed25519SigningKey::generate();
  SecretKey key;
  key.public_key.created = created;
  key.public_key.algorithm = PublicKeyAlgorithm::eddsa_legacy;
  key.public_key.point = signing.public_key();
  key.secret = signing.seed();
  return key;
}

SecretKey SecretKey::generate_cv25519(uint32_t created) {
  SecretKey key;
  key.secret = crypto::random_secret(kPointSize);
  key.secret[0] &= 248;  // clamped, as OpenPGP implementations store it (section 5.5.5.6)
  key.secret[31] &= 127;
  key.secret[31] |= 64;
  key.public_key.created = created;
  key.public_key.algorithm = PublicKeyAlgorithm::ecdh;
  key.public_key.point = crypto::x25519_public_key(key.secret).value();
  return key;
}

bool eddsa_legacy_verify(const PublicKey& key, BytesView digest, BytesView r, BytesView s) {
  if (key.algorithm != PublicKeyAlgorithm::eddsa_legacy) return false;
  auto r32 = fixed_size(r, kPointSize, "r");
  auto s32 = fixed_size(s, kPointSize, "s");
  if (!r32.ok() || !s32.ok()) return false;
  SecureBytes sig = std::move(r32).value();
  sig.append(s32.value());
  return crypto::ed25519_verify(key.point, digest, sig);
}

}  // namespace sotto::openpgp
