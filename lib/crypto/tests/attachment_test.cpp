// Attachment streams: round trips of every size around the chunk boundaries fed in pieces of
// every shape, lengths that match the formula, and streams refused when cut short, reordered,
// changed, extended or opened with another key.
#include "sotto/crypto/attachment.h"

#include <gtest/gtest.h>

#include <vector>

#include "sotto/crypto/primitives.h"

namespace sotto::crypto {
namespace {

constexpr size_t C = kAttachmentChunkSize;
constexpr size_t kSealed = kAttachmentChunkSize + kAttachmentChunkOverhead;

Bytes pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((i * 131 + i / 7) & 0xff);
  return b;
}

// Encrypts `plain`, fed in pieces of `piece` bytes (all at once when 0).
Bytes encrypt(const SecureBytes& key, const Bytes& plain, size_t piece = 0) {
  auto e = AttachmentEncryptor::create(key);
  EXPECT_TRUE(e.ok());
  Bytes out;
  BytesView rest(plain);
  if (piece == 0) piece = plain.size() + 1;
  while (!rest.empty()) {
    const size_t n = std::min(piece, rest.size());
    EXPECT_TRUE(e->update(rest.subspan(0, n), out).ok());
    rest = rest.subspan(n);
  }
  EXPECT_TRUE(e->finish(out).ok());
  return out;
}

Result<Bytes> decrypt(const SecureBytes& key, BytesView cipher, size_t piece = 0) {
  SOTTO_TRY_ASSIGN(auto d, AttachmentDecryptor::create(key));
  Bytes out;
  if (piece == 0) piece = cipher.size() + 1;
  while (!cipher.empty()) {
    const size_t n = std::min(piece, cipher.size());
    SOTTO_TRY(d.update(cipher.subspan(0, n), out));
    cipher = cipher.subspan(n);
  }
  SOTTO_TRY(d.finish(out));
  return out;
}

TEST(Attachment, RoundTripsAroundChunkBoundariesInAnyPieces) {
  const SecureBytes key = new_attachment_key();
  ASSERT_EQ(key.size(), kAttachmentKeySize);
  for (size_t size : {size_t{0}, size_t{1}, C - 1, C, C + 1, 2 * C, 3 * C + 5}) {
    const Bytes plain = pattern(size);
    for (size_t piece : {size_t{0}, size_t{1000}, C, C + 3}) {
      if (piece == 1000 && size > 2 * C) continue;  // enough of the small pieces
      const Bytes cipher = encrypt(key, plain, piece);
      ASSERT_EQ(cipher.size(), attachment_ciphertext_size(size).value())
          << "size " << size << " piece " << piece;
      EXPECT_EQ(attachment_plaintext_size(cipher.size()).value(), size);
      for (size_t read : {size_t{0}, size_t{1}, size_t{777}, kSealed}) {
        if (read == 1 && size > C + 1) continue;
        auto opened = decrypt(key, cipher, read);
        ASSERT_TRUE(opened.ok()) << "size " << size << ": " << opened.error().to_string();
        EXPECT_EQ(*opened, plain) << "size " << size << " piece " << piece << " read " << read;
      }
    }
  }
}

TEST(Attachment, EmptyFileIsAHeaderAndAnEmptyFinalChunk) {
  const SecureBytes key = new_attachment_key();
  const Bytes cipher = encrypt(key, {});
  EXPECT_EQ(cipher.size(), kAttachmentHeaderSize + kAttachmentChunkOverhead);
  auto opened = decrypt(key, cipher);
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

TEST(Attachment, SameFileTwiceGivesDifferentCiphertexts) {
  const SecureBytes key = new_attachment_key();
  const Bytes plain = pattern(100);
  EXPECT_NE(encrypt(key, plain), encrypt(key, plain));  // a random header each time
}

TEST(Attachment, SizesWithNoCiphertextAreRefused) {
  EXPECT_FALSE(attachment_plaintext_size(0).has_value());
  EXPECT_FALSE(attachment_plaintext_size(kAttachmentHeaderSize + 16).has_value());
  // A full chunk and a final chunk shorter than its overhead.
  EXPECT_FALSE(attachment_plaintext_size(kAttachmentHeaderSize + kSealed + 5).has_value());
  EXPECT_FALSE(attachment_ciphertext_size(UINT64_MAX - 10).has_value());
}

TEST(Attachment, WrongKeyIsRefused) {
  const Bytes cipher = encrypt(new_attachment_key(), pattern(C + 10));
  auto opened = decrypt(new_attachment_key(), cipher);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code(), Errc::authentication_failed);
}

TEST(Attachment, TruncationAnywhereIsRefused) {
  const SecureBytes key = new_attachment_key();
  const Bytes cipher = encrypt(key, pattern(2 * C + 100));
  // At chunk boundaries (the final chunk dropped: every remaining chunk opens) and inside.
  for (size_t cut : {size_t{0}, kAttachmentHeaderSize, kAttachmentHeaderSize + kSealed,
                     kAttachmentHeaderSize + 2 * kSealed, kAttachmentHeaderSize + 2 * kSealed + 10,
                     cipher.size() - 1}) {
    auto opened = decrypt(key, BytesView(cipher).subspan(0, cut));
    ASSERT_FALSE(opened.ok()) << "cut at " << cut;
  }
  auto at_boundary =
      decrypt(key, BytesView(cipher).subspan(0, kAttachmentHeaderSize + 2 * kSealed));
  EXPECT_EQ(at_boundary.error().code(), Errc::truncated);
}

TEST(Attachment, ReorderedOrRepeatedChunksAreRefused) {
  const SecureBytes key = new_attachment_key();
  const Bytes cipher = encrypt(key, pattern(3 * C + 1));
  const BytesView header = BytesView(cipher).subspan(0, kAttachmentHeaderSize);
  auto chunk = [&](size_t i) {
    return BytesView(cipher).subspan(
        kAttachmentHeaderSize + i * kSealed,
        std::min(kSealed, cipher.size() - kAttachmentHeaderSize - i * kSealed));
  };
  const Bytes swapped = concat({header, chunk(1), chunk(0), chunk(2), chunk(3)});
  ASSERT_EQ(swapped.size(), cipher.size());
  EXPECT_EQ(decrypt(key, swapped).error().code(), Errc::authentication_failed);
  const Bytes repeated = concat({header, chunk(0), chunk(0), chunk(2), chunk(3)});
  EXPECT_EQ(decrypt(key, repeated).error().code(), Errc::authentication_failed);
  const Bytes dropped = concat({header, chunk(0), chunk(2), chunk(3)});
  EXPECT_EQ(decrypt(key, dropped).error().code(), Errc::authentication_failed);
}

TEST(Attachment, AnyChangedByteOrAppendedByteIsRefused) {
  const SecureBytes key = new_attachment_key();
  const Bytes cipher = encrypt(key, pattern(C + 50));
  for (size_t at : {size_t{0}, size_t{23}, size_t{24}, size_t{24 + 100}, kAttachmentHeaderSize + C,
                    cipher.size() - 1}) {
    Bytes changed = cipher;
    changed[at] ^= 0x01;
    EXPECT_FALSE(decrypt(key, changed).ok()) << "byte " << at;
  }
  Bytes longer = cipher;
  longer.push_back(0);
  EXPECT_FALSE(decrypt(key, longer).ok());
  // A whole valid stream followed by more: the final chunk no longer opens.
  const Bytes twice = concat({cipher, cipher});
  EXPECT_FALSE(decrypt(key, twice).ok());
}

TEST(Attachment, BadKeysAndMisuseAreErrors) {
  EXPECT_EQ(AttachmentEncryptor::create(Bytes(16)).error().code(), Errc::invalid_argument);
  EXPECT_EQ(AttachmentDecryptor::create(Bytes(33)).error().code(), Errc::invalid_argument);
  auto e = AttachmentEncryptor::create(new_attachment_key());
  ASSERT_TRUE(e.ok());
  Bytes out;
  ASSERT_TRUE(e->finish(out).ok());
  EXPECT_FALSE(e->update(pattern(3), out).ok());
  EXPECT_FALSE(e->finish(out).ok());
  auto d = AttachmentDecryptor::create(new_attachment_key());
  ASSERT_TRUE(d.ok());
  Bytes plain;
  EXPECT_EQ(d->finish(plain).error().code(), Errc::truncated);  // nothing at all
  EXPECT_FALSE(d->update(out, plain).ok());                     // refuses after a failure
}

}  // namespace
}  // namespace sotto::crypto
