// RFC 8188, the "aes128gcm" content coding.
//
//   header  = salt (16) || rs (uint32) || idlen (uint8) || keyid (idlen)
//   record  = AES-128-GCM(CEK, NONCE XOR seq, data || delimiter || 0x00*)   (at most rs bytes)
//
// The delimiter is 0x01 in every record but the last, which has 0x02; every record but the
// last is exactly rs bytes. A decoder that accepted a 0x02 record early, or a stream that ends
// after a 0x01 record, would let an attacker truncate or extend the content unnoticed.
#include <algorithm>
#include <string>

#include "sotto/crypto/primitives.h"
#include "sotto/webpush/webpush.h"

namespace sotto::webpush {
namespace {

constexpr std::string_view kCekInfo = std::string_view("Content-Encoding: aes128gcm\0", 28);
constexpr std::string_view kNonceInfo = std::string_view("Content-Encoding: nonce\0", 24);
constexpr size_t kCekSize = 16;
constexpr uint8_t kDelimiter = 0x01;
constexpr uint8_t kLastDelimiter = 0x02;

// NONCE XOR the record's sequence number as a 96-bit big-endian integer (section 2.3).
Bytes record_nonce(const SecureBytes& base, uint64_t seq) {
  Bytes nonce(base.begin(), base.end());
  for (size_t i = 0; i < 8; ++i) {
    nonce[nonce.size() - 1 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
  }
  return nonce;
}

}  // namespace

Result<ContentHeader> parse_content_header(BytesView body) {
  if (body.size() < kSaltSize + 5) {
    return Error(Errc::truncated, "the aes128gcm header needs 21 bytes, the body has " +
                                      std::to_string(body.size()));
  }
  ContentHeader header;
  header.salt.assign(body.begin(), body.begin() + kSaltSize);
  header.record_size = (uint32_t{body[16]} << 24) | (uint32_t{body[17]} << 16) |
                       (uint32_t{body[18]} << 8) | uint32_t{body[19]};
  size_t id_len = body[20];
  if (header.record_size < kMinRecordSize) {
    return Error(Errc::invalid_value, "the aes128gcm record size " +
                                          std::to_string(header.record_size) +
                                          " is below the minimum of 18");
  }
  if (body.size() < kSaltSize + 5 + id_len) {
    return Error(Errc::truncated, "the aes128gcm header ends inside its key id");
  }
  header.key_id.assign(body.begin() + 21, body.begin() + 21 + static_cast<ptrdiff_t>(id_len));
  return header;
}

ContentKeys derive_content_keys(BytesView ikm, BytesView salt) {
  SecureBytes prk = crypto::hkdf_extract(salt, ikm);
  // Both lengths are far below HKDF's limit: the expansions cannot fail.
  ContentKeys keys;
  keys.cek = std::move(crypto::hkdf_expand(prk, as_bytes(kCekInfo), kCekSize).value());
  keys.nonce =
      std::move(crypto::hkdf_expand(prk, as_bytes(kNonceInfo), crypto::kAeadNonceSize).value());
  return keys;
}

Result<Bytes> ece_encrypt(BytesView ikm, const ContentHeader& header, BytesView plaintext,
                          size_t padding) {
  if (header.salt.size() != kSaltSize) {
    return Error(Errc::invalid_argument, "the aes128gcm salt must be 16 bytes");
  }
  if (header.record_size < kMinRecordSize) {
    return Error(Errc::invalid_argument, "the aes128gcm record size must be at least 18");
  }
  if (header.key_id.size() > 255) {
    return Error(Errc::invalid_argument, "the aes128gcm key id is longer than 255 bytes");
  }
  ContentKeys keys = derive_content_keys(ikm, header.salt);

  Bytes out;
  out.reserve(header.size() + plaintext.size() + padding + kRecordOverhead);
  out.insert(out.end(), header.salt.begin(), header.salt.end());
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(header.record_size >> shift));
  }
  out.push_back(static_cast<uint8_t>(header.key_id.size()));
  out.insert(out.end(), header.key_id.begin(), header.key_id.end());

  // Room for data and padding in one record, the delimiter and tag aside.
  const size_t room = header.record_size - kRecordOverhead;
  size_t offset = 0;
  size_t pad_left = padding;
  for (uint64_t seq = 0;; ++seq) {
    size_t data_left = plaintext.size() - offset;
    // Padding goes first, but leaves one byte for data while there is data, so that no
    // record is all padding before the data has ended.
    size_t record_pad = std::min(pad_left, data_left > 0 ? room - 1 : room);
    size_t take = std::min(data_left, room - record_pad);
    pad_left -= record_pad;
    bool last = offset + take == plaintext.size() && pad_left == 0;

    SecureBytes record(take + 1 + record_pad);
    std::copy_n(plaintext.begin() + static_cast<ptrdiff_t>(offset), take, record.data());
    record[take] = last ? kLastDelimiter : kDelimiter;
    SOTTO_TRY_ASSIGN(Bytes sealed, crypto::aead_seal(crypto::Aead::aes128gcm, keys.cek,
                                                     record_nonce(keys.nonce, seq), {}, record));
    out.insert(out.end(), sealed.begin(), sealed.end());
    offset += take;
    if (last) break;
  }
  return out;
}

Result<SecureBytes> ece_decrypt(BytesView ikm, BytesView body, size_t max_records) {
  SOTTO_TRY_ASSIGN(ContentHeader header, parse_content_header(body));
  ContentKeys keys = derive_content_keys(ikm, header.salt);
  BytesView records = body.subspan(header.size());
  if (records.empty()) return Error(Errc::truncated, "the aes128gcm body has no record");

  SecureBytes plaintext;
  uint64_t seq = 0;
  while (!records.empty()) {
    if (seq >= max_records) {
      return Error(Errc::length_limit,
                   "the aes128gcm body has more than " + std::to_string(max_records) + " records");
    }
    size_t len = std::min<size_t>(records.size(), header.record_size);
    if (len <= crypto::kAeadTagSize) {
      return Error(Errc::truncated, "an aes128gcm record is too short for its tag and delimiter");
    }
    bool last_in_body = len == records.size();
    SOTTO_TRY_ASSIGN(SecureBytes record,
                     crypto::aead_open(crypto::Aead::aes128gcm, keys.cek,
                                       record_nonce(keys.nonce, seq), {}, records.first(len)));
    // The delimiter is the last non-zero byte; everything after it is padding.
    size_t end = record.size();
    while (end > 0 && record[end - 1] == 0) --end;
    if (end == 0) {
      return Error(Errc::invalid_value, "an aes128gcm record has no padding delimiter");
    }
    uint8_t delimiter = record[end - 1];
    if (delimiter == kLastDelimiter && !last_in_body) {
      return Error(Errc::invalid_value, "an aes128gcm record marked last is followed by more");
    }
    if (delimiter == kDelimiter && last_in_body) {
      return Error(Errc::truncated, "the aes128gcm body ends before its last record");
    }
    if (delimiter != kDelimiter && delimiter != kLastDelimiter) {
      return Error(Errc::invalid_value, "an aes128gcm record has a bad padding delimiter");
    }
    plaintext.append(record.view().first(end - 1));
    records = records.subspan(len);
    ++seq;
  }
  return plaintext;
}

}  // namespace sotto::webpush
