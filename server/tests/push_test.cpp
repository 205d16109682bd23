// PushSender against a local push receiver: the push arrives with a valid VAPID header and
// decrypts to the content-free payload; 5xx is retried, 404/410 deletes the subscription;
// per-device coalescing and the rate cap; http endpoints only when allowed. Then the push
// request handlers and the VAPID key file.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "push/push_handlers.h"
#include "push/push_sender.h"
#include "push_receiver.h"
#include "server_state.h"
#include "sotto/crypto/primitives.h"
#include "sotto/store/store.h"
#include "tls.h"

namespace sotto::server {
namespace {

using namespace std::chrono_literals;
using testing::PushReceiver;

constexpr auto kWait = 5s;

// Polls `done` until it holds or `timeout` passes.
template <class F>
bool eventually(F done, std::chrono::milliseconds timeout = kWait) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class PushTest : public ::testing::Test {
 protected:
  void SetUp() override { start(true, 6); }

  void start(bool allow_http, unsigned per_minute) {
    stop();
    store_ = store::make_memory_store();
    store::Account account;
    account.id = crypto::random_bytes(16);
    account.username = "alice";
    account.email = "alice@example.org";
    account.password_hash = "x";
    store::Device device;
    device.id = device_id_ = crypto::random_bytes(16);
    device.account_id = account.id;
    device.signature_key = crypto::random_bytes(32);
    device.name = "laptop";
    ASSERT_TRUE(store_->create_account(account, device, std::nullopt, 1).ok());

    Config config;
    config.push.allow_http_endpoints = allow_http;
    config.push.max_per_device_per_minute = per_minute;
    config.push.vapid_subject = "mailto:ops@example.org";
    state_ = std::make_unique<ServerState>(config, store_.get());
    vapid_public_key_ = vapid_.public_key();
    PushSenderOptions options;
    options.first_backoff = 20ms;
    options.max_backoff = 200ms;
    options.max_attempts = 3;
    options.request_timeout = 2s;
    sender_ = std::make_shared<PushSender>(io_, *state_, vapid_, options);
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    work_.reset();
    sender_.reset();
    thread_.join();  // returns once every delivery has finished
    io_.restart();
  }

  void TearDown() override { stop(); }

  void subscribe(const std::string& endpoint) {
    store::PushSubscription s{device_id_, endpoint, receiver_.p256dh(), receiver_.auth(), 1};
    ASSERT_TRUE(store_->put_push_subscription(s).ok());
  }

  Metrics& metrics() { return state_->metrics(); }

  webpush::P256KeyPair vapid_ = webpush::P256KeyPair::generate().value();
  Bytes vapid_public_key_;
  PushReceiver receiver_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ServerState> state_;
  std::shared_ptr<PushSender> sender_;
  Bytes device_id_;
};

TEST_F(PushTest, DeliversAContentFreeEncryptedPush) {
  subscribe(receiver_.endpoint("/push/abc?x=1"));
  sender_->notify(device_id_);
  ASSERT_TRUE(receiver_.wait_for(1, kWait));
  ASSERT_TRUE(eventually([&] { return metrics().pushes_sent.load() == 1; }));

  auto pushes = receiver_.received();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].target, "/push/abc?x=1");
  auto opened = receiver_.open(pushes[0]);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->vapid_public_key, vapid_public_key_);
  EXPECT_EQ(opened->subject, "mailto:ops@example.org");
  std::string payload(opened->plaintext.begin(), opened->plaintext.end());
  EXPECT_EQ(nlohmann::json::parse(payload), nlohmann::json::parse(R"({"t":"sotto"})"));
  EXPECT_EQ(pushes[0].header("ttl"), "86400");
  EXPECT_EQ(metrics().pushes_failed.load(), 0u);
  EXPECT_EQ(metrics().pushes_gone.load(), 0u);
  EXPECT_NE(metrics().to_prometheus().find("sottod_pushes_total{outcome=\"sent\"} 1"),
            std::string::npos);
}

TEST_F(PushTest, RetriesAfterAServerErrorWithAFreshEncryption) {
  subscribe(receiver_.endpoint());
  receiver_.respond_with({500});
  sender_->notify(device_id_);
  ASSERT_TRUE(receiver_.wait_for(2, kWait));
  ASSERT_TRUE(eventually([&] { return metrics().pushes_sent.load() == 1; }));
  auto pushes = receiver_.received();
  ASSERT_EQ(pushes.size(), 2u);
  EXPECT_NE(pushes[0].body, pushes[1].body);  // a new one-time key and salt per try
  for (const auto& push : pushes) {
    auto opened = receiver_.open(push);
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  }
  EXPECT_EQ(metrics().pushes_failed.load(), 0u);
}

TEST_F(PushTest, GivesUpAfterTheLastTry) {
  subscribe(receiver_.endpoint());
  receiver_.respond_with({503, 429, 500, 500});
  sender_->notify(device_id_);
  ASSERT_TRUE(eventually([&] { return metrics().pushes_failed.load() == 1; }));
  EXPECT_EQ(receiver_.received().size(), 3u);  // max_attempts
  EXPECT_EQ(metrics().pushes_sent.load(), 0u);
  EXPECT_TRUE(store_->push_subscription(device_id_).ok());  // kept: the service may recover
}

TEST_F(PushTest, DoesNotRetryARefusal) {
  subscribe(receiver_.endpoint());
  receiver_.respond_with({403});
  sender_->notify(device_id_);
  ASSERT_TRUE(eventually([&] { return metrics().pushes_failed.load() == 1; }));
  EXPECT_EQ(receiver_.received().size(), 1u);
}

TEST_F(PushTest, GoneSubscriptionIsDeleted) {
  for (unsigned status : {410u, 404u}) {
    subscribe(receiver_.endpoint());
    receiver_.respond_with({status});
    const uint64_t gone = metrics().pushes_gone.load();
    sender_->notify(device_id_);
    ASSERT_TRUE(eventually([&] { return metrics().pushes_gone.load() == gone + 1; })) << status;
    auto lookup = store_->push_subscription(device_id_);
    ASSERT_FALSE(lookup.ok()) << status;
    EXPECT_EQ(lookup.error().code(), Errc::not_found);
  }
  EXPECT_EQ(metrics().pushes_failed.load(), 0u);
}

TEST_F(PushTest, NoSubscriptionNoPush) {
  sender_->notify(device_id_);
  sender_->notify(crypto::random_bytes(16));
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(receiver_.received().empty());
  EXPECT_EQ(metrics().pushes_sent.load() + metrics().pushes_failed.load(), 0u);
}

TEST_F(PushTest, CoalescesWhileOneIsInFlight) {
  subscribe(receiver_.endpoint());
  receiver_.delay_responses(300ms);
  for (int i = 0; i < 5; ++i) sender_->notify(device_id_);
  ASSERT_TRUE(eventually([&] { return metrics().pushes_sent.load() == 1; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(receiver_.received().size(), 1u);
  // Once it has finished, the next notification pushes again.
  receiver_.delay_responses(0ms);
  sender_->notify(device_id_);
  ASSERT_TRUE(eventually([&] { return metrics().pushes_sent.load() == 2; }));
}

TEST_F(PushTest, CapsPushesPerDevicePerMinute) {
  start(true, 2);
  subscribe(receiver_.endpoint());
  for (uint64_t i = 1; i <= 4; ++i) {
    sender_->notify(device_id_);
    // Each finishes before the next, so only the cap can stop one.
    ASSERT_TRUE(
        eventually([&] { return metrics().pushes_sent.load() == std::min<uint64_t>(i, 2); }));
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(receiver_.received().size(), 2u);
}

TEST_F(PushTest, RefusesHttpEndpointsUnlessAllowed) {
  start(false, 6);
  subscribe(receiver_.endpoint());  // as if stored while allowed
  sender_->notify(device_id_);
  ASSERT_TRUE(eventually([&] { return metrics().pushes_failed.load() == 1; }));
  EXPECT_TRUE(receiver_.received().empty());
}

TEST_F(PushTest, UnreachableEndpointIsRetriedThenGivenUp) {
  // A port nothing listens on: connection refused on every try.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = probe.local_endpoint().port();
  probe.close();
  subscribe("http://127.0.0.1:" + std::to_string(port) + "/push");
  sender_->notify(device_id_);
  ASSERT_TRUE(eventually([&] { return metrics().pushes_failed.load() == 1; }));
}

TEST_F(PushTest, NeverConnectsToPrivateAddressesOverHttps) {
  start(false, 6);
  for (std::string host : {"127.0.0.1", "localhost"}) {
    subscribe("https://" + host + ":" + std::to_string(receiver_.port()) + "/push");
    const uint64_t failed = metrics().pushes_failed.load();
    sender_->notify(device_id_);
    ASSERT_TRUE(eventually([&] { return metrics().pushes_failed.load() == failed + 1; })) << host;
  }
  EXPECT_EQ(receiver_.connections(), 0u);
}

// A TLS server with sottod's self-signed certificate, which no system trust store holds.
class UntrustedTlsServer {
 public:
  explicit UntrustedTlsServer(const std::filesystem::path& dir) : acceptor_(io_) {
    Config config;
    config.data_dir = dir;
    auto identity = load_or_create_identity(config);
    EXPECT_TRUE(identity.ok());
    EXPECT_TRUE(configure_server_context(tls_, *identity).ok());
    boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~UntrustedTlsServer() {
    boost::asio::post(io_, [this] { io_.stop(); });
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int handshakes_ok() const { return ok_.load(); }
  int handshakes_failed() const { return failed_.load(); }

 private:
  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto stream = std::make_shared<AsioTlsStream>(std::move(socket), tls_);
      stream->async_handshake(ssl::stream_base::server, [this, stream](beast::error_code hec) {
        (hec ? failed_ : ok_).fetch_add(1);
      });
      accept();
    });
  }
  boost::asio::io_context io_;
  ssl::context tls_{ssl::context::tls_server};
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::thread thread_;
};

TEST_F(PushTest, HttpsVerifiesTheCertificateAgainstTheSystemTrustStore) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() /
                 ("sotto-push-tls-" + std::to_string(::getpid()) + "-" +
                  std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  {
    UntrustedTlsServer server(dir);
    // Loopback is allowed here (allow_http_endpoints), so only the certificate can stop it.
    subscribe("https://127.0.0.1:" + std::to_string(server.port()) + "/push");
    sender_->notify(device_id_);
    ASSERT_TRUE(eventually([&] { return metrics().pushes_failed.load() == 1; }));
    EXPECT_EQ(server.handshakes_ok(), 0);
    EXPECT_GE(server.handshakes_failed(), 1);
    EXPECT_EQ(metrics().pushes_sent.load(), 0u);
  }
  fs::remove_all(dir);
}

// ---- the request handlers ----------------------------------------------------------------

Result<proto::ResponseBody> call(auto handler) {
  std::optional<Result<proto::ResponseBody>> answer;
  handler([&](Result<proto::ResponseBody> r) { answer.emplace(std::move(r)); });
  if (!answer) return Error(Errc::internal, "the handler did not answer");
  return std::move(*answer);
}

Errc code_of(const Result<proto::ResponseBody>& r) {
  return r.ok() ? Errc::ok : r.error().code();
}

TEST_F(PushTest, RegisterAndUnregister) {
  Caller caller;
  caller.account_id = crypto::random_bytes(16);
  caller.device_id = device_id_;
  auto reg = [&](std::string endpoint, Bytes p256dh, Bytes auth) {
    return call([&](Reply reply) {
      handle_register_push(*state_, caller,
                           {std::move(endpoint), std::move(p256dh), std::move(auth)},
                           std::move(reply));
    });
  };
  const std::string https = "https://push.example.net/send/abc";
  auto ok = reg(https, receiver_.p256dh(), receiver_.auth());
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_TRUE(std::holds_alternative<proto::EmptyResponse>(*ok));
  auto stored = store_->push_subscription(device_id_);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->endpoint, https);
  EXPECT_EQ(stored->p256dh, receiver_.p256dh());
  EXPECT_EQ(stored->auth, receiver_.auth());

  // Allowed here (tests): http on loopback. Never http elsewhere.
  EXPECT_EQ(code_of(reg(receiver_.endpoint(), receiver_.p256dh(), receiver_.auth())), Errc::ok);
  EXPECT_EQ(code_of(reg("http://push.example.net/x", receiver_.p256dh(), receiver_.auth())),
            Errc::invalid_argument);
  EXPECT_EQ(code_of(reg("https://push.example.net/" + std::string(2048, 'a'), receiver_.p256dh(),
                        receiver_.auth())),
            Errc::invalid_argument);
  EXPECT_EQ(code_of(reg("not a url", receiver_.p256dh(), receiver_.auth())),
            Errc::invalid_argument);
  Bytes off_curve = receiver_.p256dh();
  off_curve[64] ^= 1;
  auto bad_key = reg(https, off_curve, receiver_.auth());
  EXPECT_EQ(code_of(bad_key), Errc::invalid_argument);
  EXPECT_NE(bad_key.error().message().find("p256dh"), std::string::npos);
  EXPECT_EQ(code_of(reg(https, receiver_.p256dh(), Bytes(15, 1))), Errc::invalid_argument);
  EXPECT_EQ(store_->push_subscription(device_id_)->endpoint, receiver_.endpoint());  // unchanged

  auto unreg = [&] {
    return call(
        [&](Reply reply) { handle_unregister_push(*state_, caller, {}, std::move(reply)); });
  };
  EXPECT_EQ(code_of(unreg()), Errc::ok);
  EXPECT_EQ(store_->push_subscription(device_id_).error().code(), Errc::not_found);
  EXPECT_EQ(code_of(unreg()), Errc::ok);  // again: nothing to delete, still fine

  Caller stranger;
  EXPECT_EQ(code_of(call([&](Reply reply) {
              handle_register_push(*state_, stranger, {https, receiver_.p256dh(), receiver_.auth()},
                                   std::move(reply));
            })),
            Errc::unauthenticated);
  EXPECT_EQ(code_of(call([&](Reply reply) {
              handle_unregister_push(*state_, stranger, {}, std::move(reply));
            })),
            Errc::unauthenticated);
}

TEST_F(PushTest, HttpEndpointsAreRefusedAtRegistrationUnlessAllowed) {
  start(false, 6);
  Caller caller;
  caller.device_id = device_id_;
  auto r = call([&](Reply reply) {
    handle_register_push(*state_, caller,
                         {receiver_.endpoint(), receiver_.p256dh(), receiver_.auth()},
                         std::move(reply));
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::invalid_argument);
  EXPECT_NE(r.error().message().find("https"), std::string::npos);
}

TEST_F(PushTest, PushKeyIsTheVapidPublicKey) {
  Caller caller;
  caller.device_id = device_id_;
  auto r = call([&](Reply reply) {
    handle_push_key(*state_, caller, {}, sender_->vapid_public_key(), std::move(reply));
  });
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(std::holds_alternative<proto::PushKeyResponse>(*r));
  EXPECT_EQ(std::get<proto::PushKeyResponse>(*r).vapid_public_key, vapid_public_key_);
  EXPECT_EQ(code_of(call([&](Reply reply) {
              handle_push_key(*state_, Caller{}, {}, vapid_public_key_, std::move(reply));
            })),
            Errc::unauthenticated);
}

// ---- the VAPID key file ------------------------------------------------------------------

TEST(VapidKeyFile, MadeOnceKeptPrivateAndReused) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() /
                 ("sotto-push-test-" + std::to_string(::getpid()) + "-" +
                  std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  auto first = load_or_create_vapid_key(dir);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  const fs::path file = dir / "push" / "vapid.pem";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = load_or_create_vapid_key(dir);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ(second->public_key(), first->public_key());
  EXPECT_EQ(second->private_key(), first->private_key());

  // A damaged file is an error, not a silent new key (subscriptions are bound to the key).
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fputs("garbage", f);
    std::fclose(f);
  }
  EXPECT_FALSE(load_or_create_vapid_key(dir).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sotto::server
