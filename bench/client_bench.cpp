// The client end to end: alice and bob, each a client Engine with its own store and TLS
// WebSocket, talking through a real sottod on loopback (its queue durable in SQLite). Both
// engines run on this one thread, each as it would on its own device's event loop.
//
// latency: N 1 KiB text messages, one at a time: from alice's send_text call until bob's
//   engine reports the message (EngineObserver::on_message); p50, p90, p99 and max.
// throughput: alice sends M 1 KiB text messages as fast as her engine takes them (each is in
//   her outbox before it leaves); messages/s until sottod accepted the last (her SentResponse)
//   and until bob has the last. Every message must reach bob exactly once and in order, or the
//   program exits with 1.
//
// usage: bench_client [--messages N] [--throughput-messages M] [--memory-store]
//   --memory-store: MemoryClientStore on both ends instead of the SQLite store (encrypted at
//   rest, in a temporary directory).
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sotto/client/engine.h"
#include "sotto/client/memory_client_store.h"
#include "sotto/client/sqlite_client_store.h"
#include "sotto/client/websocket_transport.h"
#include "sotto/core/encoding.h"
#include "sottod_process.h"

namespace {

using namespace sotto;
using namespace sotto::client;
using namespace std::chrono_literals;
using testing::SottodProcess;
using testing::TempDir;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr size_t kBodyBytes = 1024;
constexpr size_t kWarmUpMessages = 50;

// A failed step: main prints it and exits with 1 after the destructors stopped sottod.
struct BenchFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class T>
T must(Result<T> result, const std::string& what) {
  if (!result) throw BenchFailure(what + ": " + result.error().to_string());
  return std::move(result).value();
}
void must(const Result<void>& result, const std::string& what) {
  if (!result) throw BenchFailure(what + ": " + result.error().to_string());
}

// Message i's body: its number, then padding to kBodyBytes.
std::string body_of(size_t i) {
  std::string body = "message " + std::to_string(i) + " ";
  body.resize(kBodyBytes, '.');
  return body;
}

struct Received {
  Clock::time_point at;
  Bytes message_id;
  std::string body;
};

// What one engine reports, with the time it reported it.
class Peer final : public EngineObserver {
 public:
  void on_message(const StoredMessage& message) override {
    if (!message.outgoing) received.push_back({Clock::now(), message.message_id, message.body});
  }
  void on_delivery_state(BytesView, BytesView, DeliveryState state) override {
    if (state != DeliveryState::sent) return;
    ++accepted;
    last_accepted = Clock::now();
  }
  void on_error(const Error& error) override { errors.push_back(error.to_string()); }

  std::vector<Received> received;
  size_t accepted = 0;  // this engine's messages the server took (SentResponse)
  Clock::time_point last_accepted;
  std::vector<std::string> errors;
};

std::unique_ptr<ClientStore> open_store(const fs::path& dir, bool in_memory) {
  if (in_memory) return std::make_unique<MemoryClientStore>();
  fs::create_directories(dir);
  const std::string key_file = (dir / "store.key").string();
  must(SqliteClientStore::create_key_file(key_file), "creating the store's key file");
  SqliteClientStoreOptions options;
  options.create = true;
  return must(SqliteClientStore::open((dir / "store.db").string(), StoreKeyFile{key_file}, options),
              "opening the SQLite client store");
}

// One device: its store, engine and connection. The engine is the transport's listener.
struct Device {
  Device(boost::asio::io_context& ioc, const SottodProcess& server, std::unique_ptr<ClientStore> s)
      : store(std::move(s)),
        transport(ioc, options(server)),
        engine(config(server), *store, transport, env, peer) {
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
  static EngineConfig config(const SottodProcess& server) {
    EngineConfig c;
    c.directory_keys = {must(from_hex(server.kt_vrf_key()), "the directory's VRF key"),
                        must(from_hex(server.kt_signing_key()), "the directory's signing key")};
    return c;
  }

  std::unique_ptr<ClientStore> store;
  SystemEnvironment env;
  Peer peer;
  WebSocketTransport transport;
  Engine engine;
};

// Runs the event loop one handler at a time until `done` holds, so that a wait ends as soon
// as its condition does.
void run_until(boost::asio::io_context& ioc, const std::function<bool()>& done,
               const std::string& what, std::chrono::seconds limit = 120s) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) throw BenchFailure("timed out waiting for " + what);
    ioc.restart();
    ioc.run_one_for(100ms);
  }
}

template <class T>
T completion(boost::asio::io_context& ioc, std::optional<Result<T>>& slot,
             const std::string& what) {
  run_until(
      ioc, [&] { return slot.has_value(); }, what);
  return must(std::move(*slot), what);
}

void register_as(boost::asio::io_context& ioc, Device& d, const std::string& name) {
  d.transport.connect();
  run_until(
      ioc, [&] { return d.engine.state() != ConnectionState::disconnected; },
      name + "'s connection");
  std::optional<Result<void>> done;
  d.engine.register_account({name, name + "@example.org", "correct horse battery", "", {}},
                            [&](Result<void> r) { done = std::move(r); });
  run_until(
      ioc, [&] { return done.has_value(); }, name + "'s registration");
  must(*done, name + "'s registration");
}

// Sends message `i` from alice; its id (the engine stores it before the callback returns).
Bytes send(Device& alice, const Bytes& group, size_t i) {
  std::optional<Result<Bytes>> id;
  alice.engine.send_text(group, body_of(i), [&](Result<Bytes> r) { id = std::move(r); });
  if (!id) throw BenchFailure("send_text did not complete at once");
  return must(std::move(*id), "send_text of message " + std::to_string(i));
}

// Bob's reports from `from` on must be exactly the messages `ids` (numbered from `first`),
// once each and in order.
void check_arrivals(const Peer& bob, size_t from, const std::vector<Bytes>& ids, size_t first) {
  const size_t got = bob.received.size() - from;
  if (got != ids.size()) {
    throw BenchFailure("bob got " + std::to_string(got) + " messages, alice sent " +
                       std::to_string(ids.size()));
  }
  for (size_t k = 0; k < ids.size(); ++k) {
    const Received& r = bob.received[from + k];
    if (r.message_id != ids[k] || r.body != body_of(first + k)) {
      throw BenchFailure("message " + std::to_string(first + k) +
                         " arrived out of order, twice or changed");
    }
  }
}

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}
double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Nearest rank.
double percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

int run(size_t messages, size_t burst, bool in_memory) {
  const TempDir dir;
  // Limits high enough that the bench measures the clients and the relay, not the abuse
  // protection; the queue limit covers a receiver that falls behind the whole burst.
  const std::string plenty = std::to_string(std::max<size_t>(messages + burst, 10000) * 2);
  SottodProcess server(SottodProcess::args_for(
      dir.path() / "data", {"--log-level", "warn", "--rate-sends-per-minute", plenty,
                            "--rate-sends-burst", plenty, "--max-queue-messages", plenty}));
  if (!server.wait_listening()) throw BenchFailure("sottod did not start: " + server.line());

  boost::asio::io_context ioc;
  Device alice(ioc, server, open_store(dir.path() / "alice", in_memory));
  Device bob(ioc, server, open_store(dir.path() / "bob", in_memory));
  const auto setup_start = Clock::now();
  register_as(ioc, alice, "alice");
  register_as(ioc, bob, "bob");
  std::optional<Result<Bytes>> started;
  alice.engine.start_conversation("bob", [&](Result<Bytes> r) { started = std::move(r); });
  const Bytes group = completion(ioc, started, "the conversation");
  run_until(
      ioc,
      [&] {
        auto c = bob.store->conversation(group);
        return c.ok() && c->has_value() && (*c)->members_verified;
      },
      "bob to join and verify alice");
  std::printf(
      "client: alice -> sottod -> bob, two client Engines on one thread, %s stores, TLS "
      "WebSocket on loopback, durable queueing in sottod (SQLite); set up in %.1f s\n",
      in_memory ? "memory" : "SQLite (encrypted at rest)", seconds(Clock::now() - setup_start));
  std::printf(
      "client: %zu-byte text messages; latency over %zu (after %zu warm-up), "
      "throughput over %zu\n",
      kBodyBytes, messages, kWarmUpMessages, burst);
  std::fflush(stdout);

  // Latency, one message at a time.
  size_t next = 0;
  std::vector<double> latencies;
  latencies.reserve(messages);
  for (size_t k = 0; k < kWarmUpMessages + messages; ++k, ++next) {
    const size_t before = bob.peer.received.size();
    const auto sent_at = Clock::now();
    const Bytes id = send(alice, group, next);
    run_until(
        ioc, [&] { return bob.peer.received.size() > before; }, "message " + std::to_string(next));
    check_arrivals(bob.peer, before, {id}, next);
    if (k >= kWarmUpMessages) latencies.push_back(ms(bob.peer.received.back().at - sent_at));
  }
  std::sort(latencies.begin(), latencies.end());
  std::printf(
      "latency: send_text to bob's on_message, ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
      percentile(latencies, 0.50), percentile(latencies, 0.90), percentile(latencies, 0.99),
      latencies.back());
  std::fflush(stdout);

  // Throughput: every message handed to alice's engine at once, the loop turning between
  // sends so that the connections make progress meanwhile.
  run_until(
      ioc, [&] { return alice.peer.accepted >= next && alice.engine.idle(); },
      "alice's earlier sends");
  const size_t first = next;
  const size_t from = bob.peer.received.size();
  std::vector<Bytes> ids;
  ids.reserve(burst);
  const auto start = Clock::now();
  for (size_t k = 0; k < burst; ++k, ++next) {
    ids.push_back(send(alice, group, next));
    ioc.restart();
    ioc.poll();
  }
  const auto handed = Clock::now();
  run_until(
      ioc, [&] { return bob.peer.received.size() - from >= burst; }, "bob's messages");
  run_until(
      ioc, [&] { return alice.peer.accepted >= next; }, "sottod's SentResponses");
  const auto last_delivery = bob.peer.received.back().at;
  const auto last_accepted = alice.peer.last_accepted;
  // Anything sent twice would arrive within the time the engines take to settle.
  run_until(
      ioc, [&] { return alice.engine.idle() && bob.engine.idle(); }, "the engines to settle");
  const auto settle = Clock::now() + 500ms;
  while (Clock::now() < settle) {
    ioc.restart();
    ioc.run_for(50ms);
  }
  check_arrivals(bob.peer, from, ids, first);
  const double n = static_cast<double>(burst);
  std::printf(
      "throughput: %zu messages: alice's engine took %.0f/s; sottod accepted %.0f/s "
      "(first send to last SentResponse); bob received %.0f/s (first send to last "
      "on_message); all arrived once, in order\n",
      burst, n / seconds(handed - start), n / seconds(last_accepted - start),
      n / seconds(last_delivery - start));

  if (!must(alice.store->outbox(), "alice's outbox").empty()) {
    throw BenchFailure("alice's outbox is not empty");
  }
  for (const Peer* p : {&alice.peer, &bob.peer}) {
    if (!p->errors.empty()) throw BenchFailure("engine error: " + p->errors.front());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  size_t messages = 2000;
  size_t burst = 5000;
  bool in_memory = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto count = [&]() -> size_t {
      if (i + 1 >= argc) throw std::invalid_argument("missing value after " + a);
      const size_t n = std::stoul(argv[++i]);
      if (n == 0) throw std::invalid_argument(a + " must be at least 1");
      return n;
    };
    try {
      if (a == "--messages")
        messages = count();
      else if (a == "--throughput-messages")
        burst = count();
      else if (a == "--memory-store")
        in_memory = true;
      else
        throw std::invalid_argument("unknown argument " + a);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_client: %s\n", e.what());
      return 2;
    }
  }
  try {
    return run(messages, burst, in_memory);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_client: %s\n", e.what());
    return 1;
  }
}
