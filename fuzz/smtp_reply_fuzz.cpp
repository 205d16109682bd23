// What an SMTP server replies is untrusted. The bytes go to the parser in chunks whose sizes
// come from the input; nothing may crash; a chunked parse must yield the replies of a whole
// one; a parser that failed stays failed.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "sotto/mail/smtp.h"

namespace {

using namespace sotto::mail::smtp;

sotto::fuzz::Parsed run(std::string_view input, std::string_view sizes) {
  ReplyParser parser;
  return sotto::fuzz::parse_in_chunks(
      input, sizes, [&](std::string_view chunk) { parser.feed(chunk); },
      [&] { return parser.next(); },
      [](const Reply& reply) {
        std::string shape = std::to_string(reply.code);
        for (const auto& line : reply.lines) shape += "|" + line;
        (void)reply.offers("AUTH", "PLAIN");
        return shape;
      });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [sizes, input] = sotto::fuzz::chunk_sizes_and_input(data, size);
  auto whole = run(input, {});
  auto chunked = run(input, sizes);
  // A line over the limit fails whole but may fail only later in chunks, never the reverse
  // for complete replies: what both returned must agree.
  size_t common = std::min(whole.shapes.size(), chunked.shapes.size());
  for (size_t i = 0; i < common; ++i) {
    if (whole.shapes[i] != chunked.shapes[i]) sotto::fuzz::fail("chunking changed a reply");
  }
  if (!whole.failed && !chunked.failed && whole.shapes != chunked.shapes) {
    sotto::fuzz::fail("chunking changed the replies");
  }
  (void)data_body(input);
  (void)check_address(input);
  return 0;
}
