// Public test vectors for the tests: tests/vectors/<file>, loaded as JSON. A file that is
// missing or does not parse fails the test that asked for it; nothing is skipped silently.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "sotto/core/bytes.h"

namespace sotto::testing {

using Json = nlohmann::json;

// The parsed file, or nullopt after recording a test failure that names it.
std::optional<Json> load_vectors(std::string_view relative_path);

// A hex string field as bytes; records a failure (and returns empty) when it is not hex.
Bytes hex_field(const Json& object, std::string_view key);
Bytes hex_bytes(const Json& value);

// True when got == want; otherwise records a failure that shows both in hex.
bool same(BytesView got, BytesView want, const std::string& what);

// Counts the cases of one vector file and prints "<file>: N passed, M failed, K skipped
// (reason)" when it goes out of scope, so a run shows what each file covered.
class VectorTally {
 public:
  explicit VectorTally(std::string file) : file_(std::move(file)) {}
  ~VectorTally();
  void pass() { ++passed_; }
  void fail() { ++failed_; }
  // A case this build cannot run (another cipher suite); the reason is printed.
  void skip(const std::string& reason) { ++skipped_[reason]; }
  // True when a case of `suite` can run in this build (`supported`); otherwise counts it
  // as skipped with "suite N not supported" and returns false.
  bool runs_suite(int suite, bool supported) {
    if (!supported) skip("suite " + std::to_string(suite) + " not supported");
    return supported;
  }
  // For a file whose cases all use a suite this build lacks (suite 1 in the browser build):
  // then no case may run, and the tally says so instead of failing for want of cases.
  void expect_all_skipped() { expect_all_skipped_ = true; }
  // pass() when `ok`, else fail().
  void count(bool ok) { ok ? pass() : fail(); }
  int passed() const { return passed_; }
  int failed() const { return failed_; }

 private:
  std::string file_;
  int passed_ = 0;
  int failed_ = 0;
  std::map<std::string, int> skipped_;  // by reason
  bool expect_all_skipped_ = false;
};

}  // namespace sotto::testing
