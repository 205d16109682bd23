#include "sotto/openpgp/cert.h"

#include <algorithm>

namespace sotto::openpgp {

namespace {

bool is_certification(SignatureType t) {
  return t == SignatureType::generic_certification || t == SignatureType::persona_certification ||
         t == SignatureType::casual_certification || t == SignatureType::positive_certification;
}

// Shared by the public and secret forms: walks the packets, handing key packets to `on_key`
// (primary: index -1) so that the secret form can keep its secrets.
template <class OnKey>
Result<Cert> parse_structure(BytesView data, const Limits& limits, bool secret, OnKey on_key) {
  SOTTO_TRY_ASSIGN(auto packets, parse_packets(data, limits));
  const PacketTag primary_tag = secret ? PacketTag::secret_key : PacketTag::public_key;
  const PacketTag subkey_tag = secret ? PacketTag::secret_subkey : PacketTag::public_subkey;
  if (packets.empty() || packets[0].tag != primary_tag) {
    return Error(Errc::invalid_value, secret ? "a secret key does not start with a Secret-Key packet"
                                             : "a certificate does not start with a Public-Key packet");
  }
  Cert cert;
  SOTTO_TRY_ASSIGN(cert.primary, on_key(packets[0].body, -1));
  enum class In { primary, user_id, subkey, skipped } in = In::primary;
  for (size_t i = 1; i < packets.size(); ++i) {
    const Packet& p = packets[i];
    switch (p.tag) {
      case PacketTag::signature: {
        if (in == In::skipped) break;
        auto sig = Signature::parse(p.body);
        if (!sig.ok()) {
          if (sig.error().code() == Errc::unsupported) break;  // a v3 or v6 signature: ignored
          return std::move(sig).error().with_context("certificate signature");
        }
        if (in == In::primary) cert.direct_signatures.push_back(std::move(sig).value());
        if (in == In::user_id) cert.user_ids.back().signatures.push_back(std::move(sig).value());
        if (in == In::subkey) cert.subkeys.back().signatures.push_back(std::move(sig).value());
        break;
      }
      case PacketTag::user_id:
        cert.user_ids.push_back({std::string(p.body.begin(), p.body.end()), {}});
        in = In::user_id;
        break;
      case PacketTag::user_attribute:
        in = In::skipped;
        break;
      case PacketTag::trust:
      case PacketTag::padding:
      case PacketTag::marker:
        break;
      default:
        if (p.tag != subkey_tag) {
          return Error(Errc::invalid_value, "packet type " +
                                                std::to_string(static_cast<int>(p.tag)) +
                                                " inside a certificate");
        }
        {
          auto key = on_key(p.body, static_cast<int>(cert.subkeys.size()));
          if (!key.ok()) {
            if (key.error().code() != Errc::unsupported) {
              return std::move(key).error().with_context("subkey");
            }
            in = In::skipped;
            break;
          }
          cert.subkeys.push_back({std::move(key).value(), {}});
          in = In::subkey;
        }
    }
  }
  return cert;
}

// The newest signature among `sigs` that passes `check`, or nullptr.
template <class Check>
const Signature* newest_valid(const std::vector<Signature>& sigs, Check check) {
  const Signature* best = nullptr;
  for (const Signature& s : sigs) {
    if (!check(s)) continue;
    if (best == nullptr || s.creation_time().value_or(0) > best->creation_time().value_or(0)) best = &s;
  }
  return best;
}

bool is_expired(uint32_t created, std::optional<uint32_t> after, uint32_t now) {
  return after && *after != 0 && uint64_t{created} + *after <= now;
}

}  // namespace

Result<Cert> Cert::parse(BytesView data, const Limits& limits) {
  return parse_structure(data, limits, false,
                         [](BytesView body, int) { return PublicKey::parse(body); });
}

Bytes Cert::encode() const {
  Bytes out;
  append_packet(out, PacketTag::public_key, primary.encode());
  for (const auto& s : direct_signatures) append_packet(out, PacketTag::signature, s.encode());
  for (const auto& u : user_ids) {
    append_packet(out, PacketTag::user_id, as_bytes(u.user_id));
    for (const auto& s : u.signatures) append_packet(out, PacketTag::signature, s.encode());
  }
  for (const auto& k : subkeys) {
    append_packet(out, PacketTag::public_subkey, k.key.encode());
    for (const auto& s : k.signatures) append_packet(out, PacketTag::signature, s.encode());
  }
  return out;
}

Result<ValidatedCert> validate(const Cert& cert, uint32_t now) {
  ValidatedCert out;
  out.primary = cert.primary;
  const Bytes fpr = cert.primary.fingerprint();
  auto by_primary = [&](const Signature& s) {
    const auto issuer = s.issuer_fingerprint();
    const auto id = s.issuer_key_id();
    return (issuer && *issuer == fpr) || (!issuer && id && *id == cert.primary.key_id()) ||
           (!issuer && !id);
  };
  Bytes key_data;
  append_key_for_hash(key_data, cert.primary);
  for (const Signature& s : cert.direct_signatures) {
    if (s.type == SignatureType::key_revocation && by_primary(s) &&
        verify(s, cert.primary, key_data, now).ok()) {
      return Error(Errc::expired, "the primary key is revoked");
    }
  }

  // User IDs: the primary one wins, else the newest valid certification.
  const Signature* self = nullptr;
  for (const UserIdBinding& u : cert.user_ids) {
    Bytes data = key_data;
    append_user_id_for_hash(data, u.user_id);
    const Signature* best = newest_valid(u.signatures, [&](const Signature& s) {
      return is_certification(s.type) && by_primary(s) && verify(s, cert.primary, data, now).ok();
    });
    if (best == nullptr) continue;
    const bool better = self == nullptr || (best->primary_user_id() && !self->primary_user_id()) ||
                        (best->primary_user_id() == self->primary_user_id() &&
                         best->creation_time().value_or(0) > self->creation_time().value_or(0));
    if (better) {
      self = best;
      out.user_id = u.user_id;
    }
  }
  if (self == nullptr) {
    return Error(Errc::bad_signature, "no user ID with a valid self-certification");
  }
  const Signature* direct = newest_valid(cert.direct_signatures, [&](const Signature& s) {
    return s.type == SignatureType::direct_key && by_primary(s) &&
           verify(s, cert.primary, key_data, now).ok();
  });
  // Key properties: a direct-key signature's where it has them, else the user ID's.
  const Signature* props = direct != nullptr && direct->features() ? direct : self;
  out.features = props->features().value_or(0);
  auto expiry = self->key_expiration_time();
  if (direct != nullptr && direct->key_expiration_time()) expiry = direct->key_expiration_time();
  if (expiry && *expiry != 0) out.expires_at = cert.primary.created + *expiry;
  if (is_expired(cert.primary.created, expiry, now)) {
    return Error(Errc::expired, "the primary key has expired");
  }

  for (const SubkeyBinding& k : cert.subkeys) {
    if (!k.key.can_encrypt()) continue;
    Bytes data = key_data;
    append_key_for_hash(data, k.key);
    const Signature* binding = newest_valid(k.signatures, [&](const Signature& s) {
      return s.type == SignatureType::subkey_binding && by_primary(s) &&
             verify(s, cert.primary, data, now).ok();
    });
    if (binding == nullptr) continue;
    const bool revoked = std::any_of(k.signatures.begin(), k.signatures.end(), [&](const Signature& s) {
      return s.type == SignatureType::subkey_revocation && by_primary(s) &&
             verify(s, cert.primary, data, now).ok();
    });
    if (revoked) continue;
    const uint8_t flags = binding->key_flags().value_or(0);
    if ((flags & (kKeyFlagEncryptCommunications | kKeyFlagEncryptStorage)) == 0) continue;
    if (is_expired(k.key.created, binding->key_expiration_time(), now)) continue;
    out.encryption_keys.push_back(k.key);
  }
  if (out.encryption_keys.empty()) {
    return Error(Errc::not_found, "no valid encryption subkey");
  }
  return out;
}

Result<SecretCert> SecretCert::parse(BytesView data, const Limits& limits) {
  SecretCert out;
  std::vector<SecretKey> subkeys;
  SOTTO_TRY_ASSIGN(out.cert, parse_structure(data, limits, true,
                                             [&](BytesView body, int index) -> Result<PublicKey> {
    SOTTO_TRY_ASSIGN(SecretKey key, SecretKey::parse(body));
    PublicKey pub = key.public_key;
    if (index < 0) {
      out.primary = std::move(key);
    } else {
      subkeys.push_back(std::move(key));
    }
    return pub;
  }));
  out.subkeys = std::move(subkeys);
  return out;
}

SecureBytes SecretCert::encode() const {
  Bytes packet;
  SecureBytes out;
  auto add_secret = [&](PacketTag tag, const SecretKey& key) {
    const SecureBytes body = key.encode();
    Bytes framed;
    framed.reserve(body.size() + 6);  // no reallocation: the one buffer is wiped below
    append_packet(framed, tag, body);
    out.append(framed);
    secure_wipe(framed.data(), framed.size());
  };
  add_secret(PacketTag::secret_key, primary);
  for (const auto& s : cert.direct_signatures) append_packet(packet, PacketTag::signature, s.encode());
  for (const auto& u : cert.user_ids) {
    append_packet(packet, PacketTag::user_id, as_bytes(u.user_id));
    for (const auto& s : u.signatures) append_packet(packet, PacketTag::signature, s.encode());
  }
  out.append(packet);
  for (size_t i = 0; i < cert.subkeys.size() && i < subkeys.size(); ++i) {
    add_secret(PacketTag::secret_subkey, subkeys[i]);
    packet.clear();
    for (const auto& s : cert.subkeys[i].signatures) {
      append_packet(packet, PacketTag::signature, s.encode());
    }
    out.append(packet);
  }
  return out;
}

const SecretKey* SecretCert::subkey(BytesView fingerprint) const {
  for (const SecretKey& k : subkeys) {
    const Bytes f = k.public_key.fingerprint();
    if (std::equal(f.begin(), f.end(), fingerprint.begin(), fingerprint.end())) return &k;
  }
  return nullptr;
}

Result<SecretCert> generate_cert(const std::string& user_id, uint32_t now,
                                 const GenerateOptions& options) {
  SecretCert out;
  out.primary = SecretKey::generate_ed25519(now);
  SecretKey sub = SecretKey::generate_cv25519(now);
  out.cert.primary = out.primary.public_key;

  Bytes key_data;
  append_key_for_hash(key_data, out.primary.public_key);
  Bytes uid_data = key_data;
  append_user_id_for_hash(uid_data, user_id);
  const uint8_t flags_primary = kKeyFlagCertify | kKeyFlagSign;
  const uint8_t features = options.seipd_v2 ? (kFeatureSeipdV1 | kFeatureSeipdV2) : kFeatureSeipdV1;
  const uint8_t sym[] = {9, 7};
  const uint8_t hashes[] = {8, 10};
  const uint8_t compression[] = {2, 1, 0};
  const uint8_t aead[] = {9, 2, 7, 2};  // AES-256-OCB, AES-128-OCB
  const uint8_t yes = 1;
  std::vector<Subpacket> uid_subpackets = {
      subpacket_bytes(SubpacketType::key_flags, BytesView(&flags_primary, 1)),
      subpacket_bytes(SubpacketType::preferred_symmetric, sym),
      subpacket_bytes(SubpacketType::preferred_hash, hashes),
      subpacket_bytes(SubpacketType::preferred_compression, compression),
      subpacket_bytes(SubpacketType::features, BytesView(&features, 1)),
      subpacket_bytes(SubpacketType::primary_user_id, BytesView(&yes, 1)),
  };
  if (options.seipd_v2) uid_subpackets.push_back(subpacket_bytes(SubpacketType::preferred_aead, aead));
  if (options.expires_after != 0) {
    uid_subpackets.push_back(subpacket_u32(SubpacketType::key_expiration_time, options.expires_after));
  }
  SOTTO_TRY_ASSIGN(Signature uid_sig, sign(SignatureType::positive_certification, out.primary,
                                           uid_data, std::move(uid_subpackets), now));
  out.cert.user_ids.push_back({user_id, {std::move(uid_sig)}});

  Bytes sub_data = key_data;
  append_key_for_hash(sub_data, sub.public_key);
  const uint8_t flags_sub = kKeyFlagEncryptCommunications | kKeyFlagEncryptStorage;
  std::vector<Subpacket> sub_subpackets = {
      subpacket_bytes(SubpacketType::key_flags, BytesView(&flags_sub, 1))};
  if (options.expires_after != 0) {
    sub_subpackets.push_back(subpacket_u32(SubpacketType::key_expiration_time, options.expires_after));
  }
  SOTTO_TRY_ASSIGN(Signature binding, sign(SignatureType::subkey_binding, out.primary, sub_data,
                                           std::move(sub_subpackets), now));
  out.cert.subkeys.push_back({sub.public_key, {std::move(binding)}});
  out.subkeys.push_back(std::move(sub));
  return out;
}

}  // namespace sotto::openpgp
