#include "files/http_files.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "files/range.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sotto/proto/protocol.h"
#include "web_session.h"

namespace sotto::server::files {
namespace {

constexpr std::string_view kFilePrefix = "/v1/files/";

http::response<http::string_body> json_response(http::status status, unsigned version,
                                                const nlohmann::json& body) {
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, kServerHeader);
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = body.dump();
  res.body() += '\n';
  res.prepare_payload();
  return res;
}

// Headers every download carries: the content is an opaque encrypted blob, never to be
// interpreted by a browser, and immutable under its id.
template <class Body>
void set_download_headers(http::response<Body>& res) {
  res.set(http::field::server, kServerHeader);
  res.set(http::field::content_type, "application/octet-stream");
  res.set(http::field::cache_control, "private, no-store");
  res.set(http::field::accept_ranges, "bytes");
  res.set("X-Content-Type-Options", "nosniff");
  res.set(http::field::content_disposition, "attachment");
}

// The file id of "/v1/files/<base64url id>"; Errc::not_found for anything else, so that a
// malformed id and an unknown one look the same.
Result<Bytes> file_id_from_path(beast::string_view path) {
  if (path.substr(0, kFilePrefix.size()) != kFilePrefix) {
    return Error(Errc::not_found, "no such file");
  }
  auto id = from_base64url(path.substr(kFilePrefix.size()));
  if (!id || id->size() != proto::kIdSize) return Error(Errc::not_found, "no such file");
  return std::move(id).value();
}

Result<Bytes> decode_token(beast::string_view encoded) {
  auto token = from_base64url(encoded);
  if (!token || token->size() != proto::kSessionTokenSize) {
    return Error(Errc::unauthenticated, "the session token is malformed");
  }
  return std::move(token).value();
}

// The file's record, if it exists and has not expired (the sweep may not have run yet).
Result<store::FileRecord> live_file(ServerState& state, BytesView id, uint64_t now) {
  auto record = state.store().file(id);
  if (!record) {
    if (record.error().code() == Errc::not_found) return Error(Errc::not_found, "no such file");
    return Error(Errc::unavailable, "the file store failed");
  }
  if (record->expires_at <= now) return Error(Errc::not_found, "no such file");
  return record;
}

FileResponse download(ServerState& state, const http::request_header<>& req, BytesView id,
                      uint64_t now) {
  unsigned version = req.version();
  auto record = live_file(state, id, now);
  if (!record) return error_response(record.error(), version);
  BlobBody::value_type body;
  beast::error_code ec;
  body.file.open(blob_directory(state).blob_path(id).c_str(), beast::file_mode::scan, ec);
  if (ec) {
    // Deleted between the lookup and here (an owner's DELETE, the sweep).
    return error_response(Error(Errc::not_found, "no such file"), version);
  }
  uint64_t size = body.file.size(ec);
  if (ec) return error_response(Error(Errc::internal, "cannot read the file"), version);

  auto range = parse_range(req[http::field::range], size);
  if (range.kind == RangeRequest::Kind::unsatisfiable) {
    auto res = error_response(
        Error(Errc::invalid_argument, "the requested range is outside the file"), version);
    res.result(http::status::range_not_satisfiable);
    res.set(http::field::content_range, unsatisfied_content_range(size));
    return res;
  }
  bool partial = range.kind == RangeRequest::Kind::partial;
  ByteRange span = partial ? range.range : ByteRange{0, size == 0 ? 0 : size - 1};
  uint64_t length = partial ? span.length() : size;
  auto status = partial ? http::status::partial_content : http::status::ok;

  if (req.method() == http::verb::head) {
    http::response<http::empty_body> res{status, version};
    set_download_headers(res);
    if (partial) res.set(http::field::content_range, content_range(span, size));
    res.content_length(length);
    return res;
  }
  body.offset = span.first;
  body.length = length;
  http::response<BlobBody> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                               std::make_tuple(status, version)};
  set_download_headers(res);
  if (partial) res.set(http::field::content_range, content_range(span, size));
  res.content_length(length);
  return res;
}

FileResponse remove(ServerState& state, const store::Session& caller, unsigned version,
                    BytesView id, uint64_t now) {
  auto record = live_file(state, id, now);
  if (!record) return error_response(record.error(), version);
  if (record->owner != caller.account_id) {
    return error_response(Error(Errc::forbidden, "only the uploader may delete a file"), version);
  }
  if (auto deleted = state.store().delete_file(id); !deleted) {
    return error_response(Error(Errc::unavailable, "the file store failed"), version);
  }
  if (auto removed = blob_directory(state).remove(id); !removed) {
    // The record is gone, so the blob can no longer be fetched; the start-up sweep of
    // unrecorded blobs deletes it later.
    spdlog::warn("files: {}", removed.error().message());
  }
  http::response<http::empty_body> res{http::status::no_content, version};
  res.set(http::field::server, kServerHeader);
  return res;
}

}  // namespace

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

BlobDirectory blob_directory(const ServerState& state) {
  return BlobDirectory(state.config().data_dir / "files");
}

http::status http_status(Errc code) {
  switch (code) {
    case Errc::unauthenticated:
    case Errc::expired:
      return http::status::unauthorized;
    case Errc::forbidden:
      return http::status::forbidden;
    case Errc::not_found:
      return http::status::not_found;
    case Errc::too_large:
      return http::status::payload_too_large;
    case Errc::quota_exceeded:
      return http::status::insufficient_storage;
    case Errc::rate_limited:
      return http::status::too_many_requests;
    case Errc::unavailable:
      return http::status::service_unavailable;
    case Errc::conflict:
    case Errc::already_exists:
      return http::status::conflict;
    case Errc::internal:
      return http::status::internal_server_error;
    default:
      return http::status::bad_request;
  }
}

http::response<http::string_body> error_response(const Error& error, unsigned version) {
  nlohmann::json body = {{"error", std::string(errc_name(error.code()))},
                         {"message", error.message()}};
  auto res = json_response(http_status(error.code()), version, body);
  if (error.code() == Errc::unauthenticated || error.code() == Errc::expired) {
    res.set(http::field::www_authenticate, "Bearer");
  }
  return res;
}

http::response<http::string_body> method_not_allowed(unsigned version, const char* allow) {
  auto res = error_response(
      Error(Errc::invalid_argument, std::string("this resource allows ") + allow), version);
  res.result(http::status::method_not_allowed);
  res.set(http::field::allow, allow);
  return res;
}

Result<Bytes> bearer_token(const http::fields& fields) {
  beast::string_view header = fields[http::field::authorization];
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) {
    return Error(Errc::unauthenticated, "send \"Authorization: Bearer <session token>\"");
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = header[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) {
      return Error(Errc::unauthenticated, "send \"Authorization: Bearer <session token>\"");
    }
  }
  beast::string_view encoded = header.substr(kScheme.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  return decode_token(encoded);
}

Result<store::Session> session_of(ServerState& state, BytesView token, uint64_t now) {
  auto session = state.store().session(crypto::sha256(token));
  if (!session) {
    if (session.error().code() == Errc::not_found) {
      return Error(Errc::unauthenticated, "the session is not valid; log in again");
    }
    return Error(Errc::unavailable, "the session store failed");
  }
  if (session->expires_at <= now) {
    return Error(Errc::unauthenticated, "the session has expired; log in again");
  }
  return session;
}

Result<store::Session> authenticate(ServerState& state, const http::request_header<>& req,
                                    uint64_t now) {
  if (req.find(http::field::authorization) != req.end()) {
    SOTTO_TRY_ASSIGN(auto token, bearer_token(req));
    return session_of(state, token, now);
  }
  auto cookie = session_cookie(req);
  if (!cookie) {
    return Error(Errc::unauthenticated, "send \"Authorization: Bearer <session token>\"");
  }
  SOTTO_TRY(check_cookie_request(req));
  SOTTO_TRY_ASSIGN(auto token, decode_token(*cookie));
  return session_of(state, token, now);
}

bool is_file_path(beast::string_view path) {
  return path == kFilesPath || path.substr(0, kFilePrefix.size()) == kFilePrefix;
}

bool is_upload(const http::request_header<>& header) {
  beast::string_view target = header.target();
  return header.method() == http::verb::post && target.substr(0, target.find('?')) == kFilesPath;
}

FileResponse handle_file_request(ServerState& state, const http::request_header<>& req) {
  beast::string_view target = req.target();
  beast::string_view path = target.substr(0, target.find('?'));
  unsigned version = req.version();
  if (path == kFilesPath) return method_not_allowed(version, "POST");
  auto method = req.method();
  if (method != http::verb::get && method != http::verb::head && method != http::verb::delete_) {
    return method_not_allowed(version, "GET, HEAD, DELETE");
  }
  if (!state.has_store()) {
    return error_response(Error(Errc::unavailable, "the server has no storage"), version);
  }
  uint64_t now = now_ms();
  auto caller = authenticate(state, req, now);
  if (!caller) return error_response(caller.error(), version);
  // Any authenticated account may fetch: the id is 128 random bits that only the members of
  // the conversation it was sent to learn, and the content is encrypted under a key that
  // travels beside the id inside the MLS message.
  auto id = file_id_from_path(path);
  if (!id) return error_response(id.error(), version);
  if (method == http::verb::delete_) return remove(state, *caller, version, *id, now);
  return download(state, req, *id, now);
}

Result<Upload> begin_upload(ServerState& state, const http::request_header<>& header,
                            std::optional<uint64_t> content_length) {
  if (!state.has_store()) return Error(Errc::unavailable, "the server has no storage");
  uint64_t now = now_ms();
  SOTTO_TRY_ASSIGN(auto caller, authenticate(state, header, now));
  if (!state.rate_limiter().allow(
          "uploads", std::string(caller.account_id.begin(), caller.account_id.end()))) {
    return Error(Errc::rate_limited, "too many uploads; try again in a minute");
  }
  const auto& settings = state.config().files;
  SOTTO_TRY(check_upload_header(content_length, settings.max_file_bytes));
  if (content_length) {
    // Refuse before receiving the body when the declared length cannot fit; put_file checks
    // again, atomically, once the body is in.
    auto owned = state.store().files(caller.account_id);
    if (!owned) return Error(Errc::unavailable, "the file store failed");
    uint64_t used = 0;
    for (const auto& f : *owned) used += f.size;
    if (used + *content_length > settings.quota_bytes) {
      return Error(Errc::quota_exceeded, "the account's files would exceed its quota of " +
                                             std::to_string(settings.quota_bytes) +
                                             " bytes; delete some first");
    }
  }
  SOTTO_TRY_ASSIGN(auto file, PendingUpload::open(blob_directory(state), settings.max_file_bytes));
  return Upload{std::move(caller), std::move(file)};
}

http::response<http::string_body> finish_upload(ServerState& state, Upload& upload,
                                                unsigned version) {
  const auto& settings = state.config().files;
  uint64_t now = now_ms();
  store::FileRecord record;
  record.id = crypto::random_bytes(proto::kIdSize);
  record.owner = upload.caller.account_id;
  record.created_at = now;
  record.expires_at = now + static_cast<uint64_t>(settings.ttl.count()) * 1000;
  auto stored = complete_upload(upload.file, blob_directory(state), std::move(record),
                                [&](const store::FileRecord& r) -> Result<void> {
                                  auto put = state.store().put_file(r, settings.quota_bytes);
                                  if (!put && put.error().code() == Errc::quota_exceeded) {
                                    return Error(Errc::quota_exceeded,
                                                 "the account's files would exceed its quota "
                                                 "of " +
                                                     std::to_string(settings.quota_bytes) +
                                                     " bytes; delete some first");
                                  }
                                  return put;
                                });
  if (!stored) {
    if (stored.error().code() == Errc::internal) {
      spdlog::error("files: upload failed: {}", stored.error().message());
    }
    return error_response(stored.error(), version);
  }
  spdlog::debug("files: stored an upload of {} bytes", stored->size);
  std::string id = to_base64url(stored->id);
  nlohmann::json body = {{"id", id}, {"size", stored->size}, {"expires_at", stored->expires_at}};
  auto res = json_response(http::status::created, version, body);
  res.set(http::field::location, std::string(kFilePrefix) + id);
  return res;
}

}  // namespace sotto::server::files
