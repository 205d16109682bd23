// tests/vectors/mls/messages.json: every field of every case decodes as its RFC 9420 struct
// and re-encodes to the same bytes. Each field of each case counts as one vector.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/mls/messages.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using testing::Json;
using testing::VectorTally;

// Decodes `field` as T, runs `check` on it, and re-encodes it byte for byte.
template <class T>
bool round_trip(const Json& tc, const char* field,
                const std::function<bool(const T&)>& check = nullptr) {
  SCOPED_TRACE(field);
  const Bytes wire = testing::hex_field(tc, field);
  const auto decoded = tls::decode<T>(wire);
  if (!decoded.ok()) {
    ADD_FAILURE() << "decode: " << decoded.error().to_string();
    return false;
  }
  if (check && !check(*decoded)) {
    ADD_FAILURE() << "decoded value is not what the field names";
    return false;
  }
  const Bytes again = tls::encode(*decoded);
  if (again != wire) {
    ADD_FAILURE() << "re-encoding differs: " << wire.size() << " bytes in, " << again.size()
                  << " out";
    return false;
  }
  return true;
}

std::function<bool(const MlsMessage&)> is_wire_format(WireFormat format) {
  return [format](const MlsMessage& m) { return m.wire_format() == format; };
}

std::function<bool(const MlsMessage&)> is_public(ContentType type) {
  return [type](const MlsMessage& m) {
    const auto* pub = std::get_if<PublicMessage>(&m.content);
    return pub != nullptr && pub->content.content_type() == type;
  };
}

TEST(MessagesVectors, DecodeAndReencodeEveryField) {
  const auto vectors = testing::load_vectors("mls/messages.json");
  ASSERT_TRUE(vectors.has_value());
  VectorTally tally("mls/messages.json");
  int index = 0;
  for (const auto& tc : *vectors) {
    SCOPED_TRACE("case " + std::to_string(index++));
    tally.count(round_trip<MlsMessage>(tc, "mls_welcome", is_wire_format(WireFormat::welcome)));
    tally.count(
        round_trip<MlsMessage>(tc, "mls_group_info", is_wire_format(WireFormat::group_info)));
    tally.count(
        round_trip<MlsMessage>(tc, "mls_key_package", is_wire_format(WireFormat::key_package)));
    tally.count(round_trip<RatchetTree>(tc, "ratchet_tree"));
    tally.count(round_trip<GroupSecrets>(tc, "group_secrets"));
    tally.count(round_trip<Add>(tc, "add_proposal"));
    tally.count(round_trip<Update>(tc, "update_proposal"));
    tally.count(round_trip<Remove>(tc, "remove_proposal"));
    tally.count(round_trip<PreSharedKey>(tc, "pre_shared_key_proposal"));
    tally.count(round_trip<ReInit>(tc, "re_init_proposal"));
    tally.count(round_trip<ExternalInit>(tc, "external_init_proposal"));
    tally.count(round_trip<GroupContextExtensions>(tc, "group_context_extensions_proposal"));
    tally.count(round_trip<Commit>(tc, "commit"));
    tally.count(round_trip<MlsMessage>(tc, "public_message_application",
                                       is_public(ContentType::application)));
    tally.count(
        round_trip<MlsMessage>(tc, "public_message_proposal", is_public(ContentType::proposal)));
    tally.count(
        round_trip<MlsMessage>(tc, "public_message_commit", is_public(ContentType::commit)));
    tally.count(
        round_trip<MlsMessage>(tc, "private_message", is_wire_format(WireFormat::private_message)));
  }
  EXPECT_EQ(tally.failed(), 0);
}

// Every proper prefix of a message is an error, never a crash or a read past the end.
TEST(MessagesVectors, TruncatedMessagesFail) {
  const auto vectors = testing::load_vectors("mls/messages.json");
  ASSERT_TRUE(vectors.has_value());
  const auto& tc = vectors->at(0);
  for (const char* field : {"mls_welcome", "mls_group_info", "mls_key_package",
                            "public_message_commit", "private_message"}) {
    const Bytes wire = testing::hex_field(tc, field);
    for (size_t n = 0; n < wire.size(); ++n) {
      EXPECT_FALSE(tls::decode<MlsMessage>(BytesView(wire.data(), n)).ok()) << field << " " << n;
    }
    Bytes longer = wire;
    longer.push_back(0);
    EXPECT_EQ(tls::decode<MlsMessage>(longer).error().code(), Errc::trailing_bytes) << field;
  }
}

}  // namespace
}  // namespace sotto::mls
