// GoogleTest side of the MLS vector checks: one call per vector file loads it, checks it with
// check_vectors, prints its tally and records every mismatch as a test failure.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace sotto::mls::testing {

enum class VectorsExpected {
  // At least one case passes and none fails.
  some_pass,
  // The file has suite 1 cases only: as some_pass where this build has suite 1; elsewhere (the
  // browser build) every case is skipped, and there is at least one.
  some_pass_given_suite_1,
};

// Checks tests/vectors/mls/<kind>.json, prints "vectors mls/<kind>.json: N passed, M failed,
// K skipped (reason: count, ...)", and fails the running test unless `expected` holds. Gives
// the parsed file for further checks on its cases, or nullopt when it could not be read.
std::optional<nlohmann::json> expect_vectors(std::string_view kind,
                                             VectorsExpected expected = VectorsExpected::some_pass);

}  // namespace sotto::mls::testing
