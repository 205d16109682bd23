#include "sotto/openpgp/signature.h"

#include <algorithm>
#include <string>

#include "sotto/crypto/primitives.h"
#include "sotto/openpgp/packet.h"
#include "buffer.h"

namespace sotto::openpgp {

namespace {

constexpr uint32_t kClockSkew = 60 * 60;  // a creation time up to an hour ahead is accepted

Result<std::vector<Subpacket>> parse_subpackets(BytesView area) {
  std::vector<Subpacket> out;
  BodyReader r(area);
  while (r.remaining() > 0) {
    SOTTO_TRY_ASSIGN(uint8_t first, r.u8());
    size_t length = 0;
    if (first < 192) {
      length = first;
    } else if (first < 255) {
      SOTTO_TRY_ASSIGN(uint8_t second, r.u8());
      length = ((size_t{first} - 192) << 8) + second + 192;
    } else {
      SOTTO_TRY_ASSIGN(length, r.u32());
    }
    if (length == 0) return Error(Errc::invalid_value, "a signature subpacket without a type");
    SOTTO_TRY_ASSIGN(BytesView body, r.take(length));
    Subpacket s;
    s.type = body[0] & 0x7f;
    s.critical = (body[0] & 0x80) != 0;
    s.body.assign(body.begin() + 1, body.end());
    out.push_back(std::move(s));
  }
  return out;
}

void append_subpackets(Bytes& out, const std::vector<Subpacket>& subpackets) {
  Bytes area;
  for (const Subpacket& s : subpackets) {
    const size_t n = s.body.size() + 1;
    if (n < 192) {
      area.push_back(static_cast<uint8_t>(n));
    } else if (n < 16320) {
      area.push_back(static_cast<uint8_t>(((n - 192) >> 8) + 192));
      area.push_back(static_cast<uint8_t>((n - 192) & 0xff));
    } else {
      area.push_back(0xff);
      put_u32(area, static_cast<uint32_t>(n));
    }
    area.push_back(static_cast<uint8_t>(s.type | (s.critical ? 0x80 : 0)));
    area.insert(area.end(), s.body.begin(), s.body.end());
  }
  put_u16(out, static_cast<uint16_t>(area.size()));
  out.insert(out.end(), area.begin(), area.end());
}

// Version through the hashed area: what the signature hashes of itself.
Bytes hashed_fields(const Signature& sig) {
  Bytes out = start_buffer({4, static_cast<uint8_t>(sig.type), static_cast<uint8_t>(sig.algorithm),
                            static_cast<uint8_t>(sig.hash)},
                           256);
  append_subpackets(out, sig.hashed);
  return out;
}

Result<Bytes> digest(const Signature& sig, BytesView data) {
  const Bytes fields = hashed_fields(sig);
  Bytes input(data.begin(), data.end());
  input.insert(input.end(), fields.begin(), fields.end());
  input.push_back(4);
  input.push_back(0xff);
  put_u32(input, static_cast<uint32_t>(fields.size()));
  Result<Bytes> out = Error(Errc::unsupported, "signature hash algorithm " +
                                                  std::to_string(static_cast<int>(sig.hash)));
  if (sig.hash == HashAlgorithm::sha256) out = crypto::sha256(input);
  if (sig.hash == HashAlgorithm::sha512) out = crypto::sha512(input);
  secure_wipe(input.data(), input.size());  // a copy of the signed message
  return out;
}

std::optional<uint32_t> u32_of(const Subpacket* s) {
  if (s == nullptr || s->body.size() != 4) return std::nullopt;
  return (uint32_t{s->body[0]} << 24) | (uint32_t{s->body[1]} << 16) |
         (uint32_t{s->body[2]} << 8) | s->body[3];
}

// Subpackets whose meaning this library knows, so that a critical one does not void a signature.
bool known_subpacket(uint8_t type) {
  switch (type) {
    case 2: case 3: case 9: case 11: case 16: case 21: case 22: case 23: case 25: case 27:
    case 30: case 33: case 34: case 35: case 39:
      return true;
    default:
      return false;
  }
}

}  // namespace

Bytes Signature::encode() const {
  Bytes out = hashed_fields(*this);
  append_subpackets(out, unhashed);
  out.push_back(hash_prefix[0]);
  out.push_back(hash_prefix[1]);
  put_mpi(out, r);
  put_mpi(out, s);
  return out;
}

Result<Signature> Signature::parse(BytesView body) {
  BodyReader r(body);
  SOTTO_TRY_ASSIGN(uint8_t version, r.u8());
  if (version != 4) {
    return Error(Errc::unsupported, "signature version " + std::to_string(version) + " (only 4)");
  }
  Signature sig;
  SOTTO_TRY_ASSIGN(uint8_t type, r.u8());
  SOTTO_TRY_ASSIGN(uint8_t algorithm, r.u8());
  SOTTO_TRY_ASSIGN(uint8_t hash, r.u8());
  sig.type = SignatureType{type};
  sig.algorithm = PublicKeyAlgorithm{algorithm};
  sig.hash = HashAlgorithm{hash};
  SOTTO_TRY_ASSIGN(uint16_t hashed_size, r.u16());
  SOTTO_TRY_ASSIGN(BytesView hashed, r.take(hashed_size));
  SOTTO_TRY_ASSIGN(sig.hashed, parse_subpackets(hashed));
  SOTTO_TRY_ASSIGN(uint16_t unhashed_size, r.u16());
  SOTTO_TRY_ASSIGN(BytesView unhashed, r.take(unhashed_size));
  SOTTO_TRY_ASSIGN(sig.unhashed, parse_subpackets(unhashed));
  SOTTO_TRY_ASSIGN(BytesView prefix, r.take(2));
  sig.hash_prefix[0] = prefix[0];
  sig.hash_prefix[1] = prefix[1];
  if (algorithm != static_cast<uint8_t>(PublicKeyAlgorithm::eddsa_legacy)) {
    // Kept whole so that a certificate can carry it; verify() refuses it.
    sig.r = to_bytes(r.rest());
    return sig;
  }
  SOTTO_TRY_ASSIGN(BytesView rv, r.mpi());
  SOTTO_TRY_ASSIGN(BytesView sv, r.mpi());
  SOTTO_TRY(r.finish("a signature"));
  sig.r = to_bytes(rv);
  sig.s = to_bytes(sv);
  // The hash covers the re-encoded hashed area: only one encoding of it may verify.
  if (sig.encode() != to_bytes(body)) {
    return Error(Errc::invalid_value, "a signature with non-canonical subpacket lengths or MPIs");
  }
  return sig;
}

const Subpacket* Signature::find_hashed(SubpacketType wanted) const {
  for (const Subpacket& sp : hashed) {
    if (sp.type == static_cast<uint8_t>(wanted)) return &sp;
  }
  return nullptr;
}

std::optional<uint32_t> Signature::creation_time() const {
  return u32_of(find_hashed(SubpacketType::creation_time));
}
std::optional<uint32_t> Signature::expiration_time() const {
  return u32_of(find_hashed(SubpacketType::expiration_time));
}
std::optional<uint32_t> Signature::key_expiration_time() const {
  return u32_of(find_hashed(SubpacketType::key_expiration_time));
}
std::optional<uint8_t> Signature::key_flags() const {
  const Subpacket* sp = find_hashed(SubpacketType::key_flags);
  if (sp == nullptr || sp->body.empty()) return std::nullopt;
  return sp->body[0];
}
std::optional<uint8_t> Signature::features() const {
  const Subpacket* sp = find_hashed(SubpacketType::features);
  if (sp == nullptr || sp->body.empty()) return std::nullopt;
  return sp->body[0];
}
bool Signature::primary_user_id() const {
  const Subpacket* sp = find_hashed(SubpacketType::primary_user_id);
  return sp != nullptr && sp->body.size() == 1 && sp->body[0] != 0;
}

std::optional<Bytes> Signature::issuer_fingerprint() const {
  for (const auto* area : {&hashed, &unhashed}) {
    for (const Subpacket& sp : *area) {
      if (sp.type == static_cast<uint8_t>(SubpacketType::issuer_fingerprint) &&
          sp.body.size() == 1 + kV4FingerprintSize && sp.body[0] == 4) {
        return Bytes(sp.body.begin() + 1, sp.body.end());
      }
    }
  }
  return std::nullopt;
}

std::optional<Bytes> Signature::issuer_key_id() const {
  if (auto fpr = issuer_fingerprint()) return Bytes(fpr->end() - kKeyIdSize, fpr->end());
  for (const auto* area : {&hashed, &unhashed}) {
    for (const Subpacket& sp : *area) {
      if (sp.type == static_cast<uint8_t>(SubpacketType::issuer_key_id) &&
          sp.body.size() == kKeyIdSize) {
        return sp.body;
      }
    }
  }
  return std::nullopt;
}

std::vector<Bytes> Signature::intended_recipients() const {
  std::vector<Bytes> out;
  for (const Subpacket& sp : hashed) {
    if (sp.type == static_cast<uint8_t>(SubpacketType::intended_recipient) &&
        sp.body.size() == 1 + kV4FingerprintSize && sp.body[0] == 4) {
      out.emplace_back(sp.body.begin() + 1, sp.body.end());
    }
  }
  return out;
}

void append_key_for_hash(Bytes& out, const PublicKey& key) {
  const Bytes body = key.encode();
  out.push_back(0x99);
  put_u16(out, static_cast<uint16_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
}

void append_user_id_for_hash(Bytes& out, std::string_view user_id) {
  out.push_back(0xb4);
  put_u32(out, static_cast<uint32_t>(user_id.size()));
  const BytesView b = as_bytes(user_id);
  out.insert(out.end(), b.begin(), b.end());
}

Bytes canonical_text(BytesView text) {
  Bytes out;
  out.reserve(text.size() + text.size() / 16);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out.push_back('\r');
    out.push_back(text[i]);
  }
  return out;
}

Subpacket subpacket_u32(SubpacketType type, uint32_t value) {
  Subpacket s;
  s.type = static_cast<uint8_t>(type);
  put_u32(s.body, value);
  return s;
}

Subpacket subpacket_bytes(SubpacketType type, BytesView value) {
  Subpacket s;
  s.type = static_cast<uint8_t>(type);
  s.body.assign(value.begin(), value.end());
  return s;
}

Result<Signature> sign(SignatureType type, const SecretKey& signer, BytesView data,
                       std::vector<Subpacket> hashed, uint32_t now, HashAlgorithm hash) {
  if (signer.public_key.algorithm != PublicKeyAlgorithm::eddsa_legacy) {
    return Error(Errc::invalid_argument, "signing needs an EdDSALegacy key");
  }
  Signature sig;
  sig.type = type;
  sig.algorithm = PublicKeyAlgorithm::eddsa_legacy;
  sig.hash = hash;
  const Bytes fpr = signer.public_key.fingerprint();
  std::vector<Subpacket> first;
  auto has = [&](SubpacketType t) {
    return std::any_of(hashed.begin(), hashed.end(),
                       [&](const Subpacket& s) { return s.type == static_cast<uint8_t>(t); });
  };
  if (!has(SubpacketType::creation_time)) first.push_back(subpacket_u32(SubpacketType::creation_time, now));
  if (!has(SubpacketType::issuer_fingerprint)) {
    Bytes body = start_buffer({4}, fpr.size());
    body.insert(body.end(), fpr.begin(), fpr.end());
    first.push_back(subpacket_bytes(SubpacketType::issuer_fingerprint, body));
  }
  sig.hashed = std::move(first);
  sig.hashed.insert(sig.hashed.end(), hashed.begin(), hashed.end());
  sig.unhashed.push_back(subpacket_bytes(SubpacketType::issuer_key_id, signer.public_key.key_id()));
  SOTTO_TRY_ASSIGN(Bytes d, digest(sig, data));
  sig.hash_prefix[0] = d[0];
  sig.hash_prefix[1] = d[1];
  SOTTO_TRY_ASSIGN(auto key, crypto::Ed25519SigningKey::from_seed(signer.secret));
  const Bytes rs = key.sign(d);
  sig.r.assign(rs.begin(), rs.begin() + 32);
  sig.s.assign(rs.begin() + 32, rs.end());
  return sig;
}

Result<void> verify(const Signature& sig, const PublicKey& signer, BytesView data, uint32_t now) {
  if (sig.algorithm != PublicKeyAlgorithm::eddsa_legacy ||
      signer.algorithm != PublicKeyAlgorithm::eddsa_legacy) {
    return Error(Errc::unsupported, "only EdDSALegacy signatures are verified");
  }
  if (sig.hash != HashAlgorithm::sha256 && sig.hash != HashAlgorithm::sha512) {
    return Error(Errc::unsupported, "signature hash algorithm " +
                                        std::to_string(static_cast<int>(sig.hash)) +
                                        " is not accepted");
  }
  for (const auto* area : {&sig.hashed, &sig.unhashed}) {
    for (const Subpacket& s : *area) {
      if (s.critical && !known_subpacket(s.type)) {
        return Error(Errc::bad_signature,
                     "an unknown critical subpacket " + std::to_string(s.type));
      }
    }
  }
  const auto created = sig.creation_time();
  if (!created) return Error(Errc::bad_signature, "a signature without a creation time");
  if (*created > now && *created - now > kClockSkew) {
    return Error(Errc::bad_signature, "a signature made in the future");
  }
  if (const auto expires = sig.expiration_time(); expires && *expires != 0 &&
                                                  uint64_t{*created} + *expires <= now) {
    return Error(Errc::bad_signature, "an expired signature");
  }
  SOTTO_TRY_ASSIGN(Bytes d, digest(sig, data));
  if (d[0] != sig.hash_prefix[0] || d[1] != sig.hash_prefix[1] ||
      !eddsa_legacy_verify(signer, d, sig.r, sig.s)) {
    return Error(Errc::bad_signature, "the EdDSA signature does not verify");
  }
  return success();
}

}  // namespace sotto::openpgp
