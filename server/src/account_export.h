// Users' rights over what the server holds: access (export everything about an account as
// JSON) and erasure (delete the account and all its data at once). docs/privacy.md lists the
// fields; the export carries every stored field of the account except secrets kept only in
// hashed form (password, session tokens, one-time codes), whose presence it reports.
#pragma once

#include <cstdint>
#include <string>

#include "services/service.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::server {

// The export format's name, the first field of every export.
inline constexpr std::string_view kExportFormat = "sotto.account-export.v1";

// Everything the server holds about the account, as one JSON document (UTF-8). Binary values
// are base64url (identifiers, keys) or hex (key-directory values); times are milliseconds
// since the Unix epoch. Errc::not_found for an unknown account.
Result<std::string> export_account_json(ServerState& state, BytesView account_id);

// Erases the account: its key-directory label is tombstoned (an empty value is published, so
// that clients see the account gone), then every row that belongs to it is deleted in one
// transaction, its file blobs are deleted and its devices' open connections end with
// SessionEndedEvent{not_found}. The tombstone comes first so that a failure leaves an
// account its owner can erase again, never erased data that the directory still vouches for.
Result<void> erase_account(ServerState& state, BytesView account_id);

// export_account -> AccountExportResponse. Authenticated callers only.
void handle_export_account(ServerState& state, const Caller& caller, proto::ExportAccount request,
                           Reply reply);
// delete_account -> EmptyResponse once erased. The password must verify (Argon2id, on the
// state's slow pool, never on an io thread); Errc::unauthenticated when it does not.
void handle_delete_account(ServerState& state, const Caller& caller, proto::DeleteAccount request,
                           Reply reply);

}  // namespace sotto::server
