// Chat messages as mails: the inner entity keeps every protected header, the text and the
// attachments byte for byte; a sealed mail shows nothing of them outside, opens for each
// recipient and for the sender, with a valid signature; tampering, a forged From, plaintext
// and oversized or deeply nested MIME are refused.
#include "sotto/mail/mime.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "sotto/mail/smtp.h"
#include "sotto/openpgp/cert.h"

namespace sotto::mail {
namespace {

constexpr uint32_t kNow = 1'790'000'000;

openpgp::SecretCert key_for(const std::string& addr) {
  auto cert = openpgp::generate_cert("<" + addr + ">", kNow - 60);
  EXPECT_TRUE(cert.ok());
  return *std::move(cert);
}

ChatMail sample_mail() {
  ChatMail m;
  m.from_addr = "alice@sotto.test";
  m.from_name = "Alice Ängström";
  m.to = {"bob@sotto.test", "carol@sotto.test"};
  m.subject = "Grüße aus der Gruppe";
  m.message_id = "Mr.abc123.def@sotto.test";
  m.in_reply_to = "Mr.prev1@sotto.test";
  m.references = {"Mr.first@sotto.test", "Mr.prev1@sotto.test"};
  m.date = kNow;
  m.chat_headers = {{"Chat-Version", "1.0"},
                    {"Chat-Group-ID", "a1b2c3d4e5f6g7h8"},
                    {"Chat-Group-Name", "Wanderung ⛰ am Sonntag"},
                    {"Chat-Group-Member-Added", "carol@sotto.test"}};
  m.text = "Hallo zusammen!\nA long line " + std::string(1500, 'x') + "\n.\nFrom here on.\n";
  Bytes photo(100 * 1024);
  for (size_t i = 0; i < photo.size(); ++i) photo[i] = static_cast<uint8_t>(i * 7 + (i >> 9));
  m.attachments.push_back({"Gipfel.jpg", "image/jpeg", photo});
  m.attachments.push_back({"notes.txt", "text/plain", Bytes{'n', 'o', '\n', 0x00, 0xff}});
  return m;
}

void expect_same(const ChatMail& got, const ChatMail& want) {
  EXPECT_EQ(got.from_addr, want.from_addr);
  EXPECT_EQ(got.from_name, want.from_name);
  EXPECT_EQ(got.to, want.to);
  EXPECT_EQ(got.subject, want.subject);
  EXPECT_EQ(got.message_id, want.message_id);
  EXPECT_EQ(got.in_reply_to, want.in_reply_to);
  EXPECT_EQ(got.references, want.references);
  EXPECT_EQ(got.date, want.date);
  EXPECT_EQ(got.chat_headers, want.chat_headers);
  // Text travels with CRLF line ends.
  std::string text;
  for (char c : want.text) {
    if (c == '\n') text += '\r';
    text += c;
  }
  EXPECT_EQ(got.text, text);
  ASSERT_EQ(got.attachments.size(), want.attachments.size());
  for (size_t i = 0; i < got.attachments.size(); ++i) {
    EXPECT_EQ(got.attachments[i].filename, want.attachments[i].filename);
    EXPECT_EQ(got.attachments[i].content_type, want.attachments[i].content_type);
    EXPECT_EQ(got.attachments[i].data, want.attachments[i].data);
  }
}

// Canonical for SMTP (data_body refuses bare CR or LF) and no line over 998 characters.
void expect_wire_ready(const std::string& raw) {
  EXPECT_TRUE(smtp::data_body(raw).ok());
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find("\r\n", start);
    if (end == std::string::npos) end = raw.size();
    EXPECT_LE(end - start, 998u);
    start = end + 2;
  }
}

TEST(Mime, TheInnerEntityKeepsEverything) {
  ChatMail m = sample_mail();
  m.gossip.push_back({"bob@sotto.test", false, key_for("bob@sotto.test").cert.encode()});
  auto inner = compose_inner(m);
  ASSERT_TRUE(inner.ok()) << inner.error().to_string();
  expect_wire_ready(*inner);
  EXPECT_NE(inner->find("protected-headers=v1"), std::string::npos) << *inner;
  auto parsed = parse_inner(*inner);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  expect_same(*parsed, m);
  ASSERT_EQ(parsed->gossip.size(), 1u);
  EXPECT_EQ(parsed->gossip[0].addr, "bob@sotto.test");
  EXPECT_EQ(parsed->gossip[0].keydata, m.gossip[0].keydata);
  ASSERT_NE(parsed->chat_header("chat-group-name"), nullptr);
  EXPECT_EQ(*parsed->chat_header("chat-group-name"), "Wanderung ⛰ am Sonntag");
}

TEST(Mime, ComposingRefusesWhatWouldBreakTheHeaders) {
  auto refused = [](ChatMail m) {
    auto r = compose_inner(m);
    return !r.ok() && r.error().code() == Errc::invalid_argument;
  };
  ChatMail m = sample_mail();
  m.subject = "two\r\nBcc: eve@evil.test";
  EXPECT_TRUE(refused(m));
  m = sample_mail();
  m.from_addr = "alice@sotto.test>\r\nX: y";
  EXPECT_TRUE(refused(m));
  m = sample_mail();
  m.message_id = "<a@b>";
  EXPECT_TRUE(refused(m));
  m = sample_mail();
  m.chat_headers.push_back({"X-Not-Chat", "1"});
  EXPECT_TRUE(refused(m));
  m = sample_mail();
  m.chat_headers.push_back({"Chat-Bad Name", "1"});
  EXPECT_TRUE(refused(m));
  m = sample_mail();
  m.attachments[0].content_type = "jpeg";
  EXPECT_TRUE(refused(m));
}

TEST(Mime, ASealedMailShowsNothingOutsideAndOpensForEachRecipient) {
  auto alice = key_for("alice@sotto.test");
  auto bob = key_for("bob@sotto.test");
  auto carol = key_for("carol@sotto.test");
  auto eve = key_for("eve@sotto.test");
  ChatMail m = sample_mail();
  auto raw = seal(m, alice, {bob.cert, carol.cert}, SealOptions{kNow});
  ASSERT_TRUE(raw.ok()) << raw.error().to_string();
  expect_wire_ready(*raw);
  for (std::string secret : {"Wanderung", "Gipfel", "Hallo", "Gr=C3=BC", "bob@", "carol@",
                             "Chat-Group", "In-Reply-To", "Alice"}) {
    EXPECT_EQ(raw->find(secret), std::string::npos) << secret << " is in the clear";
  }
  EXPECT_NE(raw->find("Subject: [...]"), std::string::npos);
  EXPECT_NE(raw->find("hidden-recipients"), std::string::npos);

  auto outer = read_outer(*raw);
  ASSERT_TRUE(outer.ok()) << outer.error().to_string();
  EXPECT_TRUE(outer->encrypted);
  EXPECT_TRUE(outer->chat);
  EXPECT_EQ(outer->from_addr, "alice@sotto.test");
  EXPECT_EQ(outer->message_id, m.message_id);
  ASSERT_TRUE(outer->autocrypt.has_value());
  EXPECT_EQ(outer->autocrypt->keydata, alice.cert.encode());

  for (const auto* reader : {&bob, &carol, &alice}) {
    auto opened = open(*raw, {*reader}, {alice.cert}, kNow + 5);
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    expect_same(opened->mail, m);
    EXPECT_EQ(opened->signature, openpgp::SignatureStatus::valid);
    EXPECT_EQ(opened->signer_fingerprint, alice.cert.fingerprint());
    EXPECT_TRUE(opened->seipd_v2);
  }
  // The recipients are anonymous, so Eve's key is tried and fails to open the session key.
  auto for_eve = open(*raw, {eve}, {alice.cert}, kNow + 5);
  ASSERT_FALSE(for_eve.ok());
  EXPECT_EQ(for_eve.error().code(), Errc::authentication_failed);
  // Bob without Alice's key: it opens, and says the signer is unknown.
  auto unknown = open(*raw, {bob}, {}, kNow + 5);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->signature, openpgp::SignatureStatus::unknown_signer);
}

TEST(Mime, OpeningRefusesForgeriesPlaintextAndDamage) {
  auto alice = key_for("alice@sotto.test");
  auto bob = key_for("bob@sotto.test");
  ChatMail m = sample_mail();
  m.attachments.clear();
  auto raw = seal(m, alice, {bob.cert}, SealOptions{kNow});
  ASSERT_TRUE(raw.ok());

  // Another sender's From outside: the protected From disagrees.
  std::string forged = *raw;
  auto from = forged.find("From: alice@sotto.test");
  ASSERT_NE(from, std::string::npos);
  forged.replace(from, 22, "From: mallory@evil.test");
  auto f = open(forged, {bob}, {alice.cert}, kNow);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code(), Errc::invalid_value);

  // Plaintext is not read.
  std::string plain =
      "From: alice@sotto.test\r\nTo: bob@sotto.test\r\nMessage-ID: <p@sotto.test>\r\n"
      "Chat-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello\r\n";
  auto p = open(plain, {bob}, {alice.cert}, kNow);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), Errc::unsupported);

  // A changed character inside the armored message.
  std::string tampered = *raw;
  auto armor_start = tampered.find("-----BEGIN PGP MESSAGE-----");
  ASSERT_NE(armor_start, std::string::npos);
  size_t at = tampered.find("\r\n\r\n", armor_start) + 200;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(open(tampered, {bob}, {alice.cert}, kNow).ok());

  // Every truncation before the armor's end is an error, never a crash or a partial message
  // (after it only the closing boundary is missing, and the sealed message is whole).
  size_t armor_end = raw->find("-----END PGP MESSAGE-----");
  ASSERT_NE(armor_end, std::string::npos);
  for (size_t cut = 0; cut < armor_end; cut += 97) {
    auto t = open(raw->substr(0, cut), {bob}, {alice.cert}, kNow);
    EXPECT_FALSE(t.ok()) << "cut at " << cut;
  }
}

TEST(Mime, ParsingHasLimits) {
  std::string head =
      "From: a@b.c\r\nMessage-ID: <x@b.c>\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n";
  std::string many = head;
  for (size_t i = 0; i < kMaxMimeParts + 1; ++i) {
    many += "--B\r\nContent-Type: text/plain\r\n\r\npart\r\n";
  }
  many += "--B--\r\n";
  auto r = parse_inner(many);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::length_limit);

  std::string deep = "From: a@b.c\r\nMessage-ID: <x@b.c>\r\n";
  for (int i = 0; i <= kMaxMimeDepth + 1; ++i) {
    deep += "Content-Type: multipart/mixed; boundary=\"B" + std::to_string(i) + "\"\r\n\r\n--B" +
            std::to_string(i) + "\r\n";
  }
  deep += "Content-Type: text/plain\r\n\r\nbottom\r\n";
  auto d = parse_inner(deep);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code(), Errc::length_limit);

  auto huge = parse_inner(std::string(kMaxMailSize + 1, 'a'));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code(), Errc::length_limit);

  EXPECT_FALSE(parse_inner("From: a@b.c\r\n\r\nno id\r\n").ok());
  EXPECT_FALSE(parse_inner("Message-ID: <x@b.c>\r\n\r\nno sender\r\n").ok());
  EXPECT_FALSE(parse_inner("From: a@b.c, d@e.f\r\nMessage-ID: <x@b.c>\r\n\r\ntwo\r\n").ok());
}

// An inner entity written as another client writes one: quoted-printable text in ISO-8859-1,
// folded headers, an Autocrypt-Gossip that does not parse (skipped), a base64 attachment.
TEST(Mime, AnInnerEntityFromAnotherClientReads) {
  std::string entity =
      "Content-Type: multipart/mixed; protected-headers=\"v1\";\r\n"
      " boundary=\"XYZ\"\r\n"
      "From: \"Bob\" <Bob@Example.ORG>\r\n"
      "To: \"hidden-recipients\": ;, <alice@sotto.test>\r\n"
      "Subject: =?utf-8?q?Caf=C3=A9?=\r\n"
      "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
      "Message-ID: <Mr.q1@example.org>\r\n"
      "References: <Mr.a@example.org>\r\n <Mr.b@example.org>\r\n"
      "Chat-Version: 1.0\r\n"
      "Chat-Group-ID: g123\r\n"
      "Chat-Group-Name:\r\n =?utf-8?q?Caf=C3=A9_club?=\r\n"
      "Autocrypt-Gossip: addr=x@y.z; keydata=!!!\r\n"
      "\r\n"
      "--XYZ\r\n"
      "Content-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "Caf=E9 at six?\r\n"
      "--XYZ\r\n"
      "Content-Type: application/pdf\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"plan.pdf\"\r\n"
      "\r\n"
      "JVBERi0xLjQK\r\n"
      "--XYZ--\r\n";
  auto m = parse_inner(entity);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->from_addr, "bob@example.org");
  EXPECT_EQ(m->from_name, "Bob");
  EXPECT_EQ(m->to, std::vector<std::string>{"alice@sotto.test"});
  EXPECT_EQ(m->subject, "Café");
  EXPECT_EQ(m->message_id, "Mr.q1@example.org");
  EXPECT_EQ(m->references, (std::vector<std::string>{"Mr.a@example.org", "Mr.b@example.org"}));
  EXPECT_EQ(m->date, 1795341600);
  ASSERT_NE(m->chat_header("Chat-Group-Name"), nullptr);
  EXPECT_EQ(*m->chat_header("Chat-Group-Name"), "Café club");
  EXPECT_EQ(m->chat_headers.size(), 3u);
  EXPECT_TRUE(m->gossip.empty());
  EXPECT_EQ(m->text, "Café at six?");  // the last CRLF belongs to the boundary
  ASSERT_EQ(m->attachments.size(), 1u);
  EXPECT_EQ(m->attachments[0].filename, "plan.pdf");
  EXPECT_EQ(m->attachments[0].content_type, "application/pdf");
  EXPECT_EQ(m->attachments[0].data, (Bytes{'%', 'P', 'D', 'F', '-', '1', '.', '4', '\n'}));
  EXPECT_FALSE(m->autocrypt.has_value());
}

// Delta Chat puts the sender's Autocrypt header inside the encryption only: it is read there
// when it is the only one and names the sender.
TEST(Mime, TheSendersAutocryptHeaderInsideIsRead) {
  auto bob = key_for("bob@example.org");
  auto entity = [&](const std::string& autocrypt) {
    return "From: <bob@example.org>\r\nTo: <alice@sotto.test>\r\n"
           "Message-ID: <Mr.k1@example.org>\r\n" +
           autocrypt + "Content-Type: text/plain\r\n\r\nhello\r\n";
  };
  const std::string own =
      "Autocrypt: " + format_autocrypt({"bob@example.org", true, bob.cert.encode()}) + "\r\n";
  auto m = parse_inner(entity(own));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  ASSERT_TRUE(m->autocrypt.has_value());
  EXPECT_EQ(m->autocrypt->keydata, bob.cert.encode());
  EXPECT_TRUE(m->autocrypt->prefer_encrypt_mutual);
  // Someone else's, or two of them, name no key.
  const std::string other =
      "Autocrypt: " + format_autocrypt({"eve@example.org", true, bob.cert.encode()}) + "\r\n";
  EXPECT_FALSE(parse_inner(entity(other)).value().autocrypt.has_value());
  EXPECT_FALSE(parse_inner(entity(own + own)).value().autocrypt.has_value());
}

// SecureJoin v3's steps, encrypted under the link's secret: the request unsigned and with no
// key of its sender's, the answer signed with the key inside; nothing of them outside, and
// nothing opens them but the secret.
TEST(Mime, SecureJoinStepsGoUnderAPassword) {
  auto alice = key_for("alice@sotto.test");
  const std::string secret_text = "securejoin/0123ABCD/the-auth-token";
  const BytesView secret(reinterpret_cast<const uint8_t*>(secret_text.data()), secret_text.size());
  ChatMail request;
  request.from_addr = "bob@sotto.test";
  request.to = {"alice@sotto.test"};
  request.subject = "Secure-Join";
  request.message_id = "Mr.req1.x@sotto.test";
  request.date = kNow;
  request.chat_headers = {{"Secure-Join", "vc-request-pubkey"},
                          {"Secure-Join-Auth", "the-auth-token"}};
  request.text = "Secure-Join";
  auto raw = seal_with_password(request, nullptr, secret, kNow);
  ASSERT_TRUE(raw.ok()) << raw.error().to_string();
  expect_wire_ready(*raw);
  EXPECT_TRUE(password_encrypted(*raw));
  for (std::string hidden :
       {"the-auth-token", "Secure-Join", "Autocrypt", "Chat-Version", "alice@"}) {
    EXPECT_EQ(raw->find(hidden), std::string::npos) << hidden << " is in the clear";
  }
  auto opened = open_with_password(*raw, secret, {}, kNow);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->signature, openpgp::SignatureStatus::unsigned_message);
  EXPECT_EQ(opened->mail.chat_headers, request.chat_headers);
  EXPECT_FALSE(opened->mail.autocrypt.has_value());
  const std::string wrong_text = "securejoin/0123ABCD/another-token";
  EXPECT_EQ(
      open_with_password(
          *raw, BytesView(reinterpret_cast<const uint8_t*>(wrong_text.data()), wrong_text.size()),
          {}, kNow)
          .error()
          .code(),
      Errc::authentication_failed);
  // Not for keys: open() has no PKESK to try.
  EXPECT_FALSE(open(*raw, {alice}, {}, kNow).ok());

  // The answer: signed, the sender's key inside.
  ChatMail answer = request;
  answer.from_addr = "alice@sotto.test";
  answer.to = {"bob@sotto.test"};
  answer.message_id = "Mr.ans1.x@sotto.test";
  answer.chat_headers[0].second = "vc-pubkey";
  answer.autocrypt = AutocryptHeader{"alice@sotto.test", true, alice.cert.encode()};
  auto signed_raw = seal_with_password(answer, &alice, secret, kNow);
  ASSERT_TRUE(signed_raw.ok()) << signed_raw.error().to_string();
  EXPECT_EQ(signed_raw->find("Autocrypt"), std::string::npos);
  auto unverified = open_with_password(*signed_raw, secret, {}, kNow);
  ASSERT_TRUE(unverified.ok());
  EXPECT_EQ(unverified->signature, openpgp::SignatureStatus::unknown_signer);
  ASSERT_TRUE(unverified->mail.autocrypt.has_value());
  EXPECT_EQ(unverified->mail.autocrypt->keydata, alice.cert.encode());
  auto verified = open_with_password(*signed_raw, secret, {alice.cert}, kNow);
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->signature, openpgp::SignatureStatus::valid);

  // Only SecureJoin's steps go so; an unsigned one carries no key; a mail to keys is not one.
  ChatMail chat = sample_mail();
  chat.attachments.clear();
  EXPECT_EQ(seal_with_password(chat, &alice, secret, kNow).error().code(), Errc::invalid_argument);
  ChatMail keyed = request;
  keyed.autocrypt = AutocryptHeader{"bob@sotto.test", true, alice.cert.encode()};
  EXPECT_EQ(seal_with_password(keyed, nullptr, secret, kNow).error().code(),
            Errc::invalid_argument);
  auto to_keys = seal(sample_mail(), alice, {}, SealOptions{kNow});
  ASSERT_TRUE(to_keys.ok());
  EXPECT_FALSE(password_encrypted(*to_keys));
  EXPECT_FALSE(password_encrypted("From: a@b\r\n\r\nplain\r\n"));
  // A forged outer From is refused here as in open().
  std::string forged = *raw;
  const size_t from = forged.find("From: bob@sotto.test");
  ASSERT_NE(from, std::string::npos);
  forged.replace(from, 20, "From: eve@sotto.test");
  EXPECT_FALSE(open_with_password(forged, secret, {}, kNow).ok());
}

TEST(Mime, ReadReceiptsGoOutAndComeBack) {
  ChatMail receipt;
  receipt.from_addr = "bob@sotto.test";
  receipt.to = {"alice@sotto.test"};
  receipt.subject = "Receipt Notification";
  receipt.message_id = "Mr.receipt1@sotto.test";
  receipt.chat_headers = {{"Chat-Version", "1.0"}};
  receipt.text = "This is a receipt notification.";
  receipt.read_receipt_for = {"Mr.a@sotto.test", "Mr.b@sotto.test"};
  auto inner = compose_inner(receipt);
  ASSERT_TRUE(inner.ok()) << inner.error().to_string();
  EXPECT_NE(inner->find("multipart/report"), std::string::npos);
  auto parsed = parse_inner(*inner);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->read_receipt_for, receipt.read_receipt_for);
  EXPECT_EQ(parsed->text, receipt.text);
  EXPECT_TRUE(parsed->attachments.empty());

  receipt.attachments.push_back({"x", "text/plain", Bytes{'x'}});
  EXPECT_FALSE(compose_inner(receipt).ok());

  // As another client words it: folded, LF only; a "deleted" disposition reports nothing.
  auto report = [](const std::string& disposition) {
    return "From: bob@example.org\r\nMessage-ID: <r@example.org>\r\n"
           "Content-Type: multipart/report; report-type=disposition-notification; "
           "boundary=\"R\"\r\n\r\n--R\r\nContent-Type: text/plain\r\n\r\nread\r\n--R\r\n"
           "Content-Type: message/disposition-notification\r\n\r\n"
           "Reporting-UA: Another Client\nFinal-Recipient: rfc822;bob@example.org\n"
           "Original-Message-ID:\n <Mr.x@sotto.test>\nDisposition: " +
           disposition + "\n\r\n--R--\r\n";
  };
  auto displayed = parse_inner(report("manual-action/MDN-sent-automatically; displayed"));
  ASSERT_TRUE(displayed.ok()) << displayed.error().to_string();
  EXPECT_EQ(displayed->read_receipt_for, std::vector<std::string>{"Mr.x@sotto.test"});
  auto deleted = parse_inner(report("manual-action/MDN-sent-manually; deleted"));
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(deleted->read_receipt_for.empty());
}

// A large file goes as Delta Chat sends it: a pre-message with the text that names the
// post-message and says what file follows, then the post-message with the file, marked
// inside and outside; a file up to the limit goes in one mail.
TEST(Mime, ALargeFileGoesAfterAPreMessage) {
  auto alice = key_for("alice@sotto.test");
  auto bob = key_for("bob@sotto.test");
  ChatMail m = sample_mail();
  m.attachments.resize(1);
  m.attachments[0].data.resize(kPreMessageFileSize);
  EXPECT_FALSE(needs_pre_message(m));
  m.attachments[0].data.push_back(0x42);
  // A name with what JSON must escape, and more than ASCII.
  m.attachments[0].filename = "Gipfel \"Süd\"\\\x01.jpg";
  ASSERT_TRUE(needs_pre_message(m));

  SplitMail split = split_for_pre_message(m, "Mr.pre1.x@sotto.test");
  EXPECT_EQ(split.pre.message_id, "Mr.pre1.x@sotto.test");
  EXPECT_EQ(split.pre.text, m.text);
  EXPECT_TRUE(split.pre.attachments.empty());
  ASSERT_NE(split.pre.chat_header("Chat-Post-Message-ID"), nullptr);
  EXPECT_EQ(*split.pre.chat_header("Chat-Post-Message-ID"), "<" + m.message_id + ">");
  EXPECT_EQ(split.pre.chat_header("Chat-Is-Post-Message"), nullptr);
  EXPECT_EQ(split.post.message_id, m.message_id);
  EXPECT_TRUE(split.post.text.empty());
  ASSERT_EQ(split.post.attachments.size(), 1u);
  EXPECT_EQ(split.post.attachments[0].data, m.attachments[0].data);
  EXPECT_EQ(split.post.chat_header("Chat-Post-Message-ID"), nullptr);
  for (const ChatMail* part : {&split.pre, &split.post}) {
    EXPECT_EQ(*part->chat_header("Chat-Group-ID"), "a1b2c3d4e5f6g7h8");
    EXPECT_EQ(part->to, m.to);
  }

  auto pre = seal(split.pre, alice, {bob.cert}, SealOptions{kNow});
  auto post = seal(split.post, alice, {bob.cert}, SealOptions{kNow});
  ASSERT_TRUE(pre.ok() && post.ok());
  auto outer_headers = [](const std::string& raw) { return raw.substr(0, raw.find("\r\n\r\n")); };
  EXPECT_EQ(outer_headers(*pre).find("Chat-Is-Post-Message"), std::string::npos);
  EXPECT_NE(outer_headers(*post).find("\r\nChat-Is-Post-Message: 1\r\n"), std::string::npos);
  EXPECT_EQ(pre->find("Chat-Post-Message"), std::string::npos);  // inside only
  EXPECT_LT(pre->size(), size_t{16} << 10);

  auto opened_pre = open(*pre, {bob}, {alice.cert}, kNow + 5);
  ASSERT_TRUE(opened_pre.ok()) << opened_pre.error().to_string();
  EXPECT_EQ(opened_pre->signature, openpgp::SignatureStatus::valid);
  const std::string* metadata = opened_pre->mail.chat_header("Chat-Post-Message-Metadata");
  ASSERT_NE(metadata, nullptr);
  const auto json = nlohmann::json::parse(*metadata, nullptr, false);
  ASSERT_TRUE(json.is_object()) << *metadata;
  EXPECT_EQ(json.value("size", 0u), kPreMessageFileSize + 1);
  EXPECT_EQ(json.value("viewtype", ""), "File");
  EXPECT_EQ(json.value("filename", ""), m.attachments[0].filename);
  auto opened_post = open(*post, {bob}, {alice.cert}, kNow + 5);
  ASSERT_TRUE(opened_post.ok()) << opened_post.error().to_string();
  ASSERT_EQ(opened_post->mail.attachments.size(), 1u);
  EXPECT_EQ(opened_post->mail.attachments[0].data, m.attachments[0].data);
  EXPECT_EQ(*opened_post->mail.chat_header("Chat-Is-Post-Message"), "1");
}

}  // namespace
}  // namespace sotto::mail
