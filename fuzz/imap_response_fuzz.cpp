// What an IMAP server sends is untrusted: a hostile or broken server, or anyone on the path
// before TLS. The bytes go to the session in chunks whose sizes come from the input, as a
// network would cut them. Nothing may crash or loop; a chunked parse must yield the same
// responses as one whole parse; a parser that failed stays failed. The same bytes, read as a
// mailbox name in modified UTF-7, must encode back to themselves when they decode.
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "sotto/mail/imap_response.h"
#include "sotto/mail/imap_session.h"
#include "sotto/mail/mailbox_name.h"

namespace {

using namespace sotto::mail::imap;

// A summary to compare two parses by.
std::string shape(const Response& r) {
  std::string s = std::to_string(static_cast<int>(r.kind)) + r.tag + "|" + r.name + "|" +
                  std::to_string(r.number) + "|" + r.status.code + "|" + r.status.text + "|" +
                  r.text + "|" + std::to_string(r.values.size());
  if (auto fetched = read_fetch(r); fetched.ok()) {
    s += "|fetch" + std::to_string(fetched->sequence) + "/" +
         std::to_string(fetched->uid.value_or(0));
    if (fetched->body) s += "/" + std::to_string(fetched->body->size());
  }
  if (auto caps = read_capabilities(r)) s += "|caps" + std::to_string(caps->size());
  return s;
}

// All responses of `input` fed in chunks of the given sizes (cycled).
sotto::fuzz::Parsed run(std::string_view input, std::string_view sizes) {
  ParserLimits limits;
  limits.max_line = 4096;
  limits.max_literals = 1 << 16;
  Session session(limits);
  return sotto::fuzz::parse_in_chunks(
      input, sizes, [&](std::string_view chunk) { session.receive(chunk); },
      [&] { return session.next(); }, [](const Response& r) { return shape(r); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [sizes, input] = sotto::fuzz::chunk_sizes_and_input(data, size);
  auto whole = run(input, {});
  auto chunked = run(input, sizes);
  if (whole.failed != chunked.failed) {
    sotto::fuzz::fail("chunking changed whether the input parses");
  }
  if (!whole.failed && whole.shapes != chunked.shapes) {
    sotto::fuzz::fail("chunking changed the responses");
  }
  (void)parse_response(input);
  // Mailbox names come from the server too (LIST). A strict decoder admits one encoding per
  // name, so whatever it accepts must encode back to the same bytes.
  if (auto name = sotto::mail::decode_mailbox_name(input); name.ok()) {
    auto again = sotto::mail::encode_mailbox_name(*name);
    if (!again.ok() || *again != input) sotto::fuzz::fail("a mailbox name did not round-trip");
  }
  return 0;
}
