// Enqueue throughput of the SQLite store: group commit against one transaction (one fsync) per
// message. Producer threads each keep a window of sends in flight, as server sessions do while
// waiting for `done`; payloads of 1 KiB go to one recipient device.
//
//   bench_store [directory]   (default: the working directory; tmpfs would hide the fsyncs)
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sotto/store/store.h"

namespace {

using sotto::Bytes;
using namespace sotto::store;

constexpr uint64_t kNow = 1'700'000'000'000;

Id make_id(uint8_t kind) {
  return Id(16, kind);
}

struct Figures {
  double seconds = 0;
  uint64_t messages = 0;
  uint64_t failures = 0;
};

// `producers` threads send `per_producer` envelopes each, with up to `window` unanswered.
Figures run(const std::string& path, size_t max_batch, int producers, int per_producer,
            int window) {
  SqliteOptions options;
  options.path = path;
  options.max_batch = max_batch;
  options.limits.max_queue_messages = uint64_t{1} << 40;
  options.limits.max_queue_bytes = uint64_t{1} << 50;
  auto opened = open_sqlite_store(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.error().to_string().c_str());
    std::exit(1);
  }
  Store& store = **opened;
  Account account;
  account.id = make_id(1);
  account.username = "bench";
  account.email = "bench@example.org";
  account.password_hash = "x";
  Device device;
  device.id = make_id(2);
  device.account_id = account.id;
  device.signature_key = Bytes(32, 7);
  device.name = "bench";
  if (auto created = store.create_account(account, device, std::nullopt, kNow); !created.ok()) {
    std::fprintf(stderr, "create account: %s\n", created.error().to_string().c_str());
    std::exit(1);
  }

  std::atomic<uint64_t> failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      std::mutex mu;
      std::condition_variable cv;
      int in_flight = 0;
      for (int i = 0; i < per_producer; ++i) {
        {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return in_flight < window; });
          ++in_flight;
        }
        Envelope e;
        e.sender_device = device.id;
        e.message_id = Bytes{static_cast<uint8_t>(p), static_cast<uint8_t>(i >> 16),
                             static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
        e.recipients = {device.id};
        e.payload = Bytes(1024, static_cast<uint8_t>(i));
        e.received_at = kNow;
        e.expires_at = kNow + 3'600'000;
        store.enqueue(std::move(e), [&](sotto::Result<EnqueueResult> r) {
          if (!r.ok()) ++failures;
          {
            std::lock_guard lock(mu);
            --in_flight;
          }
          cv.notify_one();
        });
      }
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight == 0; });
    });
  }
  for (auto& t : threads) t.join();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return {elapsed.count(), static_cast<uint64_t>(producers) * static_cast<uint64_t>(per_producer),
          failures.load()};
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path base = argc > 1 ? argv[1] : std::filesystem::current_path();
  std::string dir = (base / "store-bench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  struct Case {
    const char* name;
    size_t max_batch;
    int producers;
    int per_producer;
    int window;
  };
  const Case cases[] = {
      {"max_batch=1,   8 producers x window 1 ", 1, 8, 100, 1},
      {"max_batch=512, 8 producers x window 1 ", 512, 8, 500, 1},
      {"max_batch=1,   8 producers x window 16", 1, 8, 100, 16},
      {"max_batch=512, 8 producers x window 16", 512, 8, 2000, 16},
  };
  std::printf("enqueue, 1 KiB payload, 1 recipient, synchronous=FULL\n");
  int n = 0;
  for (const Case& c : cases) {
    const std::string path = dir + "/bench" + std::to_string(n++) + ".db";
    const Figures f = run(path, c.max_batch, c.producers, c.per_producer, c.window);
    std::printf("%s  %6llu messages in %7.3f s  %9.0f messages/s%s\n", c.name,
                static_cast<unsigned long long>(f.messages), f.seconds,
                static_cast<double>(f.messages) / f.seconds,
                f.failures != 0 ? "  (failures!)" : "");
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
