#include "sotto/openpgp/message.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "sotto/crypto/aes.h"
#include "sotto/crypto/primitives.h"
#include "sotto/openpgp/signature.h"
#include "buffer.h"
#include "oids.h"

namespace sotto::openpgp {

namespace {

constexpr size_t kSaltSize = 32;
constexpr size_t kOcbNonceSize = 15;
constexpr size_t kOcbIvSize = kOcbNonceSize - 8;
constexpr uint8_t kAnonymousSender[] = {'A', 'n', 'o', 'n', 'y', 'm', 'o', 'u', 's', ' ',
                                        'S', 'e', 'n', 'd', 'e', 'r', ' ', ' ', ' ', ' '};

Error auth_failed(const char* why) { return Error(Errc::authentication_failed, why); }

void put_u64(Bytes& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

uint16_t key_checksum(BytesView key) {
  uint32_t sum = 0;
  for (uint8_t b : key) sum += b;
  return static_cast<uint16_t>(sum);
}

// RFC 6637 / RFC 9580 section 11.5: KEK = Hash(00 00 00 01 || Z || Param), truncated.
Result<SecureBytes> ecdh_kek(const PublicKey& recipient, BytesView shared) {
  Bytes input = start_buffer({0, 0, 0, 1}, 128);
  input.insert(input.end(), shared.begin(), shared.end());
  input.push_back(sizeof kCurve25519LegacyOid);
  input.insert(input.end(), std::begin(kCurve25519LegacyOid), std::end(kCurve25519LegacyOid));
  input.insert(input.end(), {18, 3, 1, static_cast<uint8_t>(recipient.kdf_hash),
                             static_cast<uint8_t>(recipient.kdf_cipher)});
  input.insert(input.end(), std::begin(kAnonymousSender), std::end(kAnonymousSender));
  const Bytes fpr = recipient.fingerprint();
  input.insert(input.end(), fpr.begin(), fpr.end());
  Bytes digest;
  if (recipient.kdf_hash == HashAlgorithm::sha256) {
    digest = crypto::sha256(input);
  } else if (recipient.kdf_hash == HashAlgorithm::sha512) {
    digest = crypto::sha512(input);
  } else {
    secure_wipe(input.data(), input.size());
    return Error(Errc::unsupported, "ECDH KDF hash " +
                                        std::to_string(static_cast<int>(recipient.kdf_hash)));
  }
  secure_wipe(input.data(), input.size());
  const size_t size = symmetric_key_size(static_cast<uint8_t>(recipient.kdf_cipher));
  SecureBytes kek(BytesView(digest).subspan(0, size));
  secure_wipe(digest.data(), digest.size());
  return kek;
}

Bytes hkdf_info(uint8_t cipher, uint8_t aead, uint8_t chunk_octet) {
  return start_buffer({0xd2, 2, cipher, aead, chunk_octet}, 8);
}

struct MessageKeys {
  SecureBytes key;
  Bytes iv;
};

Result<MessageKeys> seipd_v2_keys(BytesView session_key, BytesView salt, BytesView info) {
  const SecureBytes prk = crypto::hkdf_extract(salt, session_key);
  SOTTO_TRY_ASSIGN(SecureBytes okm, crypto::hkdf_expand(prk, info, session_key.size() + kOcbIvSize));
  MessageKeys keys;
  keys.key = SecureBytes(okm.view().subspan(0, session_key.size()));
  keys.iv = to_bytes(okm.view().subspan(session_key.size()));
  return keys;
}

Bytes chunk_nonce(BytesView iv, uint64_t index) {
  Bytes nonce(iv.begin(), iv.end());
  put_u64(nonce, index);
  return nonce;
}

Result<SecureBytes> seipd_v1_decrypt(const SessionKey& session_key, BytesView data) {
  if (!session_key.cipher || symmetric_key_size(*session_key.cipher) != session_key.key.size()) {
    return Error(Errc::invalid_value, "SEIPD v1 needs a session key with its cipher");
  }
  const Bytes zero_iv(crypto::kAesBlockSize);
  SOTTO_TRY_ASSIGN(SecureBytes pt, crypto::aes_cfb_decrypt(session_key.key, zero_iv, data));
  constexpr size_t kPrefix = crypto::kAesBlockSize + 2;
  constexpr size_t kMdc = 2 + crypto::kSha1Size;
  if (pt.size() < kPrefix + kMdc) return auth_failed("SEIPD v1 data too short for its MDC");
  const size_t hashed = pt.size() - crypto::kSha1Size;
  SOTTO_TRY_ASSIGN(Bytes mdc, crypto::sha1(pt.view().subspan(0, hashed)));
  // The quick-check bytes are not looked at: only the MDC decides, in one comparison.
  const bool header_ok = pt[hashed - 2] == 0xd3 && pt[hashed - 1] == 0x14;
  const bool mdc_ok = constant_time_equal(mdc, pt.view().subspan(hashed));
  if (!(header_ok & mdc_ok)) return auth_failed("SEIPD v1: modification detected");
  return SecureBytes(pt.view().subspan(kPrefix, pt.size() - kPrefix - kMdc));
}

Result<SecureBytes> seipd_v2_decrypt(BytesView key, BytesView body, const Limits& limits) {
  BodyReader r(body);
  SOTTO_TRY(r.u8());  // version, checked by the caller
  SOTTO_TRY_ASSIGN(uint8_t cipher, r.u8());
  SOTTO_TRY_ASSIGN(uint8_t aead, r.u8());
  SOTTO_TRY_ASSIGN(uint8_t chunk_octet, r.u8());
  SOTTO_TRY_ASSIGN(BytesView salt, r.take(kSaltSize));
  if (symmetric_key_size(cipher) == 0) {
    return Error(Errc::unsupported, "SEIPD v2 cipher " + std::to_string(cipher));
  }
  if (aead != static_cast<uint8_t>(AeadAlgorithm::ocb)) {
    return Error(Errc::unsupported, "SEIPD v2 AEAD mode " + std::to_string(aead) + " (only OCB)");
  }
  if (chunk_octet > kMaxChunkSizeOctet) {
    return Error(Errc::invalid_value, "SEIPD v2 chunk size octet over 16");
  }
  if (key.size() != symmetric_key_size(cipher)) {
    return Error(Errc::invalid_value, "a session key of the wrong size for the SEIPD cipher");
  }
  const BytesView rest = r.rest();
  if (rest.size() < crypto::kOcbTagSize) return Error(Errc::truncated, "SEIPD v2 without its final tag");
  const BytesView chunks = rest.subspan(0, rest.size() - crypto::kOcbTagSize);
  const BytesView final_tag = rest.subspan(rest.size() - crypto::kOcbTagSize);
  const size_t chunk_size = size_t{1} << (chunk_octet + 6);
  const size_t sealed_size = chunk_size + crypto::kOcbTagSize;
  const size_t remainder = chunks.size() % sealed_size;
  if (remainder != 0 && remainder <= crypto::kOcbTagSize) {
    return Error(Errc::invalid_value, "SEIPD v2 with an empty or cut chunk");
  }
  const Bytes info = hkdf_info(cipher, aead, chunk_octet);
  SOTTO_TRY_ASSIGN(MessageKeys keys, seipd_v2_keys(key, salt, info));
  SecureBytes out;
  uint64_t index = 0;
  for (size_t pos = 0; pos < chunks.size(); pos += sealed_size, ++index) {
    const BytesView sealed = chunks.subspan(pos, std::min(sealed_size, chunks.size() - pos));
    auto plain = crypto::aes_ocb_open(keys.key, chunk_nonce(keys.iv, index), info, sealed);
    if (!plain.ok()) return auth_failed("SEIPD v2: a chunk does not authenticate");
    if (out.size() + plain->size() > limits.max_packet_size) {
      return Error(Errc::length_limit, "SEIPD v2 plaintext over the limit");
    }
    out.append(*plain);
  }
  Bytes final_aad = info;
  put_u64(final_aad, out.size());
  if (!crypto::aes_ocb_open(keys.key, chunk_nonce(keys.iv, index), final_aad, final_tag).ok()) {
    return auth_failed("SEIPD v2: the final tag does not authenticate");
  }
  return out;
}

// ---- zlib ----

struct Inflater {
  z_stream z{};
  bool ready = false;
  ~Inflater() {
    if (ready) inflateEnd(&z);
  }
};

struct Deflater {
  z_stream z{};
  bool ready = false;
  ~Deflater() {
    if (ready) deflateEnd(&z);
  }
};

}  // namespace

// ---- PKESK ----

bool Pkesk::anonymous() const {
  if (version == 3) return std::all_of(key_id.begin(), key_id.end(), [](uint8_t b) { return b == 0; });
  return key_version == 0;
}

bool Pkesk::may_be_for(const PublicKey& key) const {
  if (anonymous()) return true;
  return version == 3 ? key_id == key.key_id() : fingerprint == key.fingerprint();
}

Bytes Pkesk::encode() const {
  Bytes out = start_buffer({version}, 96);
  if (version == 3) {
    out.insert(out.end(), key_id.begin(), key_id.end());
  } else if (key_version == 0) {
    out.push_back(0);
  } else {
    out.push_back(static_cast<uint8_t>(1 + fingerprint.size()));
    out.push_back(key_version);
    out.insert(out.end(), fingerprint.begin(), fingerprint.end());
  }
  out.push_back(algorithm);
  if (algorithm == 18) {
    put_mpi(out, ephemeral);
    out.push_back(static_cast<uint8_t>(wrapped.size()));
    out.insert(out.end(), wrapped.begin(), wrapped.end());
  } else {
    out.insert(out.end(), other_fields.begin(), other_fields.end());
  }
  return out;
}

Result<Pkesk> Pkesk::parse(BytesView body) {
  BodyReader r(body);
  Pkesk p;
  SOTTO_TRY_ASSIGN(p.version, r.u8());
  if (p.version == 3) {
    SOTTO_TRY_ASSIGN(BytesView id, r.take(kKeyIdSize));
    p.key_id = to_bytes(id);
  } else if (p.version == 6) {
    SOTTO_TRY_ASSIGN(uint8_t size, r.u8());
    if (size != 0) {
      SOTTO_TRY_ASSIGN(p.key_version, r.u8());
      SOTTO_TRY_ASSIGN(BytesView fpr, r.take(size - 1u));
      const size_t want = p.key_version == 4 ? 20 : p.key_version == 6 ? 32 : 0;
      if (want == 0 || fpr.size() != want) {
        return Error(Errc::invalid_value, "a v6 PKESK with a malformed key version or fingerprint");
      }
      p.fingerprint = to_bytes(fpr);
    }
  } else {
    return Error(Errc::unsupported, "PKESK version " + std::to_string(p.version));
  }
  SOTTO_TRY_ASSIGN(p.algorithm, r.u8());
  if (p.algorithm != 18) {
    p.other_fields = to_bytes(r.rest());
    return p;
  }
  SOTTO_TRY_ASSIGN(BytesView point, r.mpi());
  if (point.size() != 33 || point[0] != 0x40) {
    return Error(Errc::invalid_value, "an ECDH ephemeral key that is not 0x40 || 32 bytes");
  }
  p.ephemeral = to_bytes(point);
  SOTTO_TRY_ASSIGN(uint8_t size, r.u8());
  SOTTO_TRY_ASSIGN(BytesView wrapped, r.take(size));
  p.wrapped = to_bytes(wrapped);
  SOTTO_TRY(r.finish("a PKESK"));
  if (p.encode() != to_bytes(body)) return Error(Errc::invalid_value, "a non-canonical PKESK");
  return p;
}

Result<Pkesk> encrypt_session_key(uint8_t version, const PublicKey& recipient,
                                  const SessionKey& session_key, bool anonymous) {
  if (!recipient.can_encrypt()) return Error(Errc::invalid_argument, "not an ECDH key");
  if (version != 3 && version != 6) return Error(Errc::invalid_argument, "PKESK version 3 or 6");
  if (version == 3 && !session_key.cipher) {
    return Error(Errc::invalid_argument, "a v3 PKESK needs the session key's cipher");
  }
  const SecureBytes ephemeral = crypto::random_secret(crypto::kX25519Size);
  SOTTO_TRY_ASSIGN(Bytes ephemeral_public, crypto::x25519_public_key(ephemeral));
  SOTTO_TRY_ASSIGN(SecureBytes shared, crypto::x25519(ephemeral, recipient.point));
  SOTTO_TRY_ASSIGN(SecureBytes kek, ecdh_kek(recipient, shared));
  SecureBytes m;
  if (version == 3) m.append(BytesView(&*session_key.cipher, 1));
  m.append(session_key.key);
  const uint16_t sum = key_checksum(session_key.key);
  const uint8_t sum_bytes[2] = {static_cast<uint8_t>(sum >> 8), static_cast<uint8_t>(sum)};
  m.append(sum_bytes);
  // PKCS#5 padding to 40 bytes (section 11.5: the same length for every AES key size).
  const size_t padded = m.size() < 40 ? 40 : m.size() + 8 - m.size() % 8;
  const uint8_t pad = static_cast<uint8_t>(padded - m.size());
  while (m.size() < padded) m.append(BytesView(&pad, 1));
  SOTTO_TRY_ASSIGN(Bytes wrapped, crypto::aes_key_wrap(kek, m));
  Pkesk p;
  p.version = version;
  if (version == 3) {
    p.key_id = anonymous ? Bytes(kKeyIdSize) : recipient.key_id();
  } else if (!anonymous) {
    p.key_version = 4;
    p.fingerprint = recipient.fingerprint();
  }
  p.algorithm = 18;
  p.ephemeral = start_buffer({0x40}, ephemeral_public.size());
  p.ephemeral.insert(p.ephemeral.end(), ephemeral_public.begin(), ephemeral_public.end());
  p.wrapped = std::move(wrapped);
  return p;
}

Result<SessionKey> decrypt_session_key(const Pkesk& pkesk, const SecretKey& key) {
  if (pkesk.algorithm != 18 || !key.public_key.can_encrypt()) {
    return Error(Errc::unsupported, "only ECDH PKESKs are decrypted");
  }
  SOTTO_TRY_ASSIGN(SecureBytes shared,
                   crypto::x25519(key.secret, BytesView(pkesk.ephemeral).subspan(1)));
  SOTTO_TRY_ASSIGN(SecureBytes kek, ecdh_kek(key.public_key, shared));
  if (pkesk.wrapped.size() < 24 || pkesk.wrapped.size() % 8 != 0) {
    return auth_failed("a wrapped session key of an impossible size");
  }
  auto unwrapped = crypto::aes_key_unwrap(kek, pkesk.wrapped);
  if (!unwrapped.ok()) return auth_failed("the session key does not unwrap with this key");
  const SecureBytes& m = *unwrapped;
  const uint8_t pad = m[m.size() - 1];
  bool ok = pad >= 1 && pad <= m.size();
  for (size_t i = m.size() - (ok ? pad : 0); i < m.size(); ++i) ok = ok && m[i] == pad;
  if (!ok) return auth_failed("bad padding in the session key");
  const size_t head = pkesk.version == 3 ? 1 : 0;
  const size_t size = m.size() - pad;
  if (size < head + 2 + 16) return auth_failed("a session key too short");
  SessionKey out;
  if (head) out.cipher = m[0];
  out.key = SecureBytes(m.view().subspan(head, size - head - 2));
  const uint16_t sum = static_cast<uint16_t>((m[size - 2] << 8) | m[size - 1]);
  if (sum != key_checksum(out.key)) return auth_failed("session key checksum mismatch");
  const size_t want = out.cipher ? symmetric_key_size(*out.cipher) : out.key.size();
  if (want == 0 || want != out.key.size() || (want != 16 && want != 24 && want != 32)) {
    return Error(Errc::unsupported, "a session key for an unsupported cipher");
  }
  return out;
}

// ---- SEIPD ----

Result<Bytes> seipd_v1_encrypt(const SessionKey& session_key, BytesView plaintext) {
  if (!session_key.cipher || symmetric_key_size(*session_key.cipher) != session_key.key.size()) {
    return Error(Errc::invalid_argument, "SEIPD v1 needs a session key with its cipher");
  }
  SecureBytes data(crypto::random_secret(crypto::kAesBlockSize));
  const uint8_t repeat[2] = {data[14], data[15]};
  data.append(repeat);
  data.append(plaintext);
  const uint8_t mdc_header[2] = {0xd3, 0x14};
  data.append(mdc_header);
  SOTTO_TRY_ASSIGN(Bytes mdc, crypto::sha1(data));
  data.append(mdc);
  const Bytes zero_iv(crypto::kAesBlockSize);
  SOTTO_TRY_ASSIGN(Bytes ct, crypto::aes_cfb_encrypt(session_key.key, zero_iv, data));
  Bytes body = start_buffer({1}, ct.size());
  body.insert(body.end(), ct.begin(), ct.end());
  return body;
}

Result<Bytes> seipd_v2_encrypt(SymmetricAlgorithm cipher, BytesView key, BytesView plaintext,
                               uint8_t chunk_size_octet) {
  const uint8_t c = static_cast<uint8_t>(cipher);
  if (symmetric_key_size(c) != key.size()) {
    return Error(Errc::invalid_argument, "a session key of the wrong size for the cipher");
  }
  if (chunk_size_octet > kMaxChunkSizeOctet) {
    return Error(Errc::invalid_argument, "chunk size octet over 16");
  }
  const uint8_t aead = static_cast<uint8_t>(AeadAlgorithm::ocb);
  const Bytes info = hkdf_info(c, aead, chunk_size_octet);
  const Bytes salt = crypto::random_bytes(kSaltSize);
  SOTTO_TRY_ASSIGN(MessageKeys keys, seipd_v2_keys(key, salt, info));
  Bytes body = start_buffer({2, c, aead, chunk_size_octet}, kSaltSize + plaintext.size() + 64);
  body.insert(body.end(), salt.begin(), salt.end());
  const size_t chunk_size = size_t{1} << (chunk_size_octet + 6);
  uint64_t index = 0;
  for (size_t pos = 0; pos < plaintext.size(); pos += chunk_size, ++index) {
    const BytesView piece = plaintext.subspan(pos, std::min(chunk_size, plaintext.size() - pos));
    SOTTO_TRY_ASSIGN(Bytes sealed, crypto::aes_ocb_seal(keys.key, chunk_nonce(keys.iv, index), info, piece));
    body.insert(body.end(), sealed.begin(), sealed.end());
  }
  Bytes final_aad = info;
  put_u64(final_aad, plaintext.size());
  SOTTO_TRY_ASSIGN(Bytes tag, crypto::aes_ocb_seal(keys.key, chunk_nonce(keys.iv, index), final_aad, {}));
  body.insert(body.end(), tag.begin(), tag.end());
  return body;
}

Result<SecureBytes> seipd_decrypt(const SessionKey& session_key, BytesView body,
                                  const Limits& limits) {
  if (body.empty()) return Error(Errc::truncated, "an empty SEIPD packet");
  if (body[0] == 1) return seipd_v1_decrypt(session_key, body.subspan(1));
  if (body[0] == 2) return seipd_v2_decrypt(session_key.key, body, limits);
  return Error(Errc::unsupported, "SEIPD version " + std::to_string(body[0]));
}

// ---- literal, compressed, one-pass signature ----

Bytes encode_literal(uint8_t format, const std::string& filename, uint32_t date, BytesView data) {
  const std::string name = filename.substr(0, 255);
  Bytes out = start_buffer({format, static_cast<uint8_t>(name.size())}, name.size() + 4 + data.size());
  out.insert(out.end(), name.begin(), name.end());
  put_u32(out, date);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Result<LiteralData> parse_literal(BytesView body) {
  BodyReader r(body);
  LiteralData lit;
  SOTTO_TRY_ASSIGN(lit.format, r.u8());
  SOTTO_TRY_ASSIGN(uint8_t name_size, r.u8());
  SOTTO_TRY_ASSIGN(BytesView name, r.take(name_size));
  lit.filename.assign(name.begin(), name.end());
  SOTTO_TRY_ASSIGN(lit.date, r.u32());
  lit.data = SecureBytes(r.rest());
  return lit;
}

Result<Bytes> compress(CompressionAlgorithm algorithm, BytesView data) {
  Bytes out = start_buffer({static_cast<uint8_t>(algorithm)}, data.size());
  if (algorithm == CompressionAlgorithm::uncompressed) {
    out.insert(out.end(), data.begin(), data.end());
    return out;
  }
  if (algorithm != CompressionAlgorithm::zip && algorithm != CompressionAlgorithm::zlib) {
    return Error(Errc::unsupported, "only ZIP and ZLIB compression");
  }
  if (data.size() > (size_t{1} << 30)) return Error(Errc::invalid_argument, "input over 1 GiB");
  Deflater d;
  const int bits = algorithm == CompressionAlgorithm::zip ? -15 : 15;
  if (deflateInit2(&d.z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Error(Errc::internal, "deflateInit2 failed");
  }
  d.ready = true;
  const size_t bound = deflateBound(&d.z, static_cast<uLong>(data.size()));
  out.resize(1 + bound);
  d.z.next_in = const_cast<Bytef*>(data.data());
  d.z.avail_in = static_cast<uInt>(data.size());
  d.z.next_out = out.data() + 1;
  d.z.avail_out = static_cast<uInt>(bound);
  if (deflate(&d.z, Z_FINISH) != Z_STREAM_END) return Error(Errc::internal, "deflate failed");
  out.resize(1 + d.z.total_out);
  return out;
}

Result<SecureBytes> decompress(BytesView body, size_t limit) {
  if (body.empty()) return Error(Errc::truncated, "an empty Compressed Data packet");
  const uint8_t algorithm = body[0];
  const BytesView data = body.subspan(1);
  if (algorithm == 0) {
    if (data.size() > limit) return Error(Errc::length_limit, "uncompressed data over the limit");
    return SecureBytes(data);
  }
  if (algorithm != 1 && algorithm != 2) {
    return Error(Errc::unsupported, "compression algorithm " + std::to_string(algorithm));
  }
  if (data.size() > (size_t{1} << 30)) return Error(Errc::length_limit, "compressed data over 1 GiB");
  Inflater in;
  if (inflateInit2(&in.z, algorithm == 1 ? -15 : 15) != Z_OK) {
    return Error(Errc::internal, "inflateInit2 failed");
  }
  in.ready = true;
  in.z.next_in = const_cast<Bytef*>(data.data());
  in.z.avail_in = static_cast<uInt>(data.size());
  SecureBytes out;
  uint8_t buffer[16384];
  for (;;) {
    in.z.next_out = buffer;
    in.z.avail_out = sizeof buffer;
    const int rc = inflate(&in.z, Z_NO_FLUSH);
    const size_t produced = sizeof buffer - in.z.avail_out;
    if (out.size() + produced > limit) {
      secure_wipe(buffer, sizeof buffer);
      return Error(Errc::length_limit, "decompressed data over " + std::to_string(limit) + " bytes");
    }
    out.append(BytesView(buffer, produced));
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK) {
      secure_wipe(buffer, sizeof buffer);
      return Error(rc == Z_BUF_ERROR ? Errc::truncated : Errc::invalid_encoding,
                   "compressed data is corrupt or cut short");
    }
  }
  secure_wipe(buffer, sizeof buffer);
  if (in.z.avail_in != 0) return Error(Errc::trailing_bytes, "bytes after the compressed stream");
  return out;
}

Bytes OnePassSignature::encode() const {
  Bytes out = start_buffer({3, type, hash, algorithm}, key_id.size() + 1);
  out.insert(out.end(), key_id.begin(), key_id.end());
  out.push_back(last ? 1 : 0);
  return out;
}

Result<OnePassSignature> OnePassSignature::parse(BytesView body) {
  BodyReader r(body);
  SOTTO_TRY_ASSIGN(uint8_t version, r.u8());
  if (version != 3) return Error(Errc::unsupported, "one-pass signature version " + std::to_string(version));
  OnePassSignature ops;
  SOTTO_TRY_ASSIGN(ops.type, r.u8());
  SOTTO_TRY_ASSIGN(ops.hash, r.u8());
  SOTTO_TRY_ASSIGN(ops.algorithm, r.u8());
  SOTTO_TRY_ASSIGN(BytesView id, r.take(kKeyIdSize));
  ops.key_id = to_bytes(id);
  SOTTO_TRY_ASSIGN(uint8_t last, r.u8());
  if (last > 1) return Error(Errc::invalid_value, "a one-pass signature nested flag other than 0 or 1");
  ops.last = last == 1;
  SOTTO_TRY(r.finish("a one-pass signature"));
  return ops;
}

}  // namespace sotto::openpgp
