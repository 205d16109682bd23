#include "files/expiry_sweep.h"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <memory>

#include "files/http_files.h"
#include "sotto/core/encoding.h"
#include "sotto/store/store.h"

namespace sotto::server::files {
namespace fs = std::filesystem;

namespace {

// An upload idle for longer than this has been dropped by its connection's idle timeout
// long ago; its temporary is garbage.
constexpr auto kStaleTemporaryAge = std::chrono::hours(1);

size_t remove_unrecorded_blobs(ServerState& state, const BlobDirectory& blobs,
                               fs::file_time_type cutoff) {
  size_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(blobs.path(), ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.rfind(kTemporaryPrefix, 0) == 0) continue;
    auto id = from_hex(name);
    if (!id || id->size() != 16) continue;  // not ours: leave it alone
    std::error_code time_ec;
    // A blob renamed a moment ago may not be recorded yet.
    if (fs::last_write_time(it->path(), time_ec) >= cutoff || time_ec) continue;
    auto record = state.store().file(*id);
    if (record || record.error().code() != Errc::not_found) continue;
    if (blobs.remove(*id)) ++removed;
  }
  return removed;
}

struct SweepTimer : std::enable_shared_from_this<SweepTimer> {
  SweepTimer(asio::io_context& ioc, ServerState& s) : timer(ioc), state(s) {}

  void run(bool full) {
    if (state.shutting_down()) return;
    auto report = sweep_expired(state, now_ms(), full);
    if (!report) {
      spdlog::warn("files: expiry sweep failed: {}", report.error().to_string());
    } else if (report->expired_files + report->stale_temporaries + report->unrecorded_blobs > 0) {
      spdlog::info(
          "files: sweep deleted {} expired file(s), {} unfinished upload(s), {} "
          "unrecorded blob(s)",
          report->expired_files, report->stale_temporaries, report->unrecorded_blobs);
    }
    timer.expires_after(kSweepInterval);
    timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->run(false);
    });
  }

  asio::steady_timer timer;
  ServerState& state;
};

}  // namespace

Result<SweepReport> sweep_expired(ServerState& state, uint64_t now, bool full) {
  SweepReport report;
  if (!state.has_store()) return report;
  auto blobs = blob_directory(state);
  SOTTO_TRY(blobs.ensure());
  SOTTO_TRY_ASSIGN(auto expired, state.store().expire(now));
  for (const auto& file : expired) {
    if (auto removed = blobs.remove(file.id); !removed) {
      spdlog::warn("files: {}", removed.error().message());
      continue;
    }
    ++report.expired_files;
  }
  auto cutoff = fs::file_time_type::clock::now() - kStaleTemporaryAge;
  report.stale_temporaries = blobs.remove_stale_temporaries(cutoff);
  if (full) report.unrecorded_blobs = remove_unrecorded_blobs(state, blobs, cutoff);
  return report;
}

void start_expiry_sweep(asio::io_context& ioc, ServerState& state) {
  auto sweeper = std::make_shared<SweepTimer>(ioc, state);
  // The first pass runs on the io_context too, so that start-up is not delayed by it.
  asio::post(ioc, [sweeper] { sweeper->run(true); });
}

}  // namespace sotto::server::files
