#include "sotto/client/device_link.h"

#include <cctype>

#include "sotto/crypto/primitives.h"
#include "sotto/proto/protocol.h"

namespace sotto::client {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr size_t kPayloadSize = proto::kLinkSlotIdSize + kLinkSecretSize;
constexpr size_t kChecksumSize = 4;
constexpr size_t kCodeBytes = kPayloadSize + kChecksumSize;  // 20 bytes: 32 letters
constexpr size_t kCodeLetters = kCodeBytes * 8 / 5;
static_assert(kCodeBytes * 8 % 5 == 0, "a code is a whole number of base32 letters");

Bytes checksum(BytesView payload) {
  Bytes input = to_bytes("sotto link code");
  input.insert(input.end(), payload.begin(), payload.end());
  Bytes hash = crypto::sha256(input);
  hash.resize(kChecksumSize);
  return hash;
}

}  // namespace

std::string format_link_code(const LinkCode& code) {
  SecureBytes bytes(kCodeBytes);
  std::copy(code.slot_id.begin(), code.slot_id.end(), bytes.data());
  std::copy(code.secret.data(), code.secret.data() + code.secret.size(),
            bytes.data() + proto::kLinkSlotIdSize);
  Bytes sum = checksum(BytesView(bytes.data(), kPayloadSize));
  std::copy(sum.begin(), sum.end(), bytes.data() + kPayloadSize);
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  size_t letters = 0;
  for (size_t i = 0; i < kCodeBytes; ++i) {
    buffer = (buffer << 8) | bytes.data()[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      if (letters > 0 && letters % 4 == 0) out.push_back('-');
      out.push_back(kAlphabet[(buffer >> bits) & 31]);
      ++letters;
    }
  }
  buffer = 0;
  return out;
}

Result<LinkCode> parse_link_code(std::string_view text) {
  SecureBytes bytes(kCodeBytes);
  uint32_t buffer = 0;
  int bits = 0;
  size_t letters = 0;
  size_t written = 0;
  for (char c : text) {
    if (c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    const char upper = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const size_t value = kAlphabet.find(upper);
    if (value == std::string_view::npos) {
      return Error(Errc::invalid_argument, "a link code holds only letters A-Z and digits 2-7");
    }
    if (++letters > kCodeLetters) return Error(Errc::invalid_argument, "the link code is too long");
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.data()[written++] = static_cast<uint8_t>((buffer >> bits) & 0xFF);
    }
  }
  buffer = 0;
  if (letters != kCodeLetters) return Error(Errc::invalid_argument, "the link code is too short");
  const Bytes sum = checksum(BytesView(bytes.data(), kPayloadSize));
  if (!std::equal(sum.begin(), sum.end(), bytes.data() + kPayloadSize)) {
    return Error(Errc::invalid_argument, "the link code has a typing mistake (checksum)");
  }
  LinkCode code;
  code.slot_id.assign(bytes.data(), bytes.data() + proto::kLinkSlotIdSize);
  code.secret = SecureBytes(BytesView(bytes.data() + proto::kLinkSlotIdSize, kLinkSecretSize));
  return code;
}

Result<LinkKeys> derive_link_keys(const SecureBytes& secret) {
  if (secret.size() != kLinkSecretSize)
    return Error(Errc::invalid_argument, "a malformed link code");
  const SecureBytes prk = crypto::hkdf_extract(as_bytes("sotto.v1 link"), secret);
  LinkKeys keys;
  SOTTO_TRY_ASSIGN(keys.verifier, crypto::hkdf_expand(prk, as_bytes("sotto.v1 link verifier"),
                                                      proto::kLinkVerifierSize));
  const size_t key_size = crypto::aead_key_size(crypto::Aead::chacha20poly1305);
  SOTTO_TRY_ASSIGN(keys.post_key,
                   crypto::hkdf_expand(prk, as_bytes("sotto.v1 link post key"), key_size));
  SOTTO_TRY_ASSIGN(keys.answer_key,
                   crypto::hkdf_expand(prk, as_bytes("sotto.v1 link answer key"), key_size));
  return keys;
}

Result<Bytes> seal_link_message(BytesView key, BytesView slot_id, BytesView nonce,
                                BytesView plaintext) {
  if (nonce.size() != crypto::kAeadNonceSize) {
    return Error(Errc::invalid_argument, "a link nonce is 12 bytes");
  }
  SOTTO_TRY_ASSIGN(auto sealed, crypto::aead_seal(crypto::Aead::chacha20poly1305, key, nonce,
                                                  slot_id, plaintext));
  Bytes out(nonce.begin(), nonce.end());
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

Result<SecureBytes> open_link_message(BytesView key, BytesView slot_id, BytesView sealed) {
  if (sealed.size() < crypto::kAeadNonceSize + crypto::kAeadTagSize) {
    return Error(Errc::authentication_failed, "a sealed link message too short to open");
  }
  return crypto::aead_open(crypto::Aead::chacha20poly1305, key,
                           sealed.subspan(0, crypto::kAeadNonceSize), slot_id,
                           sealed.subspan(crypto::kAeadNonceSize));
}

}  // namespace sotto::client
