// Arbitrary bytes through the TLS codec and the text decoders. Decoding must never crash or
// read past its input, and strict decoding makes every encoding canonical: whatever decodes
// must encode back to exactly the input.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "tls_codec_message.h"

namespace {

using namespace sotto;

[[noreturn]] void fail(const char* what, BytesView input, BytesView output) {
  std::fprintf(stderr, "%s\n  input:  %s\n  output: %s\n", what, to_hex(input).c_str(),
               to_hex(output).c_str());
  std::abort();
}

// Decodes `input` as a T; when that succeeds, its encoding must be `input` again.
template <class T>
void check_canonical(const char* what, BytesView input, tls::Limits limits = {}) {
  auto decoded = tls::decode<T>(input, limits);
  if (!decoded.ok()) return;
  const Bytes again = tls::encode(*decoded);
  if (!constant_time_equal(again, input)) fail(what, input, again);
}

std::string lower_case(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void check_text(const char* what, std::string_view expected, const std::string& actual) {
  if (expected != actual) fail(what, as_bytes(expected), as_bytes(actual));
}

void check_bytes(const char* what, BytesView input, const Result<Bytes>& decoded) {
  if (!decoded.ok() || !constant_time_equal(*decoded, input)) {
    fail(what, input, decoded.ok() ? BytesView(*decoded) : BytesView());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const BytesView input(data, size);

  // The codec: the whole struct, and some of its parts on their own (shallower inputs reach
  // them faster), one with a small limit so that length_limit is reached too.
  check_canonical<fuzz::CodecMessage>("CodecMessage", input);
  check_canonical<std::vector<fuzz::Shape>>("vector<Shape>", input, tls::Limits{64});
  check_canonical<fuzz::Inner>("Inner", input);
  check_canonical<std::optional<fuzz::Label>>("optional<Label>", input);

  // Text decoders on the input as text: what they accept they would have written.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto hex = from_hex(text); hex.ok()) {
    check_text("hex round trip", lower_case(text), to_hex(*hex));
  }
  if (auto b64 = from_base64(text); b64.ok()) {
    check_text("base64 round trip", text, to_base64(*b64));
  }
  if (auto b64url = from_base64url(text); b64url.ok()) {
    std::string_view unpadded = text;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
    check_text("base64url round trip", unpadded, to_base64url(*b64url));
  }

  // And the input as bytes through each encoder and back.
  check_bytes("from_hex(to_hex)", input, from_hex(to_hex(input)));
  check_bytes("from_base64(to_base64)", input, from_base64(to_base64(input)));
  check_bytes("from_base64url(to_base64url)", input, from_base64url(to_base64url(input)));
  return 0;
}
