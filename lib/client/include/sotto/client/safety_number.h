// Safety numbers: what two people compare out of band (read aloud, or side by side) to know
// that nobody stands between them. Each side of a number is a fingerprint of one account's
// device keys as the key directory proved them; the number is the two sides in the order of
// the usernames, so both people see the same 60 digits.
//
//   side(u, keys)  = the first 30 bytes of H^5200, where H^0 = SHA-512(input) and
//                    H^(i+1) = SHA-512(H^i || input),
//                    input = "sotto safety number v1" || opaque<V> u || keys sorted, each opaque<V>
//   digits(side)   = six groups: each 5-byte chunk read big-endian, mod 100000, 5 digits
//
// The iterations make a search for another key set with the same 30 digits (about 100 bits)
// cost 5200 hashes per try, as Signal's numbers do.
#pragma once

#include <string>
#include <vector>

#include "sotto/client/client_store.h"
#include "sotto/core/bytes.h"

namespace sotto::client {

struct SafetyNumberSide {
  std::string username;
  std::vector<Bytes> device_keys;  // Ed25519 public keys, in any order
};

// The side of `username` whose verified devices are `devices`.
SafetyNumberSide safety_side(const std::string& username,
                             const std::vector<ContactDevice>& devices);

// One account's half: 30 digits in six groups of five, separated by spaces.
std::string safety_number_side(const SafetyNumberSide& side);

// The number two people compare: 60 digits in twelve groups of five, the side of the
// smaller username first.
std::string safety_number(const SafetyNumberSide& a, const SafetyNumberSide& b);

}  // namespace sotto::client
