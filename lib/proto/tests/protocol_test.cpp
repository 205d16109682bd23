#include "sotto/proto/protocol.h"

#include <gtest/gtest.h>

namespace sotto::proto {
namespace {

ClientFrame send_frame() {
  Send send;
  send.message_id = Bytes(kMessageIdSize, 7);
  send.recipients = {Bytes(kIdSize, 1), Bytes(kIdSize, 2)};
  send.commit = CommitOrder{to_bytes("group"), 4};
  send.payload = to_bytes("ciphertext");
  return ClientFrame{kVersion, 9, send};
}

TEST(Protocol, ClientFrameRoundTrips) {
  const Bytes wire = encode(send_frame());
  auto decoded = decode_client_frame(wire, 1 << 20);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(decoded->request_id, 9u);
  const auto& send = std::get<Send>(decoded->request);
  EXPECT_EQ(send.recipients.size(), 2u);
  ASSERT_TRUE(send.commit.has_value());
  EXPECT_EQ(send.commit->epoch, 4u);
  EXPECT_EQ(request_name(decoded->request), "send");
  EXPECT_EQ(encode(*decoded), wire);
}

TEST(Protocol, ServerFrameRoundTrips) {
  ServerFrame frame{Event{MessageEvent{QueuedMessage{3, 1000, to_bytes("x")}}}};
  const Bytes wire = encode(frame);
  auto decoded = decode_server_frame(wire, 1 << 20);
  ASSERT_TRUE(decoded.ok());
  const auto& event = std::get<Event>(decoded->content);
  EXPECT_EQ(std::get<MessageEvent>(event.event).message.seq, 3u);
  EXPECT_EQ(encode(*decoded), wire);
}

TEST(Protocol, WipeSecretsZeroesPasswordsCodesAndTokensOnly) {
  Request login = Login{"alice", "correct horse battery", DeviceKey{Bytes(32, 7), "laptop"}};
  wipe_secrets(login);
  const auto& l = std::get<Login>(login);
  EXPECT_EQ(l.password, std::string(21, '\0'));
  EXPECT_EQ(l.username, "alice");  // not a secret
  EXPECT_EQ(l.device.signature_key, Bytes(32, 7));

  Request change = ChangePassword{"old password 1", "new password 22"};
  wipe_secrets(change);
  EXPECT_EQ(std::get<ChangePassword>(change).old_password, std::string(14, '\0'));
  EXPECT_EQ(std::get<ChangePassword>(change).new_password, std::string(15, '\0'));

  Request recover = RecoverAccount{"bob", "123-456", "another password"};
  wipe_secrets(recover);
  EXPECT_EQ(std::get<RecoverAccount>(recover).code, std::string(7, '\0'));
  EXPECT_EQ(std::get<RecoverAccount>(recover).username, "bob");

  Request session = AuthSession{Bytes(32, 0xaa)};
  wipe_secrets(session);
  EXPECT_EQ(std::get<AuthSession>(session).token, Bytes(32, 0));

  Request erase = DeleteAccount{"a password here"};
  wipe_secrets(erase);
  EXPECT_EQ(std::get<DeleteAccount>(erase).password, std::string(15, '\0'));
}

TEST(Protocol, OtherVersionIsRefusedBeforeTheBody) {
  Bytes wire = encode(send_frame());
  wire[1] = 2;  // version 2, and a body this version need not understand
  wire.push_back(0xff);
  auto decoded = decode_client_frame(wire, 1 << 20);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code(), Errc::unsupported_version);
}

TEST(Protocol, TruncatedAndTrailingAndOversizedFramesAreErrors) {
  const Bytes wire = encode(send_frame());
  for (size_t n = 0; n < wire.size(); ++n) {
    auto decoded = decode_client_frame(BytesView(wire.data(), n), 1 << 20);
    EXPECT_FALSE(decoded.ok()) << "prefix of " << n << " bytes";
  }
  Bytes longer = wire;
  longer.push_back(0);
  EXPECT_EQ(decode_client_frame(longer, 1 << 20).error().code(), Errc::trailing_bytes);
  EXPECT_EQ(decode_client_frame(wire, 8).error().code(), Errc::too_large);
}

TEST(Protocol, UnknownRequestTypeIsAnError) {
  tls::Writer w;
  w.u16(kVersion);
  w.u64(1);
  w.u16(999);
  EXPECT_EQ(decode_client_frame(w.bytes(), 1 << 20).error().code(), Errc::invalid_value);
}

TEST(Protocol, StringsMustBeUtf8) {
  Login login;
  login.username = "al\xff" "ce";
  login.password = "correct horse";
  login.device = DeviceKey{Bytes(32, 1), "laptop"};
  auto decoded = decode_client_frame(encode(ClientFrame{kVersion, 1, login}), 1 << 20);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code(), Errc::invalid_value);

  login.username = "alice";
  login.device.name = "caf\xc3\xa9 \xf0\x9f\x98\x80";  // é and an emoji
  EXPECT_TRUE(decode_client_frame(encode(ClientFrame{kVersion, 1, login}), 1 << 20).ok());
}

TEST(Protocol, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xe2\x82\xac"));      // euro sign
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));         // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));         // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));     // a surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\x80"));             // a lone continuation byte
}

TEST(Protocol, ErrorResponseCarriesTheCode) {
  const Response r = error_response(5, Error(Errc::conflict, "epoch 3 already has a commit"));
  const auto& e = std::get<ErrorResponse>(r.body);
  EXPECT_EQ(r.request_id, 5u);
  EXPECT_EQ(to_error(e).code(), Errc::conflict);
}

TEST(Protocol, DeviceAuthMessageBindsChallengeAndDevice) {
  const Bytes a = device_auth_message(Bytes(32, 1), Bytes(16, 2));
  EXPECT_NE(a, device_auth_message(Bytes(32, 1), Bytes(16, 3)));
  EXPECT_NE(a, device_auth_message(Bytes(32, 3), Bytes(16, 2)));
}

TEST(Protocol, LinkRequestsAndResponsesRoundTrip) {
  const Bytes slot(kLinkSlotIdSize, 5);
  ClientFrame post{kVersion, 3, PostLink{slot, to_bytes("sealed"), Bytes(32, 1)}};
  auto decoded = decode_client_frame(encode(post), 1 << 20);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(std::get<PostLink>(decoded->request).sealed, to_bytes("sealed"));
  EXPECT_EQ(request_name(decoded->request), "post_link");
  EXPECT_EQ(encode(*decoded), encode(post));

  ServerFrame empty{Response{4, LinkSealedResponse{}}};
  auto none = decode_server_frame(encode(empty), 1 << 20);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(std::get<LinkSealedResponse>(std::get<Response>(none->content).body).sealed);
  ServerFrame opened{Response{5, LinkSlotResponse{slot, 600}}};
  auto back = decode_server_frame(encode(opened), 1 << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::get<LinkSlotResponse>(std::get<Response>(back->content).body).slot_id, slot);
}

TEST(Protocol, LinkMacInputsBindSlotAndContent) {
  const Bytes post = link_post_mac_input(Bytes(6, 1), Bytes{2});
  EXPECT_NE(post, link_post_mac_input(Bytes(6, 3), Bytes{2}));
  EXPECT_NE(post, link_post_mac_input(Bytes(6, 1), Bytes{3}));
  // A post's MAC never serves as an answer's.
  EXPECT_NE(link_answer_mac_input(Bytes(6, 1)), link_post_mac_input(Bytes(6, 1), Bytes{}));
}

}  // namespace
}  // namespace sotto::proto
