#include "vectors.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "sotto/core/encoding.h"

namespace sotto::testing {

std::optional<Json> load_vectors(std::string_view relative_path) {
  const std::string path = std::string(SOTTO_VECTORS_DIR) + "/" + std::string(relative_path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot open vector file " << path;
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  Json parsed = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    ADD_FAILURE() << "vector file " << path << " is not valid JSON";
    return std::nullopt;
  }
  return parsed;
}

Bytes hex_bytes(const Json& value) {
  if (!value.is_string()) {
    ADD_FAILURE() << "vector field is not a string: " << value.dump().substr(0, 80);
    return {};
  }
  auto bytes = from_hex(value.get<std::string>());
  if (!bytes.ok()) {
    ADD_FAILURE() << "vector field is not hex: " << bytes.error().to_string();
    return {};
  }
  return std::move(bytes).value();
}

Bytes hex_field(const Json& object, std::string_view key) {
  const auto it = object.find(std::string(key));
  if (it == object.end()) {
    ADD_FAILURE() << "vector case has no field " << key;
    return {};
  }
  return hex_bytes(*it);
}

bool same(BytesView got, BytesView want, const std::string& what) {
  if (got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin())) return true;
  ADD_FAILURE() << what << ": got " << to_hex(got) << ", want " << to_hex(want);
  return false;
}

VectorTally::~VectorTally() {
  int skipped = 0;
  std::string reasons;
  for (const auto& [reason, count] : skipped_) {
    skipped += count;
    reasons += (reasons.empty() ? " (" : "; ") + std::to_string(count) + " " + reason;
  }
  if (!reasons.empty()) reasons += ")";
  std::printf("vectors %s: %d passed, %d failed, %d skipped%s\n", file_.c_str(), passed_, failed_,
              skipped, reasons.c_str());
  std::fflush(stdout);
  if (expect_all_skipped_) {
    if (passed_ + failed_ > 0) ADD_FAILURE() << file_ << ": a case ran where none should";
    if (skipped == 0) ADD_FAILURE() << file_ << ": no case at all";
    std::printf("vectors %s: no case can run in this build\n", file_.c_str());
  } else if (passed_ + failed_ == 0) {
    ADD_FAILURE() << file_ << ": no case ran";
  }
}

}  // namespace sotto::testing
