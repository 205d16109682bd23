// Chat messages as mails, in the format Delta Chat sends (chatmail/core spec.md): a MIME
// entity that carries the real headers inside (RFC 9788 header protection: From, To, Subject,
// Date, Message-ID, threading, Chat-* headers, Autocrypt-Gossip), the text and attachments;
// signed and encrypted as OpenPGP/MIME (RFC 3156) to every recipient and to oneself, in an
// outer mail whose headers say only what delivery needs (Subject "[...]", the recipients
// hidden). MIME is GMime 3's; OpenPGP is lib/openpgp's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/mail/autocrypt.h"
#include "sotto/openpgp/cert.h"
#include "sotto/openpgp/message.h"

namespace sotto::mail {

// The most of a mail this reads or writes (Delta Chat splits larger files into a pre- and a
// post-message), and the most parts and nesting of multiparts inside one.
inline constexpr size_t kMaxMailSize = size_t{64} << 20;
inline constexpr size_t kMaxMimeParts = 64;
inline constexpr int kMaxMimeDepth = 8;
inline constexpr size_t kMaxChatHeaders = 64;

struct MailAttachment {
  std::string filename;
  std::string content_type = "application/octet-stream";  // "type/subtype"
  Bytes data;
};

struct ChatMail {
  std::string from_addr;  // lower case
  std::string from_name;
  std::vector<std::string> to;  // addresses, lower case
  std::string subject;
  std::string message_id;  // without angle brackets
  std::string in_reply_to;
  std::vector<std::string> references;
  int64_t date = 0;  // seconds since 1970
  // "Chat-Version", "Chat-Group-ID", "Chat-Group-Name", "Chat-Group-Member-Added", ... and
  // SecureJoin's "Secure-Join", "Secure-Join-Auth", ... in order; names as written, values
  // unfolded.
  std::vector<std::pair<std::string, std::string>> chat_headers;
  std::string text;
  std::vector<MailAttachment> attachments;
  std::vector<AutocryptHeader> gossip;  // Autocrypt-Gossip, one per other member
  // The sender's own Autocrypt header inside the encryption, as Delta Chat puts it there (it
  // leaves none outside): read when there is exactly one that parses and names from_addr;
  // written inside when set (seal puts the sender's outside as well).
  std::optional<AutocryptHeader> autocrypt;
  // A read receipt (RFC 8098, as Delta Chat sends them): the Message-IDs its sender reports
  // as displayed. Such a mail is a multipart/report of the text and a
  // message/disposition-notification part, and carries no attachments.
  std::vector<std::string> read_receipt_for;

  // The value of a Chat-* or Secure-Join* header (names compared without case), or nullptr.
  const std::string* chat_header(std::string_view name) const;
};

// Delta Chat's split of a large file: a mail whose first attachment is over
// kPreMessageFileSize bytes goes as a pre-message with the text, which names the
// post-message (Chat-Post-Message-ID) and says what file follows
// (Chat-Post-Message-Metadata: its size, "File" and its name, as JSON), and then the
// post-message with the file and no text (Chat-Is-Post-Message, which seal also writes
// outside, so that a receiver may leave the large mail on the server for later). The text
// shows at once; the message is known by the post-message's id, mail.message_id.
inline constexpr size_t kPreMessageFileSize = 140'000;
bool needs_pre_message(const ChatMail& mail);
struct SplitMail {
  ChatMail pre;
  ChatMail post;
};
// Requires needs_pre_message(mail); the pre-message gets the id `pre_message_id`.
SplitMail split_for_pre_message(ChatMail mail, std::string pre_message_id);

// The inner entity: the protected headers, then the text as text/plain, a multipart/mixed
// of the text and the attachments, or a read receipt's multipart/report. CRLF line ends; no
// line over 998 characters. Errors: invalid_argument (an address that check_address refuses,
// a header value with a line break, a Chat-* name that is not one, a receipt with
// attachments), length_limit (over kMaxMailSize).
Result<std::string> compose_inner(const ChatMail& mail);

// Reads an inner entity (decrypted bytes: untrusted). The text is the first text/plain part
// that is not an attachment; a message/disposition-notification part whose disposition is
// "displayed" fills read_receipt_for; every other leaf part is an attachment. Autocrypt-Gossip
// headers that do not parse are skipped, as the specification asks. Errors: length_limit (size,
// parts, depth), invalid_value (no single From mailbox, no Message-ID, nested messages).
Result<ChatMail> parse_inner(std::string_view entity);

// What a mail says outside its encryption, readable without keys.
struct OuterMail {
  std::string from_addr;  // lower case
  std::string message_id;
  bool chat = false;       // carries Chat-Version
  bool encrypted = false;  // multipart/encrypted; protocol="application/pgp-encrypted"
  // The Autocrypt header, when there is exactly one that parses and names the From address
  // (Autocrypt Level 1, section 2.3); else empty.
  std::optional<AutocryptHeader> autocrypt;
  // Of a mail that is not encrypted: its Secure-Join and Secure-Join-Invitenumber headers
  // (SecureJoin's first request is the one mail sent in the clear).
  std::vector<std::pair<std::string, std::string>> secure_join;
  const std::string* secure_join_header(std::string_view name) const;
};

Result<OuterMail> read_outer(std::string_view raw);

// The addresses of an address-list header value (Chat-Group-Past-Members), lower case, in
// order; what does not parse is left out.
std::vector<std::string> parse_address_list(std::string_view value);

// SecureJoin's first request (Secure-Join: vc-request or vg-request), the one mail that goes
// unencrypted because the joiner has no key of the inviter's yet: the entity compose_inner
// writes, as a mail of its own with the sender's Autocrypt header. It carries only the
// handshake's headers and text. Errors: invalid_argument for any other mail, compose_inner's.
Result<std::string> compose_handshake_request(const ChatMail& mail, const openpgp::Cert& sender,
                                              uint32_t now);

struct SealOptions {
  uint32_t now = 0;  // signature time and Date when the mail's own date is 0
  // The outer "From" and "Autocrypt" (the sender's key, prefer-encrypt=mutual) are always
  // written; the outer "To" is "hidden-recipients: ;" unless this is false.
  bool hide_recipients = true;
};

// A mail ready for SMTP: the inner entity signed by `sender` and encrypted to `recipients`
// and to `sender` (SEIPD v2 when every key advertises it, else v1; see openpgp::encrypt),
// armored in multipart/encrypted. `sender` must be the key of mail.from_addr. CRLF line ends.
Result<std::string> seal(const ChatMail& mail, const openpgp::SecretCert& sender,
                         const std::vector<openpgp::Cert>& recipients, const SealOptions& options);

struct OpenedMail {
  ChatMail mail;
  OuterMail outer;
  openpgp::SignatureStatus signature = openpgp::SignatureStatus::unsigned_message;
  Bytes signer_fingerprint;  // with a valid or invalid signature
  bool seipd_v2 = false;
};

// Decrypts an encrypted mail with `own_keys`, checks its signature against `known_keys`, and
// reads the inner entity. The protected From must be the outer From (else invalid_value:
// a relay or another sender must not put words in someone's mouth). Whether an unsigned or
// unknown-signer mail is acceptable is the caller's to decide from `signature`. Errors:
// unsupported (not encrypted: plaintext is not read here), openpgp::decrypt's, parse_inner's.
Result<OpenedMail> open(std::string_view raw, const std::vector<openpgp::SecretCert>& own_keys,
                        const std::vector<openpgp::Cert>& known_keys, uint32_t now);

// SecureJoin v3's steps, as Delta Chat sends them: the inner entity encrypted under
// `password` alone (openpgp::encrypt_with_password; Delta Chat's shared secret is
// "securejoin/<inviter's fingerprint>/<AUTH>"), signed by `sender` unless it is null, never
// compressed; outside only From, hidden recipients, Subject "[...]", Date and Message-ID. An
// unsigned step (vc-request-pubkey) carries no key of the sender's; a signed one may carry
// it inside (mail.autocrypt). Errors: invalid_argument (not a Secure-Join step, files, gossip,
// a key without a signature), compose_inner's.
Result<std::string> seal_with_password(const ChatMail& mail, const openpgp::SecretCert* sender,
                                       BytesView password, uint32_t now);

// Whether a mail is PGP/MIME whose message is encrypted under a password (it starts with a
// symmetric-key encrypted session key) rather than to keys.
bool password_encrypted(std::string_view raw);

// Opens a mail sealed with seal_with_password (or by Delta Chat) as open() does, with the
// password instead of keys; its S2Ks may hash 1 MiB at most (a link's secret needs no
// stretching). Errors: openpgp::decrypt_with_password's, and open()'s.
Result<OpenedMail> open_with_password(std::string_view raw, BytesView password,
                                      const std::vector<openpgp::Cert>& known_keys, uint32_t now);

}  // namespace sotto::mail
