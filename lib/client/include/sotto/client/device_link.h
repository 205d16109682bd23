// Device linking by code: what the code holds, the keys derived from it, and the sealed
// messages that pass through the server's rendezvous slot (docs/protocol.md, "Device
// linking").
//
// The code is 16 random bytes (the server's 6-byte slot id and a 10-byte secret) and a
// 4-byte checksum, written as 32 base32 letters (RFC 4648 alphabet) in groups of four, e.g.
// "ABCD-EFGH-...". The checksum catches typing slips before anything reaches the server. The
// secret gives, by HKDF-SHA256, the slot's verifier (the server's to check MACs with) and one
// ChaCha20-Poly1305 key each for the new device's post and the existing device's answer;
// each key seals one message, under a random nonce, with the slot id as associated data.
#pragma once

#include <string>
#include <string_view>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"

namespace sotto::client {

inline constexpr size_t kLinkSecretSize = 10;

struct LinkCode {
  Bytes slot_id;       // proto::kLinkSlotIdSize bytes
  SecureBytes secret;  // kLinkSecretSize bytes
};

std::string format_link_code(const LinkCode& code);
// Case, spaces and dashes are ignored. Errc::invalid_argument for a wrong length, a letter
// outside the alphabet or a checksum that does not match (a typing slip).
Result<LinkCode> parse_link_code(std::string_view text);

struct LinkKeys {
  SecureBytes verifier;    // proto::kLinkVerifierSize bytes, given to the server
  SecureBytes post_key;    // seals LinkOffer
  SecureBytes answer_key;  // seals LinkAnswer
};
// From the secret alone: the existing device needs the verifier before the server has chosen
// the slot id. The slot id is bound in as associated data and in the MACs.
Result<LinkKeys> derive_link_keys(const SecureBytes& secret);

// What the new device posts: its Ed25519 public key and the name its owner gave it.
struct LinkOffer {
  Bytes signature_key;
  std::string name;
  SOTTO_TLS_FIELDS(signature_key, name)
};

// What the existing device answers once it has added the new one.
struct LinkAnswer {
  std::string username;
  Bytes account_id;
  Bytes device_id;
  SOTTO_TLS_FIELDS(username, account_id, device_id)
};

// nonce || ciphertext || tag. `nonce` is 12 random bytes from the caller.
Result<Bytes> seal_link_message(BytesView key, BytesView slot_id, BytesView nonce,
                                BytesView plaintext);
// Errc::authentication_failed when the bytes were not sealed under this code.
Result<SecureBytes> open_link_message(BytesView key, BytesView slot_id, BytesView sealed);

}  // namespace sotto::client
