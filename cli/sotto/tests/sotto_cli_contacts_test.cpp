// Finding people without typing usernames and keys: invite links (with their QR code) and
// address books read from vCard files, as separate `sotto` processes against a real sottod.
#include <cstdio>
#include <regex>

#include "sotto_cli_support.h"

namespace sotto::cli::testing {
namespace {

class SottoCliContactsTest : public SottoCliTest {
 protected:
  std::string invite_link(const Person& p) {
    auto r = run(p, {"--json", "invite"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    auto lines = r.lines();
    EXPECT_EQ(lines.size(), 1u);
    return lines.empty() ? std::string() : lines[0].at("link").get<std::string>();
  }

  std::set<std::string> contact_names(const Person& p) {
    auto r = run(p, {"--json", "contacts", "list"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    std::set<std::string> names;
    for (const auto& line : r.lines()) names.insert(line.at("username").get<std::string>());
    return names;
  }
};

// The QR code's text, read back into modules and handed to a real QR reader (zbarimg).
std::string read_terminal_qr(const std::string& out, const fs::path& work) {
  std::vector<std::vector<bool>> dark;  // rows of modules
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    const std::string start = "\x1b[97;40m", end = "\x1b[0m";
    if (!line.starts_with(start) || !line.ends_with(end)) continue;
    line = line.substr(start.size(), line.size() - start.size() - end.size());
    std::vector<bool> top, bottom;
    for (size_t i = 0; i < line.size();) {
      if (line[i] == ' ') {
        top.push_back(true), bottom.push_back(true), ++i;
        continue;
      }
      const std::string glyph = line.substr(i, 3);  // U+2580, U+2584, U+2588: three bytes
      i += 3;
      top.push_back(glyph == "\u2584");
      bottom.push_back(glyph == "\u2580");
      if (glyph != "\u2580" && glyph != "\u2584" && glyph != "\u2588") return "bad glyph";
    }
    dark.push_back(top);
    dark.push_back(bottom);
  }
  if (dark.empty()) return "no QR code in the output";
  constexpr int kScale = 6;
  const fs::path image = work / "qr.pbm";
  {
    std::ofstream pbm(image);
    pbm << "P1\n" << dark[0].size() * kScale << " " << dark.size() * kScale << "\n";
    for (const auto& row : dark) {
      for (int s = 0; s < kScale; ++s) {
        for (bool d : row) {
          for (int t = 0; t < kScale; ++t) pbm << (d ? "1 " : "0 ");
        }
        pbm << "\n";
      }
    }
  }
  const std::string command = "zbarimg --quiet --raw " + image.string() + " 2>/dev/null";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "cannot run zbarimg";
  std::string text;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) text.append(buf, n);
  ::pclose(pipe);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

TEST_F(SottoCliContactsTest, AnInviteLinkBringsANewPersonToTheServerAndToWhoeverSharedIt) {
  Person alice = person("alice", true), bob = person("bob", true);
  ASSERT_EQ(init(alice).exit_code, 0);
  const std::string link = invite_link(alice);
  EXPECT_TRUE(std::regex_match(
      link, std::regex("https://127\\.0\\.0\\.1:[0-9]+/invite#u=alice&k=[A-Za-z0-9_-]{128}")))
      << link;

  // The QR code that `invite --qr` draws reads back as the same link.
  auto shown = run(alice, {"invite", "--qr"});
  ASSERT_EQ(shown.exit_code, 0) << describe(shown);
  EXPECT_NE(shown.out.find(link), std::string::npos);
  EXPECT_EQ(read_terminal_qr(shown.out, alice.work), link);

  // bob needs nothing but the link: server, certificate and key directory come from it, and
  // alice becomes his first contact.
  auto joined = run(bob,
                    {"init", "--invite-link", link, "--username", "bob", "--email",
                     "bob@example.org"},
                    "", {{"SOTTO_PASSWORD", "correct horse battery bob"}});
  ASSERT_EQ(joined.exit_code, 0) << describe(joined);
  EXPECT_NE(joined.out.find("added alice, who invited you"), std::string::npos) << joined.out;
  EXPECT_EQ(contact_names(bob), std::set<std::string>{"alice"});

  auto sent = run(bob, {"send", "alice", "hello from the link"});
  ASSERT_EQ(sent.exit_code, 0) << describe(sent);
  auto got = run(alice, {"--json", "recv"});
  ASSERT_EQ(got.exit_code, 0) << describe(got);
  ASSERT_EQ(got.lines().size(), 1u) << got.out;
  EXPECT_EQ(got.lines()[0].at("text"), "hello from the link");

  // And alice adds bob from his link.
  auto added = run(alice, {"contacts", "add", invite_link(bob)});
  EXPECT_EQ(added.exit_code, 0) << describe(added);
  EXPECT_EQ(contact_names(alice), std::set<std::string>{"bob"});
}

TEST_F(SottoCliContactsTest, ALinkWithOtherPinsOrForAnotherServerIsRefusedAndAddsNobody) {
  Person alice = person("dan", true), carol = person("erin", true);
  ASSERT_EQ(init(alice).exit_code, 0);
  ASSERT_EQ(init(carol).exit_code, 0);
  const std::string link = invite_link(alice);

  // Another VRF key for the same server: one of the two was given false pins.
  std::string forged = link;
  forged[forged.size() - 3] = forged[forged.size() - 3] == 'A' ? 'B' : 'A';
  auto refused = run(carol, {"--json", "contacts", "add", forged});
  EXPECT_EQ(refused.exit_code, 10) << describe(refused);
  EXPECT_NE(refused.err.find("another certificate or key directory"), std::string::npos)
      << refused.err;

  std::string other_port = std::regex_replace(link, std::regex(":[0-9]+/"), ":1/");
  auto elsewhere = run(carol, {"contacts", "add", other_port});
  EXPECT_EQ(elsewhere.exit_code, 2) << describe(elsewhere);

  auto garbled = run(carol, {"contacts", "add", link.substr(0, link.size() - 5)});
  EXPECT_EQ(garbled.exit_code, 2) << describe(garbled);
  EXPECT_TRUE(contact_names(carol).empty());
}

TEST_F(SottoCliContactsTest, AnAddressBookAddsThePeopleItsCardsNameAndNobodyElse) {
  Person alice = person("fay", true), bob = person("gus", false), carol = person("hal", true);
  ASSERT_EQ(init(alice).exit_code, 0);
  ASSERT_EQ(init(bob).exit_code, 0);
  ASSERT_EQ(init(carol).exit_code, 0);
  const fs::path book = alice.work / "book.vcf";
  std::ofstream(book) << "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Bob Builder\r\n"
                         "EMAIL:bob@example.org\r\nIMPP:sotto:Gus\r\nEND:VCARD\r\n"
                         "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Crane;Carol;;;\r\n"
                         "URL:" + invite_link(carol) + "\r\nEND:VCARD\r\n"
                         "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Erin Email\r\n"
                         "EMAIL:erin@example.org\r\nTEL:+1 555 0100\r\nEND:VCARD\r\n"
                         "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Zed\r\nX-SOTTO:nosuchuser\r\n"
                         "END:VCARD\r\n";

  auto dry = run(alice, {"contacts", "import", book.string(), "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << describe(dry);
  EXPECT_NE(dry.out.find("Bob Builder: gus"), std::string::npos) << dry.out;
  EXPECT_TRUE(contact_names(alice).empty());

  auto imported = run(alice, {"contacts", "import", book.string()});
  ASSERT_EQ(imported.exit_code, 0) << describe(imported);
  EXPECT_NE(imported.out.find("Bob Builder: gus (1 device, verified)"), std::string::npos)
      << imported.out;
  EXPECT_NE(imported.out.find("Carol Crane: hal (1 device, verified)"), std::string::npos);
  EXPECT_NE(imported.out.find("Erin Email: no Sotto account in the card"), std::string::npos);
  EXPECT_NE(imported.out.find("Zed: nosuchuser (no such account)"), std::string::npos);
  EXPECT_NE(imported.out.find("4 cards, 2 on Sotto"), std::string::npos);

  auto list = run(alice, {"--json", "contacts", "list"});
  ASSERT_EQ(list.exit_code, 0) << describe(list);
  std::map<std::string, std::string> names;
  for (const auto& line : list.lines()) {
    names[line.at("username").get<std::string>()] = line.value("name", "");
  }
  EXPECT_EQ(names, (std::map<std::string, std::string>{{"gus", "Bob Builder"},
                                                       {"hal", "Carol Crane"}}));
  // The address book itself went nowhere: profile.json keeps names, not addresses.
  const std::string settings = slurp(fs::path(alice.env.at("SOTTO_PROFILE")) / "profile.json");
  EXPECT_EQ(settings.find("erin"), std::string::npos);
  EXPECT_EQ(settings.find("bob@example.org"), std::string::npos);

  // A file that is not an address book changes nothing.
  std::ofstream(alice.work / "bad.vcf") << "BEGIN:VCARD\nFN:Half a card\n";
  auto bad = run(alice, {"contacts", "import", (alice.work / "bad.vcf").string()});
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_NE(bad.err.find("no END:VCARD"), std::string::npos) << bad.err;
  EXPECT_EQ(contact_names(alice), (std::set<std::string>{"gus", "hal"}));
}

}  // namespace
}  // namespace sotto::cli::testing
