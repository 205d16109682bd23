// Device linking's untrusted inputs: the code a person types (or pastes from anywhere), and
// the messages that pass through the server's slot. A sealed message that does not open
// under the code's key is refused before any decoding; what opens comes from the other
// device, which the code's holder controls, so its decoding is fuzzed too. Nothing may crash;
// a code that parses must format back to itself; a decoded offer or answer must encode back
// to the bytes it came from (the codec is strict); sealing and opening must round-trip.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sotto/client/device_link.h"

namespace {

using namespace sotto;

void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

template <class T>
void check_decoding(BytesView bytes, const char* what) {
  auto decoded = tls::decode<T>(bytes);
  if (!decoded) return;
  const Bytes again = tls::encode(*decoded);
  if (!std::equal(again.begin(), again.end(), bytes.begin(), bytes.end())) fail(what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const BytesView bytes(data, size);
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto code = client::parse_link_code(text)) {
    auto again = client::parse_link_code(client::format_link_code(*code));
    if (!again || again->slot_id != code->slot_id || !(again->secret == code->secret)) {
      fail("a link code that parsed does not format back to itself");
    }
  }

  check_decoding<client::LinkOffer>(bytes, "a link offer does not encode back to its bytes");
  check_decoding<client::LinkAnswer>(bytes, "a link answer does not encode back to its bytes");

  const Bytes key(32, 0x4b);
  const Bytes slot(6, 0x51);
  if (client::open_link_message(key, slot, bytes)) fail("bytes not sealed under the key opened");
  auto sealed = client::seal_link_message(key, slot, Bytes(12, 0x4e), bytes);
  if (!sealed) fail("sealing failed");
  auto opened = client::open_link_message(key, slot, *sealed);
  if (!opened || !std::equal(opened->data(), opened->data() + opened->size(), bytes.begin(),
                             bytes.end())) {
    fail("a sealed link message does not open to itself");
  }
  return 0;
}
