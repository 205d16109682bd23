// encrypt() and decrypt(): the message grammar of RFC 9580 section 10.3 as Delta Chat uses it.
#include <algorithm>
#include <optional>
#include <string>

#include "buffer.h"
#include "sotto/crypto/primitives.h"
#include "sotto/openpgp/message.h"
#include "sotto/openpgp/signature.h"

namespace sotto::openpgp {

namespace {

// Wipes a buffer that held plaintext when the scope ends, on every return path.
struct WipeOnExit {
  Bytes& bytes;
  ~WipeOnExit() { secure_wipe(bytes.data(), bytes.capacity()); }
};

bool ignorable(PacketTag tag) {
  return tag == PacketTag::marker || tag == PacketTag::padding;
}

// The signed data of a literal for a signature of `type`.
Bytes signed_data(SignatureType type, BytesView data) {
  return type == SignatureType::text ? canonical_text(data) : to_bytes(data);
}

const Cert* find_signer(const std::vector<Cert>& known, const Signature& sig) {
  const auto fpr = sig.issuer_fingerprint();
  const auto id = sig.issuer_key_id();
  for (const Cert& c : known) {
    if (fpr && *fpr == c.primary.fingerprint()) return &c;
    if (!fpr && id && *id == c.primary.key_id()) return &c;
  }
  return nullptr;
}

struct Unpacked {
  LiteralData literal;
  std::vector<Signature> signatures;
};

// Literal data and its signatures from the decrypted packet sequence, opening Compressed Data.
Result<Unpacked> unpack(BytesView data, const Limits& limits, int depth) {
  if (depth > limits.max_nesting) return Error(Errc::length_limit, "OpenPGP nesting too deep");
  SOTTO_TRY_ASSIGN(auto all, parse_packets(data, limits));
  std::vector<Packet> packets;
  for (auto& p : all) {
    if (!ignorable(p.tag)) packets.push_back(std::move(p));
  }
  if (packets.size() == 1 && packets[0].tag == PacketTag::compressed_data) {
    SOTTO_TRY_ASSIGN(SecureBytes inner, decompress(packets[0].body, limits.max_decompressed_size));
    return unpack(inner, limits, depth + 1);
  }
  // One-pass signed: OPS^n Literal Sig^n; prefixed signatures: Sig^n Literal; or bare Literal.
  size_t ops = 0;
  while (ops < packets.size() && packets[ops].tag == PacketTag::one_pass_signature) ++ops;
  size_t lead_sigs = 0;
  if (ops == 0) {
    while (lead_sigs < packets.size() && packets[lead_sigs].tag == PacketTag::signature)
      ++lead_sigs;
  }
  const size_t lit = ops + lead_sigs;
  const size_t trailing = packets.size() > lit ? packets.size() - lit - 1 : 0;
  if (lit >= packets.size() || packets[lit].tag != PacketTag::literal_data || trailing != ops) {
    return Error(Errc::invalid_value, "the packets do not form a signed or literal message");
  }
  Unpacked out;
  SOTTO_TRY_ASSIGN(out.literal, parse_literal(packets[lit].body));
  for (size_t i = 0; i < ops; ++i) SOTTO_TRY(OnePassSignature::parse(packets[i].body));
  auto add_signature = [&](const Packet& p) -> Result<void> {
    if (p.tag != PacketTag::signature) {
      return Error(Errc::invalid_value, "a one-pass signature without its signature");
    }
    auto sig = Signature::parse(p.body);
    if (sig.ok()) {
      out.signatures.push_back(std::move(sig).value());
    } else if (sig.error().code() != Errc::unsupported) {
      return std::move(sig).error().with_context("message signature");
    }
    return success();
  };
  for (size_t i = 0; i < lead_sigs; ++i) SOTTO_TRY(add_signature(packets[i]));
  for (size_t i = lit + 1; i < packets.size(); ++i) SOTTO_TRY(add_signature(packets[i]));
  return out;
}

// A signature naming intended recipients (section 5.2.3.36) must name the certificate whose
// key decrypted the message: else it was forwarded by someone it was meant for.
bool intended_for(const Signature& sig, BytesView own_fingerprint) {
  const auto named = sig.intended_recipients();
  if (named.empty()) return true;
  return std::any_of(named.begin(), named.end(), [&](const Bytes& f) {
    return std::equal(f.begin(), f.end(), own_fingerprint.begin(), own_fingerprint.end());
  });
}

void check_signatures(const Unpacked& u, const std::vector<Cert>& known, uint32_t now,
                      BytesView own_fingerprint, Decrypted& out) {
  if (u.signatures.empty()) return;
  out.signature = SignatureStatus::unknown_signer;
  for (const Signature& sig : u.signatures) {
    if (sig.type != SignatureType::binary && sig.type != SignatureType::text) continue;
    const Cert* signer = find_signer(known, sig);
    if (signer == nullptr) continue;
    Bytes data = signed_data(sig.type, u.literal.data);
    // The signer's certificate must itself hold now: self-signed, unexpired, unrevoked.
    auto cert_ok = validate(*signer, now);
    Result<void> ok =
        cert_ok.ok() ? verify(sig, signer->primary, data, now)
                     : Result<void>(std::move(cert_ok).error().with_context("signer certificate"));
    if (ok.ok() && !intended_for(sig, own_fingerprint)) {
      ok = Error(Errc::bad_signature, "signed for other recipients: the message was forwarded");
    }
    secure_wipe(data.data(), data.size());
    if (ok.ok()) {
      out.signature = SignatureStatus::valid;
      out.signer_fingerprint = signer->primary.fingerprint();
      out.signature_error.clear();
      return;
    }
    out.signature = SignatureStatus::invalid;
    out.signer_fingerprint = signer->primary.fingerprint();
    out.signature_error = ok.error().to_string();
  }
}

// The signed message: OPS, Literal, Signature (RFC 9580 section 10.3), compressed when asked;
// the signature names `recipients` as intended recipients.
Result<Bytes> signed_message(BytesView plaintext, const SecretCert* signer,
                             const std::vector<Cert>& recipients, const EncryptOptions& options) {
  Bytes inner;
  Bytes literal = encode_literal('b', options.filename, options.now, plaintext);
  inner.reserve(literal.size() + 512);  // one buffer for the plaintext's copy
  const WipeOnExit wipe_literal{literal};
  if (signer != nullptr) {
    OnePassSignature ops;
    ops.key_id = signer->primary.public_key.key_id();
    append_packet(inner, PacketTag::one_pass_signature, ops.encode());
    append_packet(inner, PacketTag::literal_data, literal);
    // Every recipient is named, so that none can forward the signed message as if to another.
    std::vector<Subpacket> intended;
    for (const Cert& c : recipients) {
      const Bytes fpr = c.fingerprint();
      Bytes body = start_buffer({4}, fpr.size());
      body.insert(body.end(), fpr.begin(), fpr.end());
      intended.push_back(subpacket_bytes(SubpacketType::intended_recipient, body));
    }
    auto sig =
        sign(SignatureType::binary, signer->primary, plaintext, std::move(intended), options.now);
    if (!sig.ok()) {
      secure_wipe(inner.data(), inner.size());
      return std::move(sig).error();
    }
    append_packet(inner, PacketTag::signature, sig->encode());
  } else {
    append_packet(inner, PacketTag::literal_data, literal);
  }
  if (options.compress) {
    auto compressed = compress(CompressionAlgorithm::zlib, inner);
    secure_wipe(inner.data(), inner.size());
    if (!compressed.ok()) return std::move(compressed).error();
    const WipeOnExit wipe_compressed{*compressed};
    Bytes packet;
    append_packet(packet, PacketTag::compressed_data, *compressed);
    return packet;
  }
  return inner;
}

// What an encrypted message holds: its session keys and the encrypted data packet.
struct EncryptedParts {
  std::vector<Pkesk> pkesks;
  std::vector<Skesk> skesks;
  std::optional<Error> unsupported_skesk;  // why the first SKESK this cannot read is not read
  const Packet* encrypted = nullptr;
};

Result<EncryptedParts> split_message(const std::vector<Packet>& packets) {
  EncryptedParts parts;
  for (const Packet& p : packets) {
    if (parts.encrypted != nullptr) {
      if (ignorable(p.tag)) continue;
      return Error(Errc::invalid_value, "packets after the encrypted data");
    }
    switch (p.tag) {
      case PacketTag::pkesk: {
        auto pkesk = Pkesk::parse(p.body);
        if (pkesk.ok()) {
          parts.pkesks.push_back(std::move(pkesk).value());
        } else if (pkesk.error().code() != Errc::unsupported) {
          return std::move(pkesk).error().with_context("PKESK");
        }
        break;
      }
      case PacketTag::skesk: {
        auto skesk = Skesk::parse(p.body);
        if (skesk.ok()) {
          parts.skesks.push_back(std::move(skesk).value());
        } else if (skesk.error().code() != Errc::unsupported) {
          return std::move(skesk).error().with_context("SKESK");
        } else if (!parts.unsupported_skesk) {
          parts.unsupported_skesk = std::move(skesk).error();
        }
        break;
      }
      case PacketTag::marker:
      case PacketTag::padding:
        break;
      case PacketTag::seipd:
        parts.encrypted = &p;
        break;
      case PacketTag::symmetrically_encrypted_data:
        return Error(Errc::unsupported, "encrypted data without integrity protection is refused");
      case PacketTag::aead_encrypted:
        return Error(Errc::unsupported,
                     "the AEAD Encrypted Data packet (type 20) is not supported");
      default:
        return Error(Errc::invalid_value, "not an encrypted message: packet type " +
                                              std::to_string(static_cast<int>(p.tag)));
    }
  }
  if (parts.encrypted == nullptr) return Error(Errc::invalid_value, "no encrypted data packet");
  if (parts.encrypted->body.empty()) return Error(Errc::truncated, "an empty SEIPD packet");
  return parts;
}

// Decrypts the data with `session`, unpacks it and checks its signatures.
Result<Decrypted> open_data(const SessionKey& session, const Packet& encrypted,
                            const std::vector<Cert>& known_keys, uint32_t now,
                            BytesView own_fingerprint, const Limits& limits) {
  SOTTO_TRY_ASSIGN(SecureBytes inner, seipd_decrypt(session, encrypted.body, limits));
  SOTTO_TRY_ASSIGN(Unpacked u, unpack(inner, limits, 1));
  Decrypted out;
  out.seipd_v2 = encrypted.body[0] == 2;
  out.filename = u.literal.filename;
  check_signatures(u, known_keys, now, own_fingerprint, out);
  out.plaintext = std::move(u.literal.data);
  return out;
}

}  // namespace

Result<Bytes> encrypt(BytesView plaintext, const SecretCert* signer,
                      const std::vector<Cert>& recipients, const EncryptOptions& options) {
  if (recipients.empty()) return Error(Errc::invalid_argument, "no recipients");
  std::vector<PublicKey> keys;
  bool all_v2 = true;
  for (const Cert& c : recipients) {
    auto valid = validate(c, options.now);
    if (!valid.ok()) return std::move(valid).error().with_context("recipient certificate");
    all_v2 = all_v2 && valid->supports_seipd_v2();
    for (const PublicKey& k : valid->encryption_keys) keys.push_back(k);
  }

  SOTTO_TRY_ASSIGN(Bytes inner, signed_message(plaintext, signer, recipients, options));
  const WipeOnExit wipe_inner{inner};

  SessionKey session;
  session.cipher = static_cast<uint8_t>(SymmetricAlgorithm::aes128);
  session.key = crypto::random_secret(16);
  Bytes out;
  for (const PublicKey& k : keys) {
    SOTTO_TRY_ASSIGN(Pkesk p,
                     encrypt_session_key(all_v2 ? 6 : 3, k, session, options.anonymous_recipients));
    append_packet(out, PacketTag::pkesk, p.encode());
  }
  auto body = all_v2 ? seipd_v2_encrypt(SymmetricAlgorithm::aes128, session.key, inner,
                                        options.chunk_size_octet)
                     : seipd_v1_encrypt(session, inner);
  if (!body.ok()) return std::move(body).error();
  append_packet(out, PacketTag::seipd, *body);
  return out;
}

Result<Decrypted> decrypt(BytesView message, const std::vector<SecretCert>& own_keys,
                          const std::vector<Cert>& known_keys, uint32_t now, const Limits& limits) {
  SOTTO_TRY_ASSIGN(auto packets, parse_packets(message, limits));
  SOTTO_TRY_ASSIGN(EncryptedParts parts, split_message(packets));
  const uint8_t seipd_version = parts.encrypted->body[0];
  const uint8_t pkesk_version = seipd_version == 2 ? 6 : 3;

  bool tried = false;
  size_t attempts = 0;
  for (const Pkesk& p : parts.pkesks) {
    if (p.version != pkesk_version || p.algorithm != 18) continue;
    for (const SecretCert& own : own_keys) {
      for (const SecretKey& sub : own.subkeys) {
        if (!sub.public_key.can_encrypt() || !p.may_be_for(sub.public_key)) continue;
        if (attempts++ == limits.max_session_key_attempts) {
          return Error(Errc::length_limit, "too many session keys to try");
        }
        tried = true;
        auto session = decrypt_session_key(p, sub);
        if (!session.ok()) continue;  // anonymous PKESKs: another key may fit
        return open_data(*session, *parts.encrypted, known_keys, now, own.cert.fingerprint(),
                         limits);
      }
    }
  }
  return Error(tried ? Errc::authentication_failed : Errc::not_found,
               tried ? "no session key opened with our keys" : "the message is not for our keys");
}

Result<Bytes> encrypt_with_password(BytesView plaintext, const SecretCert* signer,
                                    BytesView password, const EncryptOptions& options) {
  SOTTO_TRY_ASSIGN(Bytes inner, signed_message(plaintext, signer, {}, options));
  const WipeOnExit wipe_inner{inner};
  SessionKey session;
  session.cipher = static_cast<uint8_t>(SymmetricAlgorithm::aes128);
  session.key = crypto::random_secret(16);
  SOTTO_TRY_ASSIGN(Skesk skesk, encrypt_session_key_with_password(password, session));
  Bytes out;
  append_packet(out, PacketTag::skesk, skesk.encode());
  SOTTO_TRY_ASSIGN(Bytes body, seipd_v2_encrypt(SymmetricAlgorithm::aes128, session.key, inner,
                                                options.chunk_size_octet));
  append_packet(out, PacketTag::seipd, body);
  return out;
}

Result<Decrypted> decrypt_with_password(BytesView message, BytesView password,
                                        const std::vector<Cert>& known_keys, uint32_t now,
                                        const Limits& limits) {
  SOTTO_TRY_ASSIGN(auto packets, parse_packets(message, limits));
  SOTTO_TRY_ASSIGN(EncryptedParts parts, split_message(packets));
  if (parts.encrypted->body[0] != 2) {
    return Error(Errc::unsupported, "a password-encrypted message without SEIPD v2");
  }
  if (parts.skesks.empty()) {
    if (parts.unsupported_skesk) return std::move(*parts.unsupported_skesk).with_context("SKESK");
    return Error(Errc::not_found, "the message has no SKESK to open");
  }
  if (parts.skesks.size() > limits.max_session_key_attempts) {
    return Error(Errc::length_limit, "too many session keys to try");
  }
  size_t hashed = 0;
  for (const Skesk& s : parts.skesks) {
    hashed += s.s2k.hashed_bytes(password.size());
    if (hashed > limits.max_s2k_bytes) {
      return Error(Errc::length_limit, "the SKESKs ask for more hashing than allowed");
    }
    auto session = decrypt_session_key_with_password(s, password);
    if (!session.ok()) continue;
    return open_data(*session, *parts.encrypted, known_keys, now, {}, limits);
  }
  return Error(Errc::authentication_failed, "the password opens no session key");
}

}  // namespace sotto::openpgp
