#include "sotto/mls/testing/vector_report.h"

#include <algorithm>
#include <array>
#include <exception>

#include "case_check.h"
#include "sotto/core/encoding.h"

namespace sotto::mls::testing {

// ---- CaseCheck ---------------------------------------------------------------------------

Bytes CaseCheck::hex_value(const Json& value, std::string_view what) {
  if (!value.is_string()) {
    fail(std::string(what) + " is not a string");
    return {};
  }
  auto bytes = from_hex(value.get_ref<const std::string&>());
  if (!bytes.ok()) {
    fail(std::string(what) + " is not hex: " + bytes.error().to_string());
    return {};
  }
  return std::move(bytes).value();
}

Bytes CaseCheck::hex(const Json& object, std::string_view key) {
  if (!object.is_object()) {
    fail("no field " + std::string(key) + " in a non-object");
    return {};
  }
  const auto it = object.find(std::string(key));
  if (it == object.end()) {
    fail("no field " + std::string(key));
    return {};
  }
  return hex_value(*it, key);
}

bool CaseCheck::same(BytesView got, BytesView want, std::string_view what) {
  if (got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin())) return true;
  return fail(std::string(what) + ": got " + to_hex(got) + ", want " + to_hex(want));
}

bool CaseCheck::expect(bool condition, std::string_view what) {
  return condition || fail(std::string(what));
}

bool CaseCheck::fail(std::string message) {
  mismatches_.push_back(std::move(message));
  return false;
}

// ---- ReportBuilder -----------------------------------------------------------------------

void ReportBuilder::run(std::string name, const std::function<bool(CaseCheck&)>& check) {
  CaseCheck c;
  bool ok = false;
  // The checkers read fields with the JSON library's at() and get<T>(), which throw on a
  // missing field or a wrong type. Vector files are data from elsewhere: such a case fails
  // here, with the library's message, and no exception leaves check_vectors.
  try {
    ok = check(c);
  } catch (const nlohmann::json::exception& e) {
    c.fail(std::string("malformed case: ") + e.what());
    ok = false;
  }
  if (ok && !c.ok()) ok = false;
  if (!ok && c.ok()) c.fail("check failed");
  CaseResult result;
  result.name = std::move(name);
  result.outcome = ok ? CaseOutcome::passed : CaseOutcome::failed;
  if (!ok) result.mismatches = c.take();
  report_.cases.push_back(std::move(result));
}

void ReportBuilder::skip(const std::string& name, const std::string& reason, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    report_.cases.push_back(CaseResult{name, CaseOutcome::skipped, reason, {}});
  }
}

bool ReportBuilder::runs_suite(uint16_t suite, const std::string& name, size_t count) {
  if (suite != 0 && crypto::CipherSuite::supported(suite)) return true;
  skip(name, "suite " + std::to_string(suite) + " not supported", count);
  return false;
}

std::string case_name(size_t index, uint16_t suite) {
  return "case " + std::to_string(index) + " (suite " + std::to_string(suite) + ")";
}

uint16_t suite_of(const Json& vector_case) {
  if (!vector_case.is_object()) return 0;
  const auto it = vector_case.find("cipher_suite");
  if (it == vector_case.end() || !it->is_number_unsigned()) return 0;
  const auto id = it->get<uint64_t>();
  return id <= 0xffff ? static_cast<uint16_t>(id) : 0;
}

// ---- VectorReport ------------------------------------------------------------------------

int VectorReport::count(CaseOutcome outcome) const {
  return static_cast<int>(std::count_if(
      cases.begin(), cases.end(), [outcome](const CaseResult& c) { return c.outcome == outcome; }));
}

std::map<std::string, int> VectorReport::skip_reasons() const {
  std::map<std::string, int> out;
  for (const CaseResult& c : cases) {
    if (c.outcome == CaseOutcome::skipped) ++out[c.skip_reason];
  }
  return out;
}

const CaseResult* VectorReport::first_failure() const {
  const auto it = std::find_if(cases.begin(), cases.end(), [](const CaseResult& c) {
    return c.outcome == CaseOutcome::failed;
  });
  return it == cases.end() ? nullptr : &*it;
}

std::string VectorReport::summary() const {
  std::string out = std::to_string(passed()) + " passed, " + std::to_string(failed()) +
                    " failed, " + std::to_string(skipped()) + " skipped";
  std::string reasons;
  for (const auto& [reason, n] : skip_reasons()) {
    reasons += (reasons.empty() ? " (" : ", ") + reason + ": " + std::to_string(n);
  }
  if (!reasons.empty()) out += reasons + ")";
  return out;
}

// ---- dispatch ----------------------------------------------------------------------------

namespace {

constexpr std::array<std::string_view, 16> kKinds = {
    "tree-math",
    "deserialization",
    "crypto-basics",
    "secret-tree",
    "message-protection",
    "key-schedule",
    "psk_secret",
    "transcript-hashes",
    "welcome",
    "tree-operations",
    "tree-validation",
    "treekem",
    "messages",
    "passive-client-welcome",
    "passive-client-handling-commit",
    "passive-client-random",
};

}  // namespace

std::span<const std::string_view> vector_kinds() {
  return kKinds;
}

std::string_view vector_kind_of(std::string_view file_name) {
  const size_t slash = file_name.find_last_of("/\\");
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  constexpr std::string_view kSuffix = ".json";
  if (file_name.size() <= kSuffix.size() || !file_name.ends_with(kSuffix)) return {};
  file_name.remove_suffix(kSuffix.size());
  const auto it = std::find(kKinds.begin(), kKinds.end(), file_name);
  return it == kKinds.end() ? std::string_view() : *it;
}

Result<VectorReport> check_vectors(std::string_view kind, const nlohmann::json& file) {
  if (std::find(kKinds.begin(), kKinds.end(), kind) == kKinds.end()) {
    return Error(Errc::invalid_argument, "unknown vector kind \"" + std::string(kind) + "\"");
  }
  if (!file.is_array()) {
    return Error(Errc::invalid_value, std::string(kind) + ": the file is not a JSON array");
  }
  if (kind == "tree-math") return check_tree_math(file);
  if (kind == "deserialization") return check_deserialization(file);
  if (kind == "crypto-basics") return check_crypto_basics(file);
  if (kind == "secret-tree") return check_secret_tree(file);
  if (kind == "key-schedule") return check_key_schedule(file);
  if (kind == "psk_secret") return check_psk_secret(file);
  if (kind == "transcript-hashes") return check_transcript_hashes(file);
  if (kind == "messages") return check_messages(file);
  if (kind == "message-protection") return check_message_protection(file);
  if (kind == "tree-validation") return check_tree_validation(file);
  if (kind == "tree-operations") return check_tree_operations(file);
  if (kind == "treekem") return check_treekem(file);
  if (kind == "welcome") return check_welcome(file);
  return check_passive_client(kind, file);
}

}  // namespace sotto::mls::testing
