// The log tree against public data: transparency-dev/merkle's inclusion and consistency
// cases (every file listed in tests/vectors/merkle/index.txt, tallied per folder) and the
// RFC 6962 reference tree (roots for sizes 0..8, hash vectors, proofs).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/encoding.h"
#include "sotto/kt/log_tree.h"
#include "vectors.h"

#ifndef __EMSCRIPTEN__
#include <filesystem>
#endif

namespace sotto::kt {
namespace {

using sotto::testing::Json;
using sotto::testing::VectorTally;

constexpr std::string_view kIndexFile = "merkle/index.txt";
constexpr std::string_view kReferenceTreeFile = "merkle/rfc6962_reference_tree.json";

// The JSON paths the index lists (comments and blank lines skipped); records a failure when
// the index cannot be read.
std::vector<std::string> indexed_paths() {
  const std::string path = std::string(SOTTO_VECTORS_DIR) + "/" + std::string(kIndexFile);
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot open " << path;
    return {};
  }
  std::vector<std::string> paths;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    paths.push_back(line);
  }
  return paths;
}

// A base64 field as bytes; nullopt (after a failure naming it) when it is not base64.
std::optional<Bytes> base64_field(const Json& c, std::string_view key) {
  auto decoded = from_base64(c.at(std::string(key)).get<std::string>());
  if (!decoded.ok()) {
    ADD_FAILURE() << key << " is not base64: " << decoded.error().to_string();
    return std::nullopt;
  }
  return std::move(decoded).value();
}

// "proof": a list of base64 hashes, or null for none.
std::optional<Proof> proof_field(const Json& c) {
  Proof proof;
  const Json& list = c.at("proof");
  if (list.is_null()) return proof;
  for (const Json& item : list) {
    auto decoded = from_base64(item.get<std::string>());
    if (!decoded.ok()) {
      ADD_FAILURE() << "proof hash is not base64: " << decoded.error().to_string();
      return std::nullopt;
    }
    proof.push_back(std::move(decoded).value());
  }
  return proof;
}

// Runs one case file; the verifier's answer, or nullopt when the file is unreadable.
struct Outcome {
  bool want_error = false;
  Result<void> result = success();
};

std::optional<Outcome> run_case(const std::string& path) {
  const auto c = sotto::testing::load_vectors(path);
  if (!c) return std::nullopt;
  const auto proof = proof_field(*c);
  if (!proof) return std::nullopt;
  Outcome out;
  out.want_error = c->at("wantErr").get<bool>();
  if (c->contains("leafIdx")) {
    const auto leaf = base64_field(*c, "leafHash");
    const auto root = base64_field(*c, "root");
    if (!leaf || !root) return std::nullopt;
    out.result = verify_inclusion(*leaf, c->at("leafIdx").get<uint64_t>(),
                                  c->at("treeSize").get<uint64_t>(), *proof, *root);
  } else {
    const auto root1 = base64_field(*c, "root1");
    const auto root2 = base64_field(*c, "root2");
    if (!root1 || !root2) return std::nullopt;
    out.result = verify_consistency(c->at("size1").get<uint64_t>(), c->at("size2").get<uint64_t>(),
                                    *proof, *root1, *root2);
  }
  return out;
}

std::string folder_of(const std::string& path) {
  return path.substr(0, path.rfind('/'));
}

TEST(LogVectors, TransparencyDevInclusionAndConsistency) {
  const auto paths = indexed_paths();
  ASSERT_FALSE(paths.empty());
  std::map<std::string, std::unique_ptr<VectorTally>> tallies;  // by folder, sorted
  for (const std::string& path : paths) {
    auto& tally = tallies[folder_of(path)];
    if (!tally) tally = std::make_unique<VectorTally>(folder_of(path) + "/");
    const auto outcome = run_case(path);
    if (!outcome) {
      tally->fail();
      continue;
    }
    const bool rejected = !outcome->result.ok();
    EXPECT_EQ(rejected, outcome->want_error)
        << path << ": " << (rejected ? outcome->result.error().to_string() : "accepted");
    tally->count(rejected == outcome->want_error);
  }
  for (auto& [folder, tally] : tallies) tally.reset();  // print in folder order
}

// The two cases where a verifier that only runs the RFC's loop (or compares what it was
// given) accepts: equal sizes of zero with equal made-up roots, and a one-leaf tree whose
// root and leaf hash are both empty.
TEST(LogVectors, CasesANaiveVerifierAcceptsAreRejected) {
  const auto zero = run_case(
      "merkle/testdata/consistency/additional/sizes-are-equal-zero-and-proof-is-empty.json");
  ASSERT_TRUE(zero.has_value());
  EXPECT_TRUE(zero->want_error);
  ASSERT_FALSE(zero->result.ok());
  EXPECT_EQ(zero->result.error().code(), Errc::invalid_value);

  const auto empty = run_case("merkle/testdata/inclusion/single-entry/empty-root-and-leaf.json");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->want_error);
  ASSERT_FALSE(empty->result.ok());
  EXPECT_EQ(empty->result.error().code(), Errc::invalid_value);
}

#ifndef __EMSCRIPTEN__
// The index is generated once and committed; this catches a file added without it.
TEST(LogVectors, IndexListsEveryCaseFile) {
  namespace fs = std::filesystem;
  const fs::path root(SOTTO_VECTORS_DIR);
  std::set<std::string> on_disk;
  for (const auto& entry : fs::recursive_directory_iterator(root / "merkle" / "testdata")) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      on_disk.insert(entry.path().lexically_relative(root).generic_string());
    }
  }
  const auto listed = indexed_paths();
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), on_disk);
  EXPECT_EQ(listed.size(), on_disk.size()) << "the index lists a file twice";
}
#endif

// ---- the RFC 6962 reference tree ---------------------------------------------------------

Proof hex_proof(const Json& list) {
  Proof proof;
  for (const Json& item : list) proof.push_back(sotto::testing::hex_bytes(item));
  return proof;
}

TEST(LogVectors, Rfc6962ReferenceTree) {
  const auto file = sotto::testing::load_vectors(kReferenceTreeFile);
  ASSERT_TRUE(file.has_value());
  VectorTally tally{std::string(kReferenceTreeFile)};
  auto check = [&](bool ok, const std::string& what) {
    EXPECT_TRUE(ok) << what;
    tally.count(ok);
  };

  MemoryLogStore store;
  auto tree = LogTree::open(store);
  ASSERT_TRUE(tree.ok());
  const Json& roots = file->at("root_by_tree_size_hex");
  check(to_hex(tree->root()) == roots.at(0).get<std::string>(), "root of size 0");
  std::vector<Hash> tree_roots = {tree->root()};
  for (const Json& leaf : file->at("leaf_inputs_hex")) {
    ASSERT_TRUE(tree->append(sotto::testing::hex_bytes(leaf)).ok());
    tree_roots.push_back(tree->root());
  }
  ASSERT_EQ(roots.size(), tree_roots.size());
  for (size_t size = 1; size < roots.size(); ++size) {
    const auto want = roots.at(size).get<std::string>();
    check(to_hex(tree_roots[size]) == want, "root after append, size " + std::to_string(size));
    const auto earlier = tree->root(size);
    check(earlier.ok() && to_hex(*earlier) == want,
          "root of an earlier size " + std::to_string(size));
  }

  for (const Json& v : file->at("hash_vectors")) {
    const auto desc = v.at("desc").get<std::string>();
    const auto want = v.at("want").get<std::string>();
    Hash got{};
    if (desc == "empty root") {
      got = empty_root();
    } else if (desc == "leaf hash of empty") {
      got = leaf_hash({});
    } else if (desc == "HashLeaf(\"L123456\")") {
      got = leaf_hash(as_bytes("L123456"));
    } else if (desc == "HashChildren(\"N123\",\"N456\")") {
      got = hash_children(as_bytes("N123"), as_bytes("N456"));
    } else {
      ADD_FAILURE() << "unknown hash vector " << desc;
      tally.fail();
      continue;
    }
    check(to_hex(got) == want, desc);
  }

  for (const Json& v : file->at("inclusion_proofs_1based_leaf")) {
    const uint64_t index = v.at("leaf").get<uint64_t>() - 1;
    const uint64_t size = v.at("size").get<uint64_t>();
    const Proof want = hex_proof(v.at("proof"));
    const std::string what =
        "inclusion of leaf " + std::to_string(index) + " in " + std::to_string(size);
    const auto got = tree->inclusion_proof(index, size);
    check(got.ok() && *got == want, what + ": generated proof");
    const Hash leaf = leaf_hash(sotto::testing::hex_bytes(file->at("leaf_inputs_hex").at(index)));
    check(verify_inclusion(leaf, index, size, want, tree_roots[size]).ok(), what + ": verifies");
  }

  for (const Json& v : file->at("consistency_proofs")) {
    const uint64_t size1 = v.at("size1").get<uint64_t>();
    const uint64_t size2 = v.at("size2").get<uint64_t>();
    const Proof want = hex_proof(v.at("proof"));
    const std::string what =
        "consistency " + std::to_string(size1) + " -> " + std::to_string(size2);
    const auto got = tree->consistency_proof(size1, size2);
    check(got.ok() && *got == want, what + ": generated proof");
    check(verify_consistency(size1, size2, want, tree_roots[size1], tree_roots[size2]).ok(),
          what + ": verifies");
  }
}

}  // namespace
}  // namespace sotto::kt
