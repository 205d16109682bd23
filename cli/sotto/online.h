// One run of the client engine against the server for the length of a command: the engine,
// the native WebSocket transport and an event loop on this thread. A command connects, starts
// engine operations, runs the loop until they complete, and lets the engine finish what it
// started (acknowledgements, the outbox) before the process exits.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "output.h"
#include "profile.h"
#include "sotto/client/engine.h"
#include "sotto/client/websocket_transport.h"

namespace sotto::cli {

class Online final : public client::TransportListener, public client::EngineObserver {
 public:
  // `device_name` is what registration or login tells the server.
  // `read_receipts`: EngineConfig::send_read_receipts.
  Online(const ServerPins& server, client::ClientStore& store, const Output& out,
         std::string device_name = "sotto", bool read_receipts = true);
  ~Online() override;

  client::Engine& engine() { return engine_; }
  // The event loop, for more sources than the connection (the terminal, in `chat`).
  boost::asio::io_context& io() { return ioc_; }

  // Connects; with an account in the store, also waits until this device is authenticated.
  // Errc::unavailable when the server cannot be reached in `limit`.
  Result<void> connect(std::chrono::seconds limit = std::chrono::seconds(30));
  // Runs the event loop until `done` holds (true), the time is up or the connection is lost.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit);
  // Runs until an operation's completion fills `slot`.
  template <class T>
  Result<T> wait(std::optional<Result<T>>& slot,
                 std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    if (!run_until([&] { return slot.has_value(); }, limit)) return lost_or_timeout();
    return std::move(*slot);
  }
  // Runs `work` (something that blocks, such as a file transfer) on a thread of its own while
  // this thread keeps the event loop, and so the connection, alive; gives what it gave.
  template <class T>
  Result<T> run_beside(const std::function<Result<T>()>& work) {
    std::optional<Result<T>> result;
    std::atomic<bool> done{false};
    std::thread worker([&] {
      result = work();
      done = true;
    });
    // A lost connection stops the loop, not the transfer: its result still counts.
    (void)run_until([&] { return done.load(); }, std::chrono::hours(24));
    worker.join();
    return std::move(*result);
  }
  // Lets the engine finish what is in flight, closes the connection, and reports the
  // engine's errors that no operation returned as warnings.
  void finish();

  bool lost() const { return lost_; }
  // What became of outgoing messages during this run, by message id.
  const std::map<Bytes, client::DeliveryState>& deliveries() const { return deliveries_; }
  // How many messages of each group expired since the last call (`recv` keeps a count of
  // what it has shown, which these take away from).
  std::map<Bytes, uint64_t> take_expired() { return std::exchange(expired_, {}); }
  // Called for each message stored during this run (incoming and outgoing).
  std::function<void(const client::StoredMessage&)> on_stored;
  // Incoming messages their senders edited or deleted during this run, in that order, each
  // once (as it is now), for `recv` to show again.
  std::vector<client::StoredMessage> take_rewritten();

 private:
  // client::TransportListener: the transport's news goes to the engine, and is noted.
  void on_connected() override;
  void on_disconnected() override;
  void on_frame(BytesView frame) override;
  // client::EngineObserver
  void on_message(const client::StoredMessage& message) override;
  void on_message_expired(const client::StoredMessage& message) override;
  void on_message_changed(const client::StoredMessage& message) override;
  void on_delivery_state(BytesView group_id, BytesView message_id,
                         client::DeliveryState state) override;
  void on_contact_keys_changed(const client::Contact& before,
                               const client::Contact& after) override;
  void on_session_ended(Errc reason) override;
  void on_unknown_own_device(const client::ContactDevice& device) override;
  void on_directory_split_view(const std::string& reported_by) override;
  void on_error(const Error& error) override;

  Error lost_or_timeout() const;

  const Output& out_;
  boost::asio::io_context ioc_;
  client::SystemEnvironment env_;
  client::WebSocketTransport transport_;
  client::Engine engine_;
  bool lost_ = false;
  std::optional<Errc> session_ended_;
  std::vector<Error> errors_;
  std::map<Bytes, client::DeliveryState> deliveries_;
  std::map<Bytes, uint64_t> expired_;
  std::vector<client::StoredMessage> rewritten_;
};

// Where the server is and which certificate is pinned for it, for every connection to it.
client::TlsEndpoint tls_endpoint(const ServerPins& server);

client::EngineConfig engine_config(const ServerPins& server, std::string device_name,
                                   bool read_receipts = true);

}  // namespace sotto::cli
