// RFC 8291: the aes128gcm input keying material for a push message comes from ECDH between
// the application server's one-time key and the user agent's key, bound to both public keys
// and to the auth secret that only the user agent and the application server know.
#include <string>

#include "sotto/crypto/primitives.h"
#include "sotto/webpush/webpush.h"

namespace sotto::webpush {
namespace {

constexpr std::string_view kKeyInfoLabel = std::string_view("WebPush: info\0", 14);
constexpr size_t kIkmSize = 32;

}  // namespace

Result<void> check_subscription_keys(BytesView p256dh, BytesView auth) {
  SOTTO_TRY_CTX(check_public_key(p256dh), "the subscription's p256dh key");
  if (auth.size() != kAuthSecretSize) {
    return Error(Errc::invalid_argument, "the subscription's auth secret must be 16 bytes, not " +
                                             std::to_string(auth.size()));
  }
  return success();
}

Bytes key_info(BytesView ua_public, BytesView as_public) {
  return concat({as_bytes(kKeyInfoLabel), ua_public, as_public});
}

Result<SecureBytes> derive_ikm(BytesView ecdh_secret, BytesView auth_secret, BytesView ua_public,
                               BytesView as_public) {
  SecureBytes prk = crypto::hkdf_extract(auth_secret, ecdh_secret);
  return crypto::hkdf_expand(prk, key_info(ua_public, as_public), kIkmSize);
}

Result<Bytes> encrypt_push(const SubscriptionKeys& to, BytesView plaintext,
                           const P256KeyPair& as_key, BytesView salt, size_t padding) {
  SOTTO_TRY(check_subscription_keys(to.p256dh, to.auth));
  // One record (section 4): data, delimiter, padding and tag must fit below rs.
  if (plaintext.size() + padding + kRecordOverhead >= kPushRecordSize) {
    return Error(Errc::too_large, "a push message must fit one 4096-byte record");
  }
  SOTTO_TRY_ASSIGN(SecureBytes secret, ecdh(as_key, to.p256dh));
  SOTTO_TRY_ASSIGN(SecureBytes ikm, derive_ikm(secret, to.auth, to.p256dh, as_key.public_key()));
  ContentHeader header;
  header.salt.assign(salt.begin(), salt.end());
  header.record_size = kPushRecordSize;
  header.key_id = as_key.public_key();
  return ece_encrypt(ikm, header, plaintext, padding);
}

Result<Bytes> encrypt_push(const SubscriptionKeys& to, BytesView plaintext) {
  SOTTO_TRY_ASSIGN(P256KeyPair one_time, P256KeyPair::generate());
  return encrypt_push(to, plaintext, one_time, crypto::random_bytes(kSaltSize));
}

Result<SecureBytes> decrypt_push(const P256KeyPair& ua_key, BytesView auth_secret, BytesView body) {
  if (auth_secret.size() != kAuthSecretSize) {
    return Error(Errc::invalid_argument, "the auth secret must be 16 bytes");
  }
  SOTTO_TRY_ASSIGN(ContentHeader header, parse_content_header(body));
  // Section 4: the key id carries the application server's public key, and a push message is
  // a single record, so a minimal receiver handles no record sequencing.
  if (header.key_id.size() != kP256PublicKeySize) {
    return Error(Errc::invalid_value, "the push message's key id is not a P-256 public key");
  }
  if (body.size() - header.size() >= header.record_size) {
    return Error(Errc::invalid_value, "a push message must be a single record");
  }
  SOTTO_TRY_ASSIGN(SecureBytes secret, ecdh(ua_key, header.key_id));
  SOTTO_TRY_ASSIGN(SecureBytes ikm,
                   derive_ikm(secret, auth_secret, ua_key.public_key(), header.key_id));
  return ece_decrypt(ikm, body, 1);
}

}  // namespace sotto::webpush
