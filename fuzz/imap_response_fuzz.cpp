// What an IMAP server sends is untrusted: a hostile or broken server, or anyone on the path
// before TLS. The bytes go to the session in chunks whose sizes come from the input, as a
// network would cut them. Nothing may crash or loop; a chunked parse must yield the same
// responses as one whole parse; a parser that failed stays failed.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/mail/imap_response.h"
#include "sotto/mail/imap_session.h"

namespace {

using namespace sotto::mail::imap;

void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

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

// All responses of `input` fed in chunks of the given sizes (cycled); and whether it failed.
std::vector<std::string> run(std::string_view input, std::string_view sizes, bool& failed) {
  ParserLimits limits;
  limits.max_line = 4096;
  limits.max_literals = 1 << 16;
  Session session(limits);
  std::vector<std::string> out;
  failed = false;
  size_t at = 0;
  size_t k = 0;
  while (at < input.size() && !failed) {
    size_t n = sizes.empty() ? input.size()
                             : 1 + static_cast<unsigned char>(sizes[k++ % sizes.size()]) % 64;
    n = std::min(n, input.size() - at);
    session.receive(input.substr(at, n));
    at += n;
    for (;;) {
      auto r = session.next();
      if (!r.ok()) {
        failed = true;
        if (session.next().ok()) fail("a failed parser recovered");
        break;
      }
      if (!r.value()) break;
      out.push_back(shape(*r.value()));
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  // The first bytes choose chunk sizes; the rest is what the server sent.
  size_t split = size == 0 ? 0 : std::min<size_t>(data[0] % 8, size - 1) + 1;
  std::string_view sizes = all.substr(0, split);
  std::string_view input = all.substr(split);
  bool whole_failed = false;
  bool chunked_failed = false;
  auto whole = run(input, {}, whole_failed);
  auto chunked = run(input, sizes, chunked_failed);
  if (whole_failed != chunked_failed) fail("chunking changed whether the input parses");
  if (!whole_failed && whole != chunked) fail("chunking changed the responses");
  (void)parse_response(input);
  return 0;
}
