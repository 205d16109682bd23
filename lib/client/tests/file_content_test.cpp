// File messages: their wire form round-trips; malformed ones, oversized or unsafe names,
// bad media types and wrong sizes are refused with a typed error; names are made safe.
#include <gtest/gtest.h>

#include <string>

#include "sotto/client/app_message.h"
#include "sotto/core/tls.h"

namespace sotto::client {
namespace {

FileContent sample_file() {
  FileContent f;
  f.file_id = Bytes(kFileIdSize, 0x11);
  f.key = SecureBytes(Bytes(kFileKeySize, 0x22));
  f.ciphertext_sha256 = Bytes(kFileHashSize, 0x33);
  f.size = 52'428'800;
  f.name = "holiday photo.jpg";
  f.media_type = "image/jpeg";
  f.caption = "the beach";
  return f;
}

AppMessage file_message(FileContent f) {
  AppMessage m;
  m.message_id = Bytes(kMessageIdSize, 7);
  m.sent_at = 1'700'000'000'123;
  m.content = std::move(f);
  return m;
}

Errc refusal(FileContent f) {
  auto r = decode_app_message(encode_app_message(file_message(std::move(f))));
  return r.ok() ? Errc::internal : r.error().code();  // internal: accepted, wrongly
}

TEST(FileContent, RoundTripsWithTagFour) {
  const Bytes wire = encode_app_message(file_message(sample_file()));
  // version (2), id length + id (17), sent_at (8), then the content's tag.
  ASSERT_GT(wire.size(), 27u);
  EXPECT_EQ(wire[27], 4);
  auto back = decode_app_message(wire);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  const auto& f = std::get<FileContent>(back->content);
  EXPECT_EQ(f.file_id, Bytes(kFileIdSize, 0x11));
  EXPECT_EQ(f.key.reveal(), Bytes(kFileKeySize, 0x22));
  EXPECT_EQ(f.ciphertext_sha256, Bytes(kFileHashSize, 0x33));
  EXPECT_EQ(f.size, 52'428'800u);
  EXPECT_EQ(f.name, "holiday photo.jpg");
  EXPECT_EQ(f.media_type, "image/jpeg");
  EXPECT_EQ(f.caption, "the beach");

  FileContent bare = sample_file();
  bare.caption.reset();
  bare.size = 0;
  EXPECT_TRUE(decode_app_message(encode_app_message(file_message(std::move(bare)))).ok());
}

TEST(FileContent, WrongSizesAreRefused) {
  FileContent f = sample_file();
  f.file_id = Bytes(15, 1);
  EXPECT_EQ(refusal(std::move(f)), Errc::invalid_value);
  f = sample_file();
  f.key = SecureBytes(Bytes(31, 1));
  EXPECT_EQ(refusal(std::move(f)), Errc::invalid_value);
  f = sample_file();
  f.ciphertext_sha256 = Bytes(64, 1);
  EXPECT_EQ(refusal(std::move(f)), Errc::invalid_value);
  f = sample_file();
  f.size = kMaxFileBytes + 1;
  EXPECT_EQ(refusal(std::move(f)), Errc::invalid_value);
  f = sample_file();
  f.size = kMaxFileBytes;
  EXPECT_EQ(refusal(std::move(f)), Errc::internal);  // at the limit: accepted
}

TEST(FileContent, UnsafeOrOversizedNamesAreRefused) {
  for (std::string name :
       {std::string(), std::string("../../etc/passwd"), std::string("a/b"), std::string("a\\b"),
        std::string("."), std::string(".."), std::string(".bashrc"), std::string("tab\there"),
        std::string("new\nline"), std::string("del\x7f"), std::string("c1\xc2\x85"),
        std::string("gpj\xe2\x80\xae.exe"), std::string("bad\xff utf8"),
        std::string("overlong\xc0\xaf"), std::string(kMaxFileNameBytes + 1, 'a')}) {
    FileContent f = sample_file();
    f.name = name;
    EXPECT_EQ(refusal(std::move(f)), Errc::invalid_value) << "name: " << name;
  }
  FileContent longest = sample_file();
  longest.name = std::string(kMaxFileNameBytes, 'a');
  EXPECT_EQ(refusal(std::move(longest)), Errc::internal);
  FileContent unicode = sample_file();
  unicode.name = "Zürich 東京.txt";
  EXPECT_EQ(refusal(std::move(unicode)), Errc::internal);
}

TEST(FileContent, BadMediaTypesAndCaptionsAreRefused) {
  for (std::string type : {"", "image", "image/", "/jpeg", "image/jpeg/x", "image /jpeg",
                           "text/plain; charset=utf-8", "-x/y"}) {
    FileContent f = sample_file();
    f.media_type = type;
    EXPECT_EQ(refusal(std::move(f)), Errc::invalid_value) << "type: " << type;
  }
  FileContent ok = sample_file();
  ok.media_type = "application/vnd.oasis.opendocument.text";
  EXPECT_EQ(refusal(std::move(ok)), Errc::internal);
  FileContent f = sample_file();
  f.caption = std::string(kMaxTextBytes + 1, 'c');
  EXPECT_EQ(refusal(std::move(f)), Errc::invalid_value);
  f = sample_file();
  f.caption = std::string("\xff");
  EXPECT_EQ(refusal(std::move(f)), Errc::invalid_value);
}

TEST(FileContent, MalformedBytesAreRefusedNotCrashed) {
  const Bytes wire = encode_app_message(file_message(sample_file()));
  // Every truncation is an error, never a crash or a partial message.
  for (size_t n = 0; n < wire.size(); ++n) {
    EXPECT_FALSE(decode_app_message(BytesView(wire).subspan(0, n)).ok()) << "length " << n;
  }
  Bytes longer = wire;
  longer.push_back(0);
  EXPECT_EQ(decode_app_message(longer).error().code(), Errc::trailing_bytes);
  Bytes unknown_tag = wire;
  unknown_tag[27] = 9;
  EXPECT_EQ(decode_app_message(unknown_tag).error().code(), Errc::invalid_value);
  Bytes bad_caption_flag = wire;
  // The caption's optional flag sits right before its length and 9 bytes.
  bad_caption_flag[wire.size() - 11] = 2;
  EXPECT_EQ(decode_app_message(bad_caption_flag).error().code(), Errc::invalid_value);
}

TEST(FileContent, SanitizedNamesAreValidAndKeepWhatIsSafe) {
  EXPECT_EQ(sanitize_file_name("report.pdf"), "report.pdf");
  EXPECT_EQ(sanitize_file_name("../../etc/passwd"), "_.._etc_passwd");
  EXPECT_EQ(sanitize_file_name("a\\b\nc"), "a_b_c");
  EXPECT_EQ(sanitize_file_name("..."), "file");
  EXPECT_EQ(sanitize_file_name(""), "file");
  EXPECT_EQ(sanitize_file_name(".hidden"), "hidden");
  EXPECT_EQ(sanitize_file_name("gpj\xe2\x80\xae.exe"), "gpj_.exe");
  EXPECT_EQ(sanitize_file_name("bad\xff"), "bad_");
  const std::string long_name = std::string(300, 'x') + ".tar.gz";
  const std::string cut = sanitize_file_name(long_name);
  EXPECT_EQ(cut.size(), kMaxFileNameBytes);
  EXPECT_EQ(cut.substr(cut.size() - 3), ".gz");
  // A cut never splits a character.
  std::string wide;
  for (int i = 0; i < 100; ++i) wide += "東";
  const std::string wide_cut = sanitize_file_name(wide);
  EXPECT_LE(wide_cut.size(), kMaxFileNameBytes);
  EXPECT_TRUE(is_valid_file_name(wide_cut));
  for (const char* raw : {"../../etc/passwd", "a\\b\nc", "...", ".hidden", "bad\xff"}) {
    EXPECT_TRUE(is_valid_file_name(sanitize_file_name(raw))) << raw;
  }
}

}  // namespace
}  // namespace sotto::client
