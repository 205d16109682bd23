#include "local_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "sotto/crypto/attachment.h"

namespace sotto::client::local {

namespace fs = std::filesystem;

namespace {
constexpr size_t kReadPiece = 1024 * 1024;  // ciphertext bytes decrypted at a time
}  // namespace

Error path_error(const std::string& what) {
  return Error(Errc::invalid_argument, what + ": " + std::strerror(errno));
}

Error io_error(const std::string& what) {
  return Error(Errc::internal, what + ": " + std::strerror(errno));
}

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<TempFile> TempFile::create(const fs::path& dir) {
  std::string pattern = (dir / ".sotto-file-XXXXXX").string();
  const int fd = ::mkstemp(pattern.data());
  if (fd < 0) return path_error("cannot create a temporary file in " + dir.string());
  return TempFile(fd, pattern);
}

TempFile::TempFile(TempFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {
  other.path_.clear();
}

TempFile::~TempFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!path_.empty()) ::unlink(path_.c_str());
}

Result<void> TempFile::write(BytesView data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error("writing " + path_);
    data = data.subspan(static_cast<size_t>(n));
  }
  return success();
}

Result<void> TempFile::link_to(const fs::path& target) {
  if (::fsync(fd_) != 0) return io_error("writing " + path_);
  if (::link(path_.c_str(), target.c_str()) != 0) {
    if (errno == EEXIST) {
      return Error(Errc::already_exists, target.string() + " exists already: not replaced");
    }
    return path_error("cannot create " + target.string());
  }
  return success();
}

Result<size_t> read_some(int fd, uint8_t* data, size_t size, const std::string& what) {
  for (;;) {
    const ssize_t n = ::read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("reading " + what);
    return static_cast<size_t>(n);
  }
}

Result<uint64_t> check_output(const FileContent& file, const fs::path& output) {
  const auto sealed_size = crypto::attachment_ciphertext_size(file.size);
  if (!sealed_size || file.key.size() != kFileKeySize || file.file_id.size() != kFileIdSize) {
    return Error(Errc::invalid_argument, "not a valid file message");
  }
  std::error_code ec;
  if (fs::exists(fs::symlink_status(output, ec))) {
    return Error(Errc::already_exists, output.string() + " exists already: not replaced");
  }
  return *sealed_size;
}

Result<void> decrypt_into(int sealed_fd, const std::string& what, const FileContent& file,
                          const fs::path& output) {
  const fs::path dir = output.has_parent_path() ? output.parent_path() : fs::path(".");
  SOTTO_TRY_ASSIGN(TempFile plain_file, TempFile::create(dir));
  if (::lseek(sealed_fd, 0, SEEK_SET) != 0) return io_error("reading " + what);
  SOTTO_TRY_ASSIGN(auto decryptor, crypto::AttachmentDecryptor::create(file.key));
  Bytes piece(kReadPiece);
  Bytes plain;
  uint64_t written = 0;
  for (;;) {
    plain.clear();
    SOTTO_TRY_ASSIGN(const size_t n, read_some(sealed_fd, piece.data(), piece.size(), what));
    auto opened =
        n == 0 ? decryptor.finish(plain) : decryptor.update(BytesView(piece.data(), n), plain);
    if (!opened) {
      secure_wipe(plain.data(), plain.size());
      return Error(Errc::authentication_failed,
                   "the file does not decrypt with the message's key: " + opened.error().message());
    }
    written += plain.size();
    auto wrote = plain_file.write(plain);
    secure_wipe(plain.data(), plain.size());
    SOTTO_TRY(wrote);
    if (n == 0) break;
  }
  if (written != file.size) {
    return Error(Errc::authentication_failed, "the decrypted file is not the announced size");
  }
  return plain_file.link_to(output);
}

}  // namespace sotto::client::local
