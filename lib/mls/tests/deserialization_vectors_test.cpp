// tests/vectors/mls/deserialization.json: varint length headers (RFC 9420 section 2.1.2),
// decoded and re-encoded byte for byte. The checks are sotto_mls_vectors' (lib/mls/testing).
#include <gtest/gtest.h>

#include "expect_vectors.h"

namespace sotto::mls {
namespace {

TEST(DeserializationVectors, VarintHeaders) {
  testing::expect_vectors("deserialization");
}

}  // namespace
}  // namespace sotto::mls
