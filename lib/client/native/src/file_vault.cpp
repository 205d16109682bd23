#include "sotto/client/file_vault.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "local_file.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/attachment.h"
#include "sotto/crypto/primitives.h"

namespace sotto::client {

namespace fs = std::filesystem;

namespace {

constexpr size_t kPiece = 1024 * 1024;

// Makes `dir` (owner only) when it is not there; a directory's new entries are made durable
// by fsync on it.
Result<local::Fd> open_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return local::path_error("cannot create " + dir.string());
  }
  local::Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return local::path_error("cannot open " + dir.string());
  return fd;
}

}  // namespace

fs::path FileVault::path_of(const FileContent& file) const {
  return dir_ / to_hex(file.file_id);
}

Result<FileContent> FileVault::keep(BytesView data, std::string_view name,
                                    std::string_view media_type) const {
  if (data.size() > kMaxFileBytes) {
    return Error(Errc::too_large, "a file of " + std::to_string(data.size()) +
                                      " bytes: over the limit of " +
                                      std::to_string(kMaxFileBytes >> 20) + " MiB");
  }
  FileContent file;
  file.file_id = crypto::random_bytes(kFileIdSize);
  file.key = crypto::new_attachment_key();
  file.size = data.size();
  file.name = sanitize_file_name(name);
  file.media_type = is_valid_media_type(media_type) ? std::string(media_type)
                                                    : std::string("application/octet-stream");
  SOTTO_TRY_ASSIGN(auto encryptor, crypto::AttachmentEncryptor::create(file.key));
  SOTTO_TRY_ASSIGN(local::Fd dir, open_dir(dir_));
  SOTTO_TRY_ASSIGN(local::TempFile sealed, local::TempFile::create(dir_));
  crypto::Sha256 hash;
  Bytes piece;
  for (size_t at = 0; at <= data.size(); at += kPiece) {
    piece.clear();
    const bool last = data.size() - at <= kPiece;
    SOTTO_TRY(encryptor.update(data.subspan(at, last ? data.size() - at : kPiece), piece));
    if (last) SOTTO_TRY(encryptor.finish(piece));
    hash.update(piece);
    SOTTO_TRY(sealed.write(piece));
    if (last) break;
  }
  file.ciphertext_sha256 = hash.finish();
  SOTTO_TRY(sealed.link_to(path_of(file)));
  if (::fsync(dir.get()) != 0) return local::io_error("writing " + dir_.string());
  return file;
}

Result<void> FileVault::save(const FileContent& file, const fs::path& output) const {
  SOTTO_TRY_ASSIGN(const uint64_t sealed_size, local::check_output(file, output));
  const fs::path path = path_of(file);
  local::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Error(Errc::not_found, file.name + " is not on this device");
    return local::path_error("cannot open " + path.string());
  }
  // Its length and hash first: a file changed or swapped here is refused before anything is
  // decrypted.
  crypto::Sha256 hash;
  Bytes piece(kPiece);
  uint64_t length = 0;
  for (;;) {
    SOTTO_TRY_ASSIGN(const size_t n,
                     local::read_some(fd.get(), piece.data(), piece.size(), path.string()));
    if (n == 0) break;
    length += n;
    if (length > sealed_size) break;
    hash.update(BytesView(piece.data(), n));
  }
  if (length != sealed_size || !constant_time_equal(hash.finish(), file.ciphertext_sha256)) {
    return Error(Errc::authentication_failed,
                 "the kept copy of " + file.name + " was changed: nothing was written");
  }
  return local::decrypt_into(fd.get(), path.string(), file, output);
}

Result<void> FileVault::remove(const FileContent& file) const {
  if (file.file_id.size() != kFileIdSize) return success();
  const fs::path path = path_of(file);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return local::path_error("cannot delete " + path.string());
  }
  return success();
}

}  // namespace sotto::client
