// tests/vectors/mls/deserialization.json: varint length headers (RFC 9420 section 2.1.2),
// decoded with tls::Reader::varint and re-encoded with tls::Writer::varint byte for byte.
#include <gtest/gtest.h>

#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using testing::VectorTally;

TEST(DeserializationVectors, VarintHeaders) {
  const auto vectors = testing::load_vectors("mls/deserialization.json");
  ASSERT_TRUE(vectors.has_value());
  VectorTally tally("mls/deserialization.json");
  for (const auto& tc : *vectors) {
    const Bytes header = testing::hex_field(tc, "vlbytes_header");
    const size_t length = tc.at("length").get<size_t>();
    SCOPED_TRACE(to_hex(header));

    tls::Reader reader(header);
    const auto decoded = reader.varint();
    bool ok = decoded.ok() && *decoded == length && reader.expect_end().ok();
    EXPECT_TRUE(ok) << (decoded.ok() ? std::to_string(*decoded) : decoded.error().to_string());

    tls::Writer writer;
    writer.varint(length);
    const bool encoded = writer.ok() && writer.bytes() == header;
    EXPECT_TRUE(encoded) << to_hex(writer.bytes());
    tally.count(ok && encoded);
  }
  EXPECT_EQ(tally.failed(), 0);
}

}  // namespace
}  // namespace sotto::mls
