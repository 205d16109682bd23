#include "sotto/client/mail_client.h"

#include <sodium.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <thread>
#include <utility>

#include "sotto/client/file_client.h"
#include "sotto/client/mail_invite.h"
#include "sotto/client/mail_members.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mail/autocrypt.h"
#include "sotto/mail/mailbox_cursor.h"
#include "sotto/mail/mime.h"
#include "sotto/mail/smtp.h"
#include "sotto/mail/smtp_submission.h"
#include "sotto/openpgp/armor.h"

namespace sotto::client {

namespace {

// How many mails one store batch takes (each read whole into memory).
constexpr size_t kFetchBatch = 16;

Bytes text_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

std::string bytes_text(BytesView b) {
  return std::string(b.begin(), b.end());
}

uint32_t seconds(uint64_t ms) {
  return static_cast<uint32_t>(ms / 1000);
}

// SecureJoin v3's shared secret, as Delta Chat forms it: "securejoin/<the inviter's
// fingerprint in upper-case hex>/<AUTH>". The steps before the keys are known go encrypted
// under it.
SecureBytes securejoin_secret(BytesView inviter_fingerprint, BytesView auth) {
  const std::string head = "securejoin/" + format_fingerprint(inviter_fingerprint) + "/";
  Bytes secret(head.begin(), head.end());
  secret.insert(secret.end(), auth.begin(), auth.end());
  SecureBytes out{BytesView(secret)};
  secure_wipe(secret.data(), secret.size());
  return out;
}

// "Mr.<random>.<random>@<domain>", as Delta Chat forms its Message-IDs.
std::string new_message_id(const std::string& address) {
  const std::string domain = address.substr(address.find('@') + 1);
  return "Mr." + to_base64url(crypto::random_bytes(9)) + "." +
         to_base64url(crypto::random_bytes(9)) + "@" + domain;
}

constexpr std::string_view kGroupPrefix = "mail-group:";

Bytes group_chat_id(const std::string& chat_group_id) {
  return text_bytes(std::string(kGroupPrefix) + chat_group_id);
}

bool is_group_id(BytesView group_id) {
  return group_id.size() > kGroupPrefix.size() &&
         std::equal(kGroupPrefix.begin(), kGroupPrefix.end(), group_id.begin());
}

// The Chat-Group-ID of a group conversation's id.
std::string group_header_id(BytesView group_id) {
  return bytes_text(group_id.subspan(kGroupPrefix.size()));
}

std::string without_spaces(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != ' ') out.push_back(c);
  }
  return out;
}

// A mail's text as people see it: line ends as "\n", none at the end.
std::string shown_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out.push_back(text[i]);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// A binary key, or an armored one ("-----BEGIN PGP PUBLIC KEY BLOCK-----").
Result<openpgp::Cert> read_cert(std::string_view text) {
  if (text.find("-----BEGIN PGP") != std::string_view::npos) {
    SOTTO_TRY_ASSIGN(auto armored, openpgp::dearmor(text));
    if (armored.label != "PUBLIC KEY BLOCK") {
      return Error(Errc::invalid_argument, "not a public key but a " + armored.label);
    }
    return openpgp::Cert::parse(armored.data);
  }
  return openpgp::Cert::parse(
      BytesView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

// Delta Chat's mark before an edit's text, for clients that show the mail as it is.
constexpr std::string_view kEditedPrefix = "\xE2\x9C\x8F\xEF\xB8\x8F";  // U+270F U+FE0F
constexpr std::string_view kDeletedText = "\xF0\x9F\x9A\xAE";           // U+1F6AE

// The new text of an edit as Delta Chat writes it: a quote of the old text for other
// clients ("> ..." lines, then a blank line), then its mark and the text.
std::string edited_text(std::string_view mail_text) {
  const std::string shown = shown_text(mail_text);
  std::string_view text = shown;
  while (!text.empty() && (text.front() == '>' || text.front() == '\n')) {
    const size_t end = text.find('\n');
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  if (text.substr(0, kEditedPrefix.size()) == kEditedPrefix)
    text.remove_prefix(kEditedPrefix.size());
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return std::string(text);
}

// A Message-ID as a header names it ("<id>"), without the brackets.
std::string bare_message_id(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '<')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '>')) value.remove_suffix(1);
  return std::string(value);
}

// A group's change (a member added or removed, a new name) or a handshake step: told, not
// written by someone, so no read receipt is asked for or sent, as in Delta Chat.
bool system_mail(const mail::ChatMail& m) {
  for (const char* header : {"Chat-Group-Member-Added", "Chat-Group-Member-Removed",
                             "Chat-Group-Name-Changed", "Secure-Join"}) {
    if (m.chat_header(header) != nullptr) return true;
  }
  return false;
}

// The regular file at `path`, whole, when it can go in a mail.
Result<Bytes> read_file_to_send(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    return Error(Errc::not_found, "no file at " + path.string());
  }
  if (!std::filesystem::is_regular_file(status)) {
    return Error(Errc::invalid_argument, path.string() + " is not a regular file");
  }
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return Error(Errc::invalid_argument, "cannot read " + path.string());
  if (size > kMaxMailFileBytes) {
    return Error(Errc::too_large, path.string() + " is " + std::to_string(size) +
                                      " bytes: a mail takes files up to " +
                                      std::to_string(kMaxMailFileBytes >> 20) + " MiB");
  }
  std::ifstream in(path, std::ios::binary);
  Bytes data(static_cast<size_t>(size));
  if (!in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(size)) ||
      in.peek() != std::ifstream::traits_type::eof()) {
    return Error(Errc::internal, path.string() + " could not be read whole (did it change?)");
  }
  return data;
}

}  // namespace

Bytes mail_chat_id(const std::string& address) {
  return text_bytes("mailto:" + address);
}

Result<std::string> normalize_mail_address(std::string_view address) {
  std::string lower(address);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const size_t at = lower.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == lower.size() ||
      lower.find('@', at + 1) != std::string::npos || !mail::smtp::check_address(lower).ok()) {
    return Error(Errc::invalid_argument, "not an e-mail address: " + std::string(address));
  }
  return lower;
}

Result<void> MailClient::create(ClientStore& store, const std::string& address,
                                SecureBytes password, uint64_t now_ms) {
  SOTTO_TRY_ASSIGN(std::string normalized, normalize_mail_address(address));
  SOTTO_TRY_ASSIGN(auto existing, store.mail_account());
  SOTTO_TRY_ASSIGN(auto identity, store.identity());
  if (existing || identity) {
    return Error(Errc::already_exists, "this profile already has an account");
  }
  SOTTO_TRY_ASSIGN(auto key, openpgp::generate_cert("<" + normalized + ">", seconds(now_ms)));
  ClientStoreBatch batch;
  // SecureJoin's tokens, as Delta Chat makes them: random, and safe in a link unescaped.
  batch.mail_account = MailAccount{normalized, std::move(password), key.encode(),
                                   to_base64url(crypto::random_bytes(18)),
                                   SecureBytes(as_bytes(to_base64url(crypto::random_bytes(18))))};
  return store.apply(batch);
}

Result<std::unique_ptr<MailClient>> MailClient::open(ClientStore& store, MailServers servers,
                                                     Clock clock, FileVault files) {
  SOTTO_TRY_ASSIGN(auto account, store.mail_account());
  if (!account) return Error(Errc::not_found, "no e-mail account in this profile");
  SOTTO_TRY_ASSIGN(auto key, openpgp::SecretCert::parse(account->secret_key));
  return std::unique_ptr<MailClient>(new MailClient(store, std::move(servers), std::move(clock),
                                                    std::move(files), *std::move(account),
                                                    std::move(key)));
}

MailClient::MailClient(ClientStore& store, MailServers servers, Clock clock, FileVault files,
                       MailAccount account, openpgp::SecretCert key)
    : store_(store),
      servers_(std::move(servers)),
      clock_(std::move(clock)),
      files_(std::move(files)),
      address_(std::move(account.address)),
      password_(std::move(account.password)),
      invite_number_(std::move(account.invite_number)),
      invite_auth_(std::move(account.invite_auth)),
      key_(std::move(key)) {}

MailClient::~MailClient() {
  if (imap_) imap_->logout();
}

Result<void> MailClient::import_key(const std::string& address, std::string_view cert_text) {
  SOTTO_TRY_ASSIGN(std::string normalized, normalize_mail_address(address));
  SOTTO_TRY_ASSIGN(auto cert, read_cert(cert_text));
  SOTTO_TRY(openpgp::validate(cert, seconds(clock_())));
  ClientStoreBatch batch;
  batch.put_mail_peers.push_back(
      MailPeer{normalized, cert.encode(), MailKeySource::imported, clock_(), false});
  return store_.apply(batch);
}

Result<Conversation> MailClient::direct(const std::string& address, bool& is_new) const {
  SOTTO_TRY_ASSIGN(std::string peer_address, normalize_mail_address(address));
  const Bytes chat = mail_chat_id(peer_address);
  SOTTO_TRY_ASSIGN(auto conversation, store_.conversation(chat));
  is_new = !conversation;
  if (is_new) {
    conversation.emplace();
    conversation->group_id = chat;
    conversation->name = peer_address;
    conversation->members = {address_, peer_address};
    conversation->kind = ConversationKind::direct;
  }
  return *std::move(conversation);
}

Result<StoredMessage> MailClient::send_text(const std::string& to, const std::string& text) {
  bool is_new = false;
  SOTTO_TRY_ASSIGN(Conversation c, direct(to, is_new));
  mail::ChatMail m;
  m.text = text;
  return queue_message(std::move(m), c, is_new, others(c.members));
}

namespace {

// A mail with the file at `path` as its attachment and `caption` as its text.
Result<mail::ChatMail> file_mail(const std::filesystem::path& path, const std::string& caption,
                                 const std::string& media_type) {
  SOTTO_TRY_ASSIGN(Bytes data, read_file_to_send(path));
  mail::ChatMail m;
  m.text = caption;
  mail::MailAttachment attachment;
  attachment.filename = sanitize_file_name(path.filename().string());
  attachment.content_type = media_type.empty() ? media_type_for(path) : media_type;
  if (!is_valid_media_type(attachment.content_type)) {
    return Error(Errc::invalid_argument, "not a media type: " + attachment.content_type);
  }
  attachment.data = std::move(data);
  m.attachments.push_back(std::move(attachment));
  return m;
}

}  // namespace

Result<StoredMessage> MailClient::send_file(const std::string& to,
                                            const std::filesystem::path& path,
                                            const std::string& caption,
                                            const std::string& media_type) {
  bool is_new = false;
  SOTTO_TRY_ASSIGN(Conversation c, direct(to, is_new));
  SOTTO_TRY_ASSIGN(mail::ChatMail m, file_mail(path, caption, media_type));
  return queue_message(std::move(m), c, is_new, others(c.members));
}

Result<Conversation> MailClient::create_group(const std::string& name,
                                              const std::vector<std::string>& members) {
  if (name.empty()) return Error(Errc::invalid_argument, "a group needs a name");
  Conversation c;
  c.name = name;
  c.kind = ConversationKind::group;
  const uint64_t now = seconds(clock_());
  add_member(c, address_, now);
  for (const auto& member : members) {
    SOTTO_TRY_ASSIGN(std::string address, normalize_mail_address(member));
    SOTTO_TRY_ASSIGN(auto peer, store_.mail_peer(address));
    if (!peer) return Error(Errc::not_found, "no key for " + address);
    add_member(c, address, now);
  }
  // Delta Chat's group ids: random, a dozen characters safe in a header.
  c.group_id = group_chat_id(to_base64url(crypto::random_bytes(9)));
  ClientStoreBatch batch;
  batch.put_conversations.push_back(c);
  SOTTO_TRY(store_.apply(batch));
  return c;
}

Result<Conversation> MailClient::group(BytesView group_id) const {
  SOTTO_TRY_ASSIGN(auto c, store_.conversation(group_id));
  if (!c || c->kind != ConversationKind::group || !is_group_id(c->group_id)) {
    return Error(Errc::not_found, "no such group");
  }
  if (c->membership != Membership::member) {
    return Error(Errc::not_found, "this account is no longer in the group " + c->name);
  }
  return *std::move(c);
}

Result<StoredMessage> MailClient::send_group_text(BytesView group_id, const std::string& text) {
  SOTTO_TRY_ASSIGN(Conversation c, group(group_id));
  mail::ChatMail m;
  m.text = text;
  return queue_message(std::move(m), c, false, others(c.members));
}

Result<StoredMessage> MailClient::send_group_file(BytesView group_id,
                                                  const std::filesystem::path& path,
                                                  const std::string& caption,
                                                  const std::string& media_type) {
  SOTTO_TRY_ASSIGN(Conversation c, group(group_id));
  SOTTO_TRY_ASSIGN(mail::ChatMail m, file_mail(path, caption, media_type));
  return queue_message(std::move(m), c, false, others(c.members));
}

Result<StoredMessage> MailClient::rename_group(BytesView group_id, const std::string& name) {
  if (name.empty()) return Error(Errc::invalid_argument, "a group needs a name");
  SOTTO_TRY_ASSIGN(Conversation c, group(group_id));
  mail::ChatMail m;
  m.chat_headers.emplace_back("Chat-Group-Name-Changed", c.name);
  m.text = "Group name changed from \"" + c.name + "\" to \"" + name + "\" by " + address_ + ".";
  c.name = name;
  return queue_message(std::move(m), c, true, others(c.members));
}

Result<StoredMessage> MailClient::change_member(BytesView group_id, const std::string& member,
                                                bool add) {
  SOTTO_TRY_ASSIGN(Conversation c, group(group_id));
  SOTTO_TRY_ASSIGN(std::string address, normalize_mail_address(member));
  const auto at = std::find(c.members.begin(), c.members.end(), address);
  mail::ChatMail m;
  std::vector<std::string> recipients;
  const uint64_t now = next_member_time(c, seconds(clock_()));
  if (add) {
    if (at != c.members.end()) return Error(Errc::already_exists, address + " is in the group");
    add_member(c, address, now);
    recipients = others(c.members);
    m.chat_headers.emplace_back("Chat-Group-Member-Added", address);
    m.text = "Member " + address + " added by " + address_ + ".";
  } else {
    if (at == c.members.end()) return Error(Errc::not_found, address + " is not in the group");
    // The one removed hears of it too, and then nothing more.
    recipients = others(c.members);
    remove_member(c, address, now);
    m.chat_headers.emplace_back("Chat-Group-Member-Removed", address);
    m.text = "Member " + address + " removed by " + address_ + ".";
  }
  return queue_message(std::move(m), c, true, recipients);
}

std::vector<std::string> MailClient::others(const std::vector<std::string>& members) const {
  std::vector<std::string> out;
  for (const auto& member : members) {
    if (member != address_) out.push_back(member);
  }
  return out;
}

Result<StoredMessage> MailClient::queue_message(mail::ChatMail m, const Conversation& c,
                                                bool store_conversation,
                                                const std::vector<std::string>& recipients,
                                                const StoredMessage* changed) {
  ClientStoreBatch batch;
  SOTTO_TRY_ASSIGN(StoredMessage stored,
                   add_message(batch, std::move(m), c, store_conversation, recipients, changed));
  if (auto applied = store_.apply(batch); !applied) {
    if (stored.file && changed == nullptr) (void)files_.remove(*stored.file);
    return applied.error();
  }
  return stored;
}

Result<StoredMessage> MailClient::add_message(ClientStoreBatch& batch, mail::ChatMail m,
                                              const Conversation& c, bool store_conversation,
                                              const std::vector<std::string>& recipients,
                                              const StoredMessage* changed) {
  std::vector<openpgp::Cert> certs;
  for (const auto& address : recipients) {
    // A key this batch learns (the one who just joined) counts as known.
    SOTTO_TRY_ASSIGN(auto peer, store_.mail_peer(address));
    for (const auto& pending : batch.put_mail_peers) {
      if (pending.address == address) peer = pending;
    }
    if (!peer) {
      return Error(Errc::not_found, "no key for " + address +
                                        ": import theirs, join through their invite, or "
                                        "wait for a mail from them");
    }
    SOTTO_TRY_ASSIGN(auto cert, openpgp::Cert::parse(peer->cert));
    certs.push_back(std::move(cert));
    // Every member learns the others' keys (Autocrypt-Gossip), as Delta Chat does.
    if (c.kind == ConversationKind::group) {
      m.gossip.push_back(mail::AutocryptHeader{address, false, peer->cert});
    }
  }
  if (recipients.empty()) return Error(Errc::invalid_argument, "nobody else is in the group");
  const uint64_t now = clock_();
  m.from_addr = address_;
  m.to = recipients;
  m.subject = "Message from " + address_;
  m.message_id = new_message_id(address_);
  m.date = static_cast<int64_t>(now / 1000);
  std::vector<std::pair<std::string, std::string>> headers = {{"Chat-Version", "1.0"}};
  if (c.kind == ConversationKind::group) {
    headers.emplace_back("Chat-Group-ID", group_header_id(c.group_id));
    headers.emplace_back("Chat-Group-Name", c.name);
    // Who is in the group and since when, and who left lately (the one just removed, who
    // still gets this mail, among them): To names the members only.
    MemberHeaders members = member_headers(c, address_, seconds(now));
    m.to = std::move(members.to);
    if (!members.past.empty()) {
      std::string past;
      for (const auto& address : members.past) past += (past.empty() ? "" : ", ") + address;
      headers.emplace_back("Chat-Group-Past-Members", past);
    }
    if (!members.timestamps.empty()) {
      headers.emplace_back("Chat-Group-Member-Timestamps", members.timestamps);
    }
  }
  if (changed == nullptr && m.read_receipt_for.empty() && !system_mail(m)) {
    // A message asks for read receipts, as Delta Chat's do (in a group, one from each member
    // who reads it); whether one comes is theirs to say.
    headers.emplace_back("Chat-Disposition-Notification-To", address_);
  }
  headers.insert(headers.end(), m.chat_headers.begin(), m.chat_headers.end());
  m.chat_headers = std::move(headers);
  const std::string text = m.text;
  // The mails that carry the message, in the order they go: a large file after a
  // pre-message with the text, as Delta Chat sends it. The message is known by the id of the
  // mail with the file.
  std::vector<mail::ChatMail> mails;
  if (changed == nullptr && mail::needs_pre_message(m)) {
    mail::SplitMail split = mail::split_for_pre_message(std::move(m), new_message_id(address_));
    mails.push_back(std::move(split.pre));
    m = std::move(split.post);
  }
  mails.push_back(std::move(m));
  std::vector<std::string> sealed;
  for (const mail::ChatMail& one : mails) {
    SOTTO_TRY_ASSIGN(std::string raw,
                     mail::seal(one, key_, certs, mail::SealOptions{seconds(now)}));
    if (raw.size() > mail::kMaxMailSize) {
      return Error(Errc::too_large,
                   "the mail would be " + std::to_string(raw.size()) + " bytes, over the " +
                       std::to_string(mail::kMaxMailSize >> 20) + " MiB a mail takes");
    }
    sealed.push_back(std::move(raw));
  }
  const mail::ChatMail& whole = mails.back();

  if (store_conversation) batch.put_conversations.push_back(c);
  StoredMessage stored;
  stored.group_id = c.group_id;
  stored.message_id = text_bytes(whole.message_id);
  stored.sender = address_;
  stored.outgoing = true;
  stored.sent_at = now;
  stored.state = DeliveryState::pending;
  stored.body = text;
  if (changed != nullptr) {
    stored = *changed;
  } else if (!whole.attachments.empty()) {
    // This account's copy of the file, for its history.
    const mail::MailAttachment& a = whole.attachments.front();
    SOTTO_TRY_ASSIGN(stored.file, files_.keep(a.data, a.filename, a.content_type));
    stored.file->caption = text.empty() ? std::nullopt : std::optional<std::string>(text);
  }
  batch.put_messages.push_back(stored);
  for (size_t i = 0; i < mails.size(); ++i) {
    OutboxEntry entry;
    entry.message_id = text_bytes(mails[i].message_id);
    entry.group_id = c.group_id;
    for (const auto& address : recipients) entry.recipients.push_back(text_bytes(address));
    entry.payload = text_bytes(sealed[i]);
    entry.created_at = now;
    batch.put_outbox.push_back(std::move(entry));
  }
  return stored;
}

Result<size_t> MailClient::mark_read(BytesView group_id, bool send_receipts) {
  SOTTO_TRY_ASSIGN(auto c, store_.conversation(group_id));
  if (!c) return Error(Errc::not_found, "no such conversation");
  SOTTO_TRY_ASSIGN(auto messages, store_.messages(group_id));
  ClientStoreBatch batch;
  // The Message-IDs a receipt goes out for, by sender: each sender gets its own receipt, to
  // it alone (in a group too: the others do not learn who read what).
  std::map<std::string, std::vector<std::string>> asked;
  for (auto& m : messages) {
    if (m.outgoing || m.read) continue;
    m.read = true;
    if (send_receipts && m.receipt_requested && !m.deleted) {
      asked[m.sender].push_back(bytes_text(m.message_id));
    }
    batch.put_messages.push_back(std::move(m));
  }
  if (batch.put_messages.empty()) return size_t{0};
  const uint64_t now = clock_();
  for (auto& [sender, ids] : asked) {
    SOTTO_TRY_ASSIGN(auto peer, store_.mail_peer(sender));
    if (!peer) continue;
    SOTTO_TRY_ASSIGN(auto cert, openpgp::Cert::parse(peer->cert));
    mail::ChatMail receipt;
    receipt.from_addr = address_;
    receipt.to = {sender};
    receipt.subject = "Receipt Notification";
    receipt.message_id = new_message_id(address_);
    receipt.date = static_cast<int64_t>(now / 1000);
    receipt.chat_headers = {{"Chat-Version", "1.0"}};
    receipt.text = "This is a receipt notification.";
    receipt.read_receipt_for = std::move(ids);
    SOTTO_TRY_ASSIGN(std::string sealed,
                     mail::seal(receipt, key_, {cert}, mail::SealOptions{seconds(now)}));
    batch.put_outbox.push_back(outbox_entry(sender, receipt.message_id, sealed, now));
  }
  const size_t marked = batch.put_messages.size();
  SOTTO_TRY(store_.apply(batch));
  return marked;
}

Result<StoredMessage> MailClient::own_message(BytesView group_id, BytesView message_id,
                                              Conversation& c) {
  SOTTO_TRY_ASSIGN(auto found, store_.conversation(group_id));
  if (!found) return Error(Errc::not_found, "no such conversation");
  if (found->kind == ConversationKind::group) {
    SOTTO_TRY_ASSIGN(c, group(group_id));
  } else {
    c = *std::move(found);
  }
  SOTTO_TRY_ASSIGN(auto message, store_.message(group_id, message_id));
  if (!message) return Error(Errc::not_found, "no such message in the conversation");
  if (!message->outgoing || message->sender != address_) {
    return Error(Errc::invalid_argument, "only one's own messages can be edited or deleted");
  }
  if (message->deleted) return Error(Errc::invalid_argument, "the message is deleted");
  return *std::move(message);
}

Result<StoredMessage> MailClient::edit_message(BytesView group_id, BytesView message_id,
                                               const std::string& text) {
  if (text.empty()) return Error(Errc::invalid_argument, "an empty text");
  Conversation c;
  SOTTO_TRY_ASSIGN(StoredMessage message, own_message(group_id, message_id, c));
  mail::ChatMail m;
  m.text = std::string(kEditedPrefix) + text;
  m.chat_headers.emplace_back("Chat-Edit", "<" + bytes_text(message_id) + ">");
  message.body = text;
  if (message.file) message.file->caption = text;
  message.edited_at = clock_();
  return queue_message(std::move(m), c, false, others(c.members), &message);
}

Result<StoredMessage> MailClient::delete_message(BytesView group_id, BytesView message_id) {
  Conversation c;
  SOTTO_TRY_ASSIGN(StoredMessage message, own_message(group_id, message_id, c));
  mail::ChatMail m;
  m.text = std::string(kDeletedText);
  m.chat_headers.emplace_back("Chat-Delete", "<" + bytes_text(message_id) + ">");
  const std::optional<FileContent> file = std::exchange(message.file, std::nullopt);
  message.deleted = true;
  message.body.clear();
  auto queued = queue_message(std::move(m), c, false, others(c.members), &message);
  // The file goes once the delete is stored.
  if (queued && file) (void)files_.remove(*file);
  return queued;
}

Result<size_t> MailClient::flush_outbox() {
  SOTTO_TRY_ASSIGN(auto outbox, store_.outbox());
  size_t sent = 0;
  for (const OutboxEntry& e : outbox) {
    mail::Envelope envelope;
    envelope.from = address_;
    for (const Bytes& r : e.recipients) envelope.to.push_back(bytes_text(r));
    // The account's own copy: its other devices read what it sent.
    envelope.to.push_back(address_);
    std::string password(password_.begin(), password_.end());
    auto submitted = mail::submit(
        servers_.smtp, servers_.login, password, envelope,
        std::string_view(reinterpret_cast<const char*>(e.payload.data()), e.payload.size()));
    sodium_memzero(password.data(), password.size());
    ClientStoreBatch batch;
    batch.remove_outbox.push_back(e.message_id);
    // A SecureJoin step has no message in the history to mark.
    SOTTO_TRY_ASSIGN(const bool shown, store_.has_message(e.group_id, e.message_id));
    if (submitted.ok()) {
      if (shown) {
        batch.delivery_updates.push_back(
            DeliveryUpdate{e.group_id, e.message_id, DeliveryState::sent, clock_()});
      }
      ++sent;
    } else {
      const Errc code = submitted.error().code();
      if (code != Errc::invalid_argument && code != Errc::too_large) return submitted.error();
      // Refused for good: said once, not tried again.
      if (shown) {
        batch.delivery_updates.push_back(
            DeliveryUpdate{e.group_id, e.message_id, DeliveryState::failed, 0});
      }
    }
    SOTTO_TRY(store_.apply(batch));
  }
  return sent;
}

Result<void> MailClient::connect_imap() {
  if (imap_) return success();
  SOTTO_TRY_ASSIGN(auto connection, mail::ImapConnection::connect(servers_.imap));
  std::string password(password_.begin(), password_.end());
  auto logged_in = connection->login(servers_.login, password);
  sodium_memzero(password.data(), password.size());
  SOTTO_TRY(logged_in);
  imap_ = std::move(connection);
  return success();
}

Result<MailReceived> MailClient::receive(std::chrono::milliseconds wait) {
  MailReceived out;
  SOTTO_TRY(connect_imap());
  auto read = read_new(out);
  if (read.ok() && out.messages.empty() && wait.count() > 0) {
    auto changed = imap_->wait_for_change(wait);
    if (!changed.ok()) {
      read = changed.error();
    } else if (!changed->empty()) {
      read = read_new(out);
    }
  }
  if (!read.ok()) {
    // The connection is not to be trusted after an error; the next call connects again.
    imap_.reset();
    return read.error();
  }
  // SecureJoin's answers leave at once; a mail server that cannot take them now leaves them
  // in the outbox for the next call.
  if (!out.handshakes.empty()) {
    auto flushed = flush_outbox();
    if (!flushed.ok() && flushed.error().code() != Errc::unavailable) return flushed.error();
  }
  return out;
}

Result<MailReceived> MailClient::receive_with_reconnect(std::chrono::milliseconds wait,
                                                        const Retrying& retrying) {
  using std::chrono::steady_clock;
  const auto deadline = steady_clock::now() + wait;
  std::chrono::seconds pause(1);
  // IDLE is renewed before servers drop it (RFC 2177: at most every 29 minutes).
  constexpr std::chrono::milliseconds kIdleSlice = std::chrono::minutes(25);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    auto received = receive(std::clamp(left, std::chrono::milliseconds(0), kIdleSlice));
    if (received.ok()) {
      const bool news = !received->messages.empty() || !received->rewritten.empty() ||
                        !received->verified.empty() || !received->handshakes.empty() ||
                        received->refused > 0;
      if (news || steady_clock::now() >= deadline) return received;
      continue;
    }
    if (received.error().code() != Errc::unavailable) return received;
    if (steady_clock::now() + pause >= deadline) return received;
    if (retrying) retrying(received.error(), pause);
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::seconds(30));
  }
}

Result<void> MailClient::read_new(MailReceived& out) {
  SOTTO_TRY_ASSIGN(auto saved, store_.mail_cursor());
  mail::MailboxCursor cursor;
  if (saved) {
    SOTTO_TRY_ASSIGN(cursor, mail::decode_cursor(*saved));
  }
  for (;;) {
    SOTTO_TRY_ASSIGN(auto batch_read, imap_->fetch_new("INBOX", cursor, kFetchBatch));
    ClientStoreBatch batch;
    for (const auto& fetched : batch_read.messages) {
      if (!fetched.body) continue;
      auto taken = take(*fetched.body, batch, out);
      if (!taken.ok()) {
        if (taken.error().code() == Errc::unavailable) {  // the store
          for (const auto& file : std::exchange(batch_files_, {})) (void)files_.remove(file);
          deleted_files_.clear();
          return taken.error();
        }
        ++out.refused;
      } else if (!*taken) {
        ++out.refused;
      }
    }
    batch.mail_cursor = mail::encode(batch_read.cursor);
    // On failure nothing of the batch is kept (its files neither), and receive() reports
    // only the error.
    auto applied = store_.apply(batch);
    std::vector<FileContent> kept = std::exchange(batch_files_, {});
    std::vector<FileContent> deleted = std::exchange(deleted_files_, {});
    if (!applied) {
      for (const auto& file : kept) (void)files_.remove(file);
      return applied.error();
    }
    for (const auto& file : deleted) (void)files_.remove(file);
    cursor = batch_read.cursor;
    if (!batch_read.more) return success();
  }
}

MailInvite MailClient::own_invite(const std::string& invite_number, const SecureBytes& auth) const {
  MailInvite invite;
  invite.fingerprint = key_.cert.fingerprint();
  invite.address = address_;
  invite.name = address_.substr(0, address_.find('@'));
  invite.invite_number = invite_number;
  invite.auth = std::string(auth.begin(), auth.end());
  invite.version = 3;
  return invite;
}

std::string MailClient::invite_link() const {
  return format_mail_invite(own_invite(invite_number_, invite_auth_));
}

Result<std::string> MailClient::group_invite_link(BytesView group_id) {
  SOTTO_TRY_ASSIGN(Conversation c, group(group_id));
  SOTTO_TRY_ASSIGN(auto invites, store_.mail_group_invites());
  std::optional<MailGroupInvite> made;
  for (auto& invite : invites) {
    if (invite.group_id == c.group_id) made = std::move(invite);
  }
  if (!made) {
    // The group's own tokens, made as the account's are: a contact's link cannot add anyone
    // to a group, nor one group's link to another.
    made = MailGroupInvite{c.group_id, to_base64url(crypto::random_bytes(18)),
                           SecureBytes(as_bytes(to_base64url(crypto::random_bytes(18)))), clock_()};
    ClientStoreBatch batch;
    batch.put_mail_group_invites.push_back(*made);
    SOTTO_TRY(store_.apply(batch));
  }
  MailInvite invite = own_invite(made->invite_number, made->auth);
  invite.group_id = group_header_id(c.group_id);
  invite.group_name = c.name;
  return format_mail_invite(invite);
}

Result<void> MailClient::join(std::string_view link) {
  SOTTO_TRY_ASSIGN(MailInvite invite, parse_mail_invite(link));
  SOTTO_TRY_ASSIGN(std::string inviter, normalize_mail_address(invite.address));
  if (inviter == address_) return Error(Errc::invalid_argument, "that is this account's invite");
  const uint64_t now = clock_();
  const MailJoin join{
      inviter, invite.fingerprint, invite.invite_number, SecureBytes(as_bytes(invite.auth)),
      now,     invite.group_id};
  ClientStoreBatch batch;
  batch.put_mail_joins.push_back(join);
  // The inviter's key already known, and the one the link names: the first two steps would
  // only bring it again, so the third goes at once, encrypted to it and signed (as Delta
  // Chat does). The inviter is verified when it confirms, as in the full handshake.
  SOTTO_TRY_ASSIGN(auto known, store_.mail_peer(inviter));
  if (known) {
    auto cert = openpgp::Cert::parse(known->cert);
    if (cert.ok() && cert->fingerprint() == invite.fingerprint) {
      MailReceived unused;
      SOTTO_TRY(send_request_with_auth(join, *cert, batch, unused));
      return store_.apply(batch);
    }
  }
  std::string raw;
  mail::ChatMail request;
  if (invite.version >= 3) {
    // Step 1 of SecureJoin v3: the link's secret, encrypted under the secret itself and not
    // signed, so that nothing in it tells who asks (not even to someone who learned the
    // link); the inviter answers with its key.
    request = password_step(inviter, "vc-request-pubkey", invite.auth);
    const SecureBytes secret = securejoin_secret(invite.fingerprint, as_bytes(invite.auth));
    SOTTO_TRY_ASSIGN(raw, mail::seal_with_password(request, nullptr, secret.view(), seconds(now)));
  } else {
    // Step 1 of the classic handshake: the invite number and this account's key, in the
    // clear: the inviter has no key of ours to encrypt to, nor we of theirs.
    request = handshake_mail(inviter, invite.group_id.empty() ? "vc-request" : "vg-request");
    request.chat_headers.emplace_back("Secure-Join-Invitenumber", invite.invite_number);
    SOTTO_TRY_ASSIGN(raw, mail::compose_handshake_request(request, key_.cert, seconds(now)));
  }
  batch.put_outbox.push_back(outbox_entry(inviter, request.message_id, raw, now));
  return store_.apply(batch);
}

mail::ChatMail MailClient::handshake_mail(const std::string& to, const std::string& step) const {
  mail::ChatMail m;
  m.from_addr = address_;
  m.to = {to};
  m.subject = "Message from " + address_;
  m.message_id = new_message_id(address_);
  m.date = static_cast<int64_t>(clock_() / 1000);
  m.chat_headers = {{"Chat-Version", "1.0"}, {"Secure-Join", step}};
  m.text = "Secure-Join: " + step;
  return m;
}

mail::ChatMail MailClient::password_step(const std::string& to, const std::string& step,
                                         const std::string& auth) const {
  mail::ChatMail m;
  m.from_addr = address_;
  m.to = {to};
  m.subject = "Secure-Join";
  m.message_id = new_message_id(address_);
  m.date = static_cast<int64_t>(clock_() / 1000);
  m.chat_headers = {{"Secure-Join", step}, {"Secure-Join-Auth", auth}};
  m.text = "Secure-Join";
  return m;
}

Result<bool> MailClient::take_unopened(const std::string& raw, const mail::OuterMail& outer,
                                       const Error& why, ClientStoreBatch& batch,
                                       MailReceived& out) {
  // Not for our keys: perhaps encrypted under a password, as SecureJoin v3's steps before the
  // keys are known are (looked at only now, so that other mail is not read twice).
  if (why.code() != Errc::not_found || !mail::password_encrypted(raw)) return false;
  return take_password_step(raw, outer, batch, out);
}

Result<bool> MailClient::take_password_step(const std::string& raw, const mail::OuterMail& outer,
                                            ClientStoreBatch& batch, MailReceived& out) {
  if (outer.from_addr == address_) return true;  // our own step to someone else
  const uint64_t now = clock_();
  // The inviter's side: someone with one of our links (the contact's, or a group's) asks
  // for our key (v3's first step).
  std::vector<SecureBytes> our_auths;
  our_auths.push_back(invite_auth_);
  SOTTO_TRY_ASSIGN(auto group_invites, store_.mail_group_invites());
  for (auto& invite : group_invites) our_auths.push_back(std::move(invite.auth));
  for (const SecureBytes& our_auth : our_auths) {
    const SecureBytes secret = securejoin_secret(key_.cert.fingerprint(), our_auth.view());
    auto opened = mail::open_with_password(raw, secret.view(), {}, seconds(now));
    if (opened.ok()) {
      const mail::ChatMail& m = opened->mail;
      const std::string* step = m.chat_header("Secure-Join");
      const std::string* auth = m.chat_header("Secure-Join-Auth");
      if (step == nullptr || *step != "vc-request-pubkey" || auth == nullptr ||
          !constant_time_equal(as_bytes(*auth), our_auth.view())) {
        return false;
      }
      // Step 2: our key, inside, signed, under the same secret.
      mail::ChatMail answer = password_step(m.from_addr, "vc-pubkey", *auth);
      answer.autocrypt = mail::AutocryptHeader{address_, true, key_.cert.encode()};
      SOTTO_TRY_ASSIGN(std::string sealed,
                       mail::seal_with_password(answer, &key_, secret.view(), seconds(now)));
      batch.put_outbox.push_back(outbox_entry(m.from_addr, answer.message_id, sealed, now));
      out.handshakes.push_back(m.from_addr);
      return true;
    }
  }
  // The joiner's side: the inviter's key, under the secret of the link we joined through,
  // signed by the key whose fingerprint the link named.
  SOTTO_TRY_ASSIGN(auto join, store_.mail_join(outer.from_addr));
  if (!join) return false;
  const SecureBytes secret = securejoin_secret(join->fingerprint, join->auth.view());
  auto unverified = mail::open_with_password(raw, secret.view(), {}, seconds(now));
  if (!unverified.ok()) return false;
  const std::string* step = unverified->mail.chat_header("Secure-Join");
  const auto& offered = unverified->mail.autocrypt;
  if (step == nullptr || *step != "vc-pubkey" || !offered ||
      !mail::autocrypt_key(*offered, seconds(now)).ok()) {
    return false;
  }
  auto cert = openpgp::Cert::parse(offered->keydata);
  if (!cert.ok() || cert->fingerprint() != join->fingerprint) return false;
  auto opened = mail::open_with_password(raw, secret.view(), {*cert}, seconds(now));
  if (!opened.ok() || opened->signature != openpgp::SignatureStatus::valid) return false;
  batch.put_mail_peers.push_back(
      MailPeer{outer.from_addr, cert->encode(), MailKeySource::autocrypt, now, true});
  SOTTO_TRY(send_request_with_auth(*join, *cert, batch, out));
  return true;
}

Result<void> MailClient::send_request_with_auth(const MailJoin& join, const openpgp::Cert& inviter,
                                                ClientStoreBatch& batch, MailReceived& out) {
  // Step 3: the secret from the link and our fingerprint, encrypted and signed; into a
  // group, the group's id too.
  const bool group = !join.group_id.empty();
  mail::ChatMail answer =
      handshake_mail(join.address, group ? "vg-request-with-auth" : "vc-request-with-auth");
  answer.chat_headers.emplace_back("Secure-Join-Auth",
                                   std::string(join.auth.begin(), join.auth.end()));
  answer.chat_headers.emplace_back("Secure-Join-Fingerprint",
                                   format_fingerprint(key_.cert.fingerprint()));
  if (group) answer.chat_headers.emplace_back("Secure-Join-Group", join.group_id);
  return queue_handshake(std::move(answer), inviter, batch, out);
}

OutboxEntry MailClient::outbox_entry(const std::string& to, const std::string& message_id,
                                     const std::string& raw, uint64_t now) const {
  OutboxEntry entry;
  entry.message_id = text_bytes(message_id);
  entry.group_id = mail_chat_id(to);
  entry.recipients = {text_bytes(to)};
  entry.payload = text_bytes(raw);
  entry.created_at = now;
  return entry;
}

Result<void> MailClient::queue_handshake(mail::ChatMail m, const openpgp::Cert& to,
                                         ClientStoreBatch& batch, MailReceived& out) {
  const uint64_t now = clock_();
  // The recipient's own key, gossiped back: it shows them that this step was meant for them
  // (and not forwarded from someone else's handshake), as Delta Chat requires.
  m.gossip = {mail::AutocryptHeader{m.to[0], false, to.encode()}};
  SOTTO_TRY_ASSIGN(std::string sealed, mail::seal(m, key_, {to}, mail::SealOptions{seconds(now)}));
  batch.put_outbox.push_back(outbox_entry(m.to[0], m.message_id, sealed, now));
  out.handshakes.push_back(m.to[0]);
  return success();
}

Result<bool> MailClient::take_join_request(const mail::OuterMail& outer, ClientStoreBatch& batch,
                                           MailReceived& out) {
  const std::string* step = outer.secure_join_header("Secure-Join");
  if (step == nullptr) return false;
  if (outer.from_addr == address_) return true;  // our own request to someone else
  const std::string* number = outer.secure_join_header("Secure-Join-Invitenumber");
  if (number == nullptr || !outer.autocrypt) return false;
  bool ours = false;
  if (*step == "vc-request") {
    ours = constant_time_equal(as_bytes(*number), as_bytes(invite_number_));
  } else if (*step == "vg-request") {
    SOTTO_TRY_ASSIGN(auto group_invites, store_.mail_group_invites());
    for (const auto& invite : group_invites) {
      ours = ours || constant_time_equal(as_bytes(*number), as_bytes(invite.invite_number));
    }
  }
  if (!ours) return false;
  if (!mail::autocrypt_key(*outer.autocrypt, seconds(clock_())).ok()) return false;
  SOTTO_TRY_ASSIGN(auto offered, openpgp::Cert::parse(outer.autocrypt->keydata));
  // A known address keeps its key: a request in the clear cannot replace it.
  SOTTO_TRY_ASSIGN(auto known, store_.mail_peer(outer.from_addr));
  if (known && known->cert != outer.autocrypt->keydata) return false;
  // Step 2: encrypted to the key the request brought, signed, with ours in Autocrypt.
  const std::string answer = *step == "vc-request" ? "vc-auth-required" : "vg-auth-required";
  SOTTO_TRY(queue_handshake(handshake_mail(outer.from_addr, answer), offered, batch, out));
  return true;
}

Result<bool> MailClient::take_handshake(const std::string& step, const mail::ChatMail& m,
                                        const openpgp::Cert& signer, ClientStoreBatch& batch,
                                        MailReceived& out) {
  // A step meant for us gossips our own key back; one forwarded from another's handshake
  // does not.
  bool for_us = false;
  for (const auto& gossip : m.gossip) {
    auto cert = openpgp::Cert::parse(gossip.keydata);
    for_us = for_us || (gossip.addr == address_ && cert.ok() &&
                        cert->fingerprint() == key_.cert.fingerprint());
  }
  if (!for_us) return false;
  const Bytes fingerprint = signer.fingerprint();
  const MailPeer verified{m.from_addr, signer.encode(), MailKeySource::autocrypt, clock_(), true};
  if (step == "vc-auth-required" || step == "vg-auth-required" || step == "vc-contact-confirm") {
    // The joiner's side: the inviter's key must be the one the link named.
    SOTTO_TRY_ASSIGN(auto join, store_.mail_join(m.from_addr));
    if (!join || join->fingerprint != fingerprint) return false;
    batch.put_mail_peers.push_back(verified);
    if (step == "vc-contact-confirm") {
      batch.remove_mail_joins.push_back(m.from_addr);
      out.verified.push_back(m.from_addr);
      return true;
    }
    SOTTO_TRY(send_request_with_auth(*join, signer, batch, out));
    return true;
  }
  if (step == "vc-request-with-auth") {
    // The inviter's side: the joiner saw our link (the secret) and signed with the key whose
    // fingerprint it names.
    const std::string* auth = m.chat_header("Secure-Join-Auth");
    const std::string* named = m.chat_header("Secure-Join-Fingerprint");
    if (auth == nullptr || named == nullptr ||
        !constant_time_equal(as_bytes(*auth), invite_auth_.view())) {
      return false;
    }
    auto named_bytes = from_hex(without_spaces(*named));
    if (!named_bytes.ok() || *named_bytes != fingerprint) return false;
    batch.put_mail_peers.push_back(verified);
    out.verified.push_back(m.from_addr);
    // Step 4: confirmed.
    SOTTO_TRY(
        queue_handshake(handshake_mail(m.from_addr, "vc-contact-confirm"), signer, batch, out));
    return true;
  }
  if (step == "vg-request-with-auth") {
    // The inviter's side of a group's invite: the secret of one of our groups' links, and
    // the signer's fingerprint named.
    const std::string* auth = m.chat_header("Secure-Join-Auth");
    const std::string* named = m.chat_header("Secure-Join-Fingerprint");
    if (auth == nullptr || named == nullptr) return false;
    auto named_bytes = from_hex(without_spaces(*named));
    if (!named_bytes.ok() || *named_bytes != fingerprint) return false;
    SOTTO_TRY_ASSIGN(auto group_invites, store_.mail_group_invites());
    const MailGroupInvite* invite = nullptr;
    for (const auto& candidate : group_invites) {
      if (constant_time_equal(as_bytes(*auth), candidate.auth.view())) invite = &candidate;
    }
    if (invite == nullptr) return false;
    // A request that names a group names this one.
    const std::string* named_group = m.chat_header("Secure-Join-Group");
    if (named_group != nullptr && *named_group != group_header_id(invite->group_id)) return false;
    batch.put_mail_peers.push_back(verified);
    out.verified.push_back(m.from_addr);
    SOTTO_TRY(add_joiner(invite->group_id, m.from_addr, batch));
    return true;
  }
  return true;  // another step (a newer version's): not shown, nothing done
}

Result<void> MailClient::add_joiner(const Bytes& group_id, const std::string& joiner,
                                    ClientStoreBatch& batch) {
  // The group as this batch leaves it; one we are no longer in adds nobody.
  SOTTO_TRY_ASSIGN(auto c, store_.conversation(group_id));
  for (const auto& pending : batch.put_conversations) {
    if (pending.group_id == group_id) c = pending;
  }
  if (!c || c->membership != Membership::member) return success();
  if (std::find(c->members.begin(), c->members.end(), joiner) != c->members.end()) {
    return success();  // a repeated request: added already
  }
  // Every member (the one who joined too) hears of it, in a group mail that also ends the
  // joiner's handshake (vg-member-added).
  add_member(*c, joiner, next_member_time(*c, seconds(clock_())));
  mail::ChatMail m;
  m.chat_headers.emplace_back("Chat-Group-Member-Added", joiner);
  m.chat_headers.emplace_back("Secure-Join", "vg-member-added");
  m.text = "Member " + joiner + " added by " + address_ + ".";
  SOTTO_TRY_ASSIGN(auto stored, add_message(batch, std::move(m), *c, true, others(c->members)));
  (void)stored;
  return success();
}

Result<void> MailClient::take_member_added(const mail::ChatMail& m, const openpgp::Cert& signer,
                                           ClientStoreBatch& batch, MailReceived& out) {
  // Our join ends when the inviter, signing with the key the link named, adds us to the
  // group the link was to.
  const std::string* added = m.chat_header("Chat-Group-Member-Added");
  const std::string* group = m.chat_header("Chat-Group-ID");
  if (added == nullptr || group == nullptr) return success();
  auto address = normalize_mail_address(*added);
  if (!address.ok() || *address != address_) return success();
  SOTTO_TRY_ASSIGN(auto join, store_.mail_join(m.from_addr));
  if (!join || join->group_id.empty() || join->group_id != *group ||
      join->fingerprint != signer.fingerprint()) {
    return success();
  }
  batch.put_mail_peers.push_back(
      MailPeer{m.from_addr, signer.encode(), MailKeySource::autocrypt, clock_(), true});
  batch.remove_mail_joins.push_back(m.from_addr);
  out.verified.push_back(m.from_addr);
  return success();
}

Result<bool> MailClient::take(const std::string& raw, ClientStoreBatch& batch, MailReceived& out) {
  const uint64_t now = clock_();
  auto outer = mail::read_outer(raw);
  if (!outer.ok()) return false;
  // Plaintext is not read, but for SecureJoin's first request.
  if (!outer->encrypted) return take_join_request(*outer, batch, out);

  // The key the mail must be signed with: ours for our own copies, the one known for the
  // sender, or, from an address without one, the key its Autocrypt header brings (outside,
  // or inside the encryption, where Delta Chat puts it).
  std::optional<openpgp::Cert> signer;
  const bool own = outer->from_addr == address_;
  if (own) {
    signer = key_.cert;
  } else {
    SOTTO_TRY_ASSIGN(auto peer, store_.mail_peer(outer->from_addr));
    for (const auto& p : batch.put_mail_peers) {
      if (p.address == outer->from_addr) peer = p;
    }
    if (peer) {
      auto cert = openpgp::Cert::parse(peer->cert);
      if (!cert.ok()) return false;
      signer = *std::move(cert);
    }
  }
  std::optional<MailPeer> learned;
  if (!signer) {
    std::optional<mail::AutocryptHeader> offered = outer->autocrypt;
    if (!offered) {
      auto unverified = mail::open(raw, {key_}, {}, seconds(now));
      if (!unverified.ok()) return take_unopened(raw, *outer, unverified.error(), batch, out);
      offered = unverified->mail.autocrypt;
    }
    if (!offered || !mail::autocrypt_key(*offered, seconds(now)).ok()) return false;
    auto cert = openpgp::Cert::parse(offered->keydata);
    if (!cert.ok()) return false;
    signer = *std::move(cert);
    learned = MailPeer{outer->from_addr, offered->keydata, MailKeySource::autocrypt, now, false};
  }

  auto opened = mail::open(raw, {key_}, {*signer}, seconds(now));
  if (!opened.ok()) return take_unopened(raw, *outer, opened.error(), batch, out);
  if (opened->signature != openpgp::SignatureStatus::valid) return false;
  const mail::ChatMail& m = opened->mail;
  const std::string* step = m.chat_header("Secure-Join");
  if (step != nullptr && *step == "vg-member-added") {
    // A group's member added through its invite: a group mail like any other, and for the
    // one who joined, the end of the handshake.
    if (!own) SOTTO_TRY(take_member_added(m, *signer, batch, out));
  } else if (step != nullptr) {
    // One's own copies of the handshake are nothing to act on.
    if (own) return true;
    return take_handshake(*step, m, *signer, batch, out);
  }
  if (learned) batch.put_mail_peers.push_back(*learned);

  // When the mail says it was sent (not later than now and a little).
  const uint64_t sent_s =
      std::min<uint64_t>(m.date > 0 ? static_cast<uint64_t>(m.date) : seconds(now),
                         seconds(now) + kMemberClockTolerance);
  // The mail's member timestamps (Delta Chat's) applied to `c`; false when it has none that fit.
  auto take_member_timestamps = [&](Conversation& group) {
    const std::string* stamps = m.chat_header("Chat-Group-Member-Timestamps");
    if (stamps == nullptr) return false;
    const std::string* past = m.chat_header("Chat-Group-Past-Members");
    bool changed = false;
    return apply_member_timestamps(
        group, m.to, past ? mail::parse_address_list(*past) : std::vector<std::string>{}, *stamps,
        m.from_addr, seconds(now), changed);
  };
  // Which conversation: the group it names, else the 1:1 with the other person.
  Bytes chat;
  Conversation c;
  if (const std::string* group = m.chat_header("Chat-Group-ID")) {
    chat = group_chat_id(*group);
    const std::string* name = m.chat_header("Chat-Group-Name");
    c.name = name ? *name : *group;
    c.kind = ConversationKind::group;
    // A group first heard of: its sender and the mail's To, with the mail's timestamps when
    // it has them (Delta Chat's), else with none known.
    add_member(c, m.from_addr, sent_s);
    if (!take_member_timestamps(c)) {
      for (const auto& to : m.to) {
        if (std::find(c.members.begin(), c.members.end(), to) == c.members.end()) {
          add_member(c, to, 0);
        }
      }
    }
    // A group that says this account was removed from it is not one to write to.
    if (std::any_of(c.past_members.begin(), c.past_members.end(),
                    [&](const PastMember& p) { return p.address == address_; })) {
      c.membership = Membership::removed;
    }
  } else {
    std::string other = m.from_addr;
    if (own) {
      if (m.to.size() != 1) return false;
      other = m.to[0];
    }
    chat = mail_chat_id(other);
    c.name = other;
    c.kind = ConversationKind::direct;
    c.members = {address_, other};
  }
  c.group_id = chat;

  // An edit or a delete changes messages of this conversation; it is not one itself.
  if (m.chat_header("Chat-Edit") != nullptr || m.chat_header("Chat-Delete") != nullptr) {
    SOTTO_TRY(take_change(m, chat, batch, out));
    return true;
  }

  // A read receipt marks our messages it names as read by its sender: in the 1:1 with the
  // sender, or in a group the sender is a member of (a receipt names no group).
  if (!m.read_receipt_for.empty()) {
    if (own) return true;  // another device of ours read something: nothing to show here
    std::optional<std::vector<Conversation>> groups;  // read when first needed
    for (const std::string& id : m.read_receipt_for) {
      // As this batch leaves it: another member's receipt for it may be in the same batch.
      StoredMessage* pending = nullptr;
      SOTTO_TRY_ASSIGN(auto message, batch_message(batch, chat, text_bytes(id), pending));
      if (!message) {
        if (!groups) {
          SOTTO_TRY_ASSIGN(groups, store_.conversations());
        }
        for (const auto& group : *groups) {
          if (message || group.kind != ConversationKind::group ||
              std::find(group.members.begin(), group.members.end(), m.from_addr) ==
                  group.members.end()) {
            continue;
          }
          SOTTO_TRY_ASSIGN(message, batch_message(batch, group.group_id, text_bytes(id), pending));
        }
      }
      if (!message || !message->outgoing) continue;
      if (std::find(message->read_by.begin(), message->read_by.end(), m.from_addr) ==
          message->read_by.end()) {
        message->read_by.push_back(m.from_addr);
      }
      if (pending != nullptr) {
        *pending = *std::move(message);
      } else {
        batch.put_messages.push_back(*std::move(message));
      }
    }
    return true;
  }

  // Delta Chat's pre-message (the text of a message whose file follows) is stored under the
  // id of its post-message (the whole message), which then completes it: shown once,
  // whichever comes first.
  const std::string* post_id = m.chat_header("Chat-Post-Message-ID");
  const bool is_post = m.chat_header("Chat-Is-Post-Message") != nullptr;
  std::string id_text = m.message_id;
  if (post_id != nullptr && !bare_message_id(*post_id).empty()) {
    id_text = bare_message_id(*post_id);
  }
  const Bytes id = text_bytes(id_text);
  StoredMessage* pending_earlier = nullptr;
  SOTTO_TRY_ASSIGN(auto earlier, batch_message(batch, chat, id, pending_earlier));
  if (earlier) {
    // Read before (a repeat after a crash, or our own copy), unless this is the file of a
    // pre-message read before.
    if (!is_post || earlier->file || earlier->deleted || m.attachments.empty() ||
        earlier->sender != m.from_addr) {
      return true;
    }
    SOTTO_TRY(keep_file(m.attachments.front(), *earlier));
    if (earlier->body.empty()) earlier->body = shown_text(m.text);
    if (!earlier->body.empty()) earlier->file->caption = earlier->body;
    if (pending_earlier != nullptr) {
      *pending_earlier = *earlier;
    } else {
      batch.put_messages.push_back(*earlier);
      out.rewritten.push_back(*earlier);
    }
    for (auto& shown : out.messages) {
      if (shown.group_id == chat && shown.message_id == id) shown = *earlier;
    }
    return true;
  }

  SOTTO_TRY_ASSIGN(auto existing, store_.conversation(chat));
  for (const auto& pending : batch.put_conversations) {
    if (pending.group_id == chat) existing = pending;
  }
  if (existing && c.kind == ConversationKind::group) {
    // A known group changes only by what a member's mail says: its members' timestamps when
    // it has them (the later change wins, whatever order mail comes in), else its explicit
    // addition or removal.
    c = *existing;
    const bool member =
        own || std::find(c.members.begin(), c.members.end(), m.from_addr) != c.members.end();
    const bool by_timestamps = member && take_member_timestamps(c);
    const std::string* added = m.chat_header("Chat-Group-Member-Added");
    const std::string* removed = m.chat_header("Chat-Group-Member-Removed");
    auto normalized = [](const std::string* value) {
      return value ? normalize_mail_address(*value) : Result<std::string>(std::string());
    };
    const bool explicit_change = member && !by_timestamps;
    auto in = normalized(explicit_change ? added : nullptr);
    auto gone = normalized(explicit_change ? removed : nullptr);
    if (in.ok() && !in->empty() &&
        std::find(c.members.begin(), c.members.end(), *in) == c.members.end()) {
      add_member(c, *in, sent_s);
    }
    if (gone.ok() && !gone->empty()) remove_member(c, *gone, sent_s);
    if (member) {
      const bool in_group =
          std::find(c.members.begin(), c.members.end(), address_) != c.members.end();
      const bool removed_from_group =
          std::any_of(c.past_members.begin(), c.past_members.end(),
                      [&](const PastMember& p) { return p.address == address_; });
      if (in_group && c.membership == Membership::removed) c.membership = Membership::member;
      if (removed_from_group && c.membership == Membership::member) {
        c.membership = Membership::removed;
      }
    }
    // A member renames the group with the name it now gives.
    const std::string* name = m.chat_header("Chat-Group-Name");
    if (member && m.chat_header("Chat-Group-Name-Changed") != nullptr && name != nullptr &&
        !name->empty()) {
      c.name = *name;
    }
    batch.put_conversations.push_back(c);
  } else if (!existing) {
    batch.put_conversations.push_back(c);
  }
  // Group members' keys from a signed mail: kept for addresses that have none.
  if (c.kind == ConversationKind::group) {
    for (const auto& gossip : m.gossip) {
      if (gossip.addr == address_ || !mail::autocrypt_key(gossip, seconds(now)).ok()) continue;
      SOTTO_TRY_ASSIGN(auto known, store_.mail_peer(gossip.addr));
      bool queued = false;
      for (const auto& p : batch.put_mail_peers) queued = queued || p.address == gossip.addr;
      if (!known && !queued) {
        batch.put_mail_peers.push_back(
            MailPeer{gossip.addr, gossip.keydata, MailKeySource::gossip, now, false});
      }
    }
  }

  StoredMessage stored;
  stored.group_id = chat;
  stored.message_id = id;
  stored.sender = m.from_addr;
  stored.outgoing = own;
  stored.sent_at = m.date > 0 ? static_cast<uint64_t>(m.date) * 1000 : now;
  stored.accepted_at = now;
  stored.state = own ? DeliveryState::sent : DeliveryState::received;
  stored.body = shown_text(m.text);
  if (!m.in_reply_to.empty()) stored.reply_to = text_bytes(m.in_reply_to);
  // A receipt is asked for by the sender, to the sender (not to a third address).
  if (const std::string* to = m.chat_header("Chat-Disposition-Notification-To");
      to != nullptr && !own && !system_mail(m)) {
    const auto asked_to = mail::parse_address_list(*to);
    stored.receipt_requested = asked_to.size() == 1 && asked_to[0] == m.from_addr;
  }
  // The first file goes with the text; any further ones follow as messages of their own.
  std::vector<StoredMessage> more;
  for (size_t i = 0; i < m.attachments.size(); ++i) {
    StoredMessage* target = &stored;
    if (i > 0) {
      more.push_back(stored);
      target = &more.back();
      target->message_id = text_bytes(id_text + "/" + std::to_string(i + 1));
      target->body.clear();
    }
    SOTTO_TRY(keep_file(m.attachments[i], *target));
  }
  batch.put_messages.push_back(stored);
  out.messages.push_back(std::move(stored));
  for (auto& extra : more) {
    batch.put_messages.push_back(extra);
    out.messages.push_back(std::move(extra));
  }
  return true;
}

Result<std::optional<StoredMessage>> MailClient::batch_message(ClientStoreBatch& batch,
                                                               const Bytes& chat, const Bytes& id,
                                                               StoredMessage*& pending) const {
  pending = nullptr;
  for (auto& p : batch.put_messages) {
    if (p.group_id == chat && p.message_id == id) pending = &p;
  }
  if (pending != nullptr) return std::optional<StoredMessage>(*pending);
  return store_.message(chat, id);
}

Result<void> MailClient::take_change(const mail::ChatMail& m, const Bytes& chat,
                                     ClientStoreBatch& batch, MailReceived& out) {
  const std::string* edit = m.chat_header("Chat-Edit");
  std::vector<std::string> ids;
  if (edit != nullptr) {
    ids.push_back(bare_message_id(*edit));
  } else {
    const std::string& list = *m.chat_header("Chat-Delete");
    size_t at = 0;
    while (at < list.size()) {
      const size_t end = std::min(list.find_first_of(" \t", at), list.size());
      if (end > at) ids.push_back(bare_message_id(list.substr(at, end - at)));
      at = end + 1;
    }
  }
  const uint64_t when = m.date > 0 ? static_cast<uint64_t>(m.date) * 1000 : clock_();
  for (const std::string& id : ids) {
    if (id.empty()) continue;
    const Bytes message_id = text_bytes(id);
    StoredMessage* pending = nullptr;
    SOTTO_TRY_ASSIGN(auto message, batch_message(batch, chat, message_id, pending));
    // Only its sender changes a message, and a deleted one stays deleted.
    if (!message || message->sender != m.from_addr || message->deleted) continue;
    if (edit != nullptr) {
      message->body = edited_text(m.text);
      if (message->body.empty()) continue;
      if (message->file) message->file->caption = message->body;
      message->edited_at = when;
    } else {
      if (message->file) deleted_files_.push_back(*message->file);
      message->deleted = true;
      message->body.clear();
      message->file.reset();
    }
    if (pending != nullptr) {
      *pending = *message;
    } else {
      batch.put_messages.push_back(*message);
    }
    bool fresh = false;
    for (auto& shown : out.messages) {
      if (shown.group_id == chat && shown.message_id == message_id) {
        shown = *message;
        fresh = true;
      }
    }
    if (!fresh) {
      std::erase_if(out.rewritten, [&](const StoredMessage& r) {
        return r.group_id == chat && r.message_id == message_id;
      });
      out.rewritten.push_back(*message);
    }
  }
  return success();
}

Result<void> MailClient::keep_file(const mail::MailAttachment& attachment, StoredMessage& stored) {
  auto kept = files_.keep(attachment.data, attachment.filename, attachment.content_type);
  // A file that cannot be kept now stops the reading (the mail is read again next time),
  // rather than counting the mail as refused.
  if (!kept) return Error(Errc::unavailable, "keeping a received file: " + kept.error().message());
  FileContent file = *std::move(kept);
  batch_files_.push_back(file);
  if (!stored.body.empty()) file.caption = stored.body;
  stored.file = std::move(file);
  return success();
}

}  // namespace sotto::client
