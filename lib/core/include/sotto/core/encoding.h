// Text encodings of bytes: hex (lower case out, either case in), base64 (RFC 4648 section 4,
// padded) and base64url (section 5, unpadded out, padding optional in). Decoders are strict:
// any character outside the alphabet, a bad length or non-zero trailing bits is an error.
#pragma once

#include <string>
#include <string_view>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto {

std::string to_hex(BytesView bytes);
Result<Bytes> from_hex(std::string_view text);
// The value of one hex digit (either case), or -1.
int hex_digit_value(char c);

std::string to_base64(BytesView bytes);
Result<Bytes> from_base64(std::string_view text);

std::string to_base64url(BytesView bytes);
Result<Bytes> from_base64url(std::string_view text);

}  // namespace sotto
