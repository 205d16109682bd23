// Autocrypt Level 1 headers (autocrypt.org/level1.html, section 2.1), as Delta Chat sends them:
// "Autocrypt: addr=alice@example.org; prefer-encrypt=mutual; keydata=<base64 key>" in every
// mail, and "Autocrypt-Gossip" (the same without prefer-encrypt) inside encrypted group mail,
// one per other member.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/openpgp/cert.h"

namespace sotto::mail {

struct AutocryptHeader {
  std::string addr;  // lower case
  bool prefer_encrypt_mutual = false;
  Bytes keydata;  // a transferable public key (binary OpenPGP packets)
};

// The most of a header value this reads (a key of several KiB, base64, folded).
inline constexpr size_t kMaxAutocryptValue = size_t{64} << 10;

// Parses a header's value; folding (CRLF and whitespace) may be left in. Attributes are
// "name=value" separated by ';'; names starting with '_' are ignored; any other unknown name,
// a missing or repeated addr or keydata, or bad base64 makes the whole header invalid, as the
// specification asks (invalid_value); length_limit over kMaxAutocryptValue.
Result<AutocryptHeader> parse_autocrypt(std::string_view value);

// The header's value, folded so that no line of the header passes 78 characters: the keydata
// starts on a line of its own and continues on lines of 76 characters, each after CRLF and a
// space. `gossip` leaves out prefer-encrypt (Autocrypt-Gossip).
std::string format_autocrypt(const AutocryptHeader& header, bool gossip = false);

// The header's key, checked at time `now` (seconds): it must parse and validate, with an
// encryption subkey (Cert::parse's and openpgp::validate's errors).
Result<openpgp::ValidatedCert> autocrypt_key(const AutocryptHeader& header, uint32_t now);

}  // namespace sotto::mail
