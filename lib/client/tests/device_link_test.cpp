// Link codes and the sealed messages of device linking.
#include "sotto/client/device_link.h"

#include <gtest/gtest.h>

#include <cctype>

#include "sotto/crypto/primitives.h"
#include "sotto/proto/protocol.h"

namespace sotto::client {
namespace {

LinkCode sample_code() {
  LinkCode code;
  code.slot_id = Bytes{1, 2, 3, 4, 5, 6};
  code.secret = SecureBytes{10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
  return code;
}

TEST(DeviceLink, ACodeRoundTripsAndForgivesCaseAndSeparators) {
  const LinkCode code = sample_code();
  const std::string text = format_link_code(code);
  ASSERT_EQ(text.size(), 39u);  // 8 groups of 4 letters
  for (size_t i = 4; i < text.size(); i += 5) EXPECT_EQ(text[i], '-');
  auto parsed = parse_link_code(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->slot_id, code.slot_id);
  EXPECT_TRUE(parsed->secret == code.secret);
  std::string relaxed;
  for (char c : text) relaxed.push_back(c == '-' ? ' ' : static_cast<char>(std::tolower(c)));
  auto again = parse_link_code(relaxed);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->slot_id, code.slot_id);
}

TEST(DeviceLink, TypingSlipsAreCaught) {
  const std::string text = format_link_code(sample_code());
  // Each single changed letter fails the checksum.
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') continue;
    std::string slip = text;
    slip[i] = slip[i] == 'A' ? 'B' : 'A';
    auto parsed = parse_link_code(slip);
    ASSERT_FALSE(parsed.ok()) << i;
    EXPECT_EQ(parsed.error().code(), Errc::invalid_argument);
  }
  EXPECT_FALSE(parse_link_code(text.substr(0, text.size() - 1)).ok());
  EXPECT_FALSE(parse_link_code(text + "A").ok());
  EXPECT_FALSE(parse_link_code("0" + text.substr(1)).ok());  // not in the alphabet
}

TEST(DeviceLink, SealedUnderOneCodeOpensOnlyUnderIt) {
  const LinkCode code = sample_code();
  auto keys = derive_link_keys(code.secret);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->verifier.size(), proto::kLinkVerifierSize);
  EXPECT_FALSE(keys->post_key == keys->answer_key);
  const Bytes nonce(12, 9);
  const Bytes message = {42, 43};
  auto sealed = seal_link_message(keys->post_key, code.slot_id, nonce, message);
  ASSERT_TRUE(sealed.ok());
  auto opened = open_link_message(keys->post_key, code.slot_id, *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->reveal(), message);

  LinkCode other = sample_code();
  other.secret[0] ^= 1;
  auto other_keys = derive_link_keys(other.secret);
  ASSERT_TRUE(other_keys.ok());
  EXPECT_EQ(open_link_message(other_keys->post_key, code.slot_id, *sealed).error().code(),
            Errc::authentication_failed);
  // Another slot, the other direction's key, a changed byte: all refused.
  EXPECT_FALSE(open_link_message(keys->post_key, Bytes(6, 0), *sealed).ok());
  EXPECT_FALSE(open_link_message(keys->answer_key, code.slot_id, *sealed).ok());
  Bytes tampered = *sealed;
  tampered.back() ^= 1;
  EXPECT_FALSE(open_link_message(keys->post_key, code.slot_id, tampered).ok());
  EXPECT_FALSE(open_link_message(keys->post_key, code.slot_id, Bytes(5, 0)).ok());
}

}  // namespace
}  // namespace sotto::client
