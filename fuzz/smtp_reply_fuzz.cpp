// What an SMTP server replies is untrusted. The bytes go to the parser in chunks whose sizes
// come from the input; nothing may crash; a chunked parse must yield the replies of a whole
// one; a parser that failed stays failed.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "sotto/mail/smtp.h"

namespace {

using namespace sotto::mail::smtp;

void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

std::vector<std::string> run(std::string_view input, std::string_view sizes, bool& failed) {
  ReplyParser parser;
  std::vector<std::string> out;
  failed = false;
  sotto::fuzz::feed_in_chunks(
      input, sizes, [&](std::string_view chunk) { parser.feed(chunk); },
      [&] {
        for (;;) {
          auto r = parser.next();
          if (!r.ok()) {
            failed = true;
            if (parser.next().ok()) fail("a failed parser recovered");
            return false;
          }
          if (!r.value()) return true;
          std::string shape = std::to_string(r.value()->code);
          for (const auto& line : r.value()->lines) shape += "|" + line;
          (void)r.value()->offers("AUTH", "PLAIN");
          out.push_back(shape);
        }
      });
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [sizes, input] = sotto::fuzz::chunk_sizes_and_input(data, size);
  bool whole_failed = false;
  bool chunked_failed = false;
  auto whole = run(input, {}, whole_failed);
  auto chunked = run(input, sizes, chunked_failed);
  // A line over the limit fails whole but may fail only later in chunks, never the reverse
  // for complete replies: what both returned must agree.
  size_t common = std::min(whole.size(), chunked.size());
  for (size_t i = 0; i < common; ++i) {
    if (whole[i] != chunked[i]) fail("chunking changed a reply");
  }
  if (!whole_failed && !chunked_failed && whole != chunked) fail("chunking changed the replies");
  (void)data_body(input);
  (void)check_address(input);
  return 0;
}
