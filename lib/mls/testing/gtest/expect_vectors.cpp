#include "expect_vectors.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/testing/vector_report.h"
#include "vectors.h"

namespace sotto::mls::testing {

std::optional<nlohmann::json> expect_vectors(std::string_view kind, VectorsExpected expected) {
  const std::string file = "mls/" + std::string(kind) + ".json";
  auto vectors = sotto::testing::load_vectors(file);
  if (!vectors) return std::nullopt;  // load_vectors has recorded the failure
  const auto report = check_vectors(kind, *vectors);
  if (!report.ok()) {
    ADD_FAILURE() << file << ": " << report.error().to_string();
    return std::nullopt;
  }
  std::printf("vectors %s: %s\n", file.c_str(), report->summary().c_str());
  std::fflush(stdout);
  for (const CaseResult& c : report->cases) {
    if (c.outcome != CaseOutcome::failed) continue;
    for (const std::string& mismatch : c.mismatches) {
      ADD_FAILURE() << file << " " << c.name << ": " << mismatch;
    }
  }
  EXPECT_EQ(report->failed(), 0) << file;
  if (expected == VectorsExpected::some_pass_given_suite_1 &&
      !crypto::CipherSuite::supported(0x0001)) {
    EXPECT_EQ(report->passed() + report->failed(), 0) << file << ": a case ran where none can";
    EXPECT_GT(report->skipped(), 0) << file << ": no case at all";
    std::printf("vectors %s: no case can run in this build\n", file.c_str());
  } else {
    EXPECT_GT(report->passed(), 0) << file << ": no case passed";
  }
  return vectors;
}

}  // namespace sotto::mls::testing
