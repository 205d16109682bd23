#include "sotto/client/file_client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "local_file.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/attachment.h"
#include "sotto/crypto/primitives.h"
#include "tls_client.h"

namespace sotto::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

using local::Fd;
using local::io_error;
using local::path_error;
using local::read_some;
using local::TempFile;

namespace {

constexpr size_t kReadPiece = 1024 * 1024;  // file bytes read (and encrypted) at a time
constexpr std::string_view kFilesPath = "/v1/files";

// The server's refusal as an error: its status says which (the JSON body's message is for
// people and may be shown as it is).
Error http_error(http::status status, const std::string& body, const std::string& what) {
  Errc code = Errc::internal;
  std::string why;
  switch (status) {
    case http::status::unauthorized:
      code = Errc::unauthenticated;
      why = "the server did not accept this device's session";
      break;
    case http::status::forbidden:
      code = Errc::forbidden;
      why = "not allowed";
      break;
    case http::status::not_found:
      code = Errc::not_found;
      why = "the server does not have the file (expired, deleted or never uploaded)";
      break;
    case http::status::payload_too_large:
      code = Errc::too_large;
      why = "the file is over the server's limit";
      break;
    case http::status::insufficient_storage:
      code = Errc::quota_exceeded;
      why = "the account's file quota is full";
      break;
    case http::status::too_many_requests:
      code = Errc::rate_limited;
      why = "too many requests: wait a minute and retry";
      break;
    default:
      code = static_cast<unsigned>(status) >= 500 ? Errc::unavailable : Errc::internal;
      why = "the server answered " + std::to_string(static_cast<unsigned>(status));
  }
  std::string detail = body.size() <= 512 ? body : body.substr(0, 512);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
  return Error(code, what + ": " + why + (detail.empty() ? "" : " (" + detail + ")"));
}

Result<void> open_for_upload(const fs::path& path, Fd& fd) {
  fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() >= 0) return success();
  if (errno == ENOENT || errno == ENOTDIR)
    return Error(Errc::not_found, "no file at " + path.string());
  return path_error("cannot open " + path.string());
}

// The size of the open file, when it is a regular file whose ciphertext the server takes.
Result<uint64_t> uploadable_size(const Fd& fd, const fs::path& path) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error("cannot read " + path.string());
  if (!S_ISREG(st.st_mode)) {
    return Error(Errc::invalid_argument, path.string() + " is not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const auto sealed_size = crypto::attachment_ciphertext_size(size);
  if (!sealed_size || size > kMaxFileBytes || *sealed_size > kMaxFileBytes) {
    return Error(Errc::too_large, path.string() + " is " + std::to_string(size) +
                                      " bytes: encrypted, that is over the server's limit of " +
                                      std::to_string(kMaxFileBytes / (1024 * 1024)) + " MiB");
  }
  return size;
}

std::string file_target(BytesView file_id) {
  return std::string(kFilesPath) + "/" + to_base64url(file_id);
}

}  // namespace

// One HTTPS connection, driven step by step on its own io_context, each step bounded.
class FileClient::Connection {
 public:
  Connection(const TlsEndpoint& endpoint, std::chrono::seconds timeout)
      : endpoint_(endpoint), timeout_(timeout), tls_(ssl::context::tls_client) {
    configure_tls_client(tls_, endpoint_);
    stream_.emplace(ioc_, tls_);
  }
  ~Connection() {
    beast::error_code ignored;
    beast::get_lowest_layer(*stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*stream_).close();
  }

  Result<void> open() {
    tcp::resolver resolver(ioc_);
    tcp::resolver::results_type results;
    auto ec = run([&](auto done) {
      resolver.async_resolve(endpoint_.host, std::to_string(endpoint_.port),
                             [&, done](beast::error_code e, tcp::resolver::results_type r) {
                               results = std::move(r);
                               done(e);
                             });
    });
    if (ec) return unreachable("resolving " + endpoint_.host, ec);
    ec = run([&](auto done) {
      beast::get_lowest_layer(*stream_).async_connect(
          results, [done](beast::error_code e, const tcp::endpoint&) { done(e); });
    });
    if (ec) return unreachable("connecting", ec);
    if (!set_server_name(stream_->native_handle(), endpoint_)) {
      return Error(Errc::unavailable, "TLS: the server name was refused");
    }
    ec = run([&](auto done) {
      stream_->async_handshake(ssl::stream_base::client, [done](beast::error_code e) { done(e); });
    });
    if (ec) return unreachable("TLS handshake (is the certificate the pinned one?)", ec);
    return success();
  }

  template <class Message>
  Result<void> write(Message& message) {
    auto ec = run([&](auto done) {
      http::async_write(*stream_, message, [done](beast::error_code e, size_t) { done(e); });
    });
    if (ec) return unreachable("sending the request", ec);
    return success();
  }

  template <class Serializer>
  Result<void> write_header(Serializer& serializer) {
    auto ec = run([&](auto done) {
      http::async_write_header(*stream_, serializer,
                               [done](beast::error_code e, size_t) { done(e); });
    });
    if (ec) return unreachable("sending the request", ec);
    return success();
  }

  Result<void> write_raw(BytesView data) {
    auto ec = run([&](auto done) {
      asio::async_write(*stream_, asio::buffer(data.data(), data.size()),
                        [done](beast::error_code e, size_t) { done(e); });
    });
    if (ec) return unreachable("sending the file", ec);
    return success();
  }

  // A whole response with a small body (an answer or an error).
  Result<http::response<http::string_body>> read_response() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    auto ec = run([&](auto done) {
      http::async_read(*stream_, buffer_, parser, [done](beast::error_code e, size_t) { done(e); });
    });
    if (ec) return unreachable("reading the answer", ec);
    return parser.release();
  }

  template <class Parser>
  Result<void> read_header(Parser& parser) {
    auto ec = run([&](auto done) {
      http::async_read_header(*stream_, buffer_, parser,
                              [done](beast::error_code e, size_t) { done(e); });
    });
    if (ec) return unreachable("reading the answer", ec);
    return success();
  }

  // Reads some of a buffer_body's body into the buffer the parser's body names.
  template <class Parser>
  Result<void> read_some(Parser& parser) {
    auto ec = run([&](auto done) {
      http::async_read_some(*stream_, buffer_, parser,
                            [done](beast::error_code e, size_t) { done(e); });
    });
    if (ec && ec != http::error::need_buffer) return unreachable("receiving the file", ec);
    return success();
  }

 private:
  // Starts one operation (given a completion taking an error code) and runs it to its end,
  // or until the step's timeout closes the stream.
  template <class Start>
  beast::error_code run(Start start) {
    std::optional<beast::error_code> result;
    beast::get_lowest_layer(*stream_).expires_after(timeout_);
    start([&result](beast::error_code ec) { result = ec; });
    ioc_.restart();
    while (!result && ioc_.run_one() > 0) {
    }
    beast::get_lowest_layer(*stream_).expires_never();
    return result.value_or(asio::error::operation_aborted);
  }

  static Error unreachable(const std::string& what, const beast::error_code& ec) {
    return Error(Errc::unavailable, "file transfer: " + what + " failed: " + ec.message());
  }

  const TlsEndpoint& endpoint_;
  std::chrono::seconds timeout_;
  asio::io_context ioc_;
  ssl::context tls_;
  std::optional<ssl::stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
};

FileClient::FileClient(TlsEndpoint endpoint, SecureBytes session_token,
                       std::chrono::seconds step_timeout)
    : endpoint_(std::move(endpoint)),
      token_(std::move(session_token)),
      step_timeout_(step_timeout) {}

namespace {

// Sets the headers every request of the file API carries; the token's text is wiped after.
template <class Fields>
void authorize(Fields& fields, const std::string& host, BytesView token) {
  std::string bearer = "Bearer " + to_base64url(token);
  fields.set(http::field::host, host);
  fields.set(http::field::authorization, bearer);
  fields.set(http::field::user_agent, "sotto");
  secure_wipe(bearer.data(), bearer.size());
}

}  // namespace

Result<FileContent> FileClient::upload(const fs::path& path, const std::string& media_type,
                                       const TransferProgress& progress) {
  if (!is_valid_media_type(media_type)) {
    return Error(Errc::invalid_argument, "the media type \"" + media_type + "\" is not valid");
  }
  Fd fd;
  SOTTO_TRY(open_for_upload(path, fd));
  SOTTO_TRY_ASSIGN(const uint64_t size, uploadable_size(fd, path));
  const uint64_t sealed_size = *crypto::attachment_ciphertext_size(size);

  FileContent content;
  content.key = crypto::new_attachment_key();
  content.size = size;
  content.name = sanitize_file_name(path.filename().string());
  content.media_type = media_type;
  SOTTO_TRY_ASSIGN(auto encryptor, crypto::AttachmentEncryptor::create(content.key));

  Connection connection(endpoint_, step_timeout_);
  SOTTO_TRY(connection.open());
  http::request<http::empty_body> request{http::verb::post, std::string(kFilesPath), 11};
  authorize(request, endpoint_.name(), token_);
  request.set(http::field::content_type, "application/octet-stream");
  // The server refuses an upload over its limits from these headers, before the body.
  request.set(http::field::expect, "100-continue");
  request.content_length(sealed_size);
  http::request_serializer<http::empty_body> serializer(request);
  SOTTO_TRY(connection.write_header(serializer));
  SOTTO_TRY_ASSIGN(auto interim, connection.read_response());
  if (interim.result() != http::status::continue_) {
    return http_error(interim.result(), interim.body(), "uploading " + path.string());
  }

  crypto::Sha256 hash;
  SecureBytes plain(kReadPiece);
  Bytes sealed;
  uint64_t read = 0;
  uint64_t sent = 0;
  bool end = false;
  while (!end) {
    sealed.clear();
    SOTTO_TRY_ASSIGN(const size_t n,
                     read_some(fd.get(), plain.data(), plain.size(), path.string()));
    read += n;
    if (read > size) {
      return Error(Errc::internal, path.string() + " grew while it was being sent");
    }
    if (n == 0) {
      if (read != size) {
        return Error(Errc::internal, path.string() + " shrank while it was being sent");
      }
      SOTTO_TRY(encryptor.finish(sealed));
      end = true;
    } else {
      SOTTO_TRY(encryptor.update(plain.view().subspan(0, n), sealed));
    }
    hash.update(sealed);
    SOTTO_TRY(connection.write_raw(sealed));
    sent += sealed.size();
    if (progress) progress(sent, sealed_size);
  }
  if (sent != sealed_size) {
    return Error(Errc::internal, "the encrypted file is not the length computed for it");
  }

  SOTTO_TRY_ASSIGN(auto answer, connection.read_response());
  if (answer.result() != http::status::created) {
    return http_error(answer.result(), answer.body(), "uploading " + path.string());
  }
  // "Location: /v1/files/<id>" names the new file.
  const std::string location(answer[http::field::location]);
  const std::string prefix = std::string(kFilesPath) + "/";
  auto id = location.rfind(prefix, 0) == 0 ? from_base64url(location.substr(prefix.size()))
                                           : Result<Bytes>(Error(Errc::invalid_value, "none"));
  if (!id || id->size() != kFileIdSize) {
    return Error(Errc::invalid_value, "the server's answer to the upload names no file id");
  }
  content.file_id = std::move(id).value();
  content.ciphertext_sha256 = hash.finish();
  return content;
}

Result<void> FileClient::download(const FileContent& file, const fs::path& output,
                                  const TransferProgress& progress) {
  SOTTO_TRY_ASSIGN(const uint64_t sealed_size, local::check_output(file, output));
  const fs::path dir = output.has_parent_path() ? output.parent_path() : fs::path(".");
  SOTTO_TRY_ASSIGN(TempFile sealed_file, TempFile::create(dir));

  // 1. The ciphertext, to a temporary file, hashed on the way.
  {
    Connection connection(endpoint_, step_timeout_);
    SOTTO_TRY(connection.open());
    http::request<http::empty_body> request{http::verb::get, file_target(file.file_id), 11};
    authorize(request, endpoint_.name(), token_);
    SOTTO_TRY(connection.write(request));
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(sealed_size + 1);
    SOTTO_TRY(connection.read_header(parser));
    const auto status = parser.get().result();
    if (status != http::status::ok) return http_error(status, "", "downloading " + file.name);
    const auto declared = parser.content_length();
    if (declared && *declared != sealed_size) {
      return Error(Errc::authentication_failed,
                   "the server's file is " + std::to_string(*declared) + " bytes, not the " +
                       std::to_string(sealed_size) + " the message announced: refused");
    }
    crypto::Sha256 hash;
    Bytes piece(64 * 1024);
    uint64_t received = 0;
    while (!parser.is_done()) {
      parser.get().body().data = piece.data();
      parser.get().body().size = piece.size();
      SOTTO_TRY(connection.read_some(parser));
      const size_t n = piece.size() - parser.get().body().size;
      received += n;
      if (received > sealed_size) {
        return Error(Errc::authentication_failed, "the server's file is longer than announced");
      }
      const BytesView got(piece.data(), n);
      hash.update(got);
      SOTTO_TRY(sealed_file.write(got));
      if (progress && n > 0) progress(received, sealed_size);
    }
    if (received != sealed_size) {
      return Error(Errc::authentication_failed, "the server's file is shorter than announced");
    }
    if (!constant_time_equal(hash.finish(), file.ciphertext_sha256)) {
      return Error(Errc::authentication_failed,
                   "the downloaded file does not match the hash in the message: it was changed "
                   "on the server or on the way; nothing was written");
    }
  }

  // 2. Decrypted into a second temporary file, which becomes the output only when whole.
  return local::decrypt_into(sealed_file.fd(), sealed_file.path(), file, output);
}

Result<uint64_t> check_uploadable(const fs::path& path) {
  Fd fd;
  SOTTO_TRY(open_for_upload(path, fd));
  return uploadable_size(fd, path);
}

std::string media_type_for(const fs::path& path) {
  static const std::map<std::string, std::string> known = {
      {".txt", "text/plain"},      {".md", "text/markdown"},      {".csv", "text/csv"},
      {".html", "text/html"},      {".json", "application/json"}, {".pdf", "application/pdf"},
      {".zip", "application/zip"}, {".gz", "application/gzip"},   {".tar", "application/x-tar"},
      {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},       {".png", "image/png"},
      {".gif", "image/gif"},       {".webp", "image/webp"},       {".svg", "image/svg+xml"},
      {".heic", "image/heic"},     {".mp3", "audio/mpeg"},        {".ogg", "audio/ogg"},
      {".opus", "audio/opus"},     {".m4a", "audio/mp4"},         {".wav", "audio/wav"},
      {".mp4", "video/mp4"},       {".webm", "video/webm"},       {".mov", "video/quicktime"},
  };
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto it = known.find(extension);
  return it == known.end() ? "application/octet-stream" : it->second;
}

}  // namespace sotto::client
