// Two engines, each with its own memory store and native transport, against the real sottod:
// registration, a verified lookup, a 1:1 conversation, messages both ways, a recipient that
// is offline and fetches on reconnecting, an empty server queue once everything is acked, and
// a file sent through the file API.
#include <filesystem>
#include <fstream>
#include <iterator>

#include "client_e2e_support.h"
#include "sotto/client/directory_verifier.h"
#include "sotto/client/file_client.h"
#include "sotto/crypto/attachment.h"

namespace sotto::client {
namespace {

using namespace e2e;

TEST_F(ClientE2eTest, TwoPeopleTalkIncludingWhileOneIsOffline) {
  auto alice = device();
  auto bob = device();
  register_as(*alice, "alice");
  register_as(*bob, "bob");

  // Alice finds Bob (verified against the directory) and starts a 1:1.
  std::optional<Result<Bytes>> started;
  alice->engine.start_conversation("Bob", [&](Result<Bytes> r) { started = std::move(r); });
  auto group = wait(started);
  ASSERT_TRUE(group.ok()) << group.error().to_string();
  auto contact = alice->store.contact("bob").value();
  ASSERT_TRUE(contact.has_value());
  ASSERT_EQ(contact->devices.size(), 1u);
  EXPECT_EQ(contact->devices[0].device_id, bob->store.identity().value()->device_id);

  // Bob is online: the Welcome arrives live; he joins and then checks Alice's keys.
  ASSERT_TRUE(run_until([&] { return bob->store.conversation(*group).value().has_value(); }));
  ASSERT_TRUE(run_until([&] { return bob->store.conversation(*group).value()->members_verified; }));
  const auto bobs_view = bob->store.conversation(*group).value();
  EXPECT_EQ(bobs_view->name, "alice");
  EXPECT_EQ(bobs_view->members, (std::vector<std::string>{"alice", "bob"}));

  // Alice -> Bob.
  std::optional<Result<Bytes>> hello;
  alice->engine.send_text(*group, "hello", [&](Result<Bytes> r) { hello = std::move(r); });
  auto hello_id = wait(hello);
  ASSERT_TRUE(hello_id.ok()) << hello_id.error().to_string();
  ASSERT_TRUE(run_until([&] { return bob->recorder.incoming().size() == 1; }));
  const StoredMessage got = bob->recorder.incoming()[0];
  EXPECT_EQ(got.body, "hello");
  EXPECT_EQ(got.sender, "alice");
  EXPECT_EQ(got.message_id, *hello_id);
  ASSERT_TRUE(run_until([&] { return alice->recorder.sent(*hello_id); }));
  EXPECT_TRUE(alice->store.outbox().value().empty());

  // Bob -> Alice.
  std::optional<Result<Bytes>> reply;
  bob->engine.send_text(*group, "hi alice", [&](Result<Bytes> r) { reply = std::move(r); });
  auto reply_id = wait(reply);
  ASSERT_TRUE(reply_id.ok());
  ASSERT_TRUE(run_until([&] { return alice->recorder.incoming().size() == 1; }));
  EXPECT_EQ(alice->recorder.incoming()[0].body, "hi alice");
  EXPECT_EQ(alice->recorder.incoming()[0].sender, "bob");

  // Each heard of the other's receipt (one per fetch), and Bob's acknowledgements are answered,
  // so that nothing more is on its way to or from Bob when he goes offline.
  auto delivered = [](Device& d, const Bytes& group_id, const Bytes& id) {
    auto m = d.store.message(group_id, id).value();
    return m && !m->delivered_to.empty();
  };
  ASSERT_TRUE(run_until([&] { return delivered(*alice, *group, *hello_id); }));
  ASSERT_TRUE(run_until([&] { return delivered(*bob, *group, *reply_id); }));
  ASSERT_TRUE(run_until([&] { return bob->store.processed_count() == 0 && bob->engine.idle(); }));

  // Bob goes offline; Alice writes twice; Bob reconnects, authenticates with his device key
  // and fetches.
  bob->transport.close();
  ASSERT_TRUE(run_until([&] { return bob->engine.state() == ConnectionState::disconnected; }));
  Bytes ping_id;
  for (const char* text : {"are you there?", "ping"}) {
    std::optional<Result<Bytes>> sent;
    alice->engine.send_text(*group, text, [&](Result<Bytes> r) { sent = std::move(r); });
    auto id = wait(sent);
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(run_until([&] { return alice->recorder.sent(*id); }));
    ping_id = *id;
  }
  EXPECT_EQ(server_queue(*bob), 2u);
  bob->transport.connect();
  ASSERT_TRUE(run_until([&] { return bob->recorder.incoming().size() == 3; }));
  EXPECT_EQ(bob->recorder.incoming()[1].body, "are you there?");
  EXPECT_EQ(bob->recorder.incoming()[2].body, "ping");
  EXPECT_EQ(bob->engine.state(), ConnectionState::ready);

  // Everything received was stored, then acknowledged: the server holds nothing more (Bob's
  // receipt for both messages included).
  ASSERT_TRUE(run_until([&] { return delivered(*alice, *group, ping_id); }));
  ASSERT_TRUE(run_until([&] { return bob->store.processed_count() == 0; }));
  ASSERT_TRUE(run_until([&] { return alice->store.processed_count() == 0; }));
  EXPECT_EQ(server_queue(*bob), 0u);
  EXPECT_EQ(server_queue(*alice), 0u);

  // Both histories hold the whole conversation in order.
  auto history = bob->store.messages(*group).value();
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[0].body, "hello");
  EXPECT_EQ(history[1].body, "hi alice");
  EXPECT_TRUE(history[1].outgoing);
  EXPECT_EQ(history[1].state, DeliveryState::sent);
  EXPECT_EQ(alice->store.messages(*group).value().size(), 4u);
  EXPECT_TRUE(alice->recorder.errors.empty());
  EXPECT_TRUE(bob->recorder.errors.empty());
}

// Members exchange their key-directory heads inside the conversation; one who holds an older
// head asks the server for the consistency proof and moves to the newer one.
TEST_F(ClientE2eTest, MembersCompareTheirDirectoryHeadsThroughTheServer) {
  auto ona = device();
  auto pia = device();
  register_as(*ona, "ona");
  register_as(*pia, "pia");
  std::optional<Result<Bytes>> started;
  ona->engine.start_conversation("pia", [&](Result<Bytes> r) { started = std::move(r); });
  auto group = wait(started);
  ASSERT_TRUE(group.ok()) << group.error().to_string();
  ASSERT_TRUE(run_until([&] {
    auto c = pia->store.conversation(*group).value();
    return c && c->members_verified && pia->engine.idle();
  }));

  // A newcomer moves the directory on; ona sees the newer head by looking the newcomer up.
  auto quin = device();
  register_as(*quin, "quin");
  std::optional<Result<Contact>> found;
  ona->engine.lookup_contact("quin", [&](Result<Contact> r) { found = std::move(r); });
  ASSERT_TRUE(wait(found).ok());
  auto head_of = [](Device& d) {
    auto verifier = DirectoryVerifier::restore(d.store.directory_state().value());
    if (!verifier) return Bytes();
    auto gossip = verifier->gossip();
    return gossip ? std::move(gossip).value() : Bytes();
  };
  const Bytes onas = head_of(*ona);
  ASSERT_FALSE(onas.empty());
  ASSERT_NE(head_of(*pia), onas);

  // Her next text carries it; pia checks it against the server's log and takes it.
  std::optional<Result<Bytes>> sent;
  ona->engine.send_text(*group, "news", [&](Result<Bytes> r) { sent = std::move(r); });
  ASSERT_TRUE(wait(sent).ok());
  ASSERT_TRUE(run_until([&] { return pia->recorder.incoming().size() == 1; }));
  ASSERT_TRUE(run_until([&] { return head_of(*pia) == onas; }));
  EXPECT_EQ(pia->store.messages(*group).value().size(), 1u);  // the head is no history
  EXPECT_FALSE(pia->engine.directory_split_view().value());
  EXPECT_TRUE(ona->recorder.errors.empty());
  EXPECT_TRUE(pia->recorder.errors.empty());
}

TEST_F(ClientE2eTest, AMessageWrittenOfflineWaitsInTheOutboxAndLeavesOnReconnect) {
  auto carol = device();
  auto dave = device();
  register_as(*carol, "carol");
  register_as(*dave, "dave");
  std::optional<Result<Bytes>> started;
  carol->engine.start_conversation("dave", [&](Result<Bytes> r) { started = std::move(r); });
  auto group = wait(started);
  ASSERT_TRUE(group.ok()) << group.error().to_string();

  carol->transport.close();
  ASSERT_TRUE(run_until([&] { return carol->engine.state() == ConnectionState::disconnected; }));
  std::optional<Result<Bytes>> queued;
  carol->engine.send_text(*group, "written on a plane",
                          [&](Result<Bytes> r) { queued = std::move(r); });
  auto id = wait(queued);
  ASSERT_TRUE(id.ok()) << id.error().to_string();
  // The text, and carol's key-directory head ahead of it (the first she sends there).
  ASSERT_EQ(carol->store.outbox().value().size(), 2u);
  EXPECT_EQ(carol->store.messages(*group).value()[0].state, DeliveryState::pending);

  carol->transport.connect();
  ASSERT_TRUE(run_until([&] { return carol->recorder.sent(*id); }));
  EXPECT_TRUE(carol->store.outbox().value().empty());
  ASSERT_TRUE(run_until([&] { return dave->recorder.incoming().size() == 1; }));
  EXPECT_EQ(dave->recorder.incoming()[0].body, "written on a plane");
}

TEST_F(ClientE2eTest, AnUnknownContactIsNotFound) {
  auto erin = device();
  register_as(*erin, "erin");
  std::optional<Result<Bytes>> started;
  erin->engine.start_conversation("nobody-here", [&](Result<Bytes> r) { started = std::move(r); });
  auto r = wait(started);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::not_found);
  EXPECT_FALSE(erin->store.contact("nobody-here").value().has_value());
  EXPECT_TRUE(erin->store.conversations().value().empty());
}

// A file through the HTTPS file API and a file message: uploaded encrypted, announced, and
// opened only with the key, hash and size the message gives; anything else leaves no file.
TEST_F(ClientE2eTest, AFileOpensOnlyAsItsMessageAnnouncesIt) {
  auto gina = device();
  auto hal = device();
  register_as(*gina, "gina");
  register_as(*hal, "hal");
  std::optional<Result<Bytes>> started;
  gina->engine.start_conversation("hal", [&](Result<Bytes> r) { started = std::move(r); });
  auto group = wait(started);
  ASSERT_TRUE(group.ok()) << group.error().to_string();
  ASSERT_TRUE(run_until([&] { return hal->store.conversation(*group).value().has_value(); }));

  TempDir files;
  const auto path = files.path() / "plan.pdf";
  Bytes content(3 * 65536 + 100);
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<uint8_t>(i * 7 + i / 300);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(content.data()),
              static_cast<std::streamsize>(content.size()));
  }
  const TlsEndpoint endpoint = Device::options(*server_);
  FileClient gina_files(endpoint, gina->store.identity().value()->session_token);
  uint64_t last_progress = 0;
  auto uploaded = gina_files.upload(path, media_type_for(path),
                                    [&](uint64_t done, uint64_t) { last_progress = done; });
  ASSERT_TRUE(uploaded.ok()) << uploaded.error().to_string();
  EXPECT_EQ(uploaded->file_id.size(), kFileIdSize);
  EXPECT_EQ(uploaded->name, "plan.pdf");
  EXPECT_EQ(uploaded->media_type, "application/pdf");
  EXPECT_EQ(uploaded->size, content.size());
  EXPECT_EQ(last_progress, crypto::attachment_ciphertext_size(content.size()).value());

  uploaded->caption = "v2";
  std::optional<Result<Bytes>> sent;
  gina->engine.send_file(*group, *uploaded, [&](Result<Bytes> r) { sent = std::move(r); });
  ASSERT_TRUE(wait(sent).ok());
  ASSERT_TRUE(run_until([&] { return hal->recorder.incoming().size() == 1; }));
  const StoredMessage got = hal->recorder.incoming()[0];
  ASSERT_TRUE(got.file.has_value());
  EXPECT_EQ(got.body, "v2");
  EXPECT_EQ(got.file->file_id, uploaded->file_id);
  EXPECT_EQ(got.file->ciphertext_sha256, uploaded->ciphertext_sha256);
  EXPECT_TRUE(got.file->key == uploaded->key);

  FileClient hal_files(endpoint, hal->store.identity().value()->session_token);
  const auto only_plan = [&] {
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(files.path())) {
      EXPECT_EQ(entry.path().filename(), "plan.pdf");
      ++n;
    }
    return n == 1;
  };
  // Another key: the hash matches, the decryption does not; nothing is written.
  FileContent wrong_key = *got.file;
  wrong_key.key = crypto::new_attachment_key();
  auto refused = hal_files.download(wrong_key, files.path() / "out.pdf");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::authentication_failed);
  EXPECT_TRUE(only_plan());
  // Another hash, or another size: refused before decrypting.
  FileContent wrong_hash = *got.file;
  wrong_hash.ciphertext_sha256[5] ^= 1;
  refused = hal_files.download(wrong_hash, files.path() / "out.pdf");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::authentication_failed);
  EXPECT_NE(refused.error().message().find("hash"), std::string::npos);
  FileContent wrong_size = *got.file;
  wrong_size.size -= 1;
  refused = hal_files.download(wrong_size, files.path() / "out.pdf");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::authentication_failed);
  EXPECT_TRUE(only_plan());
  // An id the server does not have.
  FileContent unknown = *got.file;
  unknown.file_id[0] ^= 1;
  refused = hal_files.download(unknown, files.path() / "out.pdf");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::not_found);
  // A session token the server does not know.
  FileClient stranger(endpoint, SecureBytes(Bytes(32, 9)));
  refused = stranger.download(*got.file, files.path() / "out.pdf");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::unauthenticated);
  EXPECT_TRUE(only_plan());

  // The message as it came: the same bytes.
  auto fetched = hal_files.download(*got.file, files.path() / "out.pdf");
  ASSERT_TRUE(fetched.ok()) << fetched.error().to_string();
  std::ifstream in(files.path() / "out.pdf", std::ios::binary);
  const Bytes back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(back, content);
  // And never over an existing file.
  refused = hal_files.download(*got.file, files.path() / "out.pdf");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::already_exists);
}

}  // namespace
}  // namespace sotto::client
