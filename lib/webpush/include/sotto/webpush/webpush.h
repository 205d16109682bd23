// Web Push without the network: the pieces sottod needs to wake an offline device.
//
//   RFC 8188  the "aes128gcm" content coding: a header (salt, record size, key id) and
//             AES-128-GCM records, each ending in a padding delimiter
//   RFC 8291  message encryption for Web Push: ECDH P-256 between a one-time key of the
//             application server and the user agent's key, mixed with the 16-byte auth secret
//   RFC 8292  VAPID: the application server signs an ES256 JWT naming the push service's
//             origin, and sends it with its public key in the Authorization header
//
// Both sides are here: the sender (sottod) and the receiver (a user agent; the tests' local
// push service). Every function is pure given its inputs; randomness is drawn only by the
// overloads that say so, and time comes in as an argument. Secrets are SecureBytes and never
// appear in an error message.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::webpush {

inline constexpr size_t kP256PublicKeySize = 65;   // 0x04 || x || y
inline constexpr size_t kP256PrivateKeySize = 32;  // the scalar, big-endian
inline constexpr size_t kAuthSecretSize = 16;
inline constexpr size_t kSaltSize = 16;
inline constexpr size_t kRecordOverhead = 17;      // the padding delimiter and the GCM tag
inline constexpr uint32_t kMinRecordSize = 18;     // RFC 8188 section 2: one byte of data
inline constexpr uint32_t kPushRecordSize = 4096;  // RFC 8291 section 4, what we send
inline constexpr size_t kMaxEndpointSize = 2048;

// ---- P-256 keys -------------------------------------------------------------------------

// A P-256 key pair: the user agent's key and the application server's one-time key (ECDH),
// and the server's VAPID key (ES256). Held as the scalar and the public point; OpenSSL
// objects are made per operation.
class P256KeyPair {
 public:
  static Result<P256KeyPair> generate();
  // The 32-byte big-endian scalar; Errc::invalid_argument unless 0 < d < n.
  static Result<P256KeyPair> from_private_key(BytesView scalar);
  // A PKCS#8 or SEC 1 PEM private key on P-256.
  static Result<P256KeyPair> from_pem(std::string_view pem);

  const Bytes& public_key() const { return public_key_; }  // 65 bytes, uncompressed
  const SecureBytes& private_key() const { return scalar_; }
  // PKCS#8 PEM ("BEGIN PRIVATE KEY"), for the server's data directory.
  Result<SecureBytes> to_pem() const;

 private:
  P256KeyPair() = default;
  SecureBytes scalar_;
  Bytes public_key_;
};

// Errc::invalid_argument unless `public_key` is 65 bytes, 0x04 || x || y, a point on P-256
// (which also excludes the point at infinity).
Result<void> check_public_key(BytesView public_key);

// The x coordinate of d * Q (32 bytes).
Result<SecureBytes> ecdh(const P256KeyPair& own, BytesView peer_public_key);

// ES256 over `message` (SHA-256, then ECDSA): the raw r || s, 32 bytes each (RFC 7518
// section 3.4), not DER.
Result<Bytes> es256_sign(const P256KeyPair& key, BytesView message);
bool es256_verify(BytesView public_key, BytesView message, BytesView signature);

// ---- RFC 8188: aes128gcm ------------------------------------------------------------------

struct ContentHeader {
  Bytes salt;  // 16 bytes
  uint32_t record_size = 0;
  Bytes key_id;  // up to 255 bytes
  size_t size() const { return kSaltSize + 4 + 1 + key_id.size(); }
};

// The header at the start of `body`; Errc::truncated or Errc::invalid_value.
Result<ContentHeader> parse_content_header(BytesView body);

// The content encryption key and base nonce derived from the input keying material.
struct ContentKeys {
  SecureBytes cek;    // 16 bytes
  SecureBytes nonce;  // 12 bytes; record i uses nonce XOR i
};
ContentKeys derive_content_keys(BytesView ikm, BytesView salt);

// Encrypts `plaintext` in records of `header.record_size` bytes with `padding` zero bytes in
// total spread over the records, earliest first, so that each record still carries at least
// one byte of data while data is left.
Result<Bytes> ece_encrypt(BytesView ikm, const ContentHeader& header, BytesView plaintext,
                          size_t padding = 0);
// The whole plaintext, or an error: Errc::authentication_failed for a record that does not
// verify (a wrong key as well), Errc::invalid_value for a bad delimiter or padding,
// Errc::truncated when the last record is missing. `max_records` bounds the work.
Result<SecureBytes> ece_decrypt(BytesView ikm, BytesView body, size_t max_records = 1u << 20);

// ---- RFC 8291: message encryption for Web Push ------------------------------------------

// The user agent's keys as a subscription publishes them.
struct SubscriptionKeys {
  Bytes p256dh;  // 65-byte uncompressed point
  Bytes auth;    // 16 bytes
};

// Errc::invalid_argument with a message naming the key that is wrong.
Result<void> check_subscription_keys(BytesView p256dh, BytesView auth);

// "WebPush: info" || 0x00 || ua_public || as_public.
Bytes key_info(BytesView ua_public, BytesView as_public);
// IKM = HKDF(salt = auth, ikm = ecdh_secret, info = key_info, 32).
Result<SecureBytes> derive_ikm(BytesView ecdh_secret, BytesView auth_secret, BytesView ua_public,
                               BytesView as_public);

// The message body of a push: one aes128gcm record, keyed by the one-time key `as_key` and
// `salt` (tests inject them; RFC 8291 appendix A). `padding` zero bytes are added.
Result<Bytes> encrypt_push(const SubscriptionKeys& to, BytesView plaintext,
                           const P256KeyPair& as_key, BytesView salt, size_t padding = 0);
// As above with a fresh one-time key and salt.
Result<Bytes> encrypt_push(const SubscriptionKeys& to, BytesView plaintext);

// The user agent's side: the body must be one record whose key id is the sender's public key.
Result<SecureBytes> decrypt_push(const P256KeyPair& ua_key, BytesView auth_secret, BytesView body);

// ---- push endpoints -----------------------------------------------------------------------

// An absolute http(s) URL, as much of RFC 3986 as a push endpoint needs: no user info, no
// fragment, no spaces or control characters; host a DNS name, IPv4 or bracketed IPv6 literal.
struct EndpointUrl {
  std::string scheme;  // "https" or "http", lower case
  std::string host;    // lower case; IPv6 without brackets
  uint16_t port = 0;   // the explicit port or the scheme's default
  std::string target;  // path and query, "/" when empty
  bool https() const { return scheme == "https"; }
  // "scheme://host[:port]", the port only when it is not the default (RFC 6454).
  std::string origin() const;
  // "host" or "host:port" for the HTTP Host header; IPv6 in brackets.
  std::string host_header() const;
  bool loopback() const;  // 127.0.0.0/8, ::1 or "localhost"
};
Result<EndpointUrl> parse_endpoint(std::string_view url);

// ---- RFC 8292: VAPID ----------------------------------------------------------------------

inline constexpr std::chrono::seconds kMaxVapidLifetime{24 * 3600};

struct VapidClaims {
  std::string audience;     // "aud": the push service's origin
  uint64_t expires_at = 0;  // "exp", seconds since the Unix epoch
  std::string subject;      // "sub": a mailto: or https: contact for the push service
};

// The signed JWT: base64url(header).base64url(claims).base64url(r || s).
Result<std::string> vapid_jwt(const P256KeyPair& key, const VapidClaims& claims);
// "vapid t=<jwt>, k=<base64url public key>" for `endpoint`, valid for `lifetime` from `now`
// (Errc::invalid_argument above 24 hours).
Result<std::string> vapid_authorization(const P256KeyPair& key, std::string_view endpoint,
                                        std::string_view subject,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::seconds lifetime = std::chrono::hours(12));

// The push service's side: the parts of an Authorization header, and the JWT checked.
struct VapidCredentials {
  std::string jwt;
  Bytes public_key;
};
Result<VapidCredentials> parse_vapid_authorization(std::string_view header);
// The JWT's header and claims as JSON text once its ES256 signature verifies with
// `public_key`. The caller parses them and checks what it cares about (alg, aud, exp).
struct VerifiedJwt {
  std::string header_json;
  std::string claims_json;
};
Result<VerifiedJwt> verify_vapid_jwt(std::string_view jwt, BytesView public_key);

}  // namespace sotto::webpush
