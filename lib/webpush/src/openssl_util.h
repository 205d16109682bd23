// OpenSSL's error queue turned into a Result error. Only lib/webpush's sources include this.
#pragma once

#include <string>

#include "sotto/core/result.h"

namespace sotto::webpush::detail {

// `what` with OpenSSL's queued reasons appended; empties the queue.
Error openssl_error(Errc code, std::string what);

}  // namespace sotto::webpush::detail
