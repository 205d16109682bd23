// Arbitrary bytes as the content of an MLS application message (what every member decodes
// from every other member) and as an encrypted attachment (what a client reads from the file
// server). Decoding must never crash or read past its input; whatever decodes must encode back
// to exactly the input; a file message that decodes must name a file that is safe to create;
// an edit or delete that decodes names whole message ids;
// and a stream under a key nobody used must never open.
#include "fuzz_support.h"
#include "sotto/client/app_message.h"
#include "sotto/crypto/attachment.h"

namespace {

using namespace sotto;

void check_app_message(BytesView input) {
  auto decoded = client::decode_app_message(input);
  if (!decoded) return;
  fuzz::require_same_encoding("AppMessage", input, client::encode_app_message(*decoded));
  if (const auto* file = std::get_if<client::FileContent>(&decoded->content)) {
    if (!client::is_valid_file_name(file->name) ||
        client::sanitize_file_name(file->name) != file->name) {
      std::fprintf(stderr, "a file message with an unsafe name decoded\n");
      std::abort();
    }
  }
  // An edit or delete that decodes names whole message ids, and a delete names at least one.
  if (const auto* edit = std::get_if<client::EditContent>(&decoded->content)) {
    if (edit->message_id.size() != client::kMessageIdSize) std::abort();
  }
  if (const auto* deletion = std::get_if<client::DeleteContent>(&decoded->content)) {
    if (deletion->message_ids.empty()) std::abort();
    for (const auto& id : deletion->message_ids) {
      if (id.size() != client::kMessageIdSize) std::abort();
    }
  }
}

// The input, cut into pieces whose sizes its first byte chooses, fed to a decryptor.
void check_attachment(BytesView input) {
  if (input.empty()) return;
  const size_t piece = 1 + input[0] * 257u;
  input = input.subspan(1);
  const Bytes key(crypto::kAttachmentKeySize, 0x5a);
  auto decryptor = crypto::AttachmentDecryptor::create(key);
  if (!decryptor) std::abort();
  Bytes plain;
  bool ok = true;
  while (ok && !input.empty()) {
    const size_t n = input.size() < piece ? input.size() : piece;
    ok = decryptor->update(input.subspan(0, n), plain).ok();
    input = input.subspan(n);
  }
  if (ok && decryptor->finish(plain).ok()) {
    // Opening needs a MAC under this key: random bytes never get here.
    std::fprintf(stderr, "an attachment stream nobody encrypted opened\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const BytesView input(data, size);
  check_app_message(input);
  check_attachment(input);
  return 0;
}
