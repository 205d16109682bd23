// tests/vectors/mls/message-protection.json: RFC 9420 section 6, the given PublicMessages and
// PrivateMessages unprotect to their content and our own protection of it unprotects again.
// The checks are sotto_mls_vectors' (lib/mls/testing).
#include <gtest/gtest.h>

#include "expect_vectors.h"

namespace sotto::mls {
namespace {

TEST(MessageProtectionVectors, File) {
  testing::expect_vectors("message-protection");
}

}  // namespace
}  // namespace sotto::mls
