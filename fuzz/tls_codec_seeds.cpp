// Writes the seed corpus of tls_codec_fuzz: a few valid encodings of its structs, and short
// texts for the text decoders. Usage: tls_codec_seeds <directory>
#include <cstdio>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "sotto/core/tls.h"
#include "tls_codec_message.h"

namespace {

using namespace sotto;
using namespace sotto::fuzz;

Bytes filled(size_t n, uint8_t start) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(start + i * 7);
  return out;
}

CodecMessage full() {
  CodecMessage m;
  m.u8 = 0xa1;
  m.u16 = 0xb2c3;
  m.u32 = 0xd4e5f607;
  m.u64 = 0x0817263544536271;
  m.i32 = -2;
  m.color = Color::green;
  m.blob = filled(70, 3);  // a 2-byte length
  m.secret = SecureBytes{BytesView(filled(32, 9))};
  m.inners = {Inner{1, filled(5, 1), {1, 2, 0xffffffff}, Point{7, 8}},
              Inner{2, {}, {}, std::nullopt}};
  m.maybe_inner = Inner{4, {0x00}, {5}, std::nullopt};
  m.corners = {Point{1, 2}, Point{3, 4}};
  m.triple = {0xaa, 0xbb, 0xcc};
  m.shape = Label{to_bytes("hello"), Color::red};
  m.shapes = {Circle{Point{5, 6}, 10}, Label{{}, std::nullopt}, Nothing{}};
  m.grid = {{1, 2, 3}, {}, {0xffff}};
  m.name.name = to_bytes("abc");
  return m;
}


}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];

  CodecMessage with_circle = full();
  with_circle.shape = Circle{Point{9, 9}, 0x01020304};
  with_circle.maybe_inner.reset();
  with_circle.blob = filled(3, 0);

  const std::vector<Shape> shapes{Nothing{}, Circle{}, Label{to_bytes("x"), Color::green}};

  const struct {
    const char* name;
    Bytes bytes;
  } seeds[] = {
      {"message_default", tls::encode(CodecMessage{})},
      {"message_full", tls::encode(full())},
      {"message_circle", tls::encode(with_circle)},
      {"shapes", tls::encode(shapes)},
      {"inner", tls::encode(Inner{7, filled(64, 1), {42}, Point{1, 2}})},
      {"optional_label", tls::encode(std::optional<Label>(Label{to_bytes("hi"), std::nullopt}))},
      {"text_hex", to_bytes("00ff7fA0bC")},
      {"text_base64", to_bytes("Zm9vYmE=")},
      {"text_base64url", to_bytes("-_8")},
  };
  for (const auto& seed : seeds) {
    if (!fuzz::write_file(dir + "/" + seed.name, seed.bytes)) {
      std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), seed.name);
      return 1;
    }
  }
  return 0;
}
