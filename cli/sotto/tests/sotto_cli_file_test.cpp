// `sotto file send` and `sotto file get` against a real sottod: a 50 MiB file of random bytes
// goes from alice to bob and comes out with the same SHA-256; a blob changed on the server is
// refused and leaves no file behind; a missing or too large file is refused before anything
// is uploaded.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sotto_cli_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using sotto::cli::testing::describe;
using sotto::cli::testing::SottoCliTest;
using sotto::cli::testing::SottodProcess;
using sotto::cli::testing::TempDir;

constexpr uint64_t kMiB = 1024 * 1024;

// `size` bytes from a seeded generator, written in pieces; gives their SHA-256 (hex).
std::string write_random_file(const fs::path& path, uint64_t size, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::ofstream out(path, std::ios::binary);
  sotto::crypto::Sha256 hash;
  std::vector<uint8_t> piece(kMiB);
  for (uint64_t left = size; left > 0;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, piece.size()));
    for (size_t i = 0; i < n; i += 8) {
      const uint64_t word = random();
      for (size_t k = 0; k < 8 && i + k < n; ++k)
        piece[i + k] = static_cast<uint8_t>(word >> (8 * k));
    }
    out.write(reinterpret_cast<const char*>(piece.data()), static_cast<std::streamsize>(n));
    hash.update(sotto::BytesView(piece.data(), n));
    left -= n;
  }
  return sotto::to_hex(hash.finish());
}

std::string sha256_of_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  sotto::crypto::Sha256 hash;
  std::vector<char> piece(kMiB);
  while (in) {
    in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
    const auto n = static_cast<size_t>(in.gcount());
    hash.update(sotto::BytesView(reinterpret_cast<const uint8_t*>(piece.data()), n));
  }
  return sotto::to_hex(hash.finish());
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

// Flips one bit of the byte at `offset`, leaving the length as it is.
void flip_bit(const fs::path& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x10));
}

class SottoCliFileTest : public SottoCliTest {
 protected:
  // The suite's own server, which lets it register more people than the default burst.
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::vector<std::string> extra;
    for (const char* flag : {"--rate-registration-per-minute", "--rate-registration-burst"}) {
      extra.emplace_back(flag);
      extra.emplace_back("100");
    }
    server_ = new SottodProcess(SottodProcess::args_for(dir_->path() / "data", extra));
    ASSERT_TRUE(server_->wait_listening()) << server_->line();
  }

  static fs::path blob_dir() { return dir_->path() / "data" / "files"; }
  static std::set<std::string> blobs() {
    return fs::exists(blob_dir()) ? names_in(blob_dir()) : std::set<std::string>();
  }
  // The blobs that are not in `before`.
  static std::vector<std::string> blobs_since(const std::set<std::string>& before) {
    std::vector<std::string> fresh;
    for (const auto& name : blobs()) {
      if (!before.count(name)) fresh.push_back(name);
    }
    return fresh;
  }

  // Two people with accounts of their own (the second unlocked by a key file).
  std::pair<Person, Person> two_people(const std::string& first, const std::string& second) {
    Person a = person(first, false);
    Person b = person(second, true);
    EXPECT_EQ(init(a).exit_code, 0);
    EXPECT_EQ(init(b).exit_code, 0);
    return {a, b};
  }

  // Has `from` send `path` to `to`; gives the message id bob's recv shows.
  std::string send_file(const Person& from, const Person& to, const fs::path& path,
                        json& sent_line) {
    auto sent =
        run(from, {"--json", "file", "send", to.name, path.string(), "--caption", "the numbers"});
    EXPECT_EQ(sent.exit_code, 0) << describe(sent);
    if (sent.exit_code != 0) return "";
    EXPECT_EQ(sent.lines().size(), 1u) << describe(sent);
    sent_line = sent.lines().at(0);
    auto got = run(to, {"--json", "recv"});
    EXPECT_EQ(got.exit_code, 0) << describe(got);
    const auto lines = got.lines();
    EXPECT_EQ(lines.size(), 1u) << describe(got);
    if (lines.size() != 1) return "";
    return lines[0]["message_id"];
  }
};

TEST_F(SottoCliFileTest, AFiftyMebibyteFileArrivesWithTheSameHash) {
  const auto [alice, bob] = two_people("alice", "bob");

  const fs::path original = alice.work / "measurements.bin";
  const std::string original_hash = write_random_file(original, 50 * kMiB, 20261123);
  const auto before = blobs();
  json sent;
  const std::string id = send_file(alice, bob, original, sent);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(sent["state"], "sent");
  EXPECT_EQ(sent["to"], "bob");
  EXPECT_EQ(sent["message_id"], id);
  EXPECT_EQ(sent["file"]["name"], "measurements.bin");
  EXPECT_EQ(sent["file"]["size"], 50 * kMiB);
  EXPECT_EQ(sent["file"]["media_type"], "application/octet-stream");

  // The server holds one blob: the ciphertext, not the file.
  const auto fresh = blobs_since(before);
  ASSERT_EQ(fresh.size(), 1u);
  const fs::path blob = blob_dir() / fresh[0];
  EXPECT_GT(fs::file_size(blob), 50 * kMiB);
  EXPECT_NE(sha256_of_file(blob), original_hash);

  // Bob's history shows the file with its caption and the id to fetch it by.
  auto history = run(bob, {"history", "alice"});
  ASSERT_EQ(history.exit_code, 0) << describe(history);
  EXPECT_EQ(history.out,
            "alice: [file] measurements.bin (52428800 bytes, "
            "application/octet-stream) id " +
                id + ": the numbers\n");

  const fs::path got = bob.work / "received.bin";
  auto fetched = run(bob, {"--json", "file", "get", id, "--output", got.string()});
  ASSERT_EQ(fetched.exit_code, 0) << describe(fetched);
  ASSERT_EQ(fetched.lines().size(), 1u) << describe(fetched);
  EXPECT_EQ(fetched.lines()[0]["from"], "alice");
  EXPECT_EQ(fetched.lines()[0]["path"], fs::absolute(got).string());
  ASSERT_TRUE(fs::exists(got));
  EXPECT_EQ(fs::file_size(got), 50 * kMiB);
  EXPECT_EQ(sha256_of_file(got), original_hash);
  // Nothing else was left next to it.
  EXPECT_EQ(names_in(bob.work).count("received.bin"), 1u);
  for (const auto& name : names_in(bob.work))
    EXPECT_EQ(name.find(".sotto-file"), std::string::npos);

  // An existing file is never replaced.
  auto again = run(bob, {"file", "get", id, "--output", got.string()});
  EXPECT_EQ(again.exit_code, 9) << describe(again);
  EXPECT_EQ(sha256_of_file(got), original_hash);
  // An unknown message id is not found; a malformed one is a usage error.
  auto unknown = run(bob, {"file", "get", std::string(32, 'a')});
  EXPECT_EQ(unknown.exit_code, 8) << describe(unknown);
  auto malformed = run(bob, {"file", "get", "xyz"});
  EXPECT_EQ(malformed.exit_code, 2) << describe(malformed);
}

TEST_F(SottoCliFileTest, AChangedBlobIsRefusedAndLeavesNoFile) {
  const auto [carol, dave] = two_people("carol", "dave");

  const fs::path original = carol.work / "notes.txt";
  write_random_file(original, 3 * kMiB + 12345, 7);
  const auto before = blobs();
  json sent;
  const std::string id = send_file(carol, dave, original, sent);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(sent["file"]["media_type"], "text/plain");
  const auto fresh = blobs_since(before);
  ASSERT_EQ(fresh.size(), 1u);

  // One bit flipped in the middle of the stored ciphertext, its length unchanged.
  const fs::path blob = blob_dir() / fresh[0];
  flip_bit(blob, 2 * kMiB);

  const fs::path out_dir = dave.work / "downloads";
  fs::create_directories(out_dir);
  auto fetched = run(dave, {"file", "get", id, "--output", (out_dir / "notes.txt").string()});
  EXPECT_EQ(fetched.exit_code, 10) << describe(fetched);
  EXPECT_NE(fetched.err.find("does not match the hash"), std::string::npos) << describe(fetched);
  EXPECT_TRUE(names_in(out_dir).empty()) << "left behind: " << *names_in(out_dir).begin();

  // Restored, the same command succeeds: the refusal was the change, not something else.
  flip_bit(blob, 2 * kMiB);
  auto retried = run(dave, {"file", "get", id, "--output", (out_dir / "notes.txt").string()});
  ASSERT_EQ(retried.exit_code, 0) << describe(retried);
  EXPECT_EQ(sha256_of_file(out_dir / "notes.txt"), sha256_of_file(original));
  EXPECT_EQ(names_in(out_dir), std::set<std::string>{"notes.txt"});
}

TEST_F(SottoCliFileTest, MissingAndTooLargeFilesAreRefusedBeforeUploading) {
  const auto [erin, frank] = two_people("erin", "frank");
  const auto before = blobs();

  auto missing = run(erin, {"file", "send", "frank", (erin.work / "nothing.bin").string()});
  EXPECT_EQ(missing.exit_code, 8) << describe(missing);
  EXPECT_NE(missing.err.find("no file at"), std::string::npos) << describe(missing);

  // A sparse file just over the limit: refused from its size alone.
  const fs::path big = erin.work / "big.bin";
  std::ofstream(big).close();
  fs::resize_file(big, 100 * kMiB);
  auto too_large = run(erin, {"--json", "file", "send", "frank", big.string()});
  EXPECT_EQ(too_large.exit_code, 1) << describe(too_large);
  EXPECT_NE(too_large.err.find("over the server's limit of 100 MiB"), std::string::npos)
      << describe(too_large);
  EXPECT_NE(too_large.err.find("\"detail\":\"too_large\""), std::string::npos)
      << describe(too_large);

  auto directory = run(erin, {"file", "send", "frank", erin.work.string()});
  EXPECT_EQ(directory.exit_code, 2) << describe(directory);

  // Nothing reached the server, and frank has nothing to receive.
  EXPECT_TRUE(blobs_since(before).empty());
  auto got = run(frank, {"recv"});
  EXPECT_EQ(got.exit_code, 0) << describe(got);
  EXPECT_EQ(got.out, "");
}

}  // namespace
