#include "sotto/mail/autocrypt.h"

#include <algorithm>

#include "ascii.h"
#include "sotto/core/encoding.h"

namespace sotto::mail {

namespace {

Error invalid(std::string_view what) {
  return Error(Errc::invalid_value, "Autocrypt header: " + std::string(what));
}

bool folding_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && folding_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && folding_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<AutocryptHeader> parse_autocrypt(std::string_view value) {
  if (value.size() > kMaxAutocryptValue) {
    return Error(Errc::length_limit, "an Autocrypt header over 64 KiB");
  }
  AutocryptHeader header;
  bool have_addr = false;
  bool have_keydata = false;
  bool have_prefer = false;
  while (!value.empty()) {
    size_t semicolon = value.find(';');
    std::string_view attribute = trim(value.substr(0, semicolon));
    value = semicolon == std::string_view::npos ? std::string_view() : value.substr(semicolon + 1);
    if (attribute.empty()) continue;
    size_t equals = attribute.find('=');
    if (equals == std::string_view::npos) return invalid("an attribute without '='");
    std::string name = ascii::lower(trim(attribute.substr(0, equals)));
    std::string_view v = trim(attribute.substr(equals + 1));
    if (name == "addr") {
      if (have_addr) return invalid("two addr attributes");
      have_addr = true;
      header.addr = ascii::lower(v);
      if (header.addr.empty() || header.addr.find('@') == std::string::npos ||
          std::any_of(header.addr.begin(), header.addr.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= 0x20; })) {
        return invalid("an addr that is not an address");
      }
    } else if (name == "keydata") {
      if (have_keydata) return invalid("two keydata attributes");
      have_keydata = true;
      std::string compact;
      compact.reserve(v.size());
      for (char c : v) {
        if (!folding_space(c)) compact += c;
      }
      auto key = from_base64(compact);
      if (!key.ok()) return invalid("keydata that is not base64");
      if (key->empty()) return invalid("empty keydata");
      header.keydata = std::move(key).value();
    } else if (name == "prefer-encrypt") {
      if (have_prefer) return invalid("two prefer-encrypt attributes");
      have_prefer = true;
      // Any value but "mutual" means no preference.
      header.prefer_encrypt_mutual = v == "mutual";
    } else if (name.empty() || name[0] != '_') {
      return invalid("an unknown critical attribute");
    }
  }
  if (!have_addr) return invalid("no addr");
  if (!have_keydata) return invalid("no keydata");
  return header;
}

std::string format_autocrypt(const AutocryptHeader& header, bool gossip) {
  std::string out = "addr=" + header.addr + ";";
  if (!gossip && header.prefer_encrypt_mutual) out += " prefer-encrypt=mutual;";
  out += " keydata=";
  std::string key = to_base64(header.keydata);
  for (size_t i = 0; i < key.size(); i += 76) {
    out += "\r\n ";
    out += key.substr(i, 76);
  }
  return out;
}

Result<openpgp::ValidatedCert> autocrypt_key(const AutocryptHeader& header, uint32_t now) {
  // The key's user IDs are not compared with the address: Delta Chat keeps its key when the
  // account moves to another address, and anyone can self-sign any user ID. What binds a key
  // to an address is the mail's From, and for verified contacts SecureJoin.
  SOTTO_TRY_ASSIGN(openpgp::Cert cert, openpgp::Cert::parse(header.keydata));
  return openpgp::validate(cert, now);
}

}  // namespace sotto::mail
