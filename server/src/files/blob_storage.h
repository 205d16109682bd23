// Where file blobs live: DATA_DIR/files/<hex id>, written first as DATA_DIR/files/tmp-<random>
// and renamed once complete and durable, so that a blob under its id is always whole. The
// database holds the metadata (store::FileRecord); this is the filesystem side.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/store/store.h"

namespace sotto::server::files {

inline constexpr std::string_view kTemporaryPrefix = "tmp-";

class BlobDirectory {
 public:
  explicit BlobDirectory(std::filesystem::path dir) : dir_(std::move(dir)) {}

  const std::filesystem::path& path() const { return dir_; }
  // Creates the directory (owner-only) if it does not exist.
  Result<void> ensure() const;
  std::filesystem::path blob_path(BytesView id) const;
  // Deletes the blob; one that is already gone is not an error.
  Result<void> remove(BytesView id) const;
  // Deletes temporaries last written before `cutoff`: uploads cut off by a crash or restart.
  // Returns how many were deleted.
  size_t remove_stale_temporaries(std::filesystem::file_time_type cutoff) const;

 private:
  std::filesystem::path dir_;
};

// What the headers of an upload allow before any of its body is read: Errc::too_large when
// the declared length is over the limit, Errc::invalid_argument for an empty body (an
// encrypted file is never empty). Without Content-Length (chunked), the limit is enforced
// while the body streams in.
Result<void> check_upload_header(std::optional<uint64_t> content_length, uint64_t max_file_bytes);

// One upload being received: a temporary file in the blob directory, deleted unless the
// upload completes. Move-only.
class PendingUpload {
 public:
  static Result<PendingUpload> open(const BlobDirectory& blobs, uint64_t max_bytes);

  PendingUpload(PendingUpload&& other) noexcept;
  PendingUpload& operator=(PendingUpload&& other) noexcept;
  PendingUpload(const PendingUpload&) = delete;
  PendingUpload& operator=(const PendingUpload&) = delete;
  ~PendingUpload();

  // Appends a chunk of the body. Errc::too_large once the total passes max_bytes (the
  // temporary is deleted at once); Errc::internal for a failed write.
  Result<void> write(BytesView chunk);
  uint64_t size() const { return size_; }
  const std::filesystem::path& temporary_path() const { return temp_; }

  // Makes the content durable (fsync), renames it to the blob of `id` and makes the rename
  // durable (fsync of the directory). After success the blob belongs to the caller.
  Result<void> finish(BytesView id);
  // Deletes the temporary (the destructor does the same).
  void abort();

 private:
  PendingUpload(std::filesystem::path dir, std::filesystem::path temp, int fd, uint64_t max)
      : dir_(std::move(dir)), temp_(std::move(temp)), fd_(fd), max_bytes_(max) {}

  std::filesystem::path dir_;
  std::filesystem::path temp_;
  int fd_ = -1;
  uint64_t max_bytes_ = 0;
  uint64_t size_ = 0;
};

// Records a finished upload: names the blob, then calls `record` (store::Store::put_file
// with the quota). If recording fails (Errc::quota_exceeded, a store error) the blob is
// deleted, so that nothing is kept without a record.
Result<store::FileRecord> complete_upload(
    PendingUpload& upload, const BlobDirectory& blobs, store::FileRecord record_template,
    const std::function<Result<void>(const store::FileRecord&)>& record);

}  // namespace sotto::server::files
