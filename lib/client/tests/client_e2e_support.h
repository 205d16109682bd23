// What the engine's end-to-end tests share: devices, each an engine with its own memory store
// and native transport, and a fixture that runs one real sottod for a test suite.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol_client.h"
#include "sotto/client/engine.h"
#include "sotto/client/memory_client_store.h"
#include "sotto/client/websocket_transport.h"
#include "sotto/core/encoding.h"
#include "sottod_process.h"

namespace sotto::client::e2e {

using namespace std::chrono_literals;
using testing::ProtocolClient;
using testing::SottodProcess;
using testing::TempDir;

class Recorder final : public EngineObserver {
 public:
  void on_message(const StoredMessage& message) override { messages.push_back(message); }
  void on_delivery_state(BytesView, BytesView message_id, DeliveryState state) override {
    delivery.emplace_back(Bytes(message_id.begin(), message_id.end()), state);
  }
  void on_conversation(const Conversation& conversation) override {
    conversations.push_back(conversation);
  }
  void on_authenticated() override { ++authenticated; }
  void on_message_changed(const StoredMessage& message) override { changed.push_back(message); }
  void on_unknown_own_device(const ContactDevice& device) override {
    unknown_own_devices.push_back(device);
  }
  void on_directory_split_view(const std::string& reported_by) override {
    ADD_FAILURE() << "a split view of the key directory reported by " << reported_by;
  }
  void on_error(const Error& error) override {
    // A test that provokes errors (a refused edit) sets errors_expected and checks them.
    if (!errors_expected) ADD_FAILURE() << "engine error: " << error.to_string();
    errors.push_back(error);
  }

  bool sent(const Bytes& id) const {
    for (const auto& [m, s] : delivery) {
      if (m == id && s == DeliveryState::sent) return true;
    }
    return false;
  }
  std::vector<StoredMessage> incoming() const {
    std::vector<StoredMessage> out;
    for (const auto& m : messages) {
      if (!m.outgoing) out.push_back(m);
    }
    return out;
  }

  std::vector<StoredMessage> messages;
  std::vector<std::pair<Bytes, DeliveryState>> delivery;
  std::vector<Conversation> conversations;
  std::vector<StoredMessage> changed;
  std::vector<Error> errors;
  bool errors_expected = false;
  std::vector<ContactDevice> unknown_own_devices;
  int authenticated = 0;
};

// The system's clock, which a test may move forward (disappearing messages), and its
// randomness.
class AdjustableEnvironment final : public Environment {
 public:
  uint64_t now_ms() override { return system_.now_ms() + ahead_ms; }
  void random(std::span<uint8_t> out) override { system_.random(out); }
  uint64_t ahead_ms = 0;

 private:
  SystemEnvironment system_;
};

// One device: its engine, store and connection. The engine is the transport's listener.
struct Device {
  Device(boost::asio::io_context& ioc, const SottodProcess& server, const DirectoryKeys& keys)
      : transport(ioc, options(server)), engine(config(keys), store, transport, env, recorder) {
    transport.set_listener(&engine);
  }
  static WebSocketOptions options(const SottodProcess& server) {
    WebSocketOptions o;
    o.host = "127.0.0.1";
    o.port = server.port();
    o.server_name = "localhost";
    o.pinned_fingerprint = server.fingerprint();
    return o;
  }
  static EngineConfig config(const DirectoryKeys& keys) {
    EngineConfig c;
    c.directory_keys = keys;
    c.key_package_batch = 5;
    c.key_package_low = 2;
    return c;
  }

  MemoryClientStore store;
  AdjustableEnvironment env;
  Recorder recorder;
  WebSocketTransport transport;
  Engine engine;
};

class ClientE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::vector<std::string> extra;
    for (const char* flag : {"--rate-registration-per-minute", "--rate-registration-burst",
                             "--rate-login-per-minute", "--rate-login-burst"}) {
      extra.emplace_back(flag);
      extra.emplace_back("1000");
    }
    server_ = new SottodProcess(SottodProcess::args_for(dir_->path() / "data", extra));
    ASSERT_TRUE(server_->wait_listening()) << server_->line();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  DirectoryKeys keys() const {
    return {from_hex(server_->kt_vrf_key()).value(), from_hex(server_->kt_signing_key()).value()};
  }
  std::unique_ptr<Device> device() { return std::make_unique<Device>(ioc_, *server_, keys()); }

  // Runs the event loop until `done` holds or the time is up.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      ioc_.restart();
      ioc_.run_for(10ms);
    }
    return true;
  }

  template <class T>
  Result<T> wait(std::optional<Result<T>>& slot) {
    if (!run_until([&] { return slot.has_value(); })) {
      return Error(Errc::unavailable, "timed out");
    }
    return std::move(*slot);
  }

  void connect(Device& d) {
    d.transport.connect();
    ASSERT_TRUE(run_until([&] { return d.engine.state() != ConnectionState::disconnected; }));
  }

  void register_as(Device& d, const std::string& name) {
    connect(d);
    std::optional<Result<void>> done;
    d.engine.register_account({name, name + "@example.org", "correct horse battery", "", {}},
                              [&](Result<void> r) { done = std::move(r); });
    auto r = wait(done);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }

  // What the server still holds for the device, seen through a connection of its own.
  size_t server_queue(Device& d) {
    auto identity = d.store.identity().value();
    EXPECT_TRUE(identity.has_value());
    if (!identity) return 0;
    ProtocolClient probe(server_->port());
    auto auth = probe.request(proto::AuthSession{identity->session_token.reveal()});
    EXPECT_NE(testing::as<proto::SessionResponse>(auth), nullptr);
    auto page = probe.request(proto::Fetch{0, 100});
    const auto* messages = testing::as<proto::MessagesResponse>(page);
    EXPECT_NE(messages, nullptr);
    return messages ? messages->messages.size() : 0;
  }

  static inline TempDir* dir_ = nullptr;
  static inline SottodProcess* server_ = nullptr;
  boost::asio::io_context ioc_;
};

}  // namespace sotto::client::e2e
