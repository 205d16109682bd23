#include "openssl_util.h"

#include <openssl/err.h>

namespace sotto::webpush::detail {

Error openssl_error(Errc code, std::string what) {
  std::string reasons;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reasons += reasons.empty() ? " (" : "; ";
    reasons += buf;
  }
  if (!reasons.empty()) reasons += ')';
  return Error(code, std::move(what) + reasons);
}

}  // namespace sotto::webpush::detail
