// Mailbox names on the wire: IMAP4rev1 servers take and give names beyond ASCII in modified
// UTF-7 (RFC 3501 section 5.1.3): printable ASCII stands for itself, "&" is "&-", and anything
// else is UTF-16 in base64 with "," for "/", between "&" and "-". Decoding is strict: every
// name has one encoding, so "&AGE-" (an "a" that needed no shift), "&AGE-&AGI-" (two shifts
// in a row), leftover bits, lone surrogates and bytes outside printable ASCII are refused
// (Errc::invalid_value).
#pragma once

#include <string>
#include <string_view>

#include "sotto/core/result.h"

namespace sotto::mail {

// UTF-8 to modified UTF-7; invalid_value for text that is not UTF-8.
Result<std::string> encode_mailbox_name(std::string_view utf8);
// Modified UTF-7 to UTF-8.
Result<std::string> decode_mailbox_name(std::string_view wire);

}  // namespace sotto::mail
