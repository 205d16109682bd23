// Finding the mail servers from an address: the autoconfig file's servers as Sotto may use
// them (TLS and a password only), placeholders filled in, the guesses without a file, and
// every file that is not one refused.
#include "sotto/mail/autoconfig.h"

#include <gtest/gtest.h>

namespace sotto::mail {
namespace {

constexpr const char* kAddress = "jo.doe+chat@example.org";

// A provider's file as they publish them: one IMAP over TLS, one over STARTTLS, POP3 and a
// plain-text IMAP (left out), and SMTP over both.
constexpr const char* kConfig = R"(<?xml version="1.0" encoding="UTF-8"?>
<!-- served at https://autoconfig.example.org/mail/config-v1.1.xml -->
<clientConfig version="1.1">
  <emailProvider id="example.org">
    <domain>example.org</domain>
    <displayName>Example Mail</displayName>
    <incomingServer type="pop3">
      <hostname>pop.example.org</hostname>
      <port>995</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>plain.example.org</hostname>
      <port>143</port>
      <socketType>plain</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>  IMAP.%EMAILDOMAIN%  </hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>OAuth2</authentication>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap2.example.org</hostname>
      <port>143</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>oauth.example.org</hostname>
      <port>465</port>
      <socketType>SSL</socketType>
      <authentication>OAuth2</authentication>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.org</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
  <documentation url="https://example.org/help"><descr lang="en">Help</descr></documentation>
</clientConfig>
)";

TEST(Autoconfig, TakesTheServersReachedOverTlsWithAPasswordInTheFilesOrder) {
  auto c = parse_autoconfig(kConfig, kAddress);
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->imap.size(), 2u);
  EXPECT_EQ(c->imap[0], (ServerCandidate{"imap.example.org", 993, false, "jo.doe+chat"}));
  EXPECT_EQ(c->imap[1], (ServerCandidate{"imap2.example.org", 143, true, kAddress}));
  ASSERT_EQ(c->smtp.size(), 1u);
  EXPECT_EQ(c->smtp[0], (ServerCandidate{"smtp.example.org", 587, true, kAddress}));
}

TEST(Autoconfig, AFileWithoutAUsableServerOfEachKindFindsNothing) {
  const std::string only_imap = R"(<clientConfig version="1.1"><emailProvider id="x">
    <incomingServer type="imap"><hostname>imap.example.org</hostname><port>993</port>
    <socketType>SSL</socketType></incomingServer>
    <outgoingServer type="smtp"><hostname>smtp.example.org</hostname><port>25</port>
    <socketType>plain</socketType></outgoingServer></emailProvider></clientConfig>)";
  auto c = parse_autoconfig(only_imap, kAddress);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Errc::not_found);
  // Servers outside an emailProvider are not the provider's.
  auto outside = parse_autoconfig(
      R"(<clientConfig><incomingServer type="imap"><hostname>a.example</hostname>)"
      R"(<port>993</port><socketType>SSL</socketType></incomingServer></clientConfig>)",
      kAddress);
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().code(), Errc::not_found);
}

TEST(Autoconfig, WhatIsNotAClientConfigIsRefused) {
  const std::string server = R"(<emailProvider id="x"><incomingServer type="imap">
    <hostname>%s</hostname><port>%p</port><socketType>SSL</socketType></incomingServer>
    <outgoingServer type="smtp"><hostname>smtp.example.org</hostname><port>465</port>
    <socketType>SSL</socketType></outgoingServer></emailProvider>)";
  auto with = [&](const std::string& host, const std::string& port) {
    std::string s = server;
    s.replace(s.find("%s"), 2, host);
    s.replace(s.find("%p"), 2, port);
    return "<clientConfig>" + s + "</clientConfig>";
  };
  ASSERT_TRUE(parse_autoconfig(with("imap.example.org", "993"), kAddress).ok());
  const std::vector<std::pair<std::string, Errc>> bad = {
      {"", Errc::invalid_value},
      {"<html><body>Not found</body></html>", Errc::invalid_value},
      {"<clientConfig><emailProvider>", Errc::invalid_value},
      {"<clientConfig></clientConfig><clientConfig/>", Errc::invalid_value},
      {"<clientConfig>&unknown;</clientConfig>", Errc::invalid_value},
      {with("imap.example.org/evil", "993"), Errc::invalid_value},
      {with("-imap.example.org", "993"), Errc::invalid_value},
      {with("imap..example.org", "993"), Errc::invalid_value},
      {with("imap.example.org", "0"), Errc::invalid_value},
      {with("imap.example.org", "65536"), Errc::invalid_value},
      {with("imap.example.org", "99x"), Errc::invalid_value},
      {with("imap.example.org", ""), Errc::invalid_value},
      {std::string(kMaxAutoconfigBytes + 1, ' '), Errc::length_limit},
  };
  for (const auto& [xml, errc] : bad) {
    auto c = parse_autoconfig(xml, kAddress);
    ASSERT_FALSE(c.ok()) << xml;
    EXPECT_EQ(c.error().code(), errc) << xml << ": " << c.error().message();
  }
  // Nested without end: refused, not followed down.
  std::string deep = "<clientConfig>";
  for (int i = 0; i < 10000; ++i) deep += "<a>";
  EXPECT_FALSE(parse_autoconfig(deep, kAddress).ok());
}

TEST(Autoconfig, NoMoreThanEightServersOfAKindAndNoRepeats) {
  std::string xml = "<clientConfig><emailProvider id=\"x\">";
  for (int i = 0; i < 20; ++i) {
    xml += "<incomingServer type=\"imap\"><hostname>imap" + std::to_string(i % 10) +
           ".example.org</hostname><port>993</port><socketType>SSL</socketType>"
           "</incomingServer>";
  }
  xml +=
      "<outgoingServer type=\"smtp\"><hostname>smtp.example.org</hostname><port>465</port>"
      "<socketType>SSL</socketType></outgoingServer></emailProvider></clientConfig>";
  auto c = parse_autoconfig(xml, kAddress);
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->imap.size(), kMaxAutoconfigServers);
  EXPECT_EQ(c->imap[7].host, "imap7.example.org");
}

TEST(Autoconfig, TheFileIsAskedOfTheDomainOverHttpsWithTheAddressEncoded) {
  auto urls = autoconfig_urls(kAddress);
  ASSERT_EQ(urls.size(), 2u);
  EXPECT_EQ(urls[0].host, "autoconfig.example.org");
  EXPECT_EQ(urls[0].path, "/mail/config-v1.1.xml?emailaddress=jo.doe%2Bchat%40example.org");
  EXPECT_EQ(urls[1].host, "example.org");
  EXPECT_EQ(
      urls[1].path,
      "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=jo.doe%2Bchat%40example.org");
}

TEST(Autoconfig, WithoutAFileTheUsualNamesAreGuessedAsDeltaChatDoes) {
  auto c = guess_servers(kAddress);
  ASSERT_EQ(c.imap.size(), 6u);
  EXPECT_EQ(c.imap[0], (ServerCandidate{"imap.example.org", 993, false, kAddress}));
  EXPECT_EQ(c.imap[1], (ServerCandidate{"imap.example.org", 143, true, kAddress}));
  EXPECT_EQ(c.imap[2].host, "mail.example.org");
  EXPECT_EQ(c.imap[5], (ServerCandidate{"example.org", 143, true, kAddress}));
  ASSERT_EQ(c.smtp.size(), 6u);
  EXPECT_EQ(c.smtp[0], (ServerCandidate{"smtp.example.org", 465, false, kAddress}));
  EXPECT_EQ(c.smtp[1], (ServerCandidate{"smtp.example.org", 587, true, kAddress}));
  EXPECT_EQ(c.smtp[3], (ServerCandidate{"mail.example.org", 587, true, kAddress}));
}

TEST(Autoconfig, HostNames) {
  for (const char* ok : {"a", "mail.example.org", "xn--bcher-kva.example", "127.0.0.1", "a-b.c"})
    EXPECT_TRUE(is_host_name(ok)) << ok;
  for (const char* bad :
       {"", ".", "a.", ".a", "a..b", "-a", "a-", "a_b", "a b", "a/b", "a:1", "[::1]", "ä.example"})
    EXPECT_FALSE(is_host_name(bad)) << bad;
  EXPECT_FALSE(is_host_name(std::string(64, 'a') + ".example"));
  EXPECT_TRUE(is_host_name(std::string(63, 'a') + ".example"));
}

}  // namespace
}  // namespace sotto::mail
