// mls-vectors FILE.json...: checks official MLS interop vector files (mlswg/mls-implementations,
// test-vectors/) against lib/mls. The kind of each file comes from its name (key-schedule.json,
// passive-client-random.json, ...). Prints per file "FILE: N passed, M failed, K skipped
// (reason: count, ...)" and the first mismatch of each failed case; exits 1 when a case fails
// or a file cannot be read or checked, 2 on a usage error.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "sotto/mls/testing/vector_report.h"

namespace {

using sotto::mls::testing::CaseOutcome;
using sotto::mls::testing::VectorReport;

constexpr int kUsage = 2;

int usage() {
  std::fprintf(stderr, "usage: mls-vectors FILE.json...\n  kinds (the file name without .json):");
  for (const std::string_view kind : sotto::mls::testing::vector_kinds()) {
    std::fprintf(stderr, " %.*s", static_cast<int>(kind.size()), kind.data());
  }
  std::fprintf(stderr, "\n");
  return kUsage;
}

// False after printing why the file could not be checked.
bool check_file(const std::string& path) {
  const std::string_view kind = sotto::mls::testing::vector_kind_of(path);
  if (kind.empty()) {
    std::fprintf(stderr, "%s: not a known vector file name (see mls-vectors --help)\n",
                 path.c_str());
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "%s: cannot open\n", path.c_str());
    return false;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    std::fprintf(stderr, "%s: read error\n", path.c_str());
    return false;
  }
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    std::fprintf(stderr, "%s: not valid JSON\n", path.c_str());
    return false;
  }
  const auto report = sotto::mls::testing::check_vectors(kind, json);
  if (!report.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), report.error().to_string().c_str());
    return false;
  }
  std::printf("%s: %s\n", path.c_str(), report->summary().c_str());
  for (const auto& c : report->cases) {
    if (c.outcome != CaseOutcome::failed) continue;
    const std::string first = c.mismatches.empty() ? std::string() : c.mismatches.front();
    std::printf("  %s failed: %s\n", c.name.c_str(), first.c_str());
  }
  // A file where nothing ran proves nothing; say so rather than pass quietly.
  if (report->passed() + report->failed() == 0) {
    std::printf("  no case of %s can run in this build\n", path.c_str());
  }
  return report->failed() == 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage();
      return 0;
    }
    if (arg.starts_with("-")) return usage();
  }
  bool all_ok = true;
  for (int i = 1; i < argc; ++i) {
    all_ok = check_file(argv[i]) && all_ok;
  }
  std::fflush(stdout);
  return all_ok ? 0 : 1;
}
