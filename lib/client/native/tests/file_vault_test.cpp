// The file vault: files kept encrypted beside the store, saved only when whole and unchanged.
#include "sotto/client/file_vault.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "sotto/core/encoding.h"
#include "sotto/crypto/attachment.h"
#include "sotto/crypto/primitives.h"

namespace sotto::client {
namespace {

namespace fs = std::filesystem;

class FileVaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sotto-vault-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static Bytes read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  }
  static Bytes pattern(size_t size) {
    Bytes data(size);
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<uint8_t>(i * 13 + (i >> 11));
    return data;
  }

  fs::path dir_;
};

TEST_F(FileVaultTest, KeepsEncryptedAndSavesByteForByte) {
  FileVault vault(dir_ / "files");
  // Empty, one byte, a chunk's edge and the vault's piece size, and several pieces.
  for (size_t size : {size_t{0}, size_t{1}, crypto::kAttachmentChunkSize, size_t{1} << 20,
                      (size_t{3} << 20) + 17}) {
    const Bytes data = pattern(size);
    auto kept = vault.keep(data, "photo.jpg", "image/jpeg");
    ASSERT_TRUE(kept.ok()) << kept.error().to_string();
    EXPECT_EQ(kept->size, size);
    EXPECT_EQ(kept->name, "photo.jpg");
    EXPECT_EQ(kept->media_type, "image/jpeg");
    EXPECT_EQ(kept->file_id.size(), kFileIdSize);
    const fs::path sealed = dir_ / "files" / to_hex(kept->file_id);
    ASSERT_TRUE(fs::exists(sealed));
    EXPECT_EQ(fs::file_size(sealed), *crypto::attachment_ciphertext_size(size));
    EXPECT_EQ(crypto::sha256(read(sealed)), kept->ciphertext_sha256);
    if (size >= 64) {
      const Bytes on_disk = read(sealed);
      EXPECT_EQ(std::search(on_disk.begin(), on_disk.end(), data.begin() + 8, data.begin() + 40),
                on_disk.end());
    }
    const fs::path out = dir_ / ("out-" + std::to_string(size));
    ASSERT_TRUE(vault.save(*kept, out).ok());
    EXPECT_EQ(read(out), data);
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "files").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(FileVaultTest, NamesAndTypesFromMailAreMadeSafe) {
  FileVault vault(dir_ / "files");
  auto kept = vault.keep(pattern(10), "../../etc/passwd", "not a type");
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(is_valid_file_name(kept->name)) << kept->name;
  EXPECT_EQ(kept->name.find('/'), std::string::npos);
  EXPECT_EQ(kept->media_type, "application/octet-stream");
}

TEST_F(FileVaultTest, AChangedMissingOrSwappedCopyIsRefusedAndNothingIsWritten) {
  FileVault vault(dir_ / "files");
  const Bytes data = pattern(200 * 1024);
  auto kept = vault.keep(data, "a.bin", "application/octet-stream");
  auto other = vault.keep(pattern(200 * 1024 + 1), "b.bin", "application/octet-stream");
  ASSERT_TRUE(kept.ok() && other.ok());
  const fs::path sealed = dir_ / "files" / to_hex(kept->file_id);
  const fs::path out = dir_ / "out";

  // The output exists already: not replaced.
  { std::ofstream(out) << "mine"; }
  auto exists = vault.save(*kept, out);
  ASSERT_FALSE(exists.ok());
  EXPECT_EQ(exists.error().code(), Errc::already_exists);
  EXPECT_EQ(read(out), Bytes({'m', 'i', 'n', 'e'}));
  fs::remove(out);

  // One byte changed.
  Bytes changed = read(sealed);
  changed[5000] ^= 1;
  fs::remove(sealed);
  std::ofstream(sealed, std::ios::binary)
      .write(reinterpret_cast<const char*>(changed.data()),
             static_cast<std::streamsize>(changed.size()));
  auto refused = vault.save(*kept, out);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::authentication_failed);
  EXPECT_FALSE(fs::exists(out));

  // Cut short, and longer.
  changed[5000] ^= 1;
  for (size_t length : {changed.size() - 1, changed.size() + 1}) {
    Bytes resized = changed;
    resized.resize(length, 0);
    fs::remove(sealed);
    std::ofstream(sealed, std::ios::binary)
        .write(reinterpret_cast<const char*>(resized.data()),
               static_cast<std::streamsize>(resized.size()));
    auto cut = vault.save(*kept, out);
    ASSERT_FALSE(cut.ok());
    EXPECT_EQ(cut.error().code(), Errc::authentication_failed);
    EXPECT_FALSE(fs::exists(out));
  }

  // Another file put in its place.
  fs::remove(sealed);
  fs::copy_file(dir_ / "files" / to_hex(other->file_id), sealed);
  auto swapped = vault.save(*kept, out);
  ASSERT_FALSE(swapped.ok());
  EXPECT_EQ(swapped.error().code(), Errc::authentication_failed);

  // Gone.
  ASSERT_TRUE(vault.remove(*kept).ok());
  ASSERT_TRUE(vault.remove(*kept).ok());  // twice is no error
  auto gone = vault.save(*kept, out);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code(), Errc::not_found);
  EXPECT_FALSE(fs::exists(out));
  // Nothing left behind by the refusals but the other file.
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "files")) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().rfind(".sotto-file", 0), std::string::npos);
  }
}

}  // namespace
}  // namespace sotto::client
