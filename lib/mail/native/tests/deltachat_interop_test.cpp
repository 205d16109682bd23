// Sotto and the real Delta Chat core (npm @deltachat/stdio-rpc-server, driven by
// tests/interop/deltachat/dc_driver.mjs) chat through a real Postfix and Dovecot: a sealed
// Sotto mail is shown by Delta Chat as an encrypted message with its text and file, and Delta
// Chat's encrypted reply opens in Sotto with a valid signature by the key Delta Chat
// published, threaded to the message it answers.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "deltachat_driver.h"
#include "mail_suite.h"
#include "sotto/client/mail_client.h"
#include "sotto/client/mail_invite.h"
#include "sotto/client/memory_client_store.h"
#include "sotto/core/encoding.h"
#include "sotto/mail/mime.h"
#include "sotto/mail/smtp_submission.h"
#include "sotto/openpgp/armor.h"
#include "sotto/openpgp/cert.h"

namespace sotto::mail {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::DeltaChat;

class DeltaChatInteropTest : public MailSuite {
 protected:
  void SetUp() override {
    MailSuite::SetUp();
    work_ = fs::temp_directory_path() / ("sotto-dc-" + std::to_string(::getpid()));
    fs::remove_all(work_);
  }
  void TearDown() override { fs::remove_all(work_); }

  // A Delta Chat account for `user`, configured for the suite's server.
  std::unique_ptr<DeltaChat> delta_chat(const std::string& user) {
    auto dc = std::make_unique<DeltaChat>(SOTTO_NODE_PATH, SOTTO_SOURCE_DIR, work_ / user);
    EXPECT_EQ(dc->ready().value("ready", false), true) << dc->log();
    json configured = dc->call({{"op", "configure"},
                                {"addr", user + "@sotto.test"},
                                {"password", "secret"},
                                {"imap_host", "127.0.0.1"},
                                {"imap_port", server_->imaps_port()},
                                {"imap_security", "ssl"},
                                {"smtp_host", "127.0.0.1"},
                                {"smtp_port", server_->submissions_port()},
                                {"smtp_security", "ssl"}});
    EXPECT_TRUE(configured.value("ok", false)) << configured.dump() << "\n" << dc->log();
    return dc;
  }

  // The public key a Delta Chat account publishes, as lib/openpgp reads it.
  static openpgp::Cert public_key(DeltaChat& dc) {
    json answer = dc.call({{"op", "public_key"}});
    EXPECT_TRUE(answer.value("ok", false)) << answer.dump();
    auto armored = openpgp::dearmor(answer.value("armored", ""));
    EXPECT_TRUE(armored.ok());
    if (!armored.ok()) return {};
    auto cert = openpgp::Cert::parse(armored->data);
    EXPECT_TRUE(cert.ok()) << cert.error().to_string();
    return cert.ok() ? *std::move(cert) : openpgp::Cert{};
  }

  // Seals `mail` from its sender to `to` and submits it.
  static void send_sealed(const ChatMail& mail, const openpgp::SecretCert& sender,
                          const std::vector<openpgp::Cert>& to) {
    auto now = static_cast<uint32_t>(std::time(nullptr));
    auto raw = seal(mail, sender, to, SealOptions{now});
    ASSERT_TRUE(raw.ok()) << raw.error().to_string();
    std::vector<std::string> rcpt = mail.to;
    rcpt.push_back(mail.from_addr);
    auto sent =
        submit(submission(), mail.from_addr, "secret", Envelope{mail.from_addr, rcpt}, *raw);
    ASSERT_TRUE(sent.ok()) << sent.error().to_string();
  }

  // The mails in `user`'s inbox from `from`, opened with `key`.
  static std::vector<OpenedMail> received_by(const std::string& user,
                                             const openpgp::SecretCert& key,
                                             const std::vector<openpgp::Cert>& known,
                                             const std::string& from, size_t count) {
    std::vector<OpenedMail> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
      out.clear();
      for (const auto& fetched : inbox(user, 0)) {
        if (!fetched.body) continue;
        auto outer = read_outer(*fetched.body);
        if (!outer.ok() || outer->from_addr != from) continue;
        auto opened = open(*fetched.body, {key}, known, static_cast<uint32_t>(std::time(nullptr)));
        EXPECT_TRUE(opened.ok()) << opened.error().to_string();
        if (opened.ok()) out.push_back(*std::move(opened));
      }
      if (out.size() < count) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return out;
  }

  // A Sotto person's key, made now.
  static openpgp::SecretCert sotto_key(const std::string& user) {
    auto key = openpgp::generate_cert("<" + user + "@sotto.test>",
                                      static_cast<uint32_t>(std::time(nullptr)) - 60);
    EXPECT_TRUE(key.ok());
    return key.ok() ? *std::move(key) : openpgp::SecretCert{};
  }

  static ChatMail from_alice(const std::string& id, const std::string& text) {
    ChatMail m;
    m.from_addr = "alice@sotto.test";
    m.from_name = "Alice";
    m.to = {"bob@sotto.test"};
    m.subject = "Message from Alice";
    m.message_id = id + "@sotto.test";
    m.date = std::time(nullptr);
    m.chat_headers = {{"Chat-Version", "1.0"}};
    m.text = text;
    return m;
  }

  fs::path work_;
};

TEST_F(DeltaChatInteropTest, TextAndFilesBothWaysEncrypted) {
  auto alice = sotto_key("alice");
  auto bob = delta_chat("bob");
  openpgp::Cert bob_key = public_key(*bob);
  ASSERT_TRUE(openpgp::validate(bob_key, static_cast<uint32_t>(std::time(nullptr))).ok())
      << "Delta Chat's key does not validate";

  // Sotto to Delta Chat: a text, then a file.
  ChatMail hello = from_alice("Mr.hello1", "Hello Bob, this is Sotto. Grüße!");
  send_sealed(hello, alice, {bob_key});
  json got = bob->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(got.value("ok", false)) << got.dump() << "\n" << bob->log();
  EXPECT_EQ(got.value("from", ""), "alice@sotto.test");
  EXPECT_EQ(got.value("text", ""), hello.text);
  EXPECT_TRUE(got.value("encrypted", false));
  int chat = got.value("chat_id", 0);

  ChatMail with_file = from_alice("Mr.file1", "the plan");
  Bytes plan(300 * 1024);
  for (size_t i = 0; i < plan.size(); ++i) plan[i] = static_cast<uint8_t>(i * 31 + (i >> 10));
  with_file.attachments.push_back({"plan.bin", "application/octet-stream", plan});
  send_sealed(with_file, alice, {bob_key});
  json file = bob->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(file.value("ok", false)) << file.dump() << "\n" << bob->log();
  EXPECT_TRUE(file.value("encrypted", false));
  EXPECT_EQ(file.value("file_name", ""), "plan.bin");
  ASSERT_TRUE(file["file"].is_string()) << file.dump();
  {
    std::ifstream f(file["file"].get<std::string>(), std::ios::binary);
    Bytes on_disk((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(on_disk, plan);
  }

  // Delta Chat to Sotto: a reply, then a file.
  json reply =
      bob->call({{"op", "send"}, {"chat_id", chat}, {"text", "Hi Alice, Delta Chat here."}});
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump() << "\n" << bob->log();
  fs::path photo = work_ / "photo.bin";
  Bytes picture(200 * 1024);
  for (size_t i = 0; i < picture.size(); ++i) picture[i] = static_cast<uint8_t>(i ^ (i >> 8));
  std::ofstream(photo, std::ios::binary)
      .write(reinterpret_cast<const char*>(picture.data()),
             static_cast<std::streamsize>(picture.size()));
  json sent_file = bob->call(
      {{"op", "send"}, {"chat_id", chat}, {"text", "a picture"}, {"file", photo.string()}});
  ASSERT_TRUE(sent_file.value("ok", false)) << sent_file.dump() << "\n" << bob->log();

  auto received = received_by("alice", alice, {bob_key}, "bob@sotto.test", 3);
  // A file over Delta Chat's limit comes as two mails: a pre-message with the text, which
  // names the post-message, and the post-message with the file.
  ASSERT_EQ(received.size(), 3u) << bob->log();
  const OpenedMail* text = nullptr;
  const OpenedMail* pre = nullptr;
  const OpenedMail* post = nullptr;
  for (const auto& r : received) {
    if (r.mail.chat_header("Chat-Post-Message-ID") != nullptr) {
      pre = &r;
    } else if (r.mail.chat_header("Chat-Is-Post-Message") != nullptr) {
      post = &r;
    } else {
      text = &r;
    }
  }
  ASSERT_TRUE(text != nullptr && pre != nullptr && post != nullptr);
  for (const auto* r : {text, pre, post}) {
    EXPECT_EQ(r->signature, openpgp::SignatureStatus::valid);
    EXPECT_EQ(r->signer_fingerprint, bob_key.fingerprint());
    EXPECT_EQ(r->mail.from_addr, "bob@sotto.test");
    EXPECT_NE(r->mail.chat_header("Chat-Version"), nullptr);
  }
  EXPECT_EQ(text->mail.text, "Hi Alice, Delta Chat here.");
  EXPECT_EQ(pre->mail.text, "a picture");
  EXPECT_TRUE(pre->mail.attachments.empty());
  EXPECT_EQ(*pre->mail.chat_header("Chat-Post-Message-ID"), "<" + post->mail.message_id + ">");
  ASSERT_EQ(post->mail.attachments.size(), 1u);
  EXPECT_EQ(post->mail.attachments[0].filename, "photo.bin");
  EXPECT_EQ(post->mail.attachments[0].data, picture);
}

class DeltaChatReceiptTest : public DeltaChatInteropTest {};  // a mail server of its own

// Read receipts both ways: Delta Chat reports Alice's message as read once Bob has seen it,
// and marks its own message as read when Alice's receipt comes.
TEST_F(DeltaChatReceiptTest, ReadReceiptsBothWays) {
  auto alice = sotto_key("alice");
  auto bob = delta_chat("bob");
  openpgp::Cert bob_key = public_key(*bob);

  ChatMail hello = from_alice("Mr.read1", "Tell me when you have read this.");
  hello.chat_headers.push_back({"Chat-Disposition-Notification-To", "alice@sotto.test"});
  send_sealed(hello, alice, {bob_key});
  json got = bob->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(got.value("ok", false)) << got.dump() << "\n" << bob->log();
  json seen = bob->call({{"op", "mark_seen"}, {"msg_ids", {got.value("msg_id", 0)}}});
  ASSERT_TRUE(seen.value("ok", false)) << seen.dump();
  auto receipts = received_by("alice", alice, {bob_key}, "bob@sotto.test", 1);
  ASSERT_EQ(receipts.size(), 1u) << bob->log();
  EXPECT_EQ(receipts[0].signature, openpgp::SignatureStatus::valid);
  EXPECT_EQ(receipts[0].mail.read_receipt_for, std::vector<std::string>{hello.message_id});

  int chat = got.value("chat_id", 0);
  json sent = bob->call({{"op", "send"}, {"chat_id", chat}, {"text", "Read it. Yours?"}});
  ASSERT_TRUE(sent.value("ok", false)) << sent.dump() << "\n" << bob->log();
  auto mails = received_by("alice", alice, {bob_key}, "bob@sotto.test", 2);
  ASSERT_EQ(mails.size(), 2u) << bob->log();
  const ChatMail& question = mails[0].mail.read_receipt_for.empty() ? mails[0].mail : mails[1].mail;
  EXPECT_EQ(question.text, "Read it. Yours?");
  ASSERT_NE(question.chat_header("Chat-Disposition-Notification-To"), nullptr);

  ChatMail receipt = from_alice("Mr.receipt1", "This is a receipt notification.");
  receipt.subject = "Receipt Notification";
  receipt.read_receipt_for = {question.message_id};
  send_sealed(receipt, alice, {bob_key});
  int state = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (state != 28 && std::chrono::steady_clock::now() < deadline) {
    json message = bob->call({{"op", "get_message"}, {"msg_id", sent.value("msg_id", 0)}});
    state = message.value("state", 0);
    if (state != 28) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(state, 28) << "Delta Chat did not take Alice's receipt\n" << bob->log();
}

// A group that Alice (Sotto) makes with Bob (Delta Chat) and Carol (Sotto): Delta Chat shows
// it as the group it is, with both members' keys from the gossip, and its answer to the group
// opens for Alice and for Carol, whose key Delta Chat only had from Alice's gossip.
class DeltaChatGroupTest : public DeltaChatInteropTest {};  // a mail server of its own

TEST_F(DeltaChatGroupTest, AGroupOfSottoAndDeltaChat) {
  auto alice = sotto_key("alice");
  auto carol = sotto_key("carol");
  auto bob = delta_chat("bob");
  openpgp::Cert bob_key = public_key(*bob);

  ChatMail m = from_alice("Mr.group1", "Welcome to the group, both of you.");
  m.to = {"bob@sotto.test", "carol@sotto.test"};
  m.subject = "Bergtour";
  m.chat_headers = {
      {"Chat-Version", "1.0"}, {"Chat-Group-ID", "Xk3p9Qw2LmZa"}, {"Chat-Group-Name", "Bergtour"}};
  m.gossip = {{"bob@sotto.test", false, bob_key.encode()},
              {"carol@sotto.test", false, carol.cert.encode()}};
  send_sealed(m, alice, {bob_key, carol.cert});

  json got = bob->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(got.value("ok", false)) << got.dump() << "\n" << bob->log();
  EXPECT_EQ(got.value("text", ""), m.text);
  EXPECT_TRUE(got.value("encrypted", false));
  int chat = got.value("chat_id", 0);
  json info = bob->call({{"op", "chat_info"}, {"chat_id", chat}});
  ASSERT_TRUE(info.value("ok", false)) << info.dump();
  EXPECT_EQ(info.value("name", ""), "Bergtour") << info.dump();
  std::vector<std::string> members;
  for (const auto& c : info["contacts"]) {
    members.push_back(c.value("addr", ""));
    EXPECT_TRUE(c.value("key_contact", false)) << info.dump();
  }
  std::sort(members.begin(), members.end());
  EXPECT_EQ(members,
            (std::vector<std::string>{"alice@sotto.test", "bob@sotto.test", "carol@sotto.test"}))
      << info.dump();

  json reply = bob->call({{"op", "send"}, {"chat_id", chat}, {"text", "Count me in."}});
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump() << "\n" << bob->log();
  struct Member {
    std::string user;
    const openpgp::SecretCert* key;
  };
  for (const Member& member : {Member{"alice", &alice}, Member{"carol", &carol}}) {
    auto received = received_by(member.user, *member.key, {bob_key}, "bob@sotto.test", 1);
    ASSERT_EQ(received.size(), 1u) << member.user << "\n" << bob->log();
    const ChatMail& r = received[0].mail;
    EXPECT_EQ(received[0].signature, openpgp::SignatureStatus::valid);
    EXPECT_EQ(r.text, "Count me in.");
    ASSERT_NE(r.chat_header("Chat-Group-ID"), nullptr) << member.user;
    EXPECT_EQ(*r.chat_header("Chat-Group-ID"), "Xk3p9Qw2LmZa");
    std::vector<std::string> to = r.to;
    std::sort(to.begin(), to.end());
    EXPECT_EQ(to, (std::vector<std::string>{"alice@sotto.test", "carol@sotto.test"}));
  }
}

}  // namespace
}  // namespace sotto::mail

namespace sotto::mail {
namespace {

// Sotto's e-mail account (client::MailClient, what `sotto init --email` runs) and Delta Chat:
// each side writes first once. Delta Chat shows the Sotto account's mail, encrypted, and its
// answers are read by the Sotto account; a Delta Chat user who has a Sotto user's key (a vCard)
// writes first, and the Sotto account reads it with the key from that mail's Autocrypt header
// and answers without importing anything.
class DeltaChatMailClientTest : public DeltaChatInteropTest {
 protected:
  std::unique_ptr<client::MailClient> sotto_account(client::ClientStore& store,
                                                    const std::string& user) {
    const auto now = static_cast<uint64_t>(std::time(nullptr)) * 1000;
    EXPECT_TRUE(client::MailClient::create(store, user + "@sotto.test",
                                           SecureBytes(as_bytes(std::string_view("secret"))), now)
                    .ok());
    client::MailServers servers;
    servers.imap = endpoint(server_->imaps_port(), MailServerEndpoint::Security::implicit_tls);
    servers.smtp = submission();
    servers.login = user + "@sotto.test";
    auto opened = client::MailClient::open(
        store, servers,
        [] {
          return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
        },
        files(user));
    EXPECT_TRUE(opened.ok()) << opened.error().to_string();
    if (!opened.ok()) return nullptr;
    return std::move(opened).value();
  }

  // The Sotto account alice, who has the key of the Delta Chat user bob.
  void alice_and_bob(client::ClientStore& store, std::unique_ptr<client::MailClient>& alice,
                     std::unique_ptr<DeltaChat>& bob) {
    alice = sotto_account(store, "alice");
    ASSERT_TRUE(alice);
    bob = delta_chat("bob");
    json bob_key = bob->call({{"op", "public_key"}});
    ASSERT_TRUE(alice->import_key("bob@sotto.test", bob_key.value("armored", "")).ok());
  }

  client::FileVault files(const std::string& user) const {
    return client::FileVault(work_ / (user + "-files"));
  }

  // What the account receives until it has `count` new messages (or a minute passed).
  static std::vector<client::StoredMessage> receive(client::MailClient& account, size_t count) {
    std::vector<client::StoredMessage> got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
      auto r = account.receive(std::chrono::seconds(10));
      EXPECT_TRUE(r.ok()) << r.error().to_string();
      if (!r.ok()) break;
      for (auto& m : r->messages) got.push_back(std::move(m));
    }
    return got;
  }
  // Who has read `account`'s message `id` of `chat` once `count` have (or after 60 s), the
  // receipts read from the inbox meanwhile; no message comes with them.
  static std::vector<std::string> read_by(client::MailClient& account,
                                          const client::ClientStore& store, const Bytes& chat,
                                          const Bytes& id, size_t count) {
    std::vector<std::string> readers;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (readers.size() < count && std::chrono::steady_clock::now() < deadline) {
      auto r = account.receive(std::chrono::seconds(10));
      EXPECT_TRUE(r.ok()) << r.error().to_string();
      if (!r.ok()) break;
      EXPECT_TRUE(r->messages.empty());  // a receipt is not a message
      readers = store.message(chat, id).value()->read_by;
    }
    std::sort(readers.begin(), readers.end());
    return readers;
  }
  // Delta Chat's state of its message `msg_id` once it is `wanted` (or after 60 s).
  static int message_state(DeltaChat& dc, const json& msg_id, int wanted) {
    int state = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (state != wanted && std::chrono::steady_clock::now() < deadline) {
      state = dc.call({{"op", "get_message"}, {"msg_id", msg_id}}).value("state", 0);
      if (state != wanted) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return state;
  }
  static constexpr int kDeltaChatReadState = 28;  // DC_STATE_OUT_MDN_RCVD
};

TEST_F(DeltaChatMailClientTest, TheSottoAccountAndDeltaChatEachWriteFirst) {
  // Sotto first: alice has bob's key.
  client::MemoryClientStore alice_store;
  std::unique_ptr<client::MailClient> alice;
  std::unique_ptr<DeltaChat> bob;
  ASSERT_NO_FATAL_FAILURE(alice_and_bob(alice_store, alice, bob));
  auto queued = alice->send_text("bob@sotto.test", "Hello Bob, from the Sotto client.");
  ASSERT_TRUE(queued.ok()) << queued.error().to_string();
  auto flushed = alice->flush_outbox();
  ASSERT_TRUE(flushed.ok()) << flushed.error().to_string();
  EXPECT_EQ(*flushed, 1u);
  json got = bob->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(got.value("ok", false)) << got.dump() << "\n" << bob->log();
  EXPECT_EQ(got.value("from", ""), "alice@sotto.test");
  EXPECT_EQ(got.value("text", ""), "Hello Bob, from the Sotto client.");
  EXPECT_TRUE(got.value("encrypted", false));
  json reply = bob->call(
      {{"op", "send"}, {"chat_id", got["chat_id"]}, {"text", "Hi Alice,\nDelta Chat here."}});
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  auto at_alice = receive(*alice, 1);
  ASSERT_EQ(at_alice.size(), 1u);
  EXPECT_EQ(at_alice[0].body, "Hi Alice,\nDelta Chat here.");
  EXPECT_EQ(at_alice[0].sender, "bob@sotto.test");
  EXPECT_EQ(at_alice[0].group_id, client::mail_chat_id("bob@sotto.test"));
  EXPECT_EQ(alice_store.mail_peer("bob@sotto.test").value()->source,
            client::MailKeySource::imported);

  // Delta Chat first: carol has dave's key from his vCard; dave has nothing of hers.
  client::MemoryClientStore dave_store;
  auto dave = sotto_account(dave_store, "dave");
  ASSERT_TRUE(dave);
  auto carol = delta_chat("carol");
  const std::string vcard =
      "BEGIN:VCARD\r\nVERSION:4.0\r\nEMAIL:dave@sotto.test\r\nFN:Dave\r\n"
      "KEY:data:application/pgp-keys;base64," +
      to_base64(dave->public_cert().encode()) + "\r\nEND:VCARD\r\n";
  json imported = carol->call({{"op", "import_vcard"}, {"vcard", vcard}});
  ASSERT_TRUE(imported.value("ok", false)) << imported.dump() << "\n" << carol->log();
  json first = carol->call(
      {{"op", "send"}, {"chat_id", imported["chat_id"]}, {"text", "Dave? Carol, on Delta Chat."}});
  ASSERT_TRUE(first.value("ok", false)) << first.dump() << "\n" << carol->log();
  auto at_dave = receive(*dave, 1);
  ASSERT_EQ(at_dave.size(), 1u);
  EXPECT_EQ(at_dave[0].body, "Dave? Carol, on Delta Chat.");
  auto learned = dave_store.mail_peer("carol@sotto.test").value();
  ASSERT_TRUE(learned.has_value());
  EXPECT_EQ(learned->source, client::MailKeySource::autocrypt);
  ASSERT_TRUE(dave->send_text("carol@sotto.test", "Carol! Got it.").ok());
  ASSERT_EQ(dave->flush_outbox().value(), 1u);
  json answer = carol->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(answer.value("ok", false)) << answer.dump() << "\n" << carol->log();
  EXPECT_EQ(answer.value("text", ""), "Carol! Got it.");
  EXPECT_TRUE(answer.value("encrypted", false));
  EXPECT_EQ(answer["chat_id"], imported["chat_id"]);
}

// Files between the Sotto account and Delta Chat, each over Delta Chat's 140,000 bytes, so
// each comes as a pre-message (its text) and a post-message (the file): Delta Chat shows the
// Sotto account's as one message with its text and the whole file; the Sotto account shows
// Delta Chat's as one message with the file, kept encrypted on the device and saved byte
// for byte.
TEST_F(DeltaChatMailClientTest, FilesGoBothWays) {
  client::MemoryClientStore alice_store;
  std::unique_ptr<client::MailClient> alice;
  std::unique_ptr<DeltaChat> bob;
  ASSERT_NO_FATAL_FAILURE(alice_and_bob(alice_store, alice, bob));

  auto pattern = [](size_t size, uint8_t seed) {
    Bytes data(size);
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<uint8_t>((i * 7 + seed) ^ (i >> 9));
    return data;
  };
  auto write = [](const fs::path& path, const Bytes& data) {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()),
               static_cast<std::streamsize>(data.size()));
  };
  auto read = [](const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  };

  const Bytes report = pattern(300 * 1024, 1);
  write(work_ / "report.pdf", report);
  auto sent = alice->send_file("bob@sotto.test", work_ / "report.pdf", "the report", "");
  ASSERT_TRUE(sent.ok()) << sent.error().to_string();
  ASSERT_TRUE(sent->file.has_value());
  EXPECT_EQ(sent->file->media_type, "application/pdf");
  ASSERT_EQ(alice->flush_outbox().value(), 2u);  // the pre-message, then the file
  json got = bob->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(got.value("ok", false)) << got.dump() << "\n" << bob->log();
  EXPECT_EQ(got.value("text", ""), "the report");
  EXPECT_TRUE(got.value("encrypted", false));
  EXPECT_EQ(got.value("file_name", ""), "report.pdf");
  ASSERT_TRUE(got["file"].is_string()) << got.dump();
  EXPECT_EQ(read(got["file"].get<std::string>()), report);
  // One message in Delta Chat's chat, not a text and a file.
  json in_chat = bob->call({{"op", "chat_messages"}, {"chat_id", got["chat_id"]}});
  ASSERT_TRUE(in_chat.value("ok", false)) << in_chat.dump();
  EXPECT_EQ(in_chat["msg_ids"], json::array({got["msg_id"]})) << in_chat.dump();

  const Bytes photo = pattern(200 * 1024, 2);
  write(work_ / "photo.jpg", photo);
  json reply = bob->call({{"op", "send"},
                          {"chat_id", got["chat_id"]},
                          {"text", "a picture"},
                          {"file", (work_ / "photo.jpg").string()}});
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump() << "\n" << bob->log();
  const Bytes chat = client::mail_chat_id("bob@sotto.test");
  std::optional<client::StoredMessage> with_file;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!with_file && std::chrono::steady_clock::now() < deadline) {
    auto r = alice->receive(std::chrono::seconds(10));
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    const auto stored = alice_store.messages(chat).value();
    for (const auto& m : stored) {
      if (!m.outgoing && m.file) with_file = m;
    }
  }
  ASSERT_TRUE(with_file.has_value()) << bob->log();
  // One message, not two: the pre-message's text and the post-message's file.
  auto history = alice_store.messages(chat).value();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(with_file->body, "a picture");
  EXPECT_EQ(with_file->sender, "bob@sotto.test");
  EXPECT_EQ(with_file->file->name, "photo.jpg");
  EXPECT_EQ(with_file->file->size, photo.size());
  const fs::path saved = work_ / "saved.jpg";
  ASSERT_TRUE(files("alice").save(*with_file->file, saved).ok());
  EXPECT_EQ(read(saved), photo);
  // Kept encrypted: the picture's bytes are nowhere in the vault.
  for (const auto& entry : fs::directory_iterator(files("alice").dir())) {
    const Bytes kept = read(entry.path());
    EXPECT_EQ(std::search(kept.begin(), kept.end(), photo.begin(), photo.begin() + 64), kept.end());
  }
}

// Edits and deletes between the Sotto account and Delta Chat (Chat-Edit, Chat-Delete), each
// way: the other side shows the new text as edited, and a message deleted for everyone goes.
TEST_F(DeltaChatMailClientTest, EditsAndDeletesGoBothWays) {
  client::MemoryClientStore alice_store;
  std::unique_ptr<client::MailClient> alice;
  std::unique_ptr<DeltaChat> bob;
  ASSERT_NO_FATAL_FAILURE(alice_and_bob(alice_store, alice, bob));
  const Bytes chat = client::mail_chat_id("bob@sotto.test");
  // Polls Delta Chat until `done` says yes of the answer to `request` (or a minute passed).
  auto until = [&](const json& request, const std::function<bool(const json&)>& done) {
    json answer;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      answer = bob->call(request);
      if (done(answer)) return answer;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << answer.dump() << "\n" << bob->log();
    return answer;
  };

  // Sotto edits, then deletes, a message Delta Chat has.
  auto sent = alice->send_text("bob@sotto.test", "meet at 5");
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(alice->flush_outbox().value(), 1u);
  json got = bob->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(got.value("ok", false)) << got.dump() << "\n" << bob->log();
  EXPECT_FALSE(got.value("edited", true));
  auto edited = alice->edit_message(chat, sent->message_id, "meet at 6");
  ASSERT_TRUE(edited.ok()) << edited.error().to_string();
  EXPECT_EQ(edited->body, "meet at 6");
  EXPECT_NE(edited->edited_at, 0u);
  ASSERT_EQ(alice->flush_outbox().value(), 1u);
  json now = until({{"op", "get_message"}, {"msg_id", got["msg_id"]}},
                   [](const json& m) { return m.value("text", "") == "meet at 6"; });
  EXPECT_TRUE(now.value("edited", false)) << now.dump();
  // The edit is not a message of its own, here or there.
  EXPECT_EQ(alice_store.messages(chat).value().size(), 1u);
  ASSERT_TRUE(alice->delete_message(chat, sent->message_id).ok());
  ASSERT_EQ(alice->flush_outbox().value(), 1u);
  until({{"op", "message_exists"}, {"msg_id", got["msg_id"]}},
        [](const json& m) { return m.value("ok", false) && !m.value("exists", true); });
  auto tombstone = alice_store.message(chat, sent->message_id).value();
  ASSERT_TRUE(tombstone.has_value());
  EXPECT_TRUE(tombstone->deleted);
  EXPECT_TRUE(tombstone->body.empty());
  // Deleted is deleted: no edit of it.
  EXPECT_FALSE(alice->edit_message(chat, sent->message_id, "again").ok());

  // Delta Chat edits, then deletes, a message the Sotto account has.
  json reply = bob->call({{"op", "send"}, {"chat_id", got["chat_id"]}, {"text", "ok, 5"}});
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  auto at_alice = receive(*alice, 1);
  ASSERT_EQ(at_alice.size(), 1u);
  const Bytes bobs = at_alice[0].message_id;
  // Waits until the Sotto account reports `bobs` rewritten as `done` wants it.
  auto rewritten = [&](const std::function<bool(const client::StoredMessage&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = alice->receive(std::chrono::seconds(10));
      EXPECT_TRUE(r.ok()) << r.error().to_string();
      if (!r.ok()) return false;
      EXPECT_TRUE(r->messages.empty()) << r->messages[0].body;  // no message of its own
      for (const auto& m : r->rewritten) {
        if (m.message_id == bobs && done(m)) return true;
      }
    }
    return false;
  };
  json edit = bob->call({{"op", "edit"}, {"msg_id", reply["msg_id"]}, {"text", "ok, 6 then"}});
  ASSERT_TRUE(edit.value("ok", false)) << edit.dump() << "\n" << bob->log();
  EXPECT_TRUE(rewritten([](const client::StoredMessage& m) {
    return m.body == "ok, 6 then" && m.edited_at != 0;
  })) << bob->log();
  json del = bob->call({{"op", "delete_for_all"}, {"msg_ids", {reply["msg_id"]}}});
  ASSERT_TRUE(del.value("ok", false)) << del.dump() << "\n" << bob->log();
  EXPECT_TRUE(rewritten([](const client::StoredMessage& m) { return m.deleted && m.body.empty(); }))
      << bob->log();
  EXPECT_EQ(alice_store.messages(chat).value().size(), 2u);
}

// Read receipts between the Sotto account and Delta Chat: the Sotto account's message asks
// for one and learns that Delta Chat read it; Delta Chat's message asks for one, and the
// Sotto account's mark_read sends it, which turns the message to "read" in Delta Chat.
TEST_F(DeltaChatMailClientTest, ReadReceiptsGoBothWays) {
  client::MemoryClientStore alice_store;
  std::unique_ptr<client::MailClient> alice;
  std::unique_ptr<DeltaChat> bob;
  ASSERT_NO_FATAL_FAILURE(alice_and_bob(alice_store, alice, bob));
  const Bytes chat = client::mail_chat_id("bob@sotto.test");

  auto sent = alice->send_text("bob@sotto.test", "tell me when you have read this");
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(alice->flush_outbox().value(), 1u);
  json got = bob->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(got.value("ok", false)) << got.dump() << "\n" << bob->log();
  json seen = bob->call({{"op", "mark_seen"}, {"msg_ids", {got["msg_id"]}}});
  ASSERT_TRUE(seen.value("ok", false)) << seen.dump();
  EXPECT_EQ(read_by(*alice, alice_store, chat, sent->message_id, 1),
            std::vector<std::string>{"bob@sotto.test"})
      << bob->log();

  json reply = bob->call({{"op", "send"}, {"chat_id", got["chat_id"]}, {"text", "read. yours?"}});
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  auto at_alice = receive(*alice, 1);
  ASSERT_EQ(at_alice.size(), 1u);
  EXPECT_TRUE(at_alice[0].receipt_requested);
  EXPECT_FALSE(at_alice[0].read);
  EXPECT_EQ(alice->mark_read(chat, true).value(), 1u);
  EXPECT_EQ(alice->mark_read(chat, true).value(), 0u);  // once
  ASSERT_EQ(alice->flush_outbox().value(), 1u);
  EXPECT_TRUE(alice_store.message(chat, at_alice[0].message_id).value()->read);
  EXPECT_EQ(message_state(*bob, reply["msg_id"], kDeltaChatReadState), kDeltaChatReadState)
      << "Delta Chat did not take the receipt\n"
      << bob->log();
}

}  // namespace
}  // namespace sotto::mail

namespace sotto::mail {
namespace {

class DeltaChatSecureJoinTest : public DeltaChatMailClientTest {
 protected:
  // dave@ (a Sotto account) joins carol@ (Delta Chat) through her link `qr`, its request
  // encrypted under the link's secret (or, when dave already has carol's key, the third step
  // at once, encrypted to that key); both end with the other verified and the join done.
  static void dave_joins_carol(client::MailClient& dave, client::ClientStore& dave_store,
                               DeltaChat& carol, const std::string& qr,
                               bool knows_carols_key = false) {
    ASSERT_TRUE(dave.join(qr).ok());
    auto pending = dave_store.outbox().value();
    ASSERT_EQ(pending.size(), 1u);
    const std::string first(pending[0].payload.begin(), pending[0].payload.end());
    EXPECT_NE(password_encrypted(first), knows_carols_key) << first;
    EXPECT_NE(first.find("multipart/encrypted"), std::string::npos) << first;
    ASSERT_EQ(dave.flush_outbox().value(), 1u);
    bool dave_verified_carol = false;
    std::thread joiner = verify_in_background(dave, "carol@sotto.test", dave_verified_carol);
    json invited = carol.call({{"op", "wait_secure_join"}, {"timeout_ms", 60000}});
    joiner.join();
    ASSERT_TRUE(invited.value("ok", false)) << invited.dump() << "\n" << carol.log();
    EXPECT_EQ(invited.value("addr", ""), "dave@sotto.test");
    EXPECT_TRUE(invited.value("verified", false));
    EXPECT_TRUE(dave_verified_carol) << carol.log();
    auto carol_at_dave = dave_store.mail_peer("carol@sotto.test").value();
    ASSERT_TRUE(carol_at_dave.has_value());
    EXPECT_TRUE(carol_at_dave->verified);
    EXPECT_FALSE(dave_store.mail_join("carol@sotto.test").value().has_value());
  }

  // Runs `account`'s receive() on a thread of its own until it reports `who` verified (or a
  // minute passed), while the test talks to Delta Chat.
  static std::thread verify_in_background(client::MailClient& account, std::string who,
                                          bool& verified) {
    return std::thread([&account, who, &verified] {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (!verified && std::chrono::steady_clock::now() < deadline) {
        auto r = account.receive(std::chrono::seconds(5));
        if (!r.ok()) continue;
        for (const auto& v : r->verified) verified = verified || v == who;
      }
    });
  }
};

// SecureJoin (Setup-Contact, v3) with the real Delta Chat core, both ways round: Delta Chat
// joins through the Sotto account's invite link, and the Sotto account joins through Delta
// Chat's; the first request goes encrypted under the link's secret; each side ends with the
// other's key verified, and a message goes through.
TEST_F(DeltaChatSecureJoinTest, EachSideJoinsThroughTheOthersInvite) {
  client::MemoryClientStore alice_store;
  auto alice = sotto_account(alice_store, "alice");
  ASSERT_TRUE(alice);
  auto bob = delta_chat("bob");
  // The Sotto account's link offers SecureJoin v3: Delta Chat's first request comes encrypted
  // under the link's secret, unsigned and without Delta Chat's key.
  const std::string link = alice->invite_link();
  ASSERT_NE(link.find("&v=3"), std::string::npos) << link;
  json joined;
  std::thread joiner_thread([&] {
    joined = bob->call({{"op", "secure_join"}, {"qr", link}, {"timeout_ms", 60000}});
  });
  auto requests = server_->wait_mails("alice", 1);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(password_encrypted(requests[0])) << requests[0];
  EXPECT_EQ(requests[0].find("Autocrypt"), std::string::npos) << requests[0];
  bool alice_verified_bob = false;
  std::thread inviter = verify_in_background(*alice, "bob@sotto.test", alice_verified_bob);
  inviter.join();
  joiner_thread.join();
  ASSERT_TRUE(joined.value("ok", false)) << joined.dump() << "\n" << bob->log();
  EXPECT_TRUE(joined.value("verified", false));
  EXPECT_EQ(joined.value("addr", ""), "alice@sotto.test");
  EXPECT_TRUE(alice_verified_bob);
  auto bob_at_alice = alice_store.mail_peer("bob@sotto.test").value();
  ASSERT_TRUE(bob_at_alice.has_value());
  EXPECT_TRUE(bob_at_alice->verified);
  ASSERT_TRUE(alice->send_text("bob@sotto.test", "verified both ways").ok());
  ASSERT_EQ(alice->flush_outbox().value(), 1u);
  json got = bob->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(got.value("ok", false)) << got.dump() << "\n" << bob->log();
  EXPECT_EQ(got.value("text", ""), "verified both ways");
  EXPECT_EQ(got["chat_id"], joined["chat_id"]);

  client::MemoryClientStore dave_store;
  auto dave = sotto_account(dave_store, "dave");
  ASSERT_TRUE(dave);
  auto carol = delta_chat("carol");
  json qr = carol->call({{"op", "secure_join_qr"}});
  ASSERT_TRUE(qr.value("ok", false)) << qr.dump();
  // Delta Chat's link offers v3 too: the Sotto account's request goes under its secret, and
  // Delta Chat's answer (its key, signed, under the same secret) is what verifies it.
  ASSERT_NE(qr.value("qr", "").find("v=3"), std::string::npos) << qr.dump();
  ASSERT_NO_FATAL_FAILURE(dave_joins_carol(*dave, dave_store, *carol, qr.value("qr", "")));
}

// A Sotto account's group invite link, used by the real Delta Chat core: Delta Chat's request
// goes under the group link's secret; the Sotto account verifies it, adds it to the group and
// tells the group (vg-member-added), which ends Delta Chat's join: Delta Chat has the group by
// its name with both members, and messages go both ways in it.
TEST_F(DeltaChatSecureJoinTest, DeltaChatJoinsASottoGroupThroughItsInvite) {
  client::MemoryClientStore alice_store;
  auto alice = sotto_account(alice_store, "alice");
  ASSERT_TRUE(alice);
  auto bob = delta_chat("bob");
  auto group = alice->create_group("Book club", {});
  ASSERT_TRUE(group.ok()) << group.error().to_string();
  auto link = alice->group_invite_link(group->group_id);
  ASSERT_TRUE(link.ok()) << link.error().to_string();
  // (An earlier test of the suite may have left mail for alice unread.)
  const size_t unread = server_->mails("alice").size();
  json joined;
  std::jthread joiner_thread([&] {
    joined = bob->call({{"op", "secure_join"}, {"qr", *link}, {"timeout_ms", 60000}});
  });
  auto requests = server_->wait_mails("alice", unread + 1);
  ASSERT_EQ(requests.size(), unread + 1);
  EXPECT_TRUE(password_encrypted(requests.back())) << requests.back();
  bool alice_verified_bob = false;
  std::thread inviter = verify_in_background(*alice, "bob@sotto.test", alice_verified_bob);
  inviter.join();
  // What Alice queued on verifying Bob (the mail that adds him) goes out.
  ASSERT_TRUE(alice->flush_outbox().ok());
  joiner_thread.join();
  ASSERT_TRUE(joined.value("ok", false)) << joined.dump() << "\n" << bob->log();
  EXPECT_TRUE(alice_verified_bob);
  EXPECT_EQ(joined.value("addr", ""), "alice@sotto.test");
  json info = bob->call({{"op", "chat_info"}, {"chat_id", joined["chat_id"]}});
  ASSERT_TRUE(info.value("ok", false)) << info.dump();
  EXPECT_EQ(info.value("name", ""), "Book club");
  EXPECT_EQ(info.value("type", ""), "Group") << info.dump();
  std::vector<std::string> in_dc;
  for (const auto& contact : info["contacts"]) in_dc.push_back(contact.value("addr", ""));
  std::sort(in_dc.begin(), in_dc.end());
  EXPECT_EQ(in_dc, (std::vector<std::string>{"alice@sotto.test", "bob@sotto.test"})) << info.dump();
  const auto in_sotto = alice_store.conversation(group->group_id).value();
  ASSERT_TRUE(in_sotto.has_value());
  EXPECT_EQ(in_sotto->members, (std::vector<std::string>{"alice@sotto.test", "bob@sotto.test"}));
  EXPECT_TRUE(alice_store.mail_peer("bob@sotto.test").value()->verified);

  json sent = bob->call({{"op", "send"}, {"chat_id", joined["chat_id"]}, {"text", "hello club"}});
  ASSERT_TRUE(sent.value("ok", false)) << sent.dump();
  std::vector<client::StoredMessage> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (got.empty() && std::chrono::steady_clock::now() < deadline) {
    auto r = alice->receive(std::chrono::seconds(10));
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    for (const auto& m : r->messages) {
      if (!m.outgoing && m.body == "hello club") got.push_back(m);
    }
  }
  ASSERT_EQ(got.size(), 1u) << bob->log();
  EXPECT_EQ(got[0].group_id, group->group_id);
  ASSERT_TRUE(alice->send_group_text(group->group_id, "welcome, bob").ok());
  ASSERT_EQ(alice->flush_outbox().value(), 1u);
  json answer = bob->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(answer.value("ok", false)) << answer.dump() << "\n" << bob->log();
  EXPECT_EQ(answer.value("text", ""), "welcome, bob");
  EXPECT_EQ(answer["chat_id"], joined["chat_id"]);
}

// SecureJoin into a group (v3) with the real Delta Chat core: the Sotto account joins a Delta
// Chat group through the group's invite link; Delta Chat adds it, the Sotto account ends with
// the inviter verified and the group, by its id and name, with both in it; messages go both
// ways in the group.
// When the Sotto account already has the inviter's key (imported here), the one the link
// names, it skips the steps that would bring that key and sends the third at once, encrypted
// to it and signed, as Delta Chat does; the real Delta Chat core takes it and both end
// verified.
TEST_F(DeltaChatSecureJoinTest, KnowingTheInvitersKeyTheJoinerGoesStraightToTheThirdStep) {
  client::MemoryClientStore dave_store;
  auto dave = sotto_account(dave_store, "dave");
  ASSERT_TRUE(dave);
  auto carol = delta_chat("carol");
  json carol_key = carol->call({{"op", "public_key"}});
  ASSERT_TRUE(dave->import_key("carol@sotto.test", carol_key.value("armored", "")).ok());
  EXPECT_FALSE(dave_store.mail_peer("carol@sotto.test").value()->verified);
  json qr = carol->call({{"op", "secure_join_qr"}});
  ASSERT_TRUE(qr.value("ok", false)) << qr.dump();
  ASSERT_NO_FATAL_FAILURE(dave_joins_carol(*dave, dave_store, *carol, qr.value("qr", ""), true));
}

TEST_F(DeltaChatSecureJoinTest, TheSottoAccountJoinsADeltaChatGroupThroughItsInvite) {
  client::MemoryClientStore dave_store;
  auto dave = sotto_account(dave_store, "dave");
  ASSERT_TRUE(dave);
  auto carol = delta_chat("carol");
  json group = carol->call({{"op", "create_group"}, {"name", "Hiking club"}});
  ASSERT_TRUE(group.value("ok", false)) << group.dump();
  json qr = carol->call({{"op", "secure_join_qr"}, {"chat_id", group["chat_id"]}});
  ASSERT_TRUE(qr.value("ok", false)) << qr.dump();
  auto invite = client::parse_mail_invite(qr.value("qr", ""));
  ASSERT_TRUE(invite.ok()) << qr.dump();
  ASSERT_FALSE(invite->group_id.empty()) << qr.dump();
  EXPECT_EQ(invite->group_name, "Hiking club");
  EXPECT_EQ(invite->version, 3u);

  // The join ends with the mail that adds the Sotto account to the group.
  ASSERT_NO_FATAL_FAILURE(dave_joins_carol(*dave, dave_store, *carol, qr.value("qr", "")));

  // The group, as Delta Chat has it: its id, its name, both members.
  std::optional<client::Conversation> hiking;
  const auto conversations = dave_store.conversations().value();
  for (const auto& c : conversations) {
    if (c.kind == client::ConversationKind::group) hiking = c;
  }
  ASSERT_TRUE(hiking.has_value());
  EXPECT_EQ(hiking->name, "Hiking club");
  EXPECT_EQ(hiking->membership, client::Membership::member);
  std::vector<std::string> members = hiking->members;
  std::sort(members.begin(), members.end());
  EXPECT_EQ(members, (std::vector<std::string>{"carol@sotto.test", "dave@sotto.test"}));

  // Messages both ways, in the group.
  ASSERT_TRUE(dave->send_group_text(hiking->group_id, "glad to be in").ok());
  ASSERT_EQ(dave->flush_outbox().value(), 1u);
  json got = carol->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(got.value("ok", false)) << got.dump() << "\n" << carol->log();
  EXPECT_EQ(got.value("text", ""), "glad to be in");
  EXPECT_EQ(got["chat_id"], group["chat_id"]);
  EXPECT_TRUE(got.value("encrypted", false));
  json sent = carol->call({{"op", "send"}, {"chat_id", group["chat_id"]}, {"text", "welcome!"}});
  ASSERT_TRUE(sent.value("ok", false)) << sent.dump();
  std::vector<client::StoredMessage> in_group;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (in_group.empty() && std::chrono::steady_clock::now() < deadline) {
    auto r = dave->receive(std::chrono::seconds(10));
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    for (const auto& m : r->messages) {
      if (m.group_id == hiking->group_id && m.body == "welcome!") in_group.push_back(m);
    }
  }
  ASSERT_EQ(in_group.size(), 1u) << carol->log();
  EXPECT_EQ(in_group[0].sender, "carol@sotto.test");
}

}  // namespace
}  // namespace sotto::mail

namespace sotto::mail {
namespace {

class DeltaChatMailClientGroupTest : public DeltaChatMailClientTest {  // its own mail server
 protected:
  // Gives `alice` the keys of `bob` (Delta Chat) and `carol` (a Sotto account), by hand.
  static void give_keys(client::MailClient& alice, DeltaChat& bob, client::MailClient& carol) {
    json bob_key = bob.call({{"op", "public_key"}});
    ASSERT_TRUE(alice.import_key("bob@sotto.test", bob_key.value("armored", "")).ok());
    const std::string carol_key = openpgp::armor("PUBLIC KEY BLOCK", carol.public_cert().encode());
    ASSERT_TRUE(alice.import_key("carol@sotto.test", carol_key).ok());
  }
};

// A group made by a Sotto account with a Delta Chat member and another Sotto member: Delta
// Chat shows it as the group, by its name, with all three; its answer reaches the other Sotto
// member, who had no key of Delta Chat's but the one the group's first mail gossiped, in the
// same group; a removal made in Sotto is one in Delta Chat.
TEST_F(DeltaChatMailClientGroupTest, ASottoGroupWithADeltaChatMember) {
  client::MemoryClientStore alice_store;
  client::MemoryClientStore carol_store;
  auto alice = sotto_account(alice_store, "alice");
  auto carol = sotto_account(carol_store, "carol");
  ASSERT_TRUE(alice && carol);
  auto bob = delta_chat("bob");
  ASSERT_NO_FATAL_FAILURE(give_keys(*alice, *bob, *carol));
  auto group = alice->create_group("Bergtour", {"bob@sotto.test", "carol@sotto.test"});
  ASSERT_TRUE(group.ok()) << group.error().to_string();
  ASSERT_TRUE(alice->send_group_text(group->group_id, "Saturday, 7:00 at the station.").ok());
  ASSERT_EQ(alice->flush_outbox().value(), 1u);

  json got = bob->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(got.value("ok", false)) << got.dump() << "\n" << bob->log();
  EXPECT_EQ(got.value("text", ""), "Saturday, 7:00 at the station.");
  json info = bob->call({{"op", "chat_info"}, {"chat_id", got["chat_id"]}});
  EXPECT_EQ(info.value("name", ""), "Bergtour") << info.dump();
  EXPECT_EQ(info["contacts"].size(), 3u) << info.dump();
  auto at_carol = receive(*carol, 1);
  ASSERT_EQ(at_carol.size(), 1u);
  const Bytes carols_group = at_carol[0].group_id;
  EXPECT_EQ(carols_group, group->group_id);
  EXPECT_EQ(carol_store.mail_peer("bob@sotto.test").value()->source, client::MailKeySource::gossip);

  json reply = bob->call({{"op", "send"}, {"chat_id", got["chat_id"]}, {"text", "Count me in."}});
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  auto answer = receive(*carol, 1);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].body, "Count me in.");
  EXPECT_EQ(answer[0].sender, "bob@sotto.test");
  EXPECT_EQ(answer[0].group_id, carols_group);
  ASSERT_EQ(receive(*alice, 1).size(), 1u);

  ASSERT_TRUE(alice->change_member(group->group_id, "carol@sotto.test", false).ok());
  ASSERT_EQ(alice->flush_outbox().value(), 1u);
  // Delta Chat shows a removal as an info line; the group it shows has two members then.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  size_t members = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    json now = bob->call({{"op", "chat_info"}, {"chat_id", got["chat_id"]}});
    members = now["contacts"].size();
    if (members == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  EXPECT_EQ(members, 2u) << bob->log();
  auto told = receive(*carol, 1);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(carol_store.conversation(carols_group).value()->membership,
            client::Membership::removed);

  // A rename in Sotto renames Delta Chat's group.
  ASSERT_TRUE(alice->rename_group(group->group_id, "Hut 2027").ok());
  ASSERT_EQ(alice->flush_outbox().value(), 1u);
  std::string name;
  const auto renamed_by = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (name != "Hut 2027" && std::chrono::steady_clock::now() < renamed_by) {
    name = bob->call({{"op", "chat_info"}, {"chat_id", got["chat_id"]}}).value("name", "");
    if (name != "Hut 2027") std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  EXPECT_EQ(name, "Hut 2027") << bob->log();
  EXPECT_EQ(alice_store.conversation(group->group_id).value()->name, "Hut 2027");

  // Delta Chat took the members' timestamps: its next group mail names alice in To, carol as
  // a past member, with one timestamp each; the Sotto account reads that list and keeps its
  // members as they are.
  json after = bob->call({{"op", "send"}, {"chat_id", got["chat_id"]}, {"text", "Just us."}});
  ASSERT_TRUE(after.value("ok", false)) << after.dump();
  std::string from_bob;
  const auto mailed_by = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (from_bob.empty() && std::chrono::steady_clock::now() < mailed_by) {
    for (const auto& raw : server_->mails("alice")) {
      auto outer = read_outer(raw);
      if (outer.ok() && outer->from_addr == "bob@sotto.test") from_bob = raw;
    }
    if (from_bob.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_FALSE(from_bob.empty());
  auto account = alice_store.mail_account().value();
  ASSERT_TRUE(account.has_value());
  auto alice_secret = openpgp::SecretCert::parse(account->secret_key);
  ASSERT_TRUE(alice_secret.ok());
  auto opened = open(from_bob, {*alice_secret}, {}, static_cast<uint32_t>(std::time(nullptr)));
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  const std::string* stamps = opened->mail.chat_header("Chat-Group-Member-Timestamps");
  const std::string* past = opened->mail.chat_header("Chat-Group-Past-Members");
  ASSERT_NE(stamps, nullptr);
  ASSERT_NE(past, nullptr);
  EXPECT_EQ(opened->mail.to, std::vector<std::string>{"alice@sotto.test"});
  EXPECT_EQ(parse_address_list(*past), std::vector<std::string>{"carol@sotto.test"});
  EXPECT_EQ(std::count(stamps->begin(), stamps->end(), ' '), 1) << *stamps;
  auto last = receive(*alice, 1);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].body, "Just us.");
  auto at_alice = alice_store.conversation(group->group_id).value();
  ASSERT_TRUE(at_alice.has_value());
  EXPECT_EQ(at_alice->members, (std::vector<std::string>{"alice@sotto.test", "bob@sotto.test"}));
  ASSERT_EQ(at_alice->past_members.size(), 1u);
  EXPECT_EQ(at_alice->past_members[0].address, "carol@sotto.test");
}

class DeltaChatGroupReceiptTest : public DeltaChatMailClientGroupTest {};  // its own mail server

// Read receipts in a group of two Sotto accounts and Delta Chat: each member who reads a
// message tells its sender, and only its sender (one receipt each, to it alone); the sender
// sees who read it. A group's change (a rename) asks for none.
TEST_F(DeltaChatGroupReceiptTest, EachMemberWhoReadsTellsTheSender) {
  client::MemoryClientStore alice_store;
  client::MemoryClientStore carol_store;
  auto alice = sotto_account(alice_store, "alice");
  auto carol = sotto_account(carol_store, "carol");
  ASSERT_TRUE(alice && carol);
  auto bob = delta_chat("bob");
  ASSERT_NO_FATAL_FAILURE(give_keys(*alice, *bob, *carol));
  auto group = alice->create_group("Choir", {"bob@sotto.test", "carol@sotto.test"});
  ASSERT_TRUE(group.ok()) << group.error().to_string();
  auto sent = alice->send_group_text(group->group_id, "Rehearsal moves to Thursday.");
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(alice->flush_outbox().value(), 1u);

  json got = bob->call({{"op", "wait_message"}, {"timeout_ms", 60000}});
  ASSERT_TRUE(got.value("ok", false)) << got.dump() << "\n" << bob->log();
  const size_t unread = server_->mails("alice").size();
  json seen = bob->call({{"op", "mark_seen"}, {"msg_ids", {got["msg_id"]}}});
  ASSERT_TRUE(seen.value("ok", false)) << seen.dump();
  auto at_carol = receive(*carol, 1);
  ASSERT_EQ(at_carol.size(), 1u);
  EXPECT_TRUE(at_carol[0].receipt_requested);
  EXPECT_EQ(carol->mark_read(group->group_id, true).value(), 1u);
  ASSERT_EQ(carol->flush_outbox().value(), 1u);  // to alice alone
  // Both receipts are in before alice reads: one read takes both, and neither is lost.
  ASSERT_EQ(server_->wait_mails("alice", unread + 2).size(), unread + 2);
  EXPECT_EQ(read_by(*alice, alice_store, group->group_id, sent->message_id, 2),
            (std::vector<std::string>{"bob@sotto.test", "carol@sotto.test"}))
      << bob->log();

  // Delta Chat's message to the group asks for receipts too; alice's goes to bob alone.
  json reply = bob->call({{"op", "send"}, {"chat_id", got["chat_id"]}, {"text", "Fine by me."}});
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  auto at_alice = receive(*alice, 1);
  ASSERT_EQ(at_alice.size(), 1u);
  EXPECT_EQ(at_alice[0].group_id, group->group_id);
  EXPECT_TRUE(at_alice[0].receipt_requested);
  EXPECT_EQ(alice->mark_read(group->group_id, true).value(), 1u);
  ASSERT_EQ(alice->flush_outbox().value(), 1u);
  EXPECT_EQ(message_state(*bob, reply["msg_id"], kDeltaChatReadState), kDeltaChatReadState)
      << "Delta Chat did not take the receipt\n"
      << bob->log();
  // Carol reads bob's message with receipts off: nothing goes out.
  ASSERT_EQ(receive(*carol, 1).size(), 1u);
  EXPECT_EQ(carol->mark_read(group->group_id, false).value(), 1u);
  EXPECT_EQ(carol->flush_outbox().value(), 0u);

  // A rename is told, not written: no receipt asked for, none sent.
  ASSERT_TRUE(alice->rename_group(group->group_id, "Chamber choir").ok());
  ASSERT_EQ(alice->flush_outbox().value(), 1u);
  auto renamed = receive(*carol, 1);
  ASSERT_EQ(renamed.size(), 1u);
  EXPECT_FALSE(renamed[0].receipt_requested);
  EXPECT_EQ(carol->mark_read(group->group_id, true).value(), 1u);
  EXPECT_EQ(carol->flush_outbox().value(), 0u);
}

}  // namespace
}  // namespace sotto::mail
