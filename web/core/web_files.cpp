#include "web_files.h"

#include <emscripten/bind.h>

#include <utility>

#include "js_bytes.h"
#include "sotto/core/encoding.h"

namespace sotto::web {

using emscripten::val;

namespace {

val empty_array() {
  return val::global("Uint8Array").new_(0);
}

// The plaintext piece the page gave, wiped once it is used.
struct Plain {
  explicit Plain(const val& array) : bytes(bytes_of(array)) {}
  ~Plain() { secure_wipe(bytes.data(), bytes.size()); }
  Bytes bytes;
};

}  // namespace

// ---- FileSealer ------------------------------------------------------------------------

FileSealer::FileSealer(double size) {
  if (!(size >= 0) || size > static_cast<double>(client::kMaxFileBytes)) {
    error_ = "a file of at most 100 MiB can be sent";
    return;
  }
  size_ = static_cast<uint64_t>(size);
  ciphertext_size_ = crypto::attachment_ciphertext_size(size_).value_or(0);
  key_ = crypto::new_attachment_key();
  auto encryptor = crypto::AttachmentEncryptor::create(key_);
  if (!encryptor) {
    error_ = encryptor.error().message();
    return;
  }
  encryptor_.emplace(std::move(encryptor).value());
}

val FileSealer::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  encryptor_.reset();
  return empty_array();
}

val FileSealer::update(const val& plaintext) {
  if (!encryptor_) return fail("the file cannot be encrypted any more");
  Plain piece(plaintext);
  if (piece.bytes.size() > size_ - fed_) return fail("the file grew while it was read");
  fed_ += piece.bytes.size();
  Bytes out;
  if (auto done = encryptor_->update(piece.bytes, out); !done) return fail(done.error().message());
  hash_->update(out);
  return uint8_array(out);
}

val FileSealer::finish() {
  if (!encryptor_) return fail("the file cannot be encrypted any more");
  if (fed_ != size_) return fail("the file changed size while it was read");
  Bytes out;
  if (auto done = encryptor_->finish(out); !done) return fail(done.error().message());
  encryptor_.reset();
  hash_->update(out);
  digest_ = hash_->finish();
  return uint8_array(out);
}

Result<client::FileContent> FileSealer::content(const std::string& file_id, const std::string& name,
                                                const std::string& media_type) const {
  if (!error_.empty() || digest_.empty()) {
    return Error(Errc::invalid_argument, "the file was not encrypted whole");
  }
  SOTTO_TRY_ASSIGN(auto id, from_base64url(file_id));
  if (id.size() != client::kFileIdSize) {
    return Error(Errc::invalid_value, "the server gave a malformed file id");
  }
  client::FileContent file;
  file.file_id = std::move(id);
  file.key = key_;
  file.ciphertext_sha256 = digest_;
  file.size = size_;
  file.name = client::sanitize_file_name(name);
  file.media_type =
      client::is_valid_media_type(media_type) ? media_type : "application/octet-stream";
  return file;
}

// ---- FileOpener ------------------------------------------------------------------------

FileOpener::FileOpener(const client::FileContent& file)
    : expected_hash_(file.ciphertext_sha256),
      url_("/v1/files/" + to_base64url(file.file_id)),
      size_(file.size),
      ciphertext_size_(crypto::attachment_ciphertext_size(file.size).value_or(0)) {
  auto decryptor = crypto::AttachmentDecryptor::create(file.key);
  if (!decryptor) {
    error_ = decryptor.error().message();
    return;
  }
  decryptor_.emplace(std::move(decryptor).value());
}

val FileOpener::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  decryptor_.reset();
  verified_ = false;
  return empty_array();
}

void FileOpener::hash(const val& ciphertext) {
  if (verified_ || !error_.empty()) return;
  Bytes piece = bytes_of(ciphertext);
  hashed_ += piece.size();
  if (hashed_ > ciphertext_size_) {
    (void)fail("the file is longer than its message says: it was changed");
    return;
  }
  hash_->update(piece);
}

bool FileOpener::verify() {
  if (verified_) return true;
  if (!error_.empty() || !decryptor_) return false;
  if (hashed_ != ciphertext_size_) {
    (void)fail("the file is shorter than its message says: it was changed or cut");
    return false;
  }
  if (!constant_time_equal(hash_->finish(), expected_hash_)) {
    (void)fail("the file is not the one its message names: it was changed");
    return false;
  }
  verified_ = true;
  return true;
}

val FileOpener::decrypt(const val& ciphertext) {
  if (!verified_ || !decryptor_) return fail("the file was not verified");
  Bytes piece = bytes_of(ciphertext);
  Bytes plain;
  if (auto done = decryptor_->update(piece, plain); !done) return fail(done.error().message());
  produced_ += plain.size();
  val array = uint8_array(plain);
  secure_wipe(plain.data(), plain.size());
  return array;
}

val FileOpener::finish() {
  if (!verified_ || !decryptor_) return fail("the file was not verified");
  Bytes plain;
  if (auto done = decryptor_->finish(plain); !done) return fail(done.error().message());
  decryptor_.reset();
  produced_ += plain.size();
  if (produced_ != size_) return fail("the file decrypted to another size than announced");
  val array = uint8_array(plain);
  secure_wipe(plain.data(), plain.size());
  return array;
}

}  // namespace sotto::web

EMSCRIPTEN_BINDINGS(sotto_web_files) {
  using sotto::web::FileOpener;
  using sotto::web::FileSealer;
  emscripten::class_<FileSealer>("FileSealer")
      .constructor<double>()
      .function("error", &FileSealer::error)
      .function("ciphertextSize", &FileSealer::ciphertext_size)
      .function("update", &FileSealer::update)
      .function("finish", &FileSealer::finish);
  emscripten::class_<FileOpener>("FileOpener")
      .function("error", &FileOpener::error)
      .function("url", &FileOpener::url)
      .function("ciphertextSize", &FileOpener::ciphertext_size)
      .function("hash", &FileOpener::hash)
      .function("verify", &FileOpener::verify)
      .function("decrypt", &FileOpener::decrypt)
      .function("finish", &FileOpener::finish);
}
