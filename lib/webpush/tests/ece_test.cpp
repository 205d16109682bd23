// RFC 8188 aes128gcm: the section 3 examples both ways, round trips over record sizes and
// padding, and the ways a body can be damaged (tampered, truncated, extended, reordered).
#include <gtest/gtest.h>

#include <string>

#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sotto/webpush/webpush.h"
#include "vectors.h"

namespace sotto::webpush {
namespace {

using sotto::testing::Json;

constexpr std::string_view kExamples = "webpush/rfc8188_examples.json";

Bytes b64(const Json& value) {
  auto decoded = from_base64url(value.get<std::string>());
  EXPECT_TRUE(decoded.ok()) << value;
  return decoded.ok() ? *decoded : Bytes{};
}

TEST(Ece, Rfc8188ExamplesDecrypt) {
  auto file = sotto::testing::load_vectors(kExamples);
  ASSERT_TRUE(file);
  sotto::testing::VectorTally tally(std::string(kExamples) + " (decrypt)");
  for (const Json& ex : (*file)["examples"]) {
    Bytes encoded = b64(ex["encoded"]);
    auto header = parse_content_header(encoded);
    ASSERT_TRUE(header.ok()) << header.error().to_string();
    EXPECT_EQ(header->record_size, ex["rs"].get<uint32_t>());
    EXPECT_EQ(std::string(header->key_id.begin(), header->key_id.end()),
              ex["keyid"].get<std::string>());
    auto plain = ece_decrypt(b64(ex["key"]), encoded);
    bool ok = plain.ok() &&
              sotto::testing::same(*plain, as_bytes(ex["plaintext_utf8"].get<std::string>()),
                                   ex["section"].get<std::string>());
    if (!plain.ok()) ADD_FAILURE() << plain.error().to_string();
    tally.count(ok);
  }
  EXPECT_EQ(tally.passed(), 2);
}

TEST(Ece, Rfc8188ExamplesEncrypt) {
  auto file = sotto::testing::load_vectors(kExamples);
  ASSERT_TRUE(file);
  sotto::testing::VectorTally tally(std::string(kExamples) + " (encrypt)");
  for (const Json& ex : (*file)["examples"]) {
    ContentHeader header;
    header.salt = b64(ex["salt"]);
    header.record_size = ex["rs"].get<uint32_t>();
    header.key_id = to_bytes(ex["keyid"].get<std::string>());
    auto body =
        ece_encrypt(b64(ex["key"]), header, as_bytes(ex["plaintext_utf8"].get<std::string>()),
                    ex["pad"].get<size_t>());
    ASSERT_TRUE(body.ok()) << body.error().to_string();
    tally.count(sotto::testing::same(*body, b64(ex["encoded"]), ex["section"].get<std::string>()));
  }
  EXPECT_EQ(tally.passed(), 2);
}

ContentHeader header_with(uint32_t rs) {
  ContentHeader h;
  h.salt = crypto::random_bytes(kSaltSize);
  h.record_size = rs;
  h.key_id = to_bytes("k");
  return h;
}

TEST(Ece, RoundTripsOverRecordSizesAndPadding) {
  SecureBytes key = crypto::random_secret(16);
  for (uint32_t rs : {18u, 19u, 25u, 64u, 4096u}) {
    for (size_t len : {0u, 1u, 2u, 17u, 100u, 1000u}) {
      for (size_t pad : {0u, 1u, 5u, 40u}) {
        Bytes plain = crypto::random_bytes(len);
        auto body = ece_encrypt(key, header_with(rs), plain, pad);
        ASSERT_TRUE(body.ok()) << body.error().to_string();
        auto back = ece_decrypt(key, *body);
        ASSERT_TRUE(back.ok()) << "rs " << rs << " len " << len << " pad " << pad << ": "
                               << back.error().to_string();
        EXPECT_EQ(back->reveal(), plain) << "rs " << rs << " len " << len << " pad " << pad;
      }
    }
  }
}

TEST(Ece, RejectsTamperingAndTheWrongKey) {
  SecureBytes key = crypto::random_secret(16);
  Bytes plain = to_bytes("a message long enough for several records");
  ContentHeader h = header_with(25);
  auto body = ece_encrypt(key, h, plain);
  ASSERT_TRUE(body.ok());
  for (size_t i = h.size(); i < body->size(); i += 7) {
    Bytes bad = *body;
    bad[i] ^= 1;
    auto r = ece_decrypt(key, bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::authentication_failed);
  }
  auto wrong = ece_decrypt(crypto::random_secret(16), *body);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Errc::authentication_failed);
}

TEST(Ece, RejectsTruncationAndExtension) {
  SecureBytes key = crypto::random_secret(16);
  ContentHeader h = header_with(25);
  Bytes plain = to_bytes("twenty-seven bytes of text.");  // 8 data bytes a record: 4 records
  auto body = ece_encrypt(key, h, plain);
  ASSERT_TRUE(body.ok());
  size_t records = (body->size() - h.size() + 24) / 25;
  ASSERT_GE(records, 3u);

  // Without its last record the body ends on a 0x01 delimiter.
  Bytes cut(body->begin(),
            body->end() - static_cast<ptrdiff_t>(body->size() - h.size() - 25 * (records - 1)));
  auto truncated = ece_decrypt(key, cut);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code(), Errc::truncated);

  // A header alone, and a header cut short.
  Bytes head(body->begin(), body->begin() + static_cast<ptrdiff_t>(h.size()));
  EXPECT_EQ(ece_decrypt(key, head).error().code(), Errc::truncated);
  EXPECT_EQ(ece_decrypt(key, BytesView(*body).first(20)).error().code(), Errc::truncated);

  // Bytes after the last record: as a record they cannot authenticate with the next nonce;
  // a whole copy of the last record does not either (its nonce is bound to its position).
  Bytes extended = *body;
  extended.insert(extended.end(), body->end() - 17, body->end());
  EXPECT_FALSE(ece_decrypt(key, extended).ok());

  // Swapping two full records breaks their nonces.
  Bytes swapped = *body;
  std::swap_ranges(swapped.begin() + static_cast<ptrdiff_t>(h.size()),
                   swapped.begin() + static_cast<ptrdiff_t>(h.size() + 25),
                   swapped.begin() + static_cast<ptrdiff_t>(h.size() + 25));
  EXPECT_EQ(ece_decrypt(key, swapped).error().code(), Errc::authentication_failed);
}

// Records built by hand with the derived keys, to reach the delimiter checks behind the tag.
Bytes seal_records(const SecureBytes& key, const ContentHeader& h,
                   const std::vector<Bytes>& records) {
  ContentKeys keys = derive_content_keys(key, h.salt);
  Bytes out = h.salt;
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(h.record_size >> s));
  out.push_back(static_cast<uint8_t>(h.key_id.size()));
  out.insert(out.end(), h.key_id.begin(), h.key_id.end());
  for (size_t seq = 0; seq < records.size(); ++seq) {
    Bytes nonce = keys.nonce.reveal();
    nonce.back() ^= static_cast<uint8_t>(seq);
    auto sealed = crypto::aead_seal(crypto::Aead::aes128gcm, keys.cek, nonce, {}, records[seq]);
    EXPECT_TRUE(sealed.ok());
    out.insert(out.end(), sealed->begin(), sealed->end());
  }
  return out;
}

TEST(Ece, RejectsBadDelimiters) {
  SecureBytes key = crypto::random_secret(16);
  ContentHeader h = header_with(20);  // 4 bytes of record content
  auto code = [&](std::vector<Bytes> records) {
    auto r = ece_decrypt(key, seal_records(key, h, records));
    return r.ok() ? Errc::ok : r.error().code();
  };
  EXPECT_EQ(code({{'a', 'b', 0x02, 0x00}}), Errc::ok);
  EXPECT_EQ(code({{'a', 'b', 'c', 0x01}, {'d', 0x02}}), Errc::ok);
  EXPECT_EQ(code({{0, 0, 0, 0}}), Errc::invalid_value);                        // no delimiter
  EXPECT_EQ(code({{'a', 'b', 0x03, 0x00}}), Errc::invalid_value);              // unknown delimiter
  EXPECT_EQ(code({{'a', 'b', 'c', 0x02}, {'d', 0x02}}), Errc::invalid_value);  // last, then more
  EXPECT_EQ(code({{'a', 'b', 'c', 0x01}}), Errc::truncated);                   // ends on a 0x01
  EXPECT_EQ(code({Bytes{}}), Errc::truncated);                                 // a tag alone
}

TEST(Ece, ChecksItsArguments) {
  SecureBytes key = crypto::random_secret(16);
  ContentHeader h = header_with(17);
  EXPECT_EQ(ece_encrypt(key, h, {}).error().code(), Errc::invalid_argument);
  h = header_with(4096);
  h.salt.pop_back();
  EXPECT_EQ(ece_encrypt(key, h, {}).error().code(), Errc::invalid_argument);
  h = header_with(4096);
  h.key_id.assign(256, 'x');
  EXPECT_EQ(ece_encrypt(key, h, {}).error().code(), Errc::invalid_argument);

  // A header declaring rs below 18, and one whose key id runs past the body.
  Bytes body(21, 0);
  body[19] = 17;
  EXPECT_EQ(parse_content_header(body).error().code(), Errc::invalid_value);
  body[19] = 18;
  body[20] = 5;
  EXPECT_EQ(parse_content_header(body).error().code(), Errc::truncated);
}

TEST(Ece, BoundsTheNumberOfRecords) {
  SecureBytes key = crypto::random_secret(16);
  auto body = ece_encrypt(key, header_with(18), Bytes(10, 'x'));  // one data byte a record
  ASSERT_TRUE(body.ok());
  EXPECT_TRUE(ece_decrypt(key, *body, 10).ok());
  EXPECT_EQ(ece_decrypt(key, *body, 9).error().code(), Errc::length_limit);
}

}  // namespace
}  // namespace sotto::webpush

namespace sotto::webpush {
namespace {

// Until a fuzz target covers them: mutated and random bodies, headers and URLs must come back
// as errors (or, rarely, a valid result), never a crash or a read past the end; the sanitizer
// build runs this too.
TEST(UntrustedInput, MutatedBodiesAndHeadersAreErrors) {
  auto ua = P256KeyPair::generate();
  ASSERT_TRUE(ua.ok());
  Bytes auth = crypto::random_bytes(kAuthSecretSize);
  auto body = encrypt_push({ua->public_key(), auth}, to_bytes(R"({"t":"sotto"})"));
  ASSERT_TRUE(body.ok());
  SecureBytes key = crypto::random_secret(16);
  auto multi = ece_encrypt(key, {crypto::random_bytes(16), 18, to_bytes("id")}, Bytes(40, 'x'));
  ASSERT_TRUE(multi.ok());

  Bytes noise = crypto::random_bytes(4 * 4096);
  size_t next = 0;
  auto draw = [&]() -> uint8_t { return noise[next++ % noise.size()]; };
  for (int i = 0; i < 3000; ++i) {
    Bytes a = *body;
    Bytes b = *multi;
    switch (i % 4) {
      case 0:  // flip a byte (the header included)
        a[draw() % a.size()] ^= static_cast<uint8_t>(1 + draw() % 255);
        b[draw() % b.size()] ^= static_cast<uint8_t>(1 + draw() % 255);
        break;
      case 1:  // cut anywhere
        a.resize(draw() % a.size());
        b.resize(draw() % b.size());
        break;
      case 2:  // grow with junk
        for (int k = draw() % 40; k >= 0; --k) a.push_back(draw());
        for (int k = draw() % 40; k >= 0; --k) b.push_back(draw());
        break;
      default:  // pure noise
        a.assign(noise.begin() + static_cast<ptrdiff_t>(draw()),
                 noise.begin() + static_cast<ptrdiff_t>(draw()) + 256);
        b = a;
        break;
    }
    // The header's record size is not authenticated: raising it above the one
    // record changes nothing, so a flip there may still open, to the same plaintext.
    auto opened = decrypt_push(*ua, auth, a);
    EXPECT_TRUE(!opened.ok() || opened->reveal() == to_bytes(R"({"t":"sotto"})")) << i;
    auto opened_multi = ece_decrypt(key, b);
    EXPECT_TRUE(!opened_multi.ok() || opened_multi->reveal() == Bytes(40, 'x')) << i;
    std::string text(a.begin(), a.end());
    (void)parse_endpoint("https://" + text);
    (void)parse_vapid_authorization("vapid t=" + text + ", k=" + text);
    (void)verify_vapid_jwt(text, ua->public_key());
    (void)check_public_key(a);
  }
}

}  // namespace
}  // namespace sotto::webpush
