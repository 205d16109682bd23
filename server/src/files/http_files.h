// The file API over HTTPS: POST /v1/files (upload), GET/HEAD /v1/files/<id> (download, with
// one byte range), DELETE /v1/files/<id> (the owner only). Every request carries
// "Authorization: Bearer <base64url session token>" or, from the web client's page, the
// session cookie instead (web_session.h). Errors are JSON:
// {"error": "<errc name>", "message": "..."}.
//
// The HTTP session reads an upload's body with its own parser (no request-body limit but the
// file limit) and feeds it chunk by chunk to a PendingUpload; this file holds the decisions
// around that: who may upload, what to answer.
#pragma once

#include <boost/optional.hpp>
#include <cstdint>
#include <optional>
#include <utility>
#include <variant>

#include "beast.h"
#include "files/blob_storage.h"
#include "server_state.h"
#include "sotto/store/store.h"

namespace sotto::server::files {

inline constexpr std::string_view kFilesPath = "/v1/files";

uint64_t now_ms();

// DATA_DIR/files.
BlobDirectory blob_directory(const ServerState& state);

// The HTTP status for an error code, and the JSON error response.
http::status http_status(Errc code);
http::response<http::string_body> error_response(const Error& error, unsigned version);

// A JSON 405 naming the methods the resource allows.
http::response<http::string_body> method_not_allowed(unsigned version, const char* allow);

// The session token of "Authorization: Bearer <base64url token>" (Errc::unauthenticated when
// the header is missing or malformed).
Result<Bytes> bearer_token(const http::fields& fields);
// The session a token names (Errc::unauthenticated when unknown or expired).
Result<store::Session> session_of(ServerState& state, BytesView token, uint64_t now);

// The caller of a file API request: the session of its Authorization header or, when it has
// none, of the session cookie, taken only from this server's own page (check_cookie_request;
// Errc::forbidden otherwise). Errc::unauthenticated when neither names a live session.
Result<store::Session> authenticate(ServerState& state, const http::request_header<>& request,
                                    uint64_t now);

// Whether the path belongs to the file API (/v1/files and below).
bool is_file_path(beast::string_view path);
// Whether the request is an upload, read with its own parser.
bool is_upload(const http::request_header<>& header);

// Streams one byte range of an open file: the response body of a download. (Beast's
// file_body always sends a whole file.)
struct BlobBody {
  struct value_type {
    beast::file file;
    uint64_t offset = 0;
    uint64_t length = 0;
  };

  static uint64_t size(const value_type& body) { return body.length; }

  class writer {
   public:
    using const_buffers_type = asio::const_buffer;

    template <bool isRequest, class Fields>
    writer(http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(beast::error_code& ec) {
      remain_ = body_.length;
      body_.file.seek(body_.offset, ec);
    }

    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      ec = {};
      if (remain_ == 0) return boost::none;
      size_t amount = remain_ < sizeof(buffer_) ? static_cast<size_t>(remain_) : sizeof(buffer_);
      size_t n = body_.file.read(buffer_, amount, ec);
      if (ec) return boost::none;
      if (n == 0) {
        // The blob is shorter than its record says: end the response rather than hang.
        ec = http::error::short_read;
        return boost::none;
      }
      remain_ -= n;
      return std::make_pair(const_buffers_type(buffer_, n), remain_ > 0);
    }

   private:
    value_type& body_;
    uint64_t remain_ = 0;
    char buffer_[64 * 1024];
  };
};

using FileResponse = std::variant<http::response<http::string_body>,
                                  http::response<http::empty_body>, http::response<BlobBody>>;

// Every request on the file API that is not an upload: GET/HEAD/DELETE /v1/files/<id>, and
// 405 for other methods.
FileResponse handle_file_request(ServerState& state, const http::request_header<>& request);

// An upload whose headers were accepted: its caller and the temporary its body goes to.
struct Upload {
  store::Session caller;
  PendingUpload file;
};

// Checks an upload's headers (authentication, declared length, quota) before its body is
// read. The error is answered with error_response() and the connection closed.
Result<Upload> begin_upload(ServerState& state, const http::request_header<>& header,
                            std::optional<uint64_t> content_length);

// Records a completely received upload: 201 with {"id", "size", "expires_at"}, or an error
// (quota) with nothing kept.
http::response<http::string_body> finish_upload(ServerState& state, Upload& upload,
                                                unsigned version);

}  // namespace sotto::server::files
