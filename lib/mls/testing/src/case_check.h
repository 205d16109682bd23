// What every checker uses: the mismatches of one case, the fields of a case read from JSON,
// and the loop that runs one checker per case with the suite skipped when this build lacks it.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/testing/vector_report.h"

namespace sotto::mls::testing {

using Json = nlohmann::json;

// The mismatches of one case. A check that fails records a message and returns false, so a
// checker can go on and report everything that differs.
class CaseCheck {
 public:
  // A hex string field (or value) as bytes; a missing, non-string or non-hex one is a
  // mismatch and gives empty bytes, which then fail the comparisons that use them.
  Bytes hex(const Json& object, std::string_view key);
  Bytes hex_value(const Json& value, std::string_view what);

  // True when got == want; otherwise records both in hex.
  bool same(BytesView got, BytesView want, std::string_view what);
  // Records `what` when `condition` is false.
  bool expect(bool condition, std::string_view what);
  template <class T>
  bool succeeded(const Result<T>& result, std::string_view what) {
    if (result.ok()) return true;
    fail(std::string(what) + ": " + result.error().to_string());
    return false;
  }
  // Always false, for `return c.fail(...)` in a checker.
  bool fail(std::string message);

  bool ok() const { return mismatches_.empty(); }
  std::vector<std::string> take() { return std::move(mismatches_); }

 private:
  std::vector<std::string> mismatches_;
};

// Builds a report case by case. run() turns a checker's verdict (and anything the JSON
// library throws at a malformed case) into the case's outcome.
class ReportBuilder {
 public:
  explicit ReportBuilder(std::string_view kind) { report_.kind = std::string(kind); }

  // Runs `check` as the case `name`; a false return without a recorded mismatch still fails.
  void run(std::string name, const std::function<bool(CaseCheck&)>& check);
  // `count` cases skipped for `reason`.
  void skip(const std::string& name, const std::string& reason, size_t count = 1);
  // True when `suite` runs in this build; otherwise skips `count` cases with the reason
  // "suite N not supported".
  bool runs_suite(uint16_t suite, const std::string& name, size_t count = 1);

  VectorReport take() { return std::move(report_); }

 private:
  VectorReport report_;
};

// "case i (suite N)".
std::string case_name(size_t index, uint16_t suite);
// The case's "cipher_suite"; 0 (never supported) when it is missing or not a number.
uint16_t suite_of(const Json& vector_case);

// The checkers, one per kind (vector_report.cpp dispatches to them). Each may assume `file`
// is an array.
VectorReport check_tree_math(const Json& file);
VectorReport check_deserialization(const Json& file);
VectorReport check_crypto_basics(const Json& file);
VectorReport check_secret_tree(const Json& file);
VectorReport check_key_schedule(const Json& file);
VectorReport check_psk_secret(const Json& file);
VectorReport check_transcript_hashes(const Json& file);
VectorReport check_messages(const Json& file);
VectorReport check_message_protection(const Json& file);
VectorReport check_tree_validation(const Json& file);
VectorReport check_tree_operations(const Json& file);
VectorReport check_treekem(const Json& file);
VectorReport check_welcome(const Json& file);
VectorReport check_passive_client(std::string_view kind, const Json& file);

}  // namespace sotto::mls::testing
