#include "sotto/mail/mime.h"

#include <gmime/gmime.h>

#include <memory>
#include <mutex>

#include "ascii.h"
#include "sotto/mail/smtp.h"
#include "sotto/openpgp/armor.h"

namespace sotto::mail {

namespace {

// ---- GMime's objects, owned ---------------------------------------------------------------

struct ObjectUnref {
  void operator()(void* object) const {
    if (object != nullptr) g_object_unref(object);
  }
};
template <typename T>
using Owned = std::unique_ptr<T, ObjectUnref>;

struct GFree {
  void operator()(void* p) const { g_free(p); }
};
using OwnedString = std::unique_ptr<char, GFree>;

struct FormatOptionsFree {
  void operator()(GMimeFormatOptions* o) const { g_mime_format_options_free(o); }
};
struct ReferencesFree {
  void operator()(GMimeReferences* r) const { g_mime_references_free(r); }
};

void init_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

Error invalid(std::string_view what) {
  return Error(Errc::invalid_value, "mail: " + std::string(what));
}

// Serialises with CRLF line ends, as SMTP and signatures want them.
std::string to_crlf_string(GMimeObject* object) {
  std::unique_ptr<GMimeFormatOptions, FormatOptionsFree> options(g_mime_format_options_new());
  g_mime_format_options_set_newline_format(options.get(), GMIME_NEWLINE_FORMAT_DOS);
  OwnedString text(g_mime_object_to_string(object, options.get()));
  return text ? std::string(text.get()) : std::string();
}

Result<Owned<GMimeMessage>> parse_message(std::string_view raw) {
  if (raw.size() > kMaxMailSize) {
    return Error(Errc::length_limit, "mail: over " + std::to_string(kMaxMailSize) + " bytes");
  }
  init_gmime();
  Owned<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  Owned<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  Owned<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!message) return invalid("not a mail");
  return message;
}

// ---- headers --------------------------------------------------------------------------------

bool has_line_break(std::string_view value) {
  return value.find_first_of("\r\n") != std::string_view::npos ||
         value.find('\0') != std::string_view::npos;
}

Result<void> check_header_value(std::string_view name, std::string_view value) {
  if (has_line_break(value)) {
    return Error(Errc::invalid_argument, "mail: a line break in " + std::string(name));
  }
  return success();
}

// Chat-* headers, and SecureJoin's Secure-Join and Secure-Join-* (Delta Chat's spec).
bool is_chat_header(std::string_view name) {
  if (name.size() > 5 && ascii::iequals(name.substr(0, 5), "Chat-")) return true;
  return ascii::iequals(name, "Secure-Join") ||
         (name.size() > 12 && ascii::iequals(name.substr(0, 12), "Secure-Join-"));
}

bool valid_header_name(std::string_view name) {
  if (name.empty() || name.size() > 76) return false;
  for (char c : name) {
    if (c <= 0x20 || c >= 0x7f || c == ':') return false;
  }
  return true;
}

std::string angle(std::string_view id) {
  return "<" + std::string(id) + ">";
}

Result<void> check_message_id(std::string_view id) {
  if (id.empty() || id.size() > 250) {
    return Error(Errc::invalid_argument, "mail: a Message-ID of 1 to 250 characters");
  }
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>') {
      return Error(Errc::invalid_argument, "mail: a Message-ID of printable ASCII");
    }
  }
  return success();
}

// The mailboxes of a list, groups expanded.
void collect_addresses(InternetAddressList* list, std::vector<std::string>& out, int depth = 0) {
  if (list == nullptr || depth > 2) return;
  int n = internet_address_list_length(list);
  for (int i = 0; i < n; ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
      const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
      if (addr != nullptr && *addr != '\0') out.push_back(ascii::lower(addr));
    } else if (INTERNET_ADDRESS_IS_GROUP(a)) {
      collect_addresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)), out,
                        depth + 1);
    }
  }
}

struct Sender {
  std::string addr;
  std::string name;
};

Result<Sender> single_from(GMimeMessage* message) {
  InternetAddressList* from = g_mime_message_get_from(message);
  if (from == nullptr || internet_address_list_length(from) != 1) {
    return invalid("a mail needs exactly one From address");
  }
  InternetAddress* a = internet_address_list_get_address(from, 0);
  if (!INTERNET_ADDRESS_IS_MAILBOX(a)) return invalid("From is not a mailbox");
  const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
  if (addr == nullptr || !smtp::check_address(addr).ok()) return invalid("From is not an address");
  const char* name = internet_address_get_name(a);
  return Sender{ascii::lower(addr), name != nullptr ? name : ""};
}

std::vector<std::string> message_ids(const char* header) {
  std::vector<std::string> out;
  if (header == nullptr) return out;
  std::unique_ptr<GMimeReferences, ReferencesFree> refs(g_mime_references_parse(nullptr, header));
  if (!refs) return out;
  int n = g_mime_references_length(refs.get());
  for (int i = 0; i < n && i < 64; ++i) {
    const char* id = g_mime_references_get_message_id(refs.get(), i);
    if (id != nullptr) out.emplace_back(id);
  }
  return out;
}

// Raw values keep their folding, which parse_autocrypt reads.
std::vector<std::string> raw_header_values(GMimeObject* object, std::string_view name) {
  std::vector<std::string> out;
  GMimeHeaderList* headers = g_mime_object_get_header_list(object);
  int n = g_mime_header_list_get_count(headers);
  for (int i = 0; i < n; ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(headers, i);
    const char* value = g_mime_header_get_raw_value(h);
    if (ascii::iequals(g_mime_header_get_name(h), name) && value != nullptr) {
      out.emplace_back(value);
    }
  }
  return out;
}

// ---- bodies ---------------------------------------------------------------------------------

Bytes decoded_content(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return {};
  Owned<GMimeStream> sink(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, sink.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
  return Bytes(bytes->data, bytes->data + bytes->len);
}

std::string type_of(GMimeObject* object) {
  GMimeContentType* type = g_mime_object_get_content_type(object);
  if (type == nullptr) return "application/octet-stream";
  OwnedString mime_type(g_mime_content_type_get_mime_type(type));
  return ascii::lower(mime_type ? mime_type.get() : "application/octet-stream");
}

// The Message-IDs a disposition notification (RFC 8098 section 3.2) reports as displayed:
// "Original-Message-ID" and Delta Chat's "Additional-Message-IDs", when "Disposition" says
// "displayed"; nothing otherwise.
std::vector<std::string> displayed_ids(std::string_view report) {
  std::vector<std::string> fields;  // unfolded
  size_t start = 0;
  while (start < report.size()) {
    size_t end = report.find('\n', start);
    if (end == std::string_view::npos) end = report.size();
    std::string_view line = report.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = end + 1;
    if (line.empty()) break;
    if ((line.front() == ' ' || line.front() == '\t') && !fields.empty()) {
      fields.back() += line;
    } else if (fields.size() < kMaxChatHeaders) {
      fields.emplace_back(line);
    }
  }
  std::vector<std::string> ids;
  bool displayed = false;
  for (const auto& field : fields) {
    auto colon = field.find(':');
    if (colon == std::string::npos) continue;
    std::string_view name(field.data(), colon);
    std::string value = field.substr(colon + 1);
    if (ascii::iequals(name, "Original-Message-ID") ||
        ascii::iequals(name, "Additional-Message-IDs")) {
      for (auto& id : message_ids(value.c_str())) {
        if (check_message_id(id).ok() && ids.size() < kMaxChatHeaders) ids.push_back(id);
      }
    } else if (ascii::iequals(name, "Disposition")) {
      displayed = ascii::lower(value).find("displayed") != std::string::npos;
    }
  }
  if (!displayed) ids.clear();
  return ids;
}

struct BodyReader {
  ChatMail& mail;
  size_t parts = 0;
  size_t bytes = 0;
  bool have_text = false;

  Result<void> read(GMimeObject* object, int depth) {
    if (depth > kMaxMimeDepth) return Error(Errc::length_limit, "mail: multiparts too deep");
    if (++parts > kMaxMimeParts) return Error(Errc::length_limit, "mail: too many parts");
    if (GMIME_IS_MULTIPART(object)) {
      auto* multipart = GMIME_MULTIPART(object);
      int n = g_mime_multipart_get_count(multipart);
      for (int i = 0; i < n; ++i) {
        SOTTO_TRY(read(g_mime_multipart_get_part(multipart, i), depth + 1));
      }
      return success();
    }
    if (GMIME_IS_MESSAGE_PART(object)) return invalid("a mail inside a mail is not read");
    if (!GMIME_IS_PART(object)) return invalid("an unknown kind of MIME part");
    auto* part = GMIME_PART(object);
    GMimeContentDisposition* disposition = g_mime_object_get_content_disposition(object);
    bool attachment =
        disposition != nullptr && g_mime_content_disposition_is_attachment(disposition);
    std::string type = type_of(object);
    if (type == "message/disposition-notification") {
      Bytes report = decoded_content(part);
      bytes += report.size();
      if (bytes > kMaxMailSize) return Error(Errc::length_limit, "mail: parts too large");
      for (auto& id : displayed_ids(
               std::string_view(reinterpret_cast<const char*>(report.data()), report.size()))) {
        mail.read_receipt_for.push_back(std::move(id));
      }
      return success();
    }
    if (!have_text && !attachment && type == "text/plain" && GMIME_IS_TEXT_PART(object)) {
      OwnedString text(g_mime_text_part_get_text(GMIME_TEXT_PART(object)));
      mail.text = text ? text.get() : "";
      have_text = true;
      bytes += mail.text.size();
    } else {
      MailAttachment a;
      const char* filename = g_mime_part_get_filename(part);
      a.filename = filename != nullptr ? filename : "";
      a.content_type = type;
      a.data = decoded_content(part);
      bytes += a.data.size();
      mail.attachments.push_back(std::move(a));
    }
    if (bytes > kMaxMailSize) return Error(Errc::length_limit, "mail: parts too large");
    return success();
  }
};

GMimeObject* text_part(const std::string& text) {
  GMimeTextPart* part = g_mime_text_part_new_with_subtype("plain");
  g_mime_text_part_set_text(part, text.c_str());
  g_mime_object_encode(GMIME_OBJECT(part), GMIME_ENCODING_CONSTRAINT_7BIT);
  return GMIME_OBJECT(part);
}

// A leaf part holding `data` as is, written in `encoding`.
Owned<GMimePart> leaf_part(const std::string& type, const std::string& subtype,
                           std::string_view data, GMimeContentEncoding encoding) {
  Owned<GMimePart> part(g_mime_part_new_with_type(type.c_str(), subtype.c_str()));
  Owned<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(data.data(), data.size()));
  Owned<GMimeDataWrapper> content(
      g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part.get(), content.get());
  g_mime_part_set_content_encoding(part.get(), encoding);
  return part;
}

Result<Owned<GMimePart>> attachment_part(const MailAttachment& a) {
  auto slash = a.content_type.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == a.content_type.size() ||
      has_line_break(a.content_type) || has_line_break(a.filename)) {
    return Error(Errc::invalid_argument, "mail: an attachment's type or name");
  }
  auto part =
      leaf_part(a.content_type.substr(0, slash), a.content_type.substr(slash + 1),
                std::string_view(reinterpret_cast<const char*>(a.data.data()), a.data.size()),
                GMIME_CONTENT_ENCODING_BASE64);
  g_mime_object_set_disposition(GMIME_OBJECT(part.get()), "attachment");
  if (!a.filename.empty()) g_mime_part_set_filename(part.get(), a.filename.c_str());
  return part;
}

// An Autocrypt header's value on one line, its folds turned to spaces: GMime folds it again
// at those spaces (a value with line breaks would be RFC 2047-encoded instead).
std::string autocrypt_value(const AutocryptHeader& header, bool gossip) {
  std::string value = format_autocrypt(header, gossip);
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value.compare(i, 3, "\r\n ") == 0) {
      out += ' ';
      i += 2;
    } else {
      out += value[i];
    }
  }
  return out;
}

// RFC 8098: a multipart/report of the text and the disposition notification, "displayed".
GMimeObject* receipt_part(const ChatMail& mail) {
  std::string report = "Reporting-UA: Sotto\r\nOriginal-Recipient: rfc822;" + mail.from_addr +
                       "\r\nFinal-Recipient: rfc822;" + mail.from_addr +
                       "\r\nOriginal-Message-ID: " + angle(mail.read_receipt_for.front()) + "\r\n";
  if (mail.read_receipt_for.size() > 1) {
    report += "Additional-Message-IDs:";
    for (size_t i = 1; i < mail.read_receipt_for.size(); ++i) {
      report += " " + angle(mail.read_receipt_for[i]);
    }
    report += "\r\n";
  }
  report += "Disposition: manual-action/MDN-sent-automatically; displayed\r\n";
  GMimeMultipart* multipart = g_mime_multipart_new_with_subtype("report");
  g_mime_object_set_content_type_parameter(GMIME_OBJECT(multipart), "report-type",
                                           "disposition-notification");
  Owned<GMimeObject> text(text_part(mail.text));
  g_mime_multipart_add(multipart, text.get());
  auto notification =
      leaf_part("message", "disposition-notification", report, GMIME_CONTENT_ENCODING_7BIT);
  g_mime_multipart_add(multipart, GMIME_OBJECT(notification.get()));
  return GMIME_OBJECT(multipart);
}

void set_date(GMimeMessage* message, int64_t seconds) {
  GDateTime* date = g_date_time_new_from_unix_utc(seconds);
  g_mime_message_set_date(message, date);
  g_date_time_unref(date);
}

}  // namespace

namespace {

const std::string* header_in(const std::vector<std::pair<std::string, std::string>>& headers,
                             std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (ascii::iequals(n, name)) return &v;
  }
  return nullptr;
}

}  // namespace

const std::string* ChatMail::chat_header(std::string_view name) const {
  return header_in(chat_headers, name);
}

const std::string* OuterMail::secure_join_header(std::string_view name) const {
  return header_in(secure_join, name);
}

namespace {

// `text` as a JSON string, quotes included.
std::string json_string(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace

bool needs_pre_message(const ChatMail& mail) {
  return !mail.attachments.empty() && mail.attachments.front().data.size() > kPreMessageFileSize;
}

SplitMail split_for_pre_message(ChatMail mail, std::string pre_message_id) {
  SplitMail out;
  std::vector<MailAttachment> files = std::move(mail.attachments);
  out.pre = mail;
  const MailAttachment& file = files.front();
  out.pre.message_id = std::move(pre_message_id);
  out.pre.chat_headers.emplace_back("Chat-Post-Message-ID", "<" + mail.message_id + ">");
  out.pre.chat_headers.emplace_back(
      "Chat-Post-Message-Metadata",
      "{\"size\":" + std::to_string(file.data.size()) +
          ",\"viewtype\":\"File\",\"filename\":" + json_string(file.filename) + "}");
  out.post = std::move(mail);
  out.post.attachments = std::move(files);
  out.post.text.clear();
  out.post.chat_headers.emplace_back("Chat-Is-Post-Message", "1");
  return out;
}

namespace {

// The inner entity of `mail`, dated `date` (seal dates a mail that has none without copying it).
Result<std::string> write_inner(const ChatMail& mail, int64_t date) {
  SOTTO_TRY(smtp::check_address(mail.from_addr));
  for (const auto& to : mail.to) SOTTO_TRY(smtp::check_address(to));
  SOTTO_TRY(check_message_id(mail.message_id));
  SOTTO_TRY(check_header_value("From", mail.from_name));
  SOTTO_TRY(check_header_value("Subject", mail.subject));
  for (const auto& [name, value] : mail.chat_headers) {
    if (!is_chat_header(name) || !valid_header_name(name)) {
      return Error(Errc::invalid_argument, "mail: not a Chat- or Secure-Join header name");
    }
    SOTTO_TRY(check_header_value(name, value));
  }
  if (!mail.in_reply_to.empty()) SOTTO_TRY(check_message_id(mail.in_reply_to));
  for (const auto& id : mail.references) SOTTO_TRY(check_message_id(id));
  for (const auto& id : mail.read_receipt_for) SOTTO_TRY(check_message_id(id));
  if (!mail.read_receipt_for.empty() && !mail.attachments.empty()) {
    return Error(Errc::invalid_argument, "mail: a read receipt carries no attachments");
  }
  size_t total = mail.text.size();
  for (const auto& a : mail.attachments) total += a.data.size();
  if (total > kMaxMailSize) return Error(Errc::length_limit, "mail: over the size limit");

  init_gmime();
  Owned<GMimeMessage> message(g_mime_message_new(TRUE));
  GMimeObject* m = GMIME_OBJECT(message.get());
  g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_FROM, mail.from_name.c_str(),
                             mail.from_addr.c_str());
  for (const auto& to : mail.to) {
    g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_TO, "", to.c_str());
  }
  g_mime_message_set_subject(message.get(), mail.subject.c_str(), "utf-8");
  set_date(message.get(), date);
  g_mime_message_set_message_id(message.get(), mail.message_id.c_str());
  if (!mail.in_reply_to.empty()) {
    g_mime_object_set_header(m, "In-Reply-To", angle(mail.in_reply_to).c_str(), nullptr);
  }
  if (!mail.references.empty()) {
    std::string refs;
    for (const auto& id : mail.references) refs += (refs.empty() ? "" : " ") + angle(id);
    g_mime_object_set_header(m, "References", refs.c_str(), nullptr);
  }
  for (const auto& [name, value] : mail.chat_headers) {
    g_mime_object_append_header(m, name.c_str(), value.c_str(), "utf-8");
  }
  if (mail.autocrypt) {
    g_mime_object_append_header(m, "Autocrypt", autocrypt_value(*mail.autocrypt, false).c_str(),
                                nullptr);
  }
  for (const auto& gossip : mail.gossip) {
    g_mime_object_append_header(m, "Autocrypt-Gossip", autocrypt_value(gossip, true).c_str(),
                                nullptr);
  }

  Owned<GMimeObject> body;
  if (!mail.read_receipt_for.empty()) {
    body.reset(receipt_part(mail));
  } else if (mail.attachments.empty()) {
    body.reset(text_part(mail.text));
  } else {
    Owned<GMimeMultipart> mixed(g_mime_multipart_new_with_subtype("mixed"));
    Owned<GMimeObject> text(text_part(mail.text));
    g_mime_multipart_add(mixed.get(), text.get());
    for (const auto& a : mail.attachments) {
      SOTTO_TRY_ASSIGN(auto part, attachment_part(a));
      g_mime_multipart_add(mixed.get(), GMIME_OBJECT(part.get()));
    }
    body.reset(GMIME_OBJECT(mixed.release()));
  }
  // RFC 9788 section 2.1: the entity that carries the protected headers says so.
  g_mime_object_set_content_type_parameter(body.get(), "protected-headers", "v1");
  g_mime_message_set_mime_part(message.get(), body.get());
  return to_crlf_string(m);
}

}  // namespace

Result<std::string> compose_inner(const ChatMail& mail) {
  return write_inner(mail, mail.date);
}

Result<std::string> compose_handshake_request(const ChatMail& mail, const openpgp::Cert& sender,
                                              uint32_t now) {
  const std::string* step = mail.chat_header("Secure-Join");
  if (step == nullptr || (*step != "vc-request" && *step != "vg-request") ||
      !mail.attachments.empty() || !mail.gossip.empty()) {
    return Error(Errc::invalid_argument,
                 "mail: only SecureJoin's first request goes unencrypted, and carries nothing");
  }
  SOTTO_TRY_ASSIGN(std::string entity, write_inner(mail, mail.date != 0 ? mail.date : now));
  AutocryptHeader own{mail.from_addr, true, sender.encode()};
  return "Autocrypt: " + autocrypt_value(own, false) + "\r\n" + entity;
}

namespace {

// The Autocrypt header of an entity when there is exactly one, it parses and it names `from`
// (Autocrypt Level 1, section 2.3).
std::optional<AutocryptHeader> senders_autocrypt(GMimeObject* m, const std::string& from) {
  auto values = raw_header_values(m, "Autocrypt");
  if (values.size() != 1) return std::nullopt;
  auto header = parse_autocrypt(values.front());
  if (!header.ok() || header->addr != from) return std::nullopt;
  return *std::move(header);
}

}  // namespace

Result<ChatMail> parse_inner(std::string_view entity) {
  SOTTO_TRY_ASSIGN(auto message, parse_message(entity));
  GMimeObject* m = GMIME_OBJECT(message.get());
  ChatMail mail;
  SOTTO_TRY_ASSIGN(Sender from, single_from(message.get()));
  mail.from_addr = std::move(from.addr);
  mail.from_name = std::move(from.name);
  collect_addresses(g_mime_message_get_addresses(message.get(), GMIME_ADDRESS_TYPE_TO), mail.to);
  collect_addresses(g_mime_message_get_addresses(message.get(), GMIME_ADDRESS_TYPE_CC), mail.to);
  const char* subject = g_mime_message_get_subject(message.get());
  mail.subject = subject != nullptr ? subject : "";
  const char* id = g_mime_message_get_message_id(message.get());
  if (id == nullptr || !check_message_id(id).ok()) return invalid("no Message-ID");
  mail.message_id = id;
  auto reply_to = message_ids(g_mime_object_get_header(m, "In-Reply-To"));
  if (!reply_to.empty()) mail.in_reply_to = reply_to.front();
  mail.references = message_ids(g_mime_object_get_header(m, "References"));
  if (GDateTime* date = g_mime_message_get_date(message.get()))
    mail.date = g_date_time_to_unix(date);

  GMimeHeaderList* headers = g_mime_object_get_header_list(m);
  int n = g_mime_header_list_get_count(headers);
  for (int i = 0; i < n; ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(headers, i);
    const char* name = g_mime_header_get_name(h);
    const char* value = g_mime_header_get_value(h);
    if (name == nullptr || !is_chat_header(name)) continue;
    if (mail.chat_headers.size() >= kMaxChatHeaders)
      return Error(Errc::length_limit, "mail: Chat- headers");
    mail.chat_headers.emplace_back(name, value != nullptr ? value : "");
  }
  mail.autocrypt = senders_autocrypt(m, mail.from_addr);
  for (const auto& value : raw_header_values(m, "Autocrypt-Gossip")) {
    auto gossip = parse_autocrypt(value);
    if (gossip.ok() && mail.gossip.size() < kMaxMimeParts)
      mail.gossip.push_back(*std::move(gossip));
  }

  GMimeObject* body = g_mime_message_get_mime_part(message.get());
  if (body == nullptr) return invalid("no body");
  BodyReader reader{mail};
  SOTTO_TRY(reader.read(body, 0));
  return mail;
}

namespace {

Result<OuterMail> outer_of(GMimeMessage* message) {
  GMimeObject* m = GMIME_OBJECT(message);
  OuterMail outer;
  SOTTO_TRY_ASSIGN(Sender from, single_from(message));
  outer.from_addr = std::move(from.addr);
  const char* id = g_mime_message_get_message_id(message);
  if (id != nullptr && check_message_id(id).ok()) outer.message_id = id;
  outer.chat = g_mime_object_get_header(m, "Chat-Version") != nullptr;
  GMimeObject* body = g_mime_message_get_mime_part(message);
  if (body != nullptr && GMIME_IS_MULTIPART(body) && type_of(body) == "multipart/encrypted") {
    const char* protocol = g_mime_object_get_content_type_parameter(body, "protocol");
    outer.encrypted = protocol != nullptr && ascii::iequals(protocol, "application/pgp-encrypted");
  }
  outer.autocrypt = senders_autocrypt(m, outer.from_addr);
  if (!outer.encrypted) {
    GMimeHeaderList* headers = g_mime_object_get_header_list(m);
    const int n = g_mime_header_list_get_count(headers);
    for (int i = 0; i < n && outer.secure_join.size() < kMaxChatHeaders; ++i) {
      GMimeHeader* h = g_mime_header_list_get_header_at(headers, i);
      const char* name = g_mime_header_get_name(h);
      const char* value = g_mime_header_get_value(h);
      if (name == nullptr || value == nullptr) continue;
      if (ascii::iequals(name, "Secure-Join") || ascii::iequals(name, "Secure-Join-Invitenumber")) {
        outer.secure_join.emplace_back(name, value);
      }
    }
  }
  return outer;
}

// The outer mail around an armored OpenPGP message (RFC 3156): From, the recipients (or
// hidden), Subject "[...]", Date, Message-ID; with `autocrypt`, Chat-Version and the sender's
// Autocrypt header too.
std::string wrap_encrypted(const ChatMail& mail, int64_t date, const std::string& armored,
                           bool hide_recipients, const AutocryptHeader* autocrypt) {
  Owned<GMimeMessage> message(g_mime_message_new(TRUE));
  GMimeObject* m = GMIME_OBJECT(message.get());
  g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_FROM, "", mail.from_addr.c_str());
  if (hide_recipients) {
    g_mime_object_set_header(m, "To", "hidden-recipients: ;", nullptr);
  } else {
    for (const auto& address : mail.to) {
      g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_TO, "", address.c_str());
    }
  }
  g_mime_message_set_subject(message.get(), "[...]", nullptr);
  set_date(message.get(), date);
  g_mime_message_set_message_id(message.get(), mail.message_id.c_str());
  if (autocrypt != nullptr) {
    g_mime_object_set_header(m, "Chat-Version", "1.0", nullptr);
    g_mime_object_set_header(m, "Autocrypt", autocrypt_value(*autocrypt, false).c_str(), nullptr);
  }
  // A post-message (a large file that follows its pre-message) says so outside too, as Delta
  // Chat's do: a receiver may leave it on the server until the file is wanted.
  if (mail.chat_header("Chat-Is-Post-Message") != nullptr) {
    g_mime_object_set_header(m, "Chat-Is-Post-Message", "1", nullptr);
  }

  Owned<GMimeMultipart> encrypted(g_mime_multipart_new_with_subtype("encrypted"));
  g_mime_object_set_content_type_parameter(GMIME_OBJECT(encrypted.get()), "protocol",
                                           "application/pgp-encrypted");
  // RFC 3156 section 4: the version part, then the armored message.
  auto version =
      leaf_part("application", "pgp-encrypted", "Version: 1\r\n", GMIME_CONTENT_ENCODING_7BIT);
  g_mime_object_set_header(GMIME_OBJECT(version.get()), "Content-Description",
                           "PGP/MIME version identification", nullptr);
  auto payload = leaf_part("application", "octet-stream", armored, GMIME_CONTENT_ENCODING_7BIT);
  g_mime_object_set_disposition(GMIME_OBJECT(payload.get()), "inline");
  g_mime_part_set_filename(payload.get(), "encrypted.asc");
  g_mime_object_set_header(GMIME_OBJECT(payload.get()), "Content-Description",
                           "OpenPGP encrypted message", nullptr);
  g_mime_multipart_add(encrypted.get(), GMIME_OBJECT(version.get()));
  g_mime_multipart_add(encrypted.get(), GMIME_OBJECT(payload.get()));
  g_mime_message_set_mime_part(message.get(), GMIME_OBJECT(encrypted.get()));
  return to_crlf_string(m);
}

// The OpenPGP message of a PGP/MIME mail (RFC 3156): exactly its two parts, of the right
// types, version 1, an armored PGP MESSAGE.
Result<Bytes> encrypted_payload(GMimeMessage* message) {
  auto* encrypted = GMIME_MULTIPART(g_mime_message_get_mime_part(message));
  if (g_mime_multipart_get_count(encrypted) != 2) {
    return invalid("multipart/encrypted needs exactly two parts");
  }
  GMimeObject* control = g_mime_multipart_get_part(encrypted, 0);
  GMimeObject* payload = g_mime_multipart_get_part(encrypted, 1);
  if (!GMIME_IS_PART(control) || type_of(control) != "application/pgp-encrypted" ||
      !GMIME_IS_PART(payload) || type_of(payload) != "application/octet-stream") {
    return invalid("multipart/encrypted parts of the wrong types");
  }
  Bytes version = decoded_content(GMIME_PART(control));
  std::string_view version_text(reinterpret_cast<const char*>(version.data()), version.size());
  if (version_text.find("Version: 1") == std::string_view::npos) {
    return invalid("not PGP/MIME version 1");
  }
  Bytes armored = decoded_content(GMIME_PART(payload));
  SOTTO_TRY_ASSIGN(openpgp::Armored block,
                   openpgp::dearmor(std::string_view(reinterpret_cast<const char*>(armored.data()),
                                                     armored.size())));
  if (block.label != "MESSAGE") return invalid("the encrypted part is not a PGP MESSAGE");
  return std::move(block.data);
}

// Reads the decrypted inner entity of an encrypted mail whose outer part is `opened.outer`.
Result<void> read_decrypted(openpgp::Decrypted decrypted, OpenedMail& opened) {
  SOTTO_TRY_ASSIGN(opened.mail, parse_inner(std::string_view(
                                    reinterpret_cast<const char*>(decrypted.plaintext.data()),
                                    decrypted.plaintext.size())));
  if (opened.mail.from_addr != opened.outer.from_addr) {
    return invalid("the protected From is not the mail's From");
  }
  opened.signature = decrypted.signature;
  opened.signer_fingerprint = std::move(decrypted.signer_fingerprint);
  opened.seipd_v2 = decrypted.seipd_v2;
  return success();
}

// An encrypted mail's outer part and its OpenPGP message. Errors: unsupported (not encrypted).
Result<std::pair<OuterMail, Bytes>> encrypted_mail(std::string_view raw) {
  SOTTO_TRY_ASSIGN(auto message, parse_message(raw));
  SOTTO_TRY_ASSIGN(OuterMail outer, outer_of(message.get()));
  if (!outer.encrypted) {
    return Error(Errc::unsupported, "mail: not encrypted (plaintext is not read)");
  }
  SOTTO_TRY_ASSIGN(Bytes data, encrypted_payload(message.get()));
  return std::make_pair(std::move(outer), std::move(data));
}

}  // namespace

std::vector<std::string> parse_address_list(std::string_view value) {
  init_gmime();
  std::vector<std::string> out;
  if (value.size() > kMaxAutocryptValue) return out;
  const std::string text(value);
  InternetAddressList* list = internet_address_list_parse(nullptr, text.c_str());
  collect_addresses(list, out);
  if (list != nullptr) g_object_unref(list);
  return out;
}

Result<OuterMail> read_outer(std::string_view raw) {
  SOTTO_TRY_ASSIGN(auto message, parse_message(raw));
  return outer_of(message.get());
}

Result<std::string> seal(const ChatMail& mail, const openpgp::SecretCert& sender,
                         const std::vector<openpgp::Cert>& recipients, const SealOptions& options) {
  int64_t date = mail.date != 0 ? mail.date : options.now;
  SOTTO_TRY_ASSIGN(std::string inner, write_inner(mail, date));

  std::vector<openpgp::Cert> to = recipients;
  to.push_back(sender.cert);  // encrypted to self: the other devices of this account read it
  openpgp::EncryptOptions encrypt_options;
  encrypt_options.now = options.now;
  encrypt_options.anonymous_recipients = options.hide_recipients;
  SOTTO_TRY_ASSIGN(
      Bytes sealed,
      openpgp::encrypt(BytesView(reinterpret_cast<const uint8_t*>(inner.data()), inner.size()),
                       &sender, to, encrypt_options));
  AutocryptHeader own{mail.from_addr, true, sender.cert.encode()};
  return wrap_encrypted(mail, date, openpgp::armor("MESSAGE", sealed), options.hide_recipients,
                        &own);
}

Result<OpenedMail> open(std::string_view raw, const std::vector<openpgp::SecretCert>& own_keys,
                        const std::vector<openpgp::Cert>& known_keys, uint32_t now) {
  SOTTO_TRY_ASSIGN(auto mail, encrypted_mail(raw));
  OpenedMail opened;
  opened.outer = std::move(mail.first);
  SOTTO_TRY_ASSIGN(openpgp::Decrypted decrypted,
                   openpgp::decrypt(mail.second, own_keys, known_keys, now));
  SOTTO_TRY(read_decrypted(std::move(decrypted), opened));
  return opened;
}

Result<std::string> seal_with_password(const ChatMail& mail, const openpgp::SecretCert* sender,
                                       BytesView password, uint32_t now) {
  const std::string* step = mail.chat_header("Secure-Join");
  if (step == nullptr || !mail.attachments.empty() || !mail.gossip.empty() ||
      (sender == nullptr && mail.autocrypt)) {
    return Error(Errc::invalid_argument,
                 "mail: only SecureJoin's steps go encrypted under a password, without files, "
                 "gossip, or a key of an unsigned sender");
  }
  const int64_t date = mail.date != 0 ? mail.date : now;
  SOTTO_TRY_ASSIGN(std::string inner, write_inner(mail, date));
  openpgp::EncryptOptions options;
  options.now = now;  // never compressed: no length side channel on the secrets inside
  auto sealed = openpgp::encrypt_with_password(
      BytesView(reinterpret_cast<const uint8_t*>(inner.data()), inner.size()), sender, password,
      options);
  secure_wipe(inner.data(), inner.size());
  if (!sealed.ok()) return std::move(sealed).error();
  return wrap_encrypted(mail, date, openpgp::armor("MESSAGE", *sealed), true, nullptr);
}

bool password_encrypted(std::string_view raw) {
  auto mail = encrypted_mail(raw);
  if (!mail.ok()) return false;
  auto packets = openpgp::parse_packets(mail->second);
  return packets.ok() && !packets->empty() && packets->front().tag == openpgp::PacketTag::skesk;
}

Result<OpenedMail> open_with_password(std::string_view raw, BytesView password,
                                      const std::vector<openpgp::Cert>& known_keys, uint32_t now) {
  SOTTO_TRY_ASSIGN(auto mail, encrypted_mail(raw));
  OpenedMail opened;
  opened.outer = std::move(mail.first);
  // SecureJoin's secret is long and random: Delta Chat's salted S2K hashes it once. A mail
  // from anyone must not make this hash megabytes (an iterated S2K may ask 62 MiB).
  openpgp::Limits limits;
  limits.max_s2k_bytes = size_t{1} << 20;
  SOTTO_TRY_ASSIGN(openpgp::Decrypted decrypted,
                   openpgp::decrypt_with_password(mail.second, password, known_keys, now, limits));
  SOTTO_TRY(read_decrypted(std::move(decrypted), opened));
  return opened;
}

}  // namespace sotto::mail
