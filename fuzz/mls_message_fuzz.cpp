// Arbitrary bytes as an MLSMessage, a ratchet tree and the other structures that arrive from
// other members. Decoding must never crash or read past its input, and whatever decodes must
// encode back to exactly the input: a second, different encoding of one message would let two
// members disagree about what was signed.
#include "fuzz_support.h"
#include "sotto/core/tls.h"
#include "sotto/mls/messages.h"

namespace {

using namespace sotto;

template <class T>
void check_canonical(const char* what, BytesView input) {
  auto decoded = tls::decode<T>(input);
  if (decoded.ok()) fuzz::require_same_encoding(what, input, tls::encode(*decoded));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const BytesView input(data, size);
  check_canonical<mls::MlsMessage>("MlsMessage", input);
  check_canonical<mls::RatchetTree>("RatchetTree", input);
  check_canonical<mls::GroupSecrets>("GroupSecrets", input);
  check_canonical<mls::Commit>("Commit", input);
  check_canonical<mls::Proposal>("Proposal", input);
  return 0;
}
