// The file API: Range parsing and the upload steps as units, then the HTTPS routes against an
// in-process server (listener, sessions, memory store) that a Beast client talks to over TLS.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "beast.h"
#include "files/blob_storage.h"
#include "files/expiry_sweep.h"
#include "files/http_files.h"
#include "files/range.h"
#include "listener.h"
#include "server_state.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sotto/store/store.h"
#include "tls.h"

namespace sotto::server::files {
namespace {

namespace fs = std::filesystem;
using Kind = RangeRequest::Kind;

// ---- Range ----------------------------------------------------------------------------

TEST(Range, AbsentOrIgnoredMeansWhole) {
  EXPECT_EQ(parse_range("", 100).kind, Kind::whole);
  EXPECT_EQ(parse_range("items=0-5", 100).kind, Kind::whole);
  EXPECT_EQ(parse_range("bytes", 100).kind, Kind::whole);
  EXPECT_EQ(parse_range("bytes=", 100).kind, Kind::whole);
  EXPECT_EQ(parse_range("bytes=abc", 100).kind, Kind::whole);
  EXPECT_EQ(parse_range("bytes=1-x", 100).kind, Kind::whole);
  EXPECT_EQ(parse_range("bytes=+1-2", 100).kind, Kind::whole);
  EXPECT_EQ(parse_range("bytes=--1", 100).kind, Kind::whole);
  // last < first: invalid, so ignored (RFC 9110 section 14.1.1).
  EXPECT_EQ(parse_range("bytes=9-3", 100).kind, Kind::whole);
  // Several ranges: answered with the whole file.
  EXPECT_EQ(parse_range("bytes=0-1,5-6", 100).kind, Kind::whole);
  EXPECT_EQ(parse_range("bytes=0-1, -5", 100).kind, Kind::whole);
}

TEST(Range, OneRange) {
  auto r = parse_range("bytes=0-9", 100);
  EXPECT_EQ(r.kind, Kind::partial);
  EXPECT_EQ(r.range, (ByteRange{0, 9}));
  EXPECT_EQ(r.range.length(), 10u);
  r = parse_range("bytes=10-", 100);
  EXPECT_EQ(r.kind, Kind::partial);
  EXPECT_EQ(r.range, (ByteRange{10, 99}));
  r = parse_range("bytes=-3", 100);
  EXPECT_EQ(r.kind, Kind::partial);
  EXPECT_EQ(r.range, (ByteRange{97, 99}));
  r = parse_range("bytes=99-99", 100);
  EXPECT_EQ(r.kind, Kind::partial);
  EXPECT_EQ(r.range, (ByteRange{99, 99}));
}

TEST(Range, ClampsToTheEnd) {
  auto r = parse_range("bytes=50-1000", 100);
  EXPECT_EQ(r.kind, Kind::partial);
  EXPECT_EQ(r.range, (ByteRange{50, 99}));
  r = parse_range("bytes=-1000", 100);
  EXPECT_EQ(r.kind, Kind::partial);
  EXPECT_EQ(r.range, (ByteRange{0, 99}));
  r = parse_range("bytes=0-99999999999999999999999999", 100);
  EXPECT_EQ(r.kind, Kind::partial);
  EXPECT_EQ(r.range, (ByteRange{0, 99}));
  r = parse_range("bytes=-99999999999999999999999999", 100);
  EXPECT_EQ(r.kind, Kind::partial);
  EXPECT_EQ(r.range, (ByteRange{0, 99}));
}

TEST(Range, Unsatisfiable) {
  EXPECT_EQ(parse_range("bytes=100-", 100).kind, Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=100-200", 100).kind, Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=99999999999999999999999999-", 100).kind, Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 100).kind, Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-5", 0).kind, Kind::unsatisfiable);
}

TEST(Range, ToleratesCaseAndWhitespace) {
  auto r = parse_range("  Bytes = 1 - 2 ", 100);
  EXPECT_EQ(r.kind, Kind::partial);
  EXPECT_EQ(r.range, (ByteRange{1, 2}));
}

TEST(Range, ContentRange) {
  EXPECT_EQ(content_range({0, 9}, 100), "bytes 0-9/100");
  EXPECT_EQ(unsatisfied_content_range(100), "bytes */100");
}

// ---- upload steps ---------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "sotto-files-XXXXXX").string();
    if (!::mkdtemp(templ.data())) std::abort();
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

BytesView as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(UploadHeader, Limits) {
  EXPECT_TRUE(check_upload_header(std::nullopt, 10).ok());
  EXPECT_TRUE(check_upload_header(10, 10).ok());
  auto too_large = check_upload_header(11, 10);
  ASSERT_FALSE(too_large.ok());
  EXPECT_EQ(too_large.error().code(), Errc::too_large);
  auto empty = check_upload_header(0, 10);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code(), Errc::invalid_argument);
}

TEST(PendingUpload, WritesFinishesAndNamesTheBlob) {
  TempDir dir;
  BlobDirectory blobs(dir.path() / "files");
  auto upload = PendingUpload::open(blobs, 100);
  ASSERT_TRUE(upload.ok()) << upload.error().to_string();
  auto temp = upload->temporary_path();
  EXPECT_EQ(temp.filename().string().rfind("tmp-", 0), 0u);
  ASSERT_TRUE(upload->write(as_bytes("hello ")).ok());
  ASSERT_TRUE(upload->write(as_bytes("world")).ok());
  EXPECT_EQ(upload->size(), 11u);
  Bytes id(16, 0xab);
  ASSERT_TRUE(upload->finish(id).ok());
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_EQ(read_all(blobs.blob_path(id)), "hello world");
  EXPECT_EQ(names_in(blobs.path()), std::vector<std::string>{to_hex(id)});
  ASSERT_TRUE(blobs.remove(id).ok());
  ASSERT_TRUE(blobs.remove(id).ok());  // already gone: fine
  EXPECT_TRUE(names_in(blobs.path()).empty());
}

TEST(PendingUpload, DroppedUploadLeavesNothing) {
  TempDir dir;
  BlobDirectory blobs(dir.path() / "files");
  {
    auto upload = PendingUpload::open(blobs, 100);
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE(upload->write(as_bytes("partial")).ok());
    PendingUpload moved = std::move(upload).value();
    EXPECT_EQ(names_in(blobs.path()).size(), 1u);
  }
  EXPECT_TRUE(names_in(blobs.path()).empty());
}

TEST(PendingUpload, OverTheLimitIsRefusedAndDeleted) {
  TempDir dir;
  BlobDirectory blobs(dir.path() / "files");
  auto upload = PendingUpload::open(blobs, 8);
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE(upload->write(as_bytes("12345678")).ok());
  auto over = upload->write(as_bytes("9"));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code(), Errc::too_large);
  EXPECT_TRUE(names_in(blobs.path()).empty());
  EXPECT_FALSE(upload->finish(Bytes(16, 1)).ok());
}

TEST(PendingUpload, EmptyIsRefused) {
  TempDir dir;
  BlobDirectory blobs(dir.path() / "files");
  auto upload = PendingUpload::open(blobs, 8);
  ASSERT_TRUE(upload.ok());
  auto finished = upload->finish(Bytes(16, 1));
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.error().code(), Errc::invalid_argument);
  EXPECT_TRUE(names_in(blobs.path()).empty());
}

TEST(CompleteUpload, RecordsOrDeletes) {
  TempDir dir;
  BlobDirectory blobs(dir.path() / "files");
  store::FileRecord templ;
  templ.id = Bytes(16, 7);
  templ.owner = Bytes(16, 1);
  {
    auto upload = PendingUpload::open(blobs, 100);
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE(upload->write(as_bytes("abc")).ok());
    auto done = complete_upload(*upload, blobs, templ, [](const store::FileRecord& r) {
      EXPECT_EQ(r.size, 3u);
      return Result<void>(Error(Errc::quota_exceeded, "full"));
    });
    ASSERT_FALSE(done.ok());
    EXPECT_EQ(done.error().code(), Errc::quota_exceeded);
    EXPECT_TRUE(names_in(blobs.path()).empty());
  }
  auto upload = PendingUpload::open(blobs, 100);
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE(upload->write(as_bytes("abcd")).ok());
  auto done =
      complete_upload(*upload, blobs, templ, [](const store::FileRecord&) { return success(); });
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->size, 4u);
  EXPECT_EQ(read_all(blobs.blob_path(templ.id)), "abcd");
}

TEST(BlobDirectory, RemovesOnlyStaleTemporaries) {
  TempDir dir;
  BlobDirectory blobs(dir.path());
  std::ofstream(dir.path() / "tmp-old") << "x";
  std::ofstream(dir.path() / "tmp-new") << "x";
  std::ofstream(dir.path() / to_hex(Bytes(16, 2))) << "x";
  auto now = fs::file_time_type::clock::now();
  fs::last_write_time(dir.path() / "tmp-old", now - std::chrono::hours(2));
  EXPECT_EQ(blobs.remove_stale_temporaries(now - std::chrono::hours(1)), 1u);
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{to_hex(Bytes(16, 2)), "tmp-new"}));
}

// ---- the HTTPS routes -----------------------------------------------------------------

constexpr uint64_t kMaxFile = 256 * 1024;
constexpr uint64_t kQuota = 400 * 1024;

struct Account {
  Bytes id;
  Bytes device;
  std::string token;  // base64url
};

class FileApi : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::make_memory_store();
    Config config;
    config.data_dir = dir_.path();
    config.files.max_file_bytes = kMaxFile;
    config.files.quota_bytes = kQuota;
    config.files.ttl = std::chrono::seconds(3600);
    config.rate_limits.uploads = {6000, 1000};
    state_ = std::make_shared<ServerState>(config, store_.get());
    auto identity = load_or_create_identity(config);
    ASSERT_TRUE(identity.ok()) << identity.error().to_string();
    ASSERT_TRUE(configure_server_context(tls_, *identity).ok());
    listener_ = std::make_shared<Listener>(ioc_, &tls_, state_);
    ASSERT_TRUE(listener_->open(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).ok());
    endpoint_ = listener_->local_endpoint();
    listener_->run();
    thread_ = std::thread([this] { ioc_.run(); });
    alice_ = make_account("alice");
    bob_ = make_account("bob");
  }

  void TearDown() override {
    listener_->stop();
    state_->begin_shutdown();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  Account make_account(const std::string& name) {
    uint64_t now = now_ms();
    store::Account account;
    account.id = crypto::random_bytes(16);
    account.username = name;
    account.email = name + "@example.org";
    account.password_hash = "x";
    account.created_at = now;
    store::Device device;
    device.id = crypto::random_bytes(16);
    device.account_id = account.id;
    device.signature_key = crypto::random_bytes(32);
    device.name = "laptop";
    device.created_at = now;
    EXPECT_TRUE(store_->create_account(account, device, std::nullopt, now).ok());
    Bytes token = crypto::random_bytes(32);
    store::Session session{crypto::sha256(token), account.id, device.id, now, now + 24 * 3600000};
    EXPECT_TRUE(store_->put_session(session).ok());
    return {account.id, device.id, to_base64url(token)};
  }

  using Response = http::response<http::string_body>;

  // One request on a fresh TLS connection. With `header_only`, only the request's header is
  // sent (the server must answer before reading a body it refuses).
  Response call(http::verb method, const std::string& target, const std::string& body,
                const std::string& token,
                std::vector<std::pair<std::string, std::string>> extra = {},
                bool header_only = false) {
    asio::io_context ioc;
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_verify_mode(ssl::verify_none);
    AsioTlsStream stream(ioc, ctx);
    beast::get_lowest_layer(stream).connect(endpoint_);
    stream.handshake(ssl::stream_base::client);
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    req.body() = body;
    req.prepare_payload();
    for (auto& [k, v] : extra) req.set(k, v);
    beast::error_code ec;
    if (header_only) {
      http::request_serializer<http::string_body> sr(req);
      http::write_header(stream, sr, ec);
    } else {
      http::write(stream, req, ec);
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.skip(method == http::verb::head);
    http::read(stream, buffer, parser, ec);
    if (ec) ADD_FAILURE() << "read: " << ec.message();
    return parser.release();
  }

  Response upload(const std::string& body, const std::string& token) {
    return call(http::verb::post, "/v1/files", body, token);
  }

  static std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) % 251);
    return s;
  }

  std::vector<std::string> blob_names() { return names_in(dir_.path() / "files"); }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<ServerState> state_;
  asio::io_context ioc_;
  ssl::context tls_{ssl::context::tls_server};
  std::shared_ptr<Listener> listener_;
  tcp::endpoint endpoint_;
  std::thread thread_;
  Account alice_;
  Account bob_;
};

TEST_F(FileApi, UploadDownloadRangeDelete) {
  // Larger than the request-body limit of other routes: uploads are not bound by it.
  std::string content = pattern(200 * 1024);
  ASSERT_GT(content.size(), state_->limits().max_request_body_bytes);
  auto res = upload(content, alice_.token);
  ASSERT_EQ(res.result(), http::status::created) << res.body();
  auto json = nlohmann::json::parse(res.body());
  std::string id = json.at("id");
  EXPECT_EQ(json.at("size"), content.size());
  EXPECT_GT(json.at("expires_at").get<uint64_t>(), now_ms());
  EXPECT_EQ(res[http::field::location], "/v1/files/" + id);
  auto raw_id = from_base64url(id);
  ASSERT_TRUE(raw_id.ok());
  EXPECT_EQ(blob_names(), std::vector<std::string>{to_hex(*raw_id)});

  std::string path = "/v1/files/" + id;
  res = call(http::verb::get, path, "", alice_.token);
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_TRUE(res.body() == content) << res.body().size() << " bytes";
  EXPECT_EQ(res[http::field::accept_ranges], "bytes");

  // Any authenticated account may fetch.
  res = call(http::verb::get, path, "", bob_.token, {{"Range", "bytes=10-19"}});
  ASSERT_EQ(res.result(), http::status::partial_content);
  EXPECT_TRUE(res.body() == content.substr(10, 10));
  EXPECT_EQ(res[http::field::content_range], "bytes 10-19/" + std::to_string(content.size()));

  res = call(http::verb::get, path, "", bob_.token, {{"Range", "bytes=-5"}});
  ASSERT_EQ(res.result(), http::status::partial_content);
  EXPECT_TRUE(res.body() == content.substr(content.size() - 5));

  res = call(http::verb::get, path, "", bob_.token, {{"Range", "bytes=100000-"}});
  ASSERT_EQ(res.result(), http::status::partial_content);
  EXPECT_TRUE(res.body() == content.substr(100000)) << res.body().size();

  res = call(http::verb::get, path, "", bob_.token, {{"Range", "bytes=999999-"}});
  EXPECT_EQ(res.result(), http::status::range_not_satisfiable);
  EXPECT_EQ(res[http::field::content_range], "bytes */" + std::to_string(content.size()));

  res = call(http::verb::get, path, "", bob_.token, {{"Range", "bytes=0-1,5-6"}});
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_TRUE(res.body() == content) << res.body().size() << " bytes";

  res = call(http::verb::head, path, "", bob_.token);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_length], std::to_string(content.size()));

  // Only the owner deletes.
  res = call(http::verb::delete_, path, "", bob_.token);
  EXPECT_EQ(res.result(), http::status::forbidden);
  EXPECT_EQ(nlohmann::json::parse(res.body()).at("error"), "forbidden");
  res = call(http::verb::delete_, path, "", alice_.token);
  EXPECT_EQ(res.result(), http::status::no_content);
  EXPECT_TRUE(blob_names().empty());
  res = call(http::verb::get, path, "", alice_.token);
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_EQ(nlohmann::json::parse(res.body()).at("error"), "not_found");
}

TEST_F(FileApi, NeedsAValidSession) {
  auto res = upload("data", "");
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(nlohmann::json::parse(res.body()).at("error"), "unauthenticated");
  res = upload("data", to_base64url(crypto::random_bytes(32)));
  EXPECT_EQ(res.result(), http::status::unauthorized);
  res = upload("data", "not base64!");
  EXPECT_EQ(res.result(), http::status::unauthorized);
  res = call(http::verb::get, "/v1/files/" + to_base64url(Bytes(16, 1)), "", "");
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_TRUE(blob_names().empty());
}

TEST_F(FileApi, UnknownFilesAndMethods) {
  auto res = call(http::verb::get, "/v1/files/" + to_base64url(Bytes(16, 1)), "", alice_.token);
  EXPECT_EQ(res.result(), http::status::not_found);
  res = call(http::verb::get, "/v1/files/nonsense", "", alice_.token);
  EXPECT_EQ(res.result(), http::status::not_found);
  res = call(http::verb::get, "/v1/files", "", alice_.token);
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "POST");
  res = call(http::verb::put, "/v1/files/" + to_base64url(Bytes(16, 1)), "x", alice_.token);
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  // Other routes keep working, with their own limits.
  res = call(http::verb::get, "/healthz", "", "");
  EXPECT_EQ(res.result(), http::status::ok);
  res = call(http::verb::post, "/healthz", std::string(100 * 1024, 'x'), "", {}, true);
  EXPECT_EQ(res.result(), http::status::payload_too_large);
}

TEST_F(FileApi, TooLargeIsRefusedAndNothingKept) {
  // Declared too large: refused before the body is read.
  auto res = call(http::verb::post, "/v1/files", pattern(kMaxFile + 1), alice_.token, {}, true);
  EXPECT_EQ(res.result(), http::status::payload_too_large);
  EXPECT_EQ(nlohmann::json::parse(res.body()).at("error"), "too_large");
  // Exactly the limit is fine.
  res = upload(pattern(kMaxFile), alice_.token);
  EXPECT_EQ(res.result(), http::status::created) << res.body();
  EXPECT_EQ(blob_names().size(), 1u);
}

TEST_F(FileApi, ChunkedOverTheLimitIsRefused) {
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);
  AsioTlsStream stream(ioc, ctx);
  beast::get_lowest_layer(stream).connect(endpoint_);
  stream.handshake(ssl::stream_base::client);
  std::string head = "POST /v1/files HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " +
                     alice_.token + "\r\nTransfer-Encoding: chunked\r\n\r\n";
  beast::error_code ec;
  asio::write(stream, asio::buffer(head), ec);
  // Two chunks that together pass the limit by one byte; no terminating chunk, so that the
  // server has read everything when it answers.
  std::string half = pattern(kMaxFile / 2);
  for (int i = 0; i < 2; ++i) {
    std::ostringstream hex;
    hex << std::hex << (half.size() + static_cast<size_t>(i)) << "\r\n";
    std::string data = hex.str() + half + (i ? "x" : "") + "\r\n";
    asio::write(stream, asio::buffer(data), ec);
  }
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result(), http::status::payload_too_large);
  EXPECT_TRUE(blob_names().empty());
}

TEST_F(FileApi, ExpectContinue) {
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);
  AsioTlsStream stream(ioc, ctx);
  beast::get_lowest_layer(stream).connect(endpoint_);
  stream.handshake(ssl::stream_base::client);
  std::string content = pattern(5000);
  http::request<http::string_body> req{http::verb::post, "/v1/files", 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::authorization, "Bearer " + alice_.token);
  req.set(http::field::expect, "100-continue");
  req.body() = content;
  req.prepare_payload();
  http::request_serializer<http::string_body> sr(req);
  http::write_header(stream, sr);
  beast::flat_buffer buffer;
  {
    http::response<http::empty_body> interim;
    http::read(stream, buffer, interim);
    ASSERT_EQ(interim.result(), http::status::continue_);
  }
  http::write(stream, sr);
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  ASSERT_EQ(res.result(), http::status::created) << res.body();
  EXPECT_EQ(nlohmann::json::parse(res.body()).at("size"), content.size());
}

TEST_F(FileApi, QuotaIsEnforced) {
  auto res = upload(pattern(kMaxFile), alice_.token);
  ASSERT_EQ(res.result(), http::status::created);
  // Declared length over the remaining quota: refused up front.
  res = call(http::verb::post, "/v1/files", pattern(kMaxFile), alice_.token, {}, true);
  EXPECT_EQ(res.result(), http::status::insufficient_storage);
  EXPECT_EQ(nlohmann::json::parse(res.body()).at("error"), "quota_exceeded");
  EXPECT_EQ(blob_names().size(), 1u);
  // Bob has his own quota.
  res = upload(pattern(kMaxFile), bob_.token);
  EXPECT_EQ(res.result(), http::status::created);
}

TEST_F(FileApi, ExpiredFilesAreSwept) {
  auto res = upload(pattern(1000), alice_.token);
  ASSERT_EQ(res.result(), http::status::created);
  std::string id = nlohmann::json::parse(res.body()).at("id");
  uint64_t expires = nlohmann::json::parse(res.body()).at("expires_at");
  auto early = sweep_expired(*state_, expires - 1, true);
  ASSERT_TRUE(early.ok()) << early.error().to_string();
  EXPECT_EQ(early->expired_files, 0u);
  EXPECT_EQ(blob_names().size(), 1u);
  auto swept = sweep_expired(*state_, expires + 1, false);
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(swept->expired_files, 1u);
  EXPECT_TRUE(blob_names().empty());
  res = call(http::verb::get, "/v1/files/" + id, "", alice_.token);
  EXPECT_EQ(res.result(), http::status::not_found);
}

}  // namespace
}  // namespace sotto::server::files
