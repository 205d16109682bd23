// A mail's bytes are untrusted twice: outside (from any sender, before decryption) and
// inside (decrypted, but written by whoever holds a recipient's key). Both readers must take
// any input without crashing, and what they accept must stay within the limits they promise.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sotto/mail/mime.h"

namespace {

void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sotto::mail;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto inner = parse_inner(input);
  if (inner.ok()) {
    size_t bytes = inner->text.size();
    for (const auto& a : inner->attachments) bytes += a.data.size();
    if (bytes > kMaxMailSize) fail("parse_inner accepted more than kMaxMailSize");
    if (inner->attachments.size() > kMaxMimeParts) fail("more attachments than parts");
    if (inner->from_addr.empty() || inner->message_id.empty()) fail("no From or Message-ID");
    if (inner->chat_headers.size() > kMaxChatHeaders) fail("too many Chat- headers");
  }
  auto outer = read_outer(input);
  if (outer.ok() && outer->autocrypt && outer->autocrypt->addr != outer->from_addr) {
    fail("an Autocrypt header for another address was kept");
  }
  return 0;
}
