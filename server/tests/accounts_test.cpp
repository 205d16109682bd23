// Accounts, sessions, devices and the key directory of a real sottod, over sotto.v1.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "protocol_client.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sotto/kt/verifier.h"
#include "sotto/proto/directory_value.h"
#include "sottod_process.h"

namespace sotto {
// Errors in failure messages by name.
inline void PrintTo(Errc code, std::ostream* os) {
  *os << errc_name(code);
}
}  // namespace sotto

namespace sotto::testing {
namespace {

using namespace std::chrono_literals;
using crypto::Ed25519SigningKey;

constexpr const char* kPassword = "correct horse battery";

proto::DeviceKey device_key(const Ed25519SigningKey& key, std::string name = "laptop") {
  return proto::DeviceKey{key.public_key(), std::move(name)};
}

proto::RegisterAccount registration(const std::string& username, const Ed25519SigningKey& key,
                                    std::string invite = "") {
  proto::RegisterAccount r;
  r.username = username;
  r.email = username + "@example.org";
  r.password = kPassword;
  r.invite_code = std::move(invite);
  r.device = device_key(key);
  return r;
}

std::string tag_of(const Bytes& account_id) {
  return to_hex(crypto::sha256(account_id)).substr(0, 8);
}

// What a lookup proves about `username`, verified against the server's pinned keys.
Result<kt::VerifiedValue> verified_lookup(ProtocolClient& client, kt::Verifier& verifier,
                                          const kt::DirectoryKeys& keys,
                                          const std::string& username) {
  auto r = client.request(proto::KtLookup{username, verifier.known_log_size()});
  auto* proof = as<proto::KtProofResponse>(r);
  if (!proof) return Error(error_code(r), "kt_lookup failed");
  SOTTO_TRY_ASSIGN(auto lookup, tls::decode<kt::LookupProof>(proof->proof));
  Bytes label(username.begin(), username.end());
  return verifier.verify_lookup(label, lookup, keys);
}

// One sottod for the tests that need no special flags.
class AccountsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    // Every test connects from 127.0.0.1: per-IP limits would trip across tests.
    server_ = new SottodProcess(SottodProcess::args_for(
        dir_->path() / "data",
        {"--rate-registration-burst", "1000", "--rate-registration-per-minute", "1000",
         "--rate-login-burst", "1000", "--rate-login-per-minute", "1000"}));
    ASSERT_TRUE(server_->wait_listening()) << server_->line();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  static uint16_t port() { return server_->port(); }

  // Registers `username` with a fresh device key on `client`.
  proto::SessionResponse register_on(ProtocolClient& client, const std::string& username,
                                     const Ed25519SigningKey& key) {
    auto r = client.request(registration(username, key));
    auto* s = as<proto::SessionResponse>(r);
    EXPECT_NE(s, nullptr) << "register " << username << ": " << static_cast<int>(error_code(r));
    return s ? *s : proto::SessionResponse{};
  }

  static TempDir* dir_;
  static SottodProcess* server_;
};
TempDir* AccountsTest::dir_ = nullptr;
SottodProcess* AccountsTest::server_ = nullptr;

TEST_F(AccountsTest, RegisterLoginAndTheRulesOfNames) {
  ProtocolClient client(port());
  auto key = Ed25519SigningKey::generate();
  auto session = register_on(client, "Alice", key);
  EXPECT_EQ(session.account_id.size(), 16u);
  EXPECT_EQ(session.device_id.size(), 16u);
  EXPECT_EQ(session.token.size(), 32u);
  auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
  EXPECT_GT(session.expires_at, now + 29 * 24 * 3600);
  auto profile = client.request(proto::GetProfile{});
  ASSERT_NE(as<proto::ProfileResponse>(profile), nullptr);
  EXPECT_EQ(as<proto::ProfileResponse>(profile)->username, "alice");
  EXPECT_EQ(as<proto::ProfileResponse>(profile)->email_verified, 0);

  // Taken, whatever the case; taken device key.
  ProtocolClient other(port());
  auto key2 = Ed25519SigningKey::generate();
  EXPECT_EQ(error_code(other.request(registration("ALICE", key2))), Errc::already_exists);
  EXPECT_EQ(error_code(other.request(registration("alice2", key))), Errc::already_exists);
  for (const char* bad :
       {"ab", "1alice", "al ice", "al\xc3\xa9", "_alice", "a23456789012345678901234567890123"}) {
    EXPECT_EQ(error_code(other.request(registration(bad, key2))), Errc::invalid_argument) << bad;
  }
  auto short_password = registration("bob", key2);
  short_password.password = "short";
  EXPECT_EQ(error_code(other.request(short_password)), Errc::invalid_argument);
  auto bad_email = registration("bob", key2);
  bad_email.email = "bob-at-example.org";
  EXPECT_EQ(error_code(other.request(bad_email)), Errc::invalid_argument);
  auto bad_key = registration("bob", key2);
  bad_key.device.signature_key.resize(31);
  EXPECT_EQ(error_code(other.request(bad_key)), Errc::invalid_argument);

  // Login registers a new device.
  EXPECT_EQ(error_code(other.request(proto::Login{"alice", "wrong password!", device_key(key2)})),
            Errc::unauthenticated);
  EXPECT_EQ(error_code(other.request(proto::Login{"nobody", kPassword, device_key(key2)})),
            Errc::unauthenticated);
  auto login = other.request(proto::Login{"ALICE", kPassword, device_key(key2, "phone")});
  ASSERT_NE(as<proto::SessionResponse>(login), nullptr) << static_cast<int>(error_code(login));
  EXPECT_EQ(as<proto::SessionResponse>(login)->account_id, session.account_id);
  EXPECT_NE(as<proto::SessionResponse>(login)->device_id, session.device_id);
  auto devices = other.request(proto::ListDevices{});
  ASSERT_NE(as<proto::DevicesResponse>(devices), nullptr);
  EXPECT_EQ(as<proto::DevicesResponse>(devices)->devices.size(), 2u);
}

TEST_F(AccountsTest, ProtectedRequestsNeedASession) {
  ProtocolClient client(port());
  auto key = Ed25519SigningKey::generate();
  EXPECT_EQ(error_code(client.request(proto::GetProfile{})), Errc::unauthenticated);
  EXPECT_EQ(error_code(client.request(proto::ListDevices{})), Errc::unauthenticated);
  EXPECT_EQ(error_code(client.request(proto::AddDevice{device_key(key)})), Errc::unauthenticated);
  EXPECT_EQ(error_code(client.request(proto::Fetch{0, 10})), Errc::unauthenticated);
  EXPECT_EQ(error_code(client.request(proto::Logout{})), Errc::unauthenticated);
  EXPECT_EQ(error_code(client.request(proto::UpdateProfile{})), Errc::unauthenticated);
  // Open to anyone.
  EXPECT_NE(as<proto::ChallengeResponse>(client.request(proto::AuthChallenge{})), nullptr);
  EXPECT_EQ(error_code(client.request(proto::RequestRecovery{"nobody"})), Errc::ok);
}

TEST_F(AccountsTest, DeviceAuthenticationBySignature) {
  auto key = Ed25519SigningKey::generate();
  proto::SessionResponse session;
  {
    ProtocolClient client(port());
    session = register_on(client, "carol", key);
  }
  ProtocolClient client(port());
  auto other_key = Ed25519SigningKey::generate();
  auto challenge = [&client]() {
    auto r = client.request(proto::AuthChallenge{});
    EXPECT_NE(as<proto::ChallengeResponse>(r), nullptr);
    return as<proto::ChallengeResponse>(r) ? as<proto::ChallengeResponse>(r)->challenge : Bytes{};
  };
  auto sign = [&](const Ed25519SigningKey& k, const Bytes& c) {
    return k.sign(proto::device_auth_message(c, session.device_id));
  };
  // No challenge asked for.
  Bytes unasked(32, 7);
  EXPECT_EQ(
      error_code(client.request(proto::AuthDevice{session.device_id, unasked, sign(key, unasked)})),
      Errc::unauthenticated);
  // A wrong signature uses the challenge up.
  Bytes c1 = challenge();
  EXPECT_EQ(
      error_code(client.request(proto::AuthDevice{session.device_id, c1, sign(other_key, c1)})),
      Errc::unauthenticated);
  EXPECT_EQ(error_code(client.request(proto::AuthDevice{session.device_id, c1, sign(key, c1)})),
            Errc::replayed);
  EXPECT_EQ(error_code(client.request(proto::GetProfile{})), Errc::unauthenticated);
  // Unknown device.
  Bytes c2 = challenge();
  EXPECT_EQ(error_code(client.request(proto::AuthDevice{Bytes(16, 1), c2, sign(key, c2)})),
            Errc::unauthenticated);
  // The right key.
  Bytes c3 = challenge();
  auto ok = client.request(proto::AuthDevice{session.device_id, c3, sign(key, c3)});
  ASSERT_NE(as<proto::SessionResponse>(ok), nullptr) << static_cast<int>(error_code(ok));
  EXPECT_EQ(as<proto::SessionResponse>(ok)->account_id, session.account_id);
  EXPECT_EQ(error_code(client.request(proto::GetProfile{})), Errc::ok);
  EXPECT_EQ(error_code(client.request(proto::AuthDevice{session.device_id, c3, sign(key, c3)})),
            Errc::replayed);
}

TEST_F(AccountsTest, SessionTokensResumeUntilLogout) {
  auto key = Ed25519SigningKey::generate();
  proto::SessionResponse session;
  {
    ProtocolClient client(port());
    session = register_on(client, "dave", key);
  }
  {
    ProtocolClient client(port());
    EXPECT_EQ(error_code(client.request(proto::AuthSession{Bytes(32, 0)})), Errc::unauthenticated);
    EXPECT_EQ(error_code(client.request(proto::AuthSession{Bytes(5, 0)})), Errc::unauthenticated);
    auto r = client.request(proto::AuthSession{session.token});
    ASSERT_NE(as<proto::SessionResponse>(r), nullptr);
    EXPECT_EQ(as<proto::SessionResponse>(r)->device_id, session.device_id);
    EXPECT_EQ(error_code(client.request(proto::GetProfile{})), Errc::ok);
    EXPECT_EQ(error_code(client.request(proto::Logout{})), Errc::ok);
    EXPECT_EQ(error_code(client.request(proto::GetProfile{})), Errc::unauthenticated);
  }
  ProtocolClient client(port());
  EXPECT_EQ(error_code(client.request(proto::AuthSession{session.token})), Errc::unauthenticated);
}

TEST_F(AccountsTest, MalformedFramesGetTypedErrorsAndTheConnectionLives) {
  ProtocolClient client(port());
  auto expect_error_for_id0 = [&client](BytesView bytes, Errc code) {
    ASSERT_TRUE(client.send_raw(bytes));
    auto f = client.read_frame(10s);
    ASSERT_TRUE(f.ok()) << f.error().message();
    auto* r = std::get_if<proto::Response>(&f->content);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->request_id, 0u);
    EXPECT_EQ(error_code(r->body), code);
  };
  // Another version: refused before the body is read.
  Bytes v2 = proto::encode(proto::ClientFrame{2, 1, proto::KtHead{}});
  expect_error_for_id0(v2, Errc::unsupported_version);
  // Truncated.
  Bytes good = proto::encode(proto::ClientFrame{proto::kVersion, 1, proto::RequestRecovery{"x"}});
  expect_error_for_id0(BytesView(good).first(good.size() - 1), Errc::truncated);
  // Trailing bytes.
  Bytes trailing = good;
  trailing.push_back(0);
  expect_error_for_id0(trailing, Errc::trailing_bytes);
  // An unknown request type.
  Bytes unknown = {0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0x7f};
  expect_error_for_id0(unknown, Errc::invalid_value);
  // Oversized inside: a payload declaring 1 GiB - 1 in a small frame.
  Bytes huge = {0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 50, 0xbf, 0xff, 0xff, 0xff};
  ASSERT_TRUE(client.send_raw(huge));
  auto f = client.read_frame(10s);
  ASSERT_TRUE(f.ok());
  auto* r = std::get_if<proto::Response>(&f->content);
  ASSERT_NE(r, nullptr);
  EXPECT_NE(error_code(r->body), Errc::ok);
  // A string that is not UTF-8.
  Bytes latin1 = proto::encode(
      proto::ClientFrame{proto::kVersion, 1, proto::RequestRecovery{std::string("\xe9t\xe9")}});
  expect_error_for_id0(latin1, Errc::invalid_value);
  // Still served.
  EXPECT_EQ(error_code(client.request(proto::RequestRecovery{"nobody"})), Errc::ok);
}

TEST_F(AccountsTest, RequestIdsMustIncrease) {
  ProtocolClient client(port());
  EXPECT_EQ(error_code(client.request_with_id(5, proto::AuthChallenge{})), Errc::ok);
  EXPECT_EQ(error_code(client.request_with_id(5, proto::AuthChallenge{})), Errc::replayed);
  EXPECT_EQ(error_code(client.request_with_id(3, proto::AuthChallenge{})), Errc::replayed);
  EXPECT_EQ(error_code(client.request_with_id(6, proto::AuthChallenge{})), Errc::ok);
}

TEST_F(AccountsTest, TenBadFramesCloseTheConnection) {
  ProtocolClient client(port());
  Bytes junk = {1, 2, 3};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.send_raw(junk));
  EXPECT_TRUE(client.wait_closed(10s));
  ProtocolClient again(port());
  EXPECT_EQ(error_code(again.request(proto::AuthChallenge{})), Errc::ok);
}

TEST_F(AccountsTest, ProfileRectificationAndEmailVerification) {
  ProtocolClient client(port());
  auto key = Ed25519SigningKey::generate();
  auto session = register_on(client, "erin", key);
  std::string prefix = "e-mail for account " + tag_of(session.account_id) + ": verification code ";
  std::string code = server_->wait_log(prefix);
  ASSERT_EQ(code.size(), 8u) << server_->log();
  EXPECT_EQ(server_->log().find("erin@example.org"), std::string::npos);  // no address logged
  EXPECT_EQ(error_code(client.request(proto::VerifyEmail{"WRONG123"})), Errc::unauthenticated);
  EXPECT_EQ(error_code(client.request(proto::VerifyEmail{code})), Errc::ok);
  auto p = client.request(proto::GetProfile{});
  ASSERT_NE(as<proto::ProfileResponse>(p), nullptr);
  EXPECT_EQ(as<proto::ProfileResponse>(p)->email_verified, 1);
  EXPECT_EQ(error_code(client.request(proto::VerifyEmail{code})), Errc::unauthenticated);  // used

  proto::UpdateProfile update;
  update.email = "Erin.New@Example.org";
  update.display_name = "Erin";
  update.phone = "+1 555 0100";
  auto updated = client.request(update);
  ASSERT_NE(as<proto::ProfileResponse>(updated), nullptr) << static_cast<int>(error_code(updated));
  const auto& u = *as<proto::ProfileResponse>(updated);
  EXPECT_EQ(u.email, "erin.new@example.org");
  EXPECT_EQ(u.email_verified, 0);
  EXPECT_EQ(u.display_name, std::optional<std::string>("Erin"));
  EXPECT_EQ(u.phone, std::optional<std::string>("+1 555 0100"));
  std::string code2 = server_->wait_log(prefix);
  ASSERT_EQ(code2.size(), 8u);
  EXPECT_EQ(error_code(client.request(proto::VerifyEmail{code2})), Errc::ok);

  proto::UpdateProfile clear;
  clear.phone = "";
  auto cleared = client.request(clear);
  ASSERT_NE(as<proto::ProfileResponse>(cleared), nullptr);
  EXPECT_FALSE(as<proto::ProfileResponse>(cleared)->phone.has_value());
  EXPECT_EQ(as<proto::ProfileResponse>(cleared)->email_verified, 1);
  proto::UpdateProfile bad;
  bad.phone = "call me";
  EXPECT_EQ(error_code(client.request(bad)), Errc::invalid_argument);
  proto::UpdateProfile bad_email;
  bad_email.email = "nope";
  EXPECT_EQ(error_code(client.request(bad_email)), Errc::invalid_argument);
}

TEST_F(AccountsTest, RecoveryResetsThePasswordAndEndsSessions) {
  auto key = Ed25519SigningKey::generate();
  ProtocolClient first(port());
  auto session = register_on(first, "frank", key);
  ProtocolClient client(port());
  // The same answer for an account that does not exist.
  EXPECT_EQ(error_code(client.request(proto::RequestRecovery{"nosuchuser"})), Errc::ok);
  EXPECT_EQ(error_code(client.request(proto::RequestRecovery{"frank"})), Errc::ok);
  std::string code =
      server_->wait_log("e-mail for account " + tag_of(session.account_id) + ": recovery code ");
  ASSERT_EQ(code.size(), 8u);
  const std::string new_password = "a much better password";
  EXPECT_EQ(error_code(client.request(proto::RecoverAccount{"frank", "AAAAAAAA", new_password})),
            Errc::unauthenticated);
  EXPECT_EQ(error_code(client.request(proto::RecoverAccount{"frank", code, "short"})),
            Errc::invalid_argument);
  EXPECT_EQ(error_code(client.request(proto::RecoverAccount{"frank", code, new_password})),
            Errc::ok);
  // The open connection hears that its session ended and is closed.
  auto event = first.next_event(10s);
  ASSERT_TRUE(event.has_value());
  EXPECT_TRUE(std::holds_alternative<proto::SessionEndedEvent>(event->event));
  EXPECT_TRUE(first.wait_closed(10s));
  ProtocolClient after(port());
  EXPECT_EQ(error_code(after.request(proto::AuthSession{session.token})), Errc::unauthenticated);
  auto key2 = Ed25519SigningKey::generate();
  EXPECT_EQ(error_code(after.request(proto::Login{"frank", kPassword, device_key(key2)})),
            Errc::unauthenticated);
  EXPECT_EQ(error_code(after.request(proto::Login{"frank", new_password, device_key(key2)})),
            Errc::ok);
  EXPECT_EQ(error_code(after.request(proto::ChangePassword{"wrong wrong wrong", kPassword})),
            Errc::unauthenticated);
  EXPECT_EQ(error_code(after.request(proto::ChangePassword{new_password, kPassword})), Errc::ok);
}

TEST_F(AccountsTest, DevicesAreAddedListedAndRevoked) {
  auto key1 = Ed25519SigningKey::generate();
  auto key2 = Ed25519SigningKey::generate();
  ProtocolClient one(port());
  auto s1 = register_on(one, "grace", key1);
  EXPECT_EQ(error_code(one.request(proto::AddDevice{device_key(key1)})), Errc::already_exists);
  auto bad = device_key(key2);
  bad.signature_key.push_back(0);
  EXPECT_EQ(error_code(one.request(proto::AddDevice{bad})), Errc::invalid_argument);
  auto added = one.request(proto::AddDevice{device_key(key2, "tablet")});
  ASSERT_NE(as<proto::DeviceAddedResponse>(added), nullptr);
  Bytes device2 = as<proto::DeviceAddedResponse>(added)->device_id;
  auto list = one.request(proto::ListDevices{});
  ASSERT_NE(as<proto::DevicesResponse>(list), nullptr);
  ASSERT_EQ(as<proto::DevicesResponse>(list)->devices.size(), 2u);
  EXPECT_EQ(as<proto::DevicesResponse>(list)->devices[1].name, "tablet");
  EXPECT_EQ(as<proto::DevicesResponse>(list)->devices[1].signature_key, key2.public_key());

  // The new device signs in by itself.
  ProtocolClient two(port());
  auto c = two.request(proto::AuthChallenge{});
  ASSERT_NE(as<proto::ChallengeResponse>(c), nullptr);
  Bytes challenge = as<proto::ChallengeResponse>(c)->challenge;
  auto s2 = two.request(proto::AuthDevice{
      device2, challenge, key2.sign(proto::device_auth_message(challenge, device2))});
  ASSERT_NE(as<proto::SessionResponse>(s2), nullptr);
  Bytes token2 = as<proto::SessionResponse>(s2)->token;

  EXPECT_EQ(error_code(one.request(proto::RevokeDevice{Bytes(16, 9)})), Errc::not_found);
  EXPECT_EQ(error_code(one.request(proto::RevokeDevice{device2})), Errc::ok);
  auto event = two.next_event(10s);
  ASSERT_TRUE(event.has_value());
  ASSERT_TRUE(std::holds_alternative<proto::SessionEndedEvent>(event->event));
  EXPECT_TRUE(two.wait_closed(10s));
  ProtocolClient three(port());
  EXPECT_EQ(error_code(three.request(proto::AuthSession{token2})), Errc::unauthenticated);
  // The last device stays.
  EXPECT_EQ(error_code(one.request(proto::RevokeDevice{s1.device_id})), Errc::forbidden);
  auto left = one.request(proto::ListDevices{});
  ASSERT_NE(as<proto::DevicesResponse>(left), nullptr);
  EXPECT_EQ(as<proto::DevicesResponse>(left)->devices.size(), 1u);
}

TEST_F(AccountsTest, KeyDirectoryProofsVerifyAgainstThePinnedKeys) {
  auto keys_hex = std::make_pair(server_->kt_signing_key(), server_->kt_vrf_key());
  auto signing = from_hex(keys_hex.first);
  auto vrf = from_hex(keys_hex.second);
  ASSERT_TRUE(signing.ok() && vrf.ok());
  kt::DirectoryKeys keys{*vrf, *signing};
  auto key1 = Ed25519SigningKey::generate();
  auto key2 = Ed25519SigningKey::generate();
  ProtocolClient client(port());
  auto session = register_on(client, "heidi", key1);
  kt::Verifier verifier;
  auto v1 = verified_lookup(client, verifier, keys, "heidi");
  ASSERT_TRUE(v1.ok()) << v1.error().to_string();
  auto value1 = tls::decode<proto::DirectoryValue>(v1->value);
  ASSERT_TRUE(value1.ok());
  ASSERT_EQ(value1->devices.size(), 1u);
  EXPECT_EQ(value1->devices[0].device_id, session.device_id);
  EXPECT_EQ(value1->devices[0].signature_key, key1.public_key());

  auto added = client.request(proto::AddDevice{device_key(key2)});
  ASSERT_NE(as<proto::DeviceAddedResponse>(added), nullptr);
  auto v2 = verified_lookup(client, verifier, keys, "heidi");
  ASSERT_TRUE(v2.ok()) << v2.error().to_string();
  EXPECT_GT(v2->epoch, v1->epoch);
  EXPECT_EQ(v2->version, v1->version + 1);
  auto value2 = tls::decode<proto::DirectoryValue>(v2->value);
  ASSERT_TRUE(value2.ok());
  ASSERT_EQ(value2->devices.size(), 2u);
  EXPECT_EQ(value2->devices[1].signature_key, key2.public_key());

  // Absence is proven too.
  auto none = verified_lookup(client, verifier, keys, "nobody-here");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), Errc::not_found);
  // Someone else's keys do not verify.
  kt::Verifier fresh;
  kt::DirectoryKeys wrong{*vrf, Ed25519SigningKey::generate().public_key()};
  EXPECT_FALSE(verified_lookup(client, fresh, wrong, "heidi").ok());

  // Head, audit, history and consistency decode.
  auto head = client.request(proto::KtHead{});
  ASSERT_NE(as<proto::KtHeadResponse>(head), nullptr);
  auto sth = tls::decode<kt::SignedTreeHead>(as<proto::KtHeadResponse>(head)->head);
  ASSERT_TRUE(sth.ok());
  auto audit = client.request(proto::KtAudit{sth->epoch});
  ASSERT_NE(as<proto::KtProofResponse>(audit), nullptr);
  EXPECT_TRUE(tls::decode<kt::EpochAudit>(as<proto::KtProofResponse>(audit)->proof).ok());
  auto history = client.request(proto::KtHistory{"heidi", 0});
  ASSERT_NE(as<proto::KtProofResponse>(history), nullptr);
  auto hp = tls::decode<kt::HistoryProof>(as<proto::KtProofResponse>(history)->proof);
  ASSERT_TRUE(hp.ok());
  kt::Verifier history_verifier;
  auto versions = history_verifier.verify_history(Bytes{'h', 'e', 'i', 'd', 'i'}, *hp, keys);
  ASSERT_TRUE(versions.ok()) << versions.error().to_string();
  EXPECT_EQ(versions->size(), 2u);
  auto consistency = client.request(proto::KtConsistency{1, sth->log_size});
  EXPECT_NE(as<proto::KtHashesResponse>(consistency), nullptr);
}

TEST(Accounts, InviteOnlyRegistration) {
  TempDir dir;
  auto data = dir.path() / "data";
  SottodProcess server(SottodProcess::args_for(data, {"--open-registration", "false"}));
  ASSERT_TRUE(server.wait_listening());
  auto invite =
      run_sottod({"admin", "invite", "create", "--uses", "1", "--data-dir", data.string()});
  ASSERT_EQ(invite.exit_code, 0) << invite.err;
  std::string code = invite.out.substr(0, invite.out.find('\n'));
  ASSERT_FALSE(code.empty());

  ProtocolClient client(server.port());
  auto key = Ed25519SigningKey::generate();
  EXPECT_EQ(error_code(client.request(registration("ivan", key))), Errc::forbidden);
  EXPECT_EQ(error_code(client.request(registration("ivan", key, "not-a-code"))), Errc::forbidden);
  EXPECT_EQ(error_code(client.request(registration("ivan", key, code))), Errc::ok);
  auto key2 = Ed25519SigningKey::generate();
  EXPECT_NE(error_code(client.request(registration("judy", key2, code))), Errc::ok);  // used up

  auto stats = run_sottod({"admin", "stats", "--data-dir", data.string()});
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_NE(stats.out.find("accounts 1\n"), std::string::npos) << stats.out;
  EXPECT_NE(stats.out.find("devices 1\n"), std::string::npos) << stats.out;
}

TEST(Accounts, SessionsExpire) {
  TempDir dir;
  SottodProcess server(
      SottodProcess::args_for(dir.path() / "data", {"--session-ttl-seconds", "1"}));
  ASSERT_TRUE(server.wait_listening());
  ProtocolClient client(server.port());
  auto key = Ed25519SigningKey::generate();
  auto r = client.request(registration("kate", key));
  ASSERT_NE(as<proto::SessionResponse>(r), nullptr);
  Bytes token = as<proto::SessionResponse>(r)->token;
  EXPECT_EQ(error_code(client.request(proto::GetProfile{})), Errc::ok);
  std::this_thread::sleep_for(2100ms);
  EXPECT_EQ(error_code(client.request(proto::GetProfile{})), Errc::expired);
  ProtocolClient again(server.port());
  EXPECT_EQ(error_code(again.request(proto::AuthSession{token})), Errc::expired);
}

TEST(Accounts, LoginsAreRateLimited) {
  TempDir dir;
  SottodProcess server(SottodProcess::args_for(
      dir.path() / "data", {"--rate-login-burst", "2", "--rate-login-per-minute", "1"}));
  ASSERT_TRUE(server.wait_listening());
  ProtocolClient client(server.port());
  auto key = Ed25519SigningKey::generate();
  proto::Login login{"nobody", kPassword, device_key(key)};
  EXPECT_EQ(error_code(client.request(login)), Errc::unauthenticated);
  EXPECT_EQ(error_code(client.request(login)), Errc::unauthenticated);
  EXPECT_EQ(error_code(client.request(login)), Errc::rate_limited);
}

// Guesses at one name from many addresses, each within its per-IP limit, are held back by
// the name's own bucket, the same way whether or not an account has the name; once the flood
// stops the bucket refills and the owner logs in from a new device.
TEST(Accounts, LoginsArePerUsernameLimitedAcrossAddresses) {
  TempDir dir;
  SottodProcess server(SottodProcess::args_for(
      dir.path() / "data",
      {"--rate-login-burst", "2", "--rate-login-per-minute", "1", "--rate-login-username-burst",
       "3", "--rate-login-username-per-minute", "10"}));
  ASSERT_TRUE(server.wait_listening());
  {
    ProtocolClient client(server.port());
    ASSERT_EQ(error_code(client.request(registration("owner", Ed25519SigningKey::generate()))),
              Errc::ok);
  }
  int address = 10;
  auto flood = [&](const std::string& name) {
    std::vector<Errc> answers;
    std::vector<std::string> messages;
    for (int i = 0; i < 5; ++i) {
      ProtocolClient guesser(server.port(), "127.0.0." + std::to_string(address++));
      auto answer = guesser.request(
          proto::Login{name, "not the password", device_key(Ed25519SigningKey::generate())});
      answers.push_back(error_code(answer));
      if (const auto* error = as<proto::ErrorResponse>(answer)) messages.push_back(error->message);
    }
    return std::pair(answers, messages);
  };
  const auto owner = flood("owner");
  // Meanwhile the owner's right password is held back too, from a fresh address.
  auto key = Ed25519SigningKey::generate();
  ProtocolClient fresh(server.port(), "127.0.0.200");
  EXPECT_EQ(error_code(fresh.request(proto::Login{"owner", kPassword, device_key(key)})),
            Errc::rate_limited);
  const auto ghost = flood("ghost");
  const std::vector<Errc> expected = {Errc::unauthenticated, Errc::unauthenticated,
                                      Errc::unauthenticated, Errc::rate_limited,
                                      Errc::rate_limited};
  EXPECT_EQ(owner.first, expected);
  EXPECT_EQ(ghost, owner);  // the same answers, word for word, for a name no account has
  // Ten a minute: a try comes back six seconds after the flood.
  std::this_thread::sleep_for(6500ms);
  ProtocolClient later(server.port(), "127.0.0.201");
  auto login = later.request(proto::Login{"owner", kPassword, device_key(key, "new phone")});
  EXPECT_NE(as<proto::SessionResponse>(login), nullptr) << errc_name(error_code(login));
}

TEST(Accounts, AdminDeletesAnAccountOnlyWhileNoServerRuns) {
  TempDir dir;
  auto data = dir.path() / "data";
  std::string signing, vrf;
  Bytes device_id;
  {
    SottodProcess server(SottodProcess::args_for(data));
    ASSERT_TRUE(server.wait_listening());
    signing = server.kt_signing_key();
    vrf = server.kt_vrf_key();
    ProtocolClient client(server.port());
    auto r = client.request(registration("leo", Ed25519SigningKey::generate()));
    ASSERT_NE(as<proto::SessionResponse>(r), nullptr);
    // The data directory is locked: neither a second server nor an erasure may use it.
    SottodProcess second(SottodProcess::args_for(data));
    EXPECT_EQ(second.wait_exit(10s), std::optional<int>(1));
    auto refused = run_sottod({"admin", "account", "delete", "leo", "--data-dir", data.string()});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("another sottod"), std::string::npos) << refused.err;
    server.signal(SIGTERM);
    ASSERT_EQ(server.wait_exit(10s), std::optional<int>(0));
  }
  auto missing = run_sottod({"admin", "account", "delete", "nobody", "--data-dir", data.string()});
  EXPECT_EQ(missing.exit_code, 1);
  auto deleted = run_sottod({"admin", "account", "delete", "LEO", "--data-dir", data.string()});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_NE(deleted.out.find("deleted account leo"), std::string::npos) << deleted.out;
  EXPECT_EQ(run_sottod({"admin", "bogus"}).exit_code, 2);

  SottodProcess server(SottodProcess::args_for(data));
  ASSERT_TRUE(server.wait_listening());
  EXPECT_EQ(server.kt_signing_key(), signing);  // the same directory keys after a restart
  EXPECT_EQ(server.kt_vrf_key(), vrf);
  ProtocolClient client(server.port());
  kt::Verifier verifier;
  kt::DirectoryKeys keys{*from_hex(vrf), *from_hex(signing)};
  auto v = verified_lookup(client, verifier, keys, "leo");
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_TRUE(v->value.empty());  // tombstoned
  EXPECT_EQ(v->version, 1u);
  // The name is free again.
  EXPECT_EQ(error_code(client.request(registration("leo", Ed25519SigningKey::generate()))),
            Errc::ok);
}

}  // namespace
}  // namespace sotto::testing
