// tests/vectors/mls/transcript-hashes.json: the transcript hashes of RFC 9420 section 8.2 and
// the confirmation tag. The checks are sotto_mls_vectors' (lib/mls/testing); here also that
// they catch a changed expected value and a malformed case, as every checker shares that path.
#include <gtest/gtest.h>

#include <string>

#include "expect_vectors.h"
#include "sotto/core/result.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/testing/vector_report.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

TEST(TranscriptHashesVectors, EveryCase) {
  testing::expect_vectors("transcript-hashes");
}

// The first case this build runs, with the last hex digit of `field` changed.
nlohmann::json changed_case(const nlohmann::json& file, const char* field) {
  for (const nlohmann::json& c : file) {
    if (!crypto::CipherSuite::supported(c.at("cipher_suite").get<uint16_t>())) continue;
    nlohmann::json out = c;
    std::string hex = out.at(field).get<std::string>();
    hex.back() = hex.back() == '0' ? '1' : '0';
    out[field] = hex;
    return out;
  }
  return {};
}

TEST(TranscriptHashesVectors, ChangedExpectedValueFails) {
  const auto file = sotto::testing::load_vectors("mls/transcript-hashes.json");
  ASSERT_TRUE(file.has_value());
  const nlohmann::json one =
      nlohmann::json::array({changed_case(*file, "confirmed_transcript_hash_after")});
  const auto report = testing::check_vectors("transcript-hashes", one);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->failed(), 1);
  EXPECT_EQ(report->passed(), 0);
  const testing::CaseResult* failure = report->first_failure();
  ASSERT_NE(failure, nullptr);
  ASSERT_FALSE(failure->mismatches.empty());
  EXPECT_EQ(failure->mismatches.front().rfind("confirmed_transcript_hash_after: got ", 0), 0u)
      << failure->mismatches.front();
}

TEST(TranscriptHashesVectors, MalformedCasesFailAndNeverThrow) {
  const auto file = sotto::testing::load_vectors("mls/transcript-hashes.json");
  ASSERT_TRUE(file.has_value());
  nlohmann::json missing = changed_case(*file, "confirmation_key");
  missing.erase("confirmation_key");
  nlohmann::json not_hex = changed_case(*file, "confirmation_key");
  not_hex["confirmation_key"] = "zz";
  nlohmann::json wrong_type = changed_case(*file, "confirmation_key");
  wrong_type["authenticated_content"] = 7;
  const auto report = testing::check_vectors("transcript-hashes",
                                             nlohmann::json::array({missing, not_hex, wrong_type}));
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->failed(), 3);
  // A field the checker reads with the JSON library's at() is missing: the library's
  // exception stops at the case, which fails.
  const auto thrown =
      testing::check_vectors("tree-math", nlohmann::json::array({nlohmann::json{{"n_leaves", 1}}}));
  ASSERT_TRUE(thrown.ok());
  ASSERT_EQ(thrown->failed(), 1);
  EXPECT_EQ(thrown->first_failure()->mismatches.front().rfind("malformed case: ", 0), 0u)
      << thrown->first_failure()->mismatches.front();
  // A case that is not an object has no suite: it is skipped, not passed.
  const auto odd = testing::check_vectors("transcript-hashes", nlohmann::json::array({42}));
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->skipped(), 1);
  EXPECT_EQ(odd->passed(), 0);

  EXPECT_EQ(testing::check_vectors("transcript-hashes", nlohmann::json::object()).error().code(),
            Errc::invalid_value);
  EXPECT_EQ(testing::check_vectors("no-such-kind", nlohmann::json::array()).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(testing::vector_kind_of("a/b/passive-client-random.json"), "passive-client-random");
  EXPECT_EQ(testing::vector_kind_of("treekem.json.bak"), "");
}

}  // namespace
}  // namespace sotto::mls
