// The real sotto-witness binary, one process per step: init, cosign, restart, cosign with a
// consistency proof, and a refused rollback, with the state file carrying what it cosigned.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "directory_fixture.h"
#include "sotto/core/encoding.h"
#include "sotto/kt/witness.h"
#include "state_file.h"
#include "witness.h"

namespace sotto::witness {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Outcome run(const std::string& arguments) {
  const std::string command = std::string(SOTTO_WITNESS_BINARY) + " " + arguments + " 2>&1";
  Outcome result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[512];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class WitnessCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "sotto-witness-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string write(const std::string& name, const Bytes& contents) {
    const std::string path = (dir / name).string();
    EXPECT_TRUE(write_file_atomic(path, contents).ok());
    return path;
  }

  fs::path dir;
};

TEST_F(WitnessCli, FollowsTheLogAcrossRestartsAndRefusesARollback) {
  kt::testing::TestDirectory log;
  log.stage("alice", kt::testing::device_keys("alice", 0));
  const auto head1 = log.publish().head;
  log.stage("bob", kt::testing::device_keys("bob", 0));
  const auto head2 = log.publish().head;
  const std::string head1_file = write("head1", tls::encode(head1));
  const std::string head2_file = write("head2", tls::encode(head2));
  const std::string proof_file = write("proof12", tls::encode(log.dir->consistency(1, 2).value()));
  const std::string state = (dir / "witness.state").string();

  const Outcome init =
      run("init --state " + state + " --log-key " + to_hex(log.dir->signing_public_key()));
  ASSERT_EQ(init.exit_code, 0) << init.output;
  auto witness_key = from_hex(trimmed(init.output));
  ASSERT_TRUE(witness_key.ok()) << init.output;
  ASSERT_EQ(witness_key->size(), 32u);
  const std::vector<Bytes> trusted{*witness_key};

  const auto verifies = [&](const kt::SignedTreeHead& head, const Outcome& cosign) {
    auto signature = from_hex(trimmed(cosign.output));
    if (!signature.ok()) return false;
    const std::vector<kt::Cosignature> cosignatures{{*witness_key, *signature}};
    return kt::verify_cosignatures(head, cosignatures, trusted, 1).ok();
  };

  const Outcome first = run("cosign --state " + state + " " + head1_file);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(verifies(head1, first)) << first.output;

  // A new process: everything it knows comes from the state file.
  const Outcome second = run("cosign --state " + state + " " + head2_file + " " + proof_file);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_TRUE(verifies(head2, second)) << second.output;

  const Outcome rollback = run("cosign --state " + state + " " + head1_file);
  EXPECT_EQ(rollback.exit_code, 1) << rollback.output;
  EXPECT_NE(rollback.output.find("stale"), std::string::npos) << rollback.output;
  EXPECT_NE(rollback.output.find("rollback"), std::string::npos) << rollback.output;

  const Outcome show = run("show --state " + state);
  ASSERT_EQ(show.exit_code, 0) << show.output;
  EXPECT_NE(show.output.find("epoch 2"), std::string::npos) << show.output;
  EXPECT_NE(show.output.find(to_hex(*witness_key)), std::string::npos) << show.output;

  // The state file holds epoch 2, and no temporary file was left behind.
  auto restored = Witness::restore(read_file(state).value());
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  EXPECT_EQ(restored->cosigned(), head2);
  EXPECT_EQ(restored->public_key(), *witness_key);
  EXPECT_FALSE(fs::exists(state + ".tmp"));
}

TEST_F(WitnessCli, InitRefusesToReplaceAState) {
  const std::string state = (dir / "witness.state").string();
  const std::string key = to_hex(Bytes(32, 3));
  ASSERT_EQ(run("init --state " + state + " --log-key " + key).exit_code, 0);
  const Bytes before = read_file(state).value();
  const Outcome again = run("init --state " + state + " --log-key " + key);
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("exists"), std::string::npos) << again.output;
  EXPECT_EQ(read_file(state).value(), before);
}

TEST_F(WitnessCli, BadUsageAndBadFiles) {
  const std::string state = (dir / "witness.state").string();
  EXPECT_EQ(run("").exit_code, 2);
  EXPECT_EQ(run("cosign").exit_code, 2);
  EXPECT_EQ(run("frobnicate --state " + state).exit_code, 2);
  const Outcome missing = run("cosign --state " + state + " " + state);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("no file"), std::string::npos) << missing.output;

  ASSERT_EQ(run("init --state " + state + " --log-key " + to_hex(Bytes(32, 3))).exit_code, 0);
  const std::string junk = write("junk", Bytes{1, 2, 3});
  const Outcome bad_head = run("cosign --state " + state + " " + junk);
  EXPECT_EQ(bad_head.exit_code, 1);
  EXPECT_NE(bad_head.output.find("not a TLS-encoded signed tree head"), std::string::npos)
      << bad_head.output;
}

TEST_F(WitnessCli, OneProcessAtATimeUsesAState) {
  const std::string state = (dir / "witness.state").string();
  auto held = StateLock::acquire(state);
  ASSERT_TRUE(held.ok()) << held.error().to_string();
  EXPECT_FALSE(StateLock::acquire(state).ok());
  const Outcome blocked = run("init --state " + state + " --log-key " + to_hex(Bytes(32, 3)));
  EXPECT_NE(blocked.exit_code, 0);
  EXPECT_NE(blocked.output.find("another sotto-witness"), std::string::npos) << blocked.output;
  EXPECT_FALSE(file_exists(state));
}

}  // namespace
}  // namespace sotto::witness
