// SecureJoin invite links of e-mail mode, in Delta Chat's form (its URI schemes):
//   https://i.delta.chat/#FINGERPRINT&a=ADDRESS&n=NAME&i=INVITENUMBER&s=AUTH[&v=3]
//       [&x=GROUP_ID&g=GROUP_NAME]
// and the older OPENPGP4FPR:FINGERPRINT#a=...&n=...&i=...&s=... that its QR codes carried.
// FINGERPRINT is the inviter's OpenPGP v4 fingerprint (40 hex digits); the values are
// percent-encoded. Whoever has the link can verify the inviter's key: AUTH is the secret that
// proves to the inviter that the joiner saw the link (docs/mail.md, "SecureJoin").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::client {

struct MailInvite {
  Bytes fingerprint;  // 20 bytes
  std::string address;
  std::string name;
  std::string invite_number;
  std::string auth;
  // The SecureJoin version the link offers ("v="): 3 lets the joiner's first step go
  // encrypted under the link's secret (vc-request-pubkey) instead of in the clear.
  uint32_t version = 0;
  // A group's invite (Delta Chat's "x=" and "g="): the joiner is added to this group (its
  // Chat-Group-ID) once the inviter has checked the link's secret. Empty: an invite to a
  // contact.
  std::string group_id;
  std::string group_name;
};

// A fingerprint as Delta Chat writes it, in links and in Secure-Join-Fingerprint: upper-case
// hex digits.
std::string format_fingerprint(BytesView fingerprint);

// The https://i.delta.chat/ form, every value percent-encoded.
std::string format_mail_invite(const MailInvite& invite);

// Either form, parameters in any order, unknown ones skipped. Errors: invalid_argument (not an
// invite link, a fingerprint that is not 40 hex digits, a missing address, invite number or
// auth, a bad percent escape, a group id of other than letters, digits, '-' and '_' or over
// 64 of them), unsupported (a channel invite: b=).
Result<MailInvite> parse_mail_invite(std::string_view link);

}  // namespace sotto::client
