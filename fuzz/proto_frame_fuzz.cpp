// Arbitrary bytes as a client frame (what sottod reads from every connection) and as a server
// frame (what a client reads). Decoding must never crash or read past its input, and whatever
// decodes must encode back to exactly the input.
#include "fuzz_support.h"
#include "sotto/proto/protocol.h"

namespace {

using namespace sotto;

template <class Frame>
void check_canonical(const char* what, BytesView input, const Result<Frame>& decoded) {
  if (decoded.ok()) fuzz::require_same_encoding(what, input, proto::encode(*decoded));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const BytesView input(data, size);
  constexpr size_t kMaxFrame = 1 << 20;
  check_canonical("ClientFrame", input, proto::decode_client_frame(input, kMaxFrame));
  check_canonical("ServerFrame", input, proto::decode_server_frame(input, kMaxFrame));
  return 0;
}
