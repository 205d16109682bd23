// SASL PLAIN (RFC 4616), as IMAP's AUTHENTICATE and SMTP's AUTH send it.
#pragma once

#include <string>
#include <string_view>

namespace sotto::mail {

// base64("" NUL user NUL password). The caller wipes the result once it is sent.
std::string sasl_plain(std::string_view user, std::string_view password);

}  // namespace sotto::mail
