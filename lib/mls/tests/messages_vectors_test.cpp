// tests/vectors/mls/messages.json: every field of every case decodes as its RFC 9420 struct
// and re-encodes to the same bytes, each field of each case one vector case. The checks are
// sotto_mls_vectors' (lib/mls/testing); here also truncation, which the vectors do not cover.
#include <gtest/gtest.h>

#include "expect_vectors.h"
#include "sotto/core/tls.h"
#include "sotto/mls/messages.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

TEST(MessagesVectors, DecodeAndReencodeEveryField) {
  testing::expect_vectors("messages");
}

// Every proper prefix of a message is an error, never a crash or a read past the end.
TEST(MessagesVectors, TruncatedMessagesFail) {
  const auto vectors = sotto::testing::load_vectors("mls/messages.json");
  ASSERT_TRUE(vectors.has_value());
  const auto& tc = vectors->at(0);
  for (const char* field : {"mls_welcome", "mls_group_info", "mls_key_package",
                            "public_message_commit", "private_message"}) {
    const Bytes wire = sotto::testing::hex_field(tc, field);
    for (size_t n = 0; n < wire.size(); ++n) {
      EXPECT_FALSE(tls::decode<MlsMessage>(BytesView(wire.data(), n)).ok()) << field << " " << n;
    }
    Bytes longer = wire;
    longer.push_back(0);
    EXPECT_EQ(tls::decode<MlsMessage>(longer).error().code(), Errc::trailing_bytes) << field;
  }
}

}  // namespace
}  // namespace sotto::mls
