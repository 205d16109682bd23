// The official MLS interop vectors (mlswg/mls-implementations, test-vectors/*.json) checked
// against lib/mls. One checker per file kind; the GoogleTest suites and the mls-vectors
// command both run these, so that what "passes the vectors" means is written once.
//
// Portable: no file system, threads or clock, so that the browser build runs the same checks.
// Reading the files is the caller's business.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/result.h"

namespace sotto::mls::testing {

enum class CaseOutcome { passed, failed, skipped };

// One case as the file's kind counts it (an epoch of key-schedule.json, an operation of
// crypto-basics.json, a field of messages.json, otherwise one element of the file).
struct CaseResult {
  std::string name;  // where the case is in the file, e.g. "case 3 (suite 1)"
  CaseOutcome outcome = CaseOutcome::passed;
  std::string skip_reason;              // when skipped, e.g. "suite 2 not supported"
  std::vector<std::string> mismatches;  // when failed: every mismatch, the first one first
};

struct VectorReport {
  std::string kind;
  std::vector<CaseResult> cases;

  int passed() const { return count(CaseOutcome::passed); }
  int failed() const { return count(CaseOutcome::failed); }
  int skipped() const { return count(CaseOutcome::skipped); }
  // Skipped cases by reason, each reason once.
  std::map<std::string, int> skip_reasons() const;
  // The first failed case, or nullptr.
  const CaseResult* first_failure() const;
  // "N passed, M failed, K skipped (reason: count, ...)"; no parenthesis when nothing was
  // skipped.
  std::string summary() const;

 private:
  int count(CaseOutcome outcome) const;
};

// The kinds check_vectors knows: each is the name of its file in test-vectors/ without
// ".json" (tree-math, crypto-basics, psk_secret, passive-client-random, ...).
std::span<const std::string_view> vector_kinds();

// The kind of a vector file from its name or path ("dir/key-schedule.json" gives
// "key-schedule"); empty when the name is not one of vector_kinds().
std::string_view vector_kind_of(std::string_view file_name);

// Checks every case of `file` (the parsed JSON) as `kind`. A case of a cipher suite this build
// lacks is skipped with the reason "suite N not supported" and never counted as passed; a case
// with a missing or malformed field fails with a message that names it.
// Errors: Errc::invalid_argument for an unknown kind; Errc::invalid_value when the file is not
// a JSON array of cases.
Result<VectorReport> check_vectors(std::string_view kind, const nlohmann::json& file);

}  // namespace sotto::mls::testing
