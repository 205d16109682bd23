// The application-message format: round trips, and strict refusal of what breaks its rules.
#include "sotto/client/app_message.h"

#include <gtest/gtest.h>

#include "sotto/core/tls.h"

namespace sotto::client {
namespace {

AppMessage text(std::string body) {
  AppMessage m;
  m.message_id = Bytes(kMessageIdSize, 7);
  m.sent_at = 1'700'000'000'123;
  m.content = TextContent{std::move(body), std::nullopt};
  return m;
}

TEST(AppMessage, TextAndReceiptsRoundTrip) {
  AppMessage m = text("hello, world");
  std::get<TextContent>(m.content).reply_to = Bytes(kMessageIdSize, 9);
  auto back = decode_app_message(encode_app_message(m));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->message_id, m.message_id);
  EXPECT_EQ(back->sent_at, m.sent_at);
  const auto& t = std::get<TextContent>(back->content);
  EXPECT_EQ(t.body, "hello, world");
  EXPECT_EQ(t.reply_to, Bytes(kMessageIdSize, 9));

  AppMessage r;
  r.message_id = Bytes(kMessageIdSize, 1);
  r.content =
      ReceiptContent{ReceiptKind::read, {Bytes(kMessageIdSize, 2), Bytes(kMessageIdSize, 3)}};
  auto rb = decode_app_message(encode_app_message(r));
  ASSERT_TRUE(rb.ok()) << rb.error().to_string();
  EXPECT_EQ(std::get<ReceiptContent>(rb->content).message_ids.size(), 2u);
}

TEST(AppMessage, TheWireFormIsFixed) {
  // version 1, 16-byte id, sent_at, kind text, body "hi", no reply.
  Bytes expected{0x00, 0x01, 0x10};
  for (int i = 0; i < 16; ++i) expected.push_back(7);
  for (uint8_t b : Bytes{0, 0, 0, 0, 0, 0, 0, 5}) expected.push_back(b);
  for (uint8_t b : Bytes{1, 2, 'h', 'i', 0}) expected.push_back(b);
  AppMessage m = text("hi");
  m.sent_at = 5;
  EXPECT_EQ(encode_app_message(m), expected);
}

TEST(AppMessage, AnotherVersionIsReportedAsSuch) {
  AppMessage m = text("x");
  m.version = 2;
  auto r = decode_app_message(encode_app_message(m));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::unsupported_version);
  EXPECT_EQ(decode_app_message(Bytes{0}).error().code(), Errc::truncated);
}

TEST(AppMessage, RuleBreakersAreRefused) {
  AppMessage short_id = text("x");
  short_id.message_id = Bytes(3, 1);
  EXPECT_EQ(decode_app_message(encode_app_message(short_id)).error().code(), Errc::invalid_value);

  EXPECT_EQ(decode_app_message(encode_app_message(text("\xff\xfe"))).error().code(),
            Errc::invalid_value);
  EXPECT_EQ(decode_app_message(encode_app_message(text(std::string(kMaxTextBytes + 1, 'a'))))
                .error()
                .code(),
            Errc::invalid_value);
  EXPECT_TRUE(decode_app_message(encode_app_message(text(std::string(kMaxTextBytes, 'a')))).ok());

  AppMessage receipt;
  receipt.message_id = Bytes(kMessageIdSize, 1);
  receipt.content = ReceiptContent{static_cast<ReceiptKind>(9), {}};
  EXPECT_EQ(decode_app_message(encode_app_message(receipt)).error().code(), Errc::invalid_value);

  Bytes trailing = encode_app_message(text("x"));
  trailing.push_back(0);
  EXPECT_EQ(decode_app_message(trailing).error().code(), Errc::trailing_bytes);
  Bytes unknown_kind = encode_app_message(text("x"));
  unknown_kind[2 + 1 + 16 + 8] = 0x7f;
  EXPECT_EQ(decode_app_message(unknown_kind).error().code(), Errc::invalid_value);
}

AppMessage group_metadata(std::string name) {
  AppMessage m;
  m.message_id = Bytes(kMessageIdSize, 4);
  m.sent_at = 6;
  m.content = GroupMetadataContent{std::move(name)};
  return m;
}

TEST(AppMessage, GroupMetadataRoundTripsUnderTagThree) {
  const Bytes wire = encode_app_message(group_metadata("Book club"));
  // version, id, sent_at, then kind 3 and the name with its length.
  ASSERT_EQ(wire.size(), 2u + 1 + 16 + 8 + 1 + 1 + 9);
  EXPECT_EQ(wire[2 + 1 + 16 + 8], 3);
  EXPECT_EQ(wire[2 + 1 + 16 + 8 + 1], 9);
  auto back = decode_app_message(wire);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(std::get<GroupMetadataContent>(back->content).name, "Book club");
  EXPECT_TRUE(decode_app_message(encode_app_message(group_metadata("Café ☕"))).ok());
  EXPECT_TRUE(
      decode_app_message(encode_app_message(group_metadata(std::string(kMaxGroupNameBytes, 'n'))))
          .ok());
}

TEST(AppMessage, AGroupNameThatBreaksTheRulesIsRefused) {
  for (const std::string& name :
       {std::string(), std::string(kMaxGroupNameBytes + 1, 'n'), std::string("\xc3"),
        std::string("two\nlines"), std::string("bell\x07"), std::string("del\x7f"),
        std::string("csi\xc2\x9b"), std::string("nul\0inside", 10)}) {
    auto r = decode_app_message(encode_app_message(group_metadata(name)));
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().code(), Errc::invalid_value) << name;
    EXPECT_FALSE(check_group_name(name).ok()) << name;
  }
  EXPECT_TRUE(check_group_name("Book club").ok());
  // A metadata message cut short inside its name.
  Bytes cut = encode_app_message(group_metadata("Book club"));
  cut.pop_back();
  EXPECT_EQ(decode_app_message(cut).error().code(), Errc::truncated);
}

AppMessage with_content(AppContent content) {
  AppMessage m = text("");
  m.content = std::move(content);
  return m;
}

// The kind byte sits after the version, the id with its length and sent_at.
constexpr size_t kKindOffset = 2 + 1 + 16 + 8;

TEST(AppMessage, EditsDeletesAndTimersRoundTripUnderTheirTags) {
  const Bytes edit =
      encode_app_message(with_content(EditContent{Bytes(kMessageIdSize, 4), "fixed ✓"}));
  EXPECT_EQ(edit[kKindOffset], 5);
  auto e = decode_app_message(edit);
  ASSERT_TRUE(e.ok()) << e.error().to_string();
  EXPECT_EQ(std::get<EditContent>(e->content).message_id, Bytes(kMessageIdSize, 4));
  EXPECT_EQ(std::get<EditContent>(e->content).body, "fixed ✓");

  const Bytes deletion = encode_app_message(
      with_content(DeleteContent{{Bytes(kMessageIdSize, 4), Bytes(kMessageIdSize, 5)}}));
  EXPECT_EQ(deletion[kKindOffset], 6);
  auto d = decode_app_message(deletion);
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(std::get<DeleteContent>(d->content).message_ids.size(), 2u);

  const Bytes timer = encode_app_message(with_content(ConversationSettingsContent{300}));
  ASSERT_EQ(timer.size(), kKindOffset + 1 + 8);
  EXPECT_EQ(timer[kKindOffset], 7);
  auto t = decode_app_message(timer);
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(std::get<ConversationSettingsContent>(t->content).disappear_after_s, 300u);
  EXPECT_TRUE(decode_app_message(encode_app_message(with_content(
                                     ConversationSettingsContent{kMaxDisappearAfterS})))
                  .ok());
}

TEST(AppMessage, EditsDeletesTimersAndReceiptsThatBreakTheRulesAreRefused) {
  const std::vector<AppContent> refused = {
      EditContent{Bytes(kMessageIdSize - 1, 4), "x"},
      EditContent{Bytes(kMessageIdSize, 4), std::string("\xff")},
      EditContent{Bytes(kMessageIdSize, 4), std::string(kMaxTextBytes + 1, 'a')},
      DeleteContent{},
      DeleteContent{{Bytes(kMessageIdSize, 1), Bytes(3, 1)}},
      DeleteContent{std::vector<Bytes>(kMaxListedMessages + 1, Bytes(kMessageIdSize, 1))},
      ConversationSettingsContent{kMaxDisappearAfterS + 1},
      ReceiptContent{ReceiptKind::delivered,
                     std::vector<Bytes>(kMaxListedMessages + 1, Bytes(kMessageIdSize, 1))},
  };
  for (const auto& content : refused) {
    auto r = decode_app_message(encode_app_message(with_content(content)));
    ASSERT_FALSE(r.ok()) << "kind " << content.index();
    EXPECT_EQ(r.error().code(), Errc::invalid_value);
  }
  // Tag 8 belongs to no kind this version knows.
  Bytes unknown = encode_app_message(with_content(ConversationSettingsContent{1}));
  unknown[kKindOffset] = 8;
  EXPECT_FALSE(decode_app_message(unknown).ok());
  EXPECT_TRUE(decode_app_message(encode_app_message(with_content(DeleteContent{std::vector<Bytes>(
                                     kMaxListedMessages, Bytes(kMessageIdSize, 1))})))
                  .ok());
}

}  // namespace
}  // namespace sotto::client
