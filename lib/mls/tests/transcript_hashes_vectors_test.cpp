// tests/vectors/mls/transcript-hashes.json: the transcript hashes of RFC 9420 section 8.2
// and the confirmation tag. authenticated_content is an AuthenticatedContent of a commit:
// wire_format || FramedContent || signature<V> || confirmation_tag<V>. The
// ConfirmedTranscriptHashInput is everything before the confirmation tag, the last field.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sotto/core/encoding.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/mls/key_schedule.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;
using testing::hex_field;
using testing::Json;
using testing::VectorTally;

bool same(BytesView got, BytesView want, const char* what) {
  if (got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin())) return true;
  ADD_FAILURE() << what << ": got " << to_hex(got) << ", want " << to_hex(want);
  return false;
}

bool check_case(const CipherSuite& suite, const Json& tc) {
  const Bytes content = hex_field(tc, "authenticated_content");
  // The tag is a MAC of Nh bytes (Nh < 64), so its opaque<V> is one length byte and the tag.
  const size_t nh = suite.hash_size();
  if (content.size() < nh + 1 || content[content.size() - nh - 1] != nh) {
    ADD_FAILURE() << "authenticated_content does not end in an Nh-byte confirmation tag";
    return false;
  }
  const BytesView confirmed_input(content.data(), content.size() - nh - 1);
  const BytesView tag(content.data() + content.size() - nh, nh);

  const Bytes confirmed = confirmed_transcript_hash(
      suite, hex_field(tc, "interim_transcript_hash_before"), confirmed_input);
  bool ok = same(confirmed, hex_field(tc, "confirmed_transcript_hash_after"),
                 "confirmed_transcript_hash_after");
  const Bytes interim = interim_transcript_hash(suite, confirmed, tag);
  ok = same(interim, hex_field(tc, "interim_transcript_hash_after"),
            "interim_transcript_hash_after") &&
       ok;

  const Bytes key = hex_field(tc, "confirmation_key");
  ok = same(confirmation_tag(suite, key, confirmed), tag, "confirmation_tag") && ok;
  if (!verify_confirmation_tag(suite, key, confirmed, tag)) {
    ADD_FAILURE() << "verify_confirmation_tag rejected the vector's tag";
    ok = false;
  }
  Bytes other = confirmed;
  other[0] ^= 1;
  if (verify_confirmation_tag(suite, key, other, tag)) {
    ADD_FAILURE() << "verify_confirmation_tag accepted a tag over another transcript";
    ok = false;
  }
  return ok;
}

TEST(TranscriptHashesVectors, EveryCase) {
  const auto vectors = testing::load_vectors("mls/transcript-hashes.json");
  ASSERT_TRUE(vectors.has_value());
  VectorTally tally("mls/transcript-hashes.json");
  for (const auto& tc : *vectors) {
    const uint16_t id = tc.at("cipher_suite").get<uint16_t>();
    if (!tally.runs_suite(id, CipherSuite::supported(id))) continue;
    SCOPED_TRACE("cipher_suite " + std::to_string(id));
    const auto suite = CipherSuite::create(id);
    ASSERT_TRUE(suite.ok()) << suite.error().to_string();
    tally.count(check_case(*suite, tc));
  }
  EXPECT_EQ(tally.failed(), 0);
}

}  // namespace
}  // namespace sotto::mls
