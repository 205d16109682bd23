// Linking a device by code through the sotto command against a real sottod: `devices link` in
// one process shows the code and waits, `link CODE` in another joins the account; the new
// device reads the account's conversation; `devices list` shows both, `devices revoke` leaves
// one.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sotto_cli_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using sotto::cli::testing::describe;
using sotto::cli::testing::slurp;
using sotto::cli::testing::SottoCliTest;
using sotto::cli::testing::SottoProcess;
using sotto::cli::testing::SottoRun;

class SottoCliDevicesTest : public SottoCliTest {
 protected:
  std::vector<json> ok_json(const Person& p, std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    const SottoRun r = run(p, args);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return r.exit_code == 0 ? r.lines() : std::vector<json>();
  }
};

TEST_F(SottoCliDevicesTest, LinkListAndRevokeADevice) {
  const Person alice = person("alice", true);
  const Person bob = person("bob", true);
  ASSERT_EQ(init(alice).exit_code, 0);
  ASSERT_EQ(init(bob).exit_code, 0);
  // A conversation before the link: the new device must join it.
  ok_json(alice, {"send", "bob", "before the tablet"});

  // The existing device shows a code and waits.
  const fs::path link_work = alice.work / "link-run";
  fs::create_directories(link_work);
  SottoProcess offer(link_work, {"--json", "devices", "link", "--wait", "120"}, alice.env,
                     std::string());
  ASSERT_TRUE(offer.wait_output("\"code\"")) << slurp(link_work / "stderr");
  std::string first_line = slurp(link_work / "stdout");
  first_line = first_line.substr(0, first_line.find('\n'));
  const json shown = json::parse(first_line);
  const std::string code = shown.at("code");
  EXPECT_EQ(shown.at("fingerprint"), server().fingerprint());

  // The new device uses the code with the server parameters `devices link` printed.
  const Person tablet = other_device("alice", "tablet");
  const SottoRun linked =
      run(tablet, {"--json", "link", "--server", shown.at("server").get<std::string>(),
                   "--fingerprint", shown.at("fingerprint").get<std::string>(), "--directory-key",
                   shown.at("directory_key").get<std::string>(), "--vrf-key",
                   shown.at("vrf_key").get<std::string>(), "--device-name", "tablet", code});
  ASSERT_EQ(linked.exit_code, 0) << describe(linked);
  ASSERT_EQ(linked.lines().size(), 1u) << describe(linked);
  EXPECT_EQ(linked.lines()[0].at("username"), "alice");

  const SottoRun offered = offer.wait();
  ASSERT_EQ(offered.exit_code, 0) << describe(offered);
  const auto offer_lines = offered.lines();
  ASSERT_EQ(offer_lines.size(), 2u) << describe(offered);
  EXPECT_EQ(offer_lines[1].at("linked"), "tablet");
  const std::string tablet_id = offer_lines[1].at("device_id");
  EXPECT_EQ(tablet_id, linked.lines()[0].at("device_id"));

  // Bob writes after the link; the tablet reads it, and what it says reaches Bob.
  ok_json(bob, {"recv"});
  ok_json(bob, {"send", "alice", "hello both"});
  bool got = false;
  for (int i = 0; i < 10 && !got; ++i) {
    for (const auto& m : ok_json(tablet, {"recv", "--wait", "5"})) {
      got = got || m.value("text", "") == "hello both";
    }
  }
  EXPECT_TRUE(got);
  ok_json(tablet, {"send", "bob", "from the tablet"});
  bool bob_got = false;
  for (int i = 0; i < 10 && !bob_got; ++i) {
    for (const auto& m : ok_json(bob, {"recv", "--wait", "5"})) {
      bob_got = bob_got || m.value("text", "") == "from the tablet";
    }
  }
  EXPECT_TRUE(bob_got);

  // Two devices; revoking the tablet by a prefix of its id leaves one.
  auto devices = ok_json(alice, {"devices", "list"});
  ASSERT_EQ(devices.size(), 2u);
  int own = 0;
  for (const auto& d : devices) own += d.at("this_device").get<bool>() ? 1 : 0;
  EXPECT_EQ(own, 1);
  const SottoRun text = run(alice, {"devices", "list"});
  EXPECT_NE(text.out.find("(this device)"), std::string::npos) << describe(text);
  EXPECT_NE(text.out.find("tablet"), std::string::npos) << describe(text);

  const auto revoked = ok_json(alice, {"devices", "revoke", tablet_id.substr(0, 8)});
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_EQ(revoked[0].at("revoked"), tablet_id);
  EXPECT_EQ(ok_json(alice, {"devices", "list"}).size(), 1u);
  // The revoked device can no longer use the account.
  const SottoRun after = run(tablet, {"--json", "recv"});
  EXPECT_NE(after.exit_code, 0) << describe(after);
}

TEST_F(SottoCliDevicesTest, AMistypedCodeIsRefused) {
  const Person tablet = other_device("nobody", "tablet");
  const SottoRun r = run(
      tablet, {"link", "--server", "127.0.0.1:" + std::to_string(server().port()), "--fingerprint",
               server().fingerprint(), "--directory-key", server().kt_signing_key(), "--vrf-key",
               server().kt_vrf_key(), "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.err.find("link code"), std::string::npos) << describe(r);
}

}  // namespace
