#include "sotto/mail/sasl.h"

#include <algorithm>

#include "sotto/core/bytes.h"
#include "sotto/core/encoding.h"

namespace sotto::mail {

std::string sasl_plain(std::string_view user, std::string_view password) {
  SecureBytes plain;
  plain.resize(user.size() + password.size() + 2);
  plain[0] = 0;
  std::copy(user.begin(), user.end(), plain.data() + 1);
  plain[user.size() + 1] = 0;
  std::copy(password.begin(), password.end(), plain.data() + user.size() + 2);
  return to_base64(BytesView(plain.data(), plain.size()));
}

}  // namespace sotto::mail
