#include "config.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

namespace sotto::server {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<std::optional<Config>> load(std::vector<const char*> args,
                                   std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "sottod");
  std::ostringstream out;
  return load_config(static_cast<int>(args.size()), args.data(), env_of(std::move(env)), out);
}

TEST(ListenAddress, ParsesHostPortAndBracketedV6) {
  auto a = parse_listen_address("127.0.0.1:8443");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 8443);
  auto b = parse_listen_address("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  EXPECT_EQ(b->second, 0);
  for (const char* bad :
       {"", "8443", "host:", ":8443", "host:65536", "host:-1", "::1:80", "[::1]8443", "host:80x"}) {
    EXPECT_FALSE(parse_listen_address(bad).ok()) << bad;
  }
}

TEST(Config, DefaultsAreDocumented) {
  auto c = load({});
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_TRUE(c->has_value());
  const Config& config = **c;
  EXPECT_EQ(config.limits.max_message_bytes, 1024u * 1024u);
  EXPECT_EQ(config.limits.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(config.threads, 1u);
  EXPECT_EQ(config.listen_port, 8443);
}

TEST(Config, TomlThenEnvironmentThenFlags) {
  Config config;
  auto r = apply_toml(config, R"(
listen = "0.0.0.0:9000"
data_dir = "/srv/sotto"
threads = 4
[limits]
max_message_bytes = 2048
idle_timeout_seconds = 30
[tls]
cert = "c.pem"
key = "k.pem"
)",
                      "test.toml");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(config.listen_host, "0.0.0.0");
  EXPECT_EQ(config.listen_port, 9000);
  EXPECT_EQ(config.data_dir, "/srv/sotto");
  EXPECT_EQ(config.threads, 4u);
  EXPECT_EQ(config.limits.max_message_bytes, 2048u);
  EXPECT_EQ(config.limits.idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(config.tls_cert, "c.pem");

  // The environment overrides nothing that a flag sets.
  auto c = load({"--listen", "127.0.0.1:1"},
                {{"SOTTOD_LISTEN", "127.0.0.1:2"}, {"SOTTOD_DATA_DIR", "/from/env"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ((*c)->listen_port, 1);
  EXPECT_EQ((*c)->data_dir, "/from/env");
}

TEST(Config, RejectsWhatItDoesNotUnderstand) {
  Config config;
  EXPECT_FALSE(apply_toml(config, "listne = \"x:1\"", "t").ok());  // unknown key
  EXPECT_FALSE(apply_toml(config, "[limits]\nmax_mesage_bytes = 1", "t").ok());
  EXPECT_FALSE(apply_toml(config, "threads = 0", "t").ok());
  EXPECT_FALSE(apply_toml(config, "threads = \"many\"", "t").ok());
  EXPECT_FALSE(apply_toml(config, "threads = \"2\"", "t").ok());  // a string, not a number
  EXPECT_FALSE(apply_toml(config, "listen = 8443", "t").ok());
  EXPECT_FALSE(apply_toml(config, "[limits]\nmax_connections = 1.5", "t").ok());
  EXPECT_FALSE(apply_toml(config, "[limits]\nidle_timeout_seconds = -1", "t").ok());
  EXPECT_FALSE(apply_toml(config, "listen = ", "t").ok());  // not TOML
  EXPECT_FALSE(apply_toml(config, "log_level = \"loud\"", "t").ok());
  EXPECT_FALSE(load({"--listen", "nowhere"}).ok());
  EXPECT_FALSE(load({"--no-such-flag"}).ok());
  EXPECT_FALSE(load({"--tls-cert", "only-the-cert.pem"}).ok());
  EXPECT_FALSE(load({}, {{"SOTTOD_THREADS", "0"}}).ok());
  EXPECT_FALSE(load({"--config", "/nonexistent/sottod.toml"}).ok());
}

TEST(Config, ServiceSettingsFromEverySource) {
  Config config;
  auto r = apply_toml(config, R"(
[accounts]
open_registration = false
session_ttl_seconds = 3600
[delivery]
message_ttl_seconds = 600
max_queue_messages = 50
max_queue_bytes = 4096
[files]
max_file_bytes = 1000
quota_bytes = 0
ttl_seconds = 120
[smtp]
host = "mail.example.org"
port = 465
from = "sotto@example.org"
username = "sotto"
password = "secret"
starttls = false
[push]
vapid_subject = "mailto:ops@example.org"
max_per_device_per_minute = 2
allow_http_endpoints = true
[rate_limits]
login_per_minute = 3
login_burst = 4
registration_per_minute = 5
registration_burst = 6
sends_per_minute = 7
sends_burst = 8
uploads_per_minute = 9
uploads_burst = 10
login_username_per_minute = 11
login_username_burst = 12
)",
                      "test.toml");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_FALSE(config.accounts.open_registration);
  EXPECT_EQ(config.accounts.session_ttl, std::chrono::seconds(3600));
  EXPECT_EQ(config.delivery.message_ttl, std::chrono::seconds(600));
  EXPECT_EQ(config.delivery.max_queue_messages, 50u);
  EXPECT_EQ(config.delivery.max_queue_bytes, 4096u);
  EXPECT_EQ(config.files.max_file_bytes, 1000u);
  EXPECT_EQ(config.files.quota_bytes, 0u);
  EXPECT_EQ(config.files.ttl, std::chrono::seconds(120));
  EXPECT_EQ(config.smtp.host, "mail.example.org");
  EXPECT_EQ(config.smtp.port, 465);
  EXPECT_EQ(config.smtp.from, "sotto@example.org");
  EXPECT_EQ(config.smtp.username, "sotto");
  EXPECT_EQ(config.smtp.password, "secret");
  EXPECT_FALSE(config.smtp.starttls);
  EXPECT_EQ(config.push.vapid_subject, "mailto:ops@example.org");
  EXPECT_EQ(config.push.max_per_device_per_minute, 2u);
  EXPECT_TRUE(config.push.allow_http_endpoints);
  EXPECT_EQ(config.rate_limits.login.per_minute, 3u);
  EXPECT_EQ(config.rate_limits.login.burst, 4u);
  EXPECT_EQ(config.rate_limits.registration.per_minute, 5u);
  EXPECT_EQ(config.rate_limits.registration.burst, 6u);
  EXPECT_EQ(config.rate_limits.sends.per_minute, 7u);
  EXPECT_EQ(config.rate_limits.sends.burst, 8u);
  EXPECT_EQ(config.rate_limits.uploads.per_minute, 9u);
  EXPECT_EQ(config.rate_limits.uploads.burst, 10u);
  EXPECT_EQ(config.rate_limits.login_username.per_minute, 11u);
  EXPECT_EQ(config.rate_limits.login_username.burst, 12u);

  auto c = load({"--open-registration", "false", "--session-ttl-seconds", "5"},
                {{"SOTTOD_SMTP_HOST", "smtp.example.org"},
                 {"SOTTOD_RATE_SENDS_BURST", "3"},
                 {"SOTTOD_RATE_LOGIN_USERNAME_BURST", "4"},
                 {"SOTTOD_OPEN_REGISTRATION", "true"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_FALSE((*c)->accounts.open_registration);
  EXPECT_EQ((*c)->accounts.session_ttl, std::chrono::seconds(5));
  EXPECT_EQ((*c)->smtp.host, "smtp.example.org");
  EXPECT_EQ((*c)->rate_limits.sends.burst, 3u);
  EXPECT_EQ((*c)->rate_limits.login_username.burst, 4u);
}

TEST(Config, ServiceSettingsAreChecked) {
  Config config;
  EXPECT_FALSE(apply_toml(config, "[accounts]\nopen_registration = \"false\"", "t").ok());
  EXPECT_FALSE(apply_toml(config, "[accounts]\nopen_registration = 0", "t").ok());
  EXPECT_FALSE(apply_toml(config, "[accounts]\nsession_ttl_seconds = 0", "t").ok());
  EXPECT_FALSE(apply_toml(config, "[smtp]\nport = 70000", "t").ok());
  EXPECT_FALSE(apply_toml(config, "[smtp]\nhots = \"x\"", "t").ok());
  EXPECT_FALSE(apply_toml(config, "[rate_limits]\nlogin_burst = 0", "t").ok());
  EXPECT_FALSE(load({"--open-registration", "maybe"}).ok());
  EXPECT_FALSE(load({}, {{"SOTTOD_MAX_QUEUE_BYTES", "lots"}}).ok());
}

TEST(Config, KtEpochInterval) {
  auto defaults = load({});
  ASSERT_TRUE(defaults.ok()) << defaults.error().message();
  EXPECT_EQ((*defaults)->kt.epoch_interval, std::chrono::seconds(3600));
  Config config;
  ASSERT_TRUE(apply_toml(config, "[kt]\nepoch_interval = 600", "t").ok());
  EXPECT_EQ(config.kt.epoch_interval, std::chrono::seconds(600));
  auto c = load({"--kt-epoch-interval", "1"}, {{"SOTTOD_KT_EPOCH_INTERVAL", "60"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ((*c)->kt.epoch_interval, std::chrono::seconds(1));
  auto env = load({}, {{"SOTTOD_KT_EPOCH_INTERVAL", "60"}});
  ASSERT_TRUE(env.ok()) << env.error().message();
  EXPECT_EQ((*env)->kt.epoch_interval, std::chrono::seconds(60));

  auto zero = load({"--kt-epoch-interval", "0"});
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message(),
            "--kt-epoch-interval: expected a whole number from 1 to 31622400, got \"0\"");
  EXPECT_FALSE(load({"--kt-epoch-interval", "1h"}).ok());
  EXPECT_FALSE(load({}, {{"SOTTOD_KT_EPOCH_INTERVAL", "-5"}}).ok());
  EXPECT_FALSE(apply_toml(config, "[kt]\nepoch_interval = 0", "t").ok());
  EXPECT_FALSE(apply_toml(config, "[kt]\nepoch_interval = \"3600\"", "t").ok());
  EXPECT_FALSE(apply_toml(config, "[kt]\nepoch_interval = 1.5", "t").ok());
  EXPECT_FALSE(apply_toml(config, "[kt]\nepoch_intervall = 60", "t").ok());
}

TEST(Config, WebRoot) {
  auto defaults = load({});
  ASSERT_TRUE(defaults.ok()) << defaults.error().message();
  EXPECT_EQ((*defaults)->web.root, "");  // no web client
  Config config;
  ASSERT_TRUE(apply_toml(config, "[web]\nroot = \"/srv/sotto/web\"", "t").ok());
  EXPECT_EQ(config.web.root, "/srv/sotto/web");
  auto env = load({}, {{"SOTTOD_WEB_ROOT", "/from/env"}});
  ASSERT_TRUE(env.ok()) << env.error().message();
  EXPECT_EQ((*env)->web.root, "/from/env");
  auto flag = load({"--web-root", "/from/flag"}, {{"SOTTOD_WEB_ROOT", "/from/env"}});
  ASSERT_TRUE(flag.ok()) << flag.error().message();
  EXPECT_EQ((*flag)->web.root, "/from/flag");
  EXPECT_FALSE(apply_toml(config, "[web]\nroot = 1", "t").ok());
  EXPECT_FALSE(apply_toml(config, "[web]\nrooot = \"/srv\"", "t").ok());
  EXPECT_FALSE(apply_toml(config, "web = \"/srv\"", "t").ok());

  std::ostringstream help;
  std::vector<const char*> args = {"sottod", "--help"};
  ASSERT_TRUE(load_config(2, args.data(), env_of({}), help).ok());
  EXPECT_NE(help.str().find("--web-root"), std::string::npos) << help.str();
  EXPECT_NE(help.str().find("SOTTOD_WEB_ROOT"), std::string::npos) << help.str();
}

TEST(Config, HelpYieldsNoConfig) {
  auto c = load({"--help"});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_value());
}

}  // namespace
}  // namespace sotto::server
