// A mail's bytes are untrusted twice: outside (from any sender, before decryption) and
// inside (decrypted, but written by whoever holds a recipient's key). Both readers must take
// any input without crashing, and what they accept must stay within the limits they promise.
#include <string_view>

#include "fuzz_support.h"
#include "sotto/mail/mime.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sotto::mail;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto inner = parse_inner(input);
  if (inner.ok()) {
    size_t bytes = inner->text.size();
    for (const auto& a : inner->attachments) bytes += a.data.size();
    if (bytes > kMaxMailSize) sotto::fuzz::fail("parse_inner accepted more than kMaxMailSize");
    if (inner->attachments.size() > kMaxMimeParts) sotto::fuzz::fail("more attachments than parts");
    if (inner->from_addr.empty() || inner->message_id.empty())
      sotto::fuzz::fail("no From or Message-ID");
    if (inner->chat_headers.size() > kMaxChatHeaders) sotto::fuzz::fail("too many Chat- headers");
  }
  // A SecureJoin v3 step: opened under a password (any S2K the input names, bounded).
  if (password_encrypted(input)) {
    const std::string_view secret = "securejoin/0123/auth";
    auto opened = open_with_password(
        input, sotto::BytesView(reinterpret_cast<const uint8_t*>(secret.data()), secret.size()), {},
        1700000000);
    if (opened.ok() && opened->mail.from_addr != opened->outer.from_addr)
      sotto::fuzz::fail("a password-encrypted mail from someone else's From");
  }
  auto outer = read_outer(input);
  if (outer.ok() && outer->autocrypt && outer->autocrypt->addr != outer->from_addr) {
    sotto::fuzz::fail("an Autocrypt header for another address was kept");
  }
  return 0;
}
