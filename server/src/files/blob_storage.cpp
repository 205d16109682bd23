#include "files/blob_storage.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <system_error>

#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"

namespace sotto::server::files {
namespace fs = std::filesystem;

namespace {

Error io_error(std::string_view what, int err) {
  return Error(Errc::internal, std::string(what) + ": " + std::strerror(err));
}

Result<void> fsync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open the file directory", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("cannot sync the file directory", err);
  return success();
}

}  // namespace

Result<void> BlobDirectory::ensure() const {
  std::error_code ec;
  if (fs::is_directory(dir_, ec)) return success();
  fs::create_directories(dir_, ec);
  if (ec) return Error(Errc::internal, "cannot create the file directory: " + ec.message());
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
  return success();
}

fs::path BlobDirectory::blob_path(BytesView id) const {
  return dir_ / to_hex(id);
}

Result<void> BlobDirectory::remove(BytesView id) const {
  if (::unlink(blob_path(id).c_str()) != 0 && errno != ENOENT) {
    return io_error("cannot delete a file blob", errno);
  }
  return success();
}

size_t BlobDirectory::remove_stale_temporaries(fs::file_time_type cutoff) const {
  size_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.rfind(kTemporaryPrefix, 0) != 0) continue;
    std::error_code time_ec;
    auto written = fs::last_write_time(it->path(), time_ec);
    if (time_ec || written >= cutoff) continue;
    if (::unlink(it->path().c_str()) == 0) ++removed;
  }
  return removed;
}

Result<void> check_upload_header(std::optional<uint64_t> content_length, uint64_t max_file_bytes) {
  if (!content_length) return success();
  if (*content_length > max_file_bytes) {
    return Error(Errc::too_large, "the file is larger than this server's limit of " +
                                      std::to_string(max_file_bytes) + " bytes");
  }
  if (*content_length == 0) return Error(Errc::invalid_argument, "the file is empty");
  return success();
}

Result<PendingUpload> PendingUpload::open(const BlobDirectory& blobs, uint64_t max_bytes) {
  SOTTO_TRY(blobs.ensure());
  // O_EXCL with a random name: two uploads never share a temporary.
  for (int attempt = 0; attempt < 4; ++attempt) {
    fs::path temp =
        blobs.path() / (std::string(kTemporaryPrefix) + to_hex(crypto::random_bytes(8)));
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return PendingUpload(blobs.path(), std::move(temp), fd, max_bytes);
    if (errno != EEXIST) return io_error("cannot create an upload file", errno);
  }
  return Error(Errc::internal, "cannot create an upload file: names taken");
}

PendingUpload::PendingUpload(PendingUpload&& other) noexcept
    : dir_(std::move(other.dir_)),
      temp_(std::move(other.temp_)),
      fd_(other.fd_),
      max_bytes_(other.max_bytes_),
      size_(other.size_) {
  other.fd_ = -1;
  other.temp_.clear();
}

PendingUpload& PendingUpload::operator=(PendingUpload&& other) noexcept {
  if (this != &other) {
    abort();
    dir_ = std::move(other.dir_);
    temp_ = std::move(other.temp_);
    fd_ = other.fd_;
    max_bytes_ = other.max_bytes_;
    size_ = other.size_;
    other.fd_ = -1;
    other.temp_.clear();
  }
  return *this;
}

PendingUpload::~PendingUpload() {
  abort();
}

void PendingUpload::abort() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_.empty()) {
    ::unlink(temp_.c_str());
    temp_.clear();
  }
}

Result<void> PendingUpload::write(BytesView chunk) {
  if (fd_ < 0) return Error(Errc::internal, "the upload is closed");
  if (chunk.size() > max_bytes_ - size_) {
    abort();
    return Error(Errc::too_large, "the file is larger than this server's limit of " +
                                      std::to_string(max_bytes_) + " bytes");
  }
  const uint8_t* p = chunk.data();
  size_t left = chunk.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      abort();
      return io_error("cannot write an upload", err);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  size_ += chunk.size();
  return success();
}

Result<void> PendingUpload::finish(BytesView id) {
  if (fd_ < 0) return Error(Errc::internal, "the upload is closed");
  if (size_ == 0) {
    abort();
    return Error(Errc::invalid_argument, "the file is empty");
  }
  if (::fsync(fd_) != 0) {
    int err = errno;
    abort();
    return io_error("cannot sync an upload", err);
  }
  ::close(fd_);
  fd_ = -1;
  fs::path target = dir_ / to_hex(id);
  if (::rename(temp_.c_str(), target.c_str()) != 0) {
    int err = errno;
    abort();
    return io_error("cannot name an upload", err);
  }
  temp_.clear();
  if (auto synced = fsync_directory(dir_); !synced) {
    ::unlink(target.c_str());
    return synced;
  }
  return success();
}

Result<store::FileRecord> complete_upload(
    PendingUpload& upload, const BlobDirectory& blobs, store::FileRecord record_template,
    const std::function<Result<void>(const store::FileRecord&)>& record) {
  record_template.size = upload.size();
  SOTTO_TRY(upload.finish(record_template.id));
  if (auto recorded = record(record_template); !recorded) {
    (void)blobs.remove(record_template.id);
    return std::move(recorded).error();
  }
  return record_template;
}

}  // namespace sotto::server::files
