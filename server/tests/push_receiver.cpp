#include "push_receiver.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"

namespace sotto::server::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Error bad(std::string what) {
  return Error(Errc::invalid_value, "push receiver: " + what);
}

}  // namespace

std::string ReceivedPush::header(const std::string& lower_case_name) const {
  auto it = headers.find(lower_case_name);
  return it == headers.end() ? std::string() : it->second;
}

// The HTTP side: one thread running an io_context; each connection reads requests and
// answers them until the client closes.
class PushReceiver::Server {
 public:
  explicit Server(PushReceiver& owner) : owner_(owner), acceptor_(io_) {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Server() {
    asio::post(io_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      io_.stop();
    });
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  struct Connection : std::enable_shared_from_this<Connection> {
    Connection(PushReceiver& r, tcp::socket socket)
        : owner(r), stream(std::move(socket)), timer(stream.get_executor()) {}
    void read() {
      request.emplace();
      request->body_limit(64 * 1024);
      http::async_read(stream, buffer, *request,
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return;  // the client closed, or sent garbage
                         self->answer();
                       });
    }
    void answer() {
      const auto& req = request->get();
      ReceivedPush push;
      push.method = std::string(req.method_string());
      push.target = std::string(req.target());
      for (const auto& field : req) {
        push.headers[lower(field.name_string())] = std::string(field.value());
      }
      push.body.assign(req.body().begin(), req.body().end());
      keep_alive = req.keep_alive();
      unsigned status = owner.next_status();
      std::chrono::milliseconds delay;
      {
        std::lock_guard lock(owner.mutex_);
        delay = owner.delay_;
      }
      owner.record(std::move(push));
      response = {};
      response.version(11);
      response.result(status);
      response.set(http::field::location, "/message/1");
      response.keep_alive(keep_alive);
      response.prepare_payload();
      timer.expires_after(delay);
      timer.async_wait([self = shared_from_this()](beast::error_code) {
        http::async_write(self->stream, self->response, [self](beast::error_code ec, size_t) {
          if (ec || !self->keep_alive) {
            beast::error_code ignored;
            self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            return;
          }
          self->read();
        });
      });
    }
    PushReceiver& owner;
    beast::tcp_stream stream;
    asio::steady_timer timer;
    beast::flat_buffer buffer;
    std::optional<http::request_parser<http::vector_body<uint8_t>>> request;
    http::response<http::empty_body> response;
    bool keep_alive = false;
  };

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed
      {
        std::lock_guard lock(owner_.mutex_);
        ++owner_.connections_;
      }
      std::make_shared<Connection>(owner_, std::move(socket))->read();
      accept();
    });
  }

  PushReceiver& owner_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
};

PushReceiver::PushReceiver()
    : ua_key_(webpush::P256KeyPair::generate().value()),
      auth_(crypto::random_bytes(webpush::kAuthSecretSize)),
      server_(std::make_unique<Server>(*this)) {
  port_ = server_->port();
}

PushReceiver::~PushReceiver() {
  server_.reset();
}

std::string PushReceiver::endpoint(const std::string& path) const {
  return origin() + path;
}

std::string PushReceiver::origin() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void PushReceiver::respond_with(std::vector<unsigned> statuses) {
  std::lock_guard lock(mutex_);
  statuses_.assign(statuses.begin(), statuses.end());
}

void PushReceiver::delay_responses(std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  delay_ = delay;
}

unsigned PushReceiver::next_status() {
  std::lock_guard lock(mutex_);
  if (statuses_.empty()) return 201;
  unsigned status = statuses_.front();
  statuses_.pop_front();
  return status;
}

void PushReceiver::record(ReceivedPush push) {
  {
    std::lock_guard lock(mutex_);
    received_.push_back(std::move(push));
  }
  arrived_.notify_all();
}

bool PushReceiver::wait_for(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return arrived_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
}

size_t PushReceiver::connections() const {
  std::lock_guard lock(mutex_);
  return connections_;
}

std::vector<ReceivedPush> PushReceiver::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

Result<OpenedPush> PushReceiver::open(const ReceivedPush& push) const {
  if (push.method != "POST") return bad("method " + push.method + ", want POST");
  if (push.header("content-encoding") != "aes128gcm") return bad("Content-Encoding");
  if (push.header("content-type") != "application/octet-stream") return bad("Content-Type");
  if (push.header("urgency") != "high") return bad("Urgency");
  const std::string ttl = push.header("ttl");
  if (ttl.empty() || ttl.find_first_not_of("0123456789") != std::string::npos) {
    return bad("TTL missing or not a number");
  }

  SOTTO_TRY_ASSIGN(webpush::VapidCredentials credentials,
                   webpush::parse_vapid_authorization(push.header("authorization")));
  SOTTO_TRY_ASSIGN(webpush::VerifiedJwt jwt,
                   webpush::verify_vapid_jwt(credentials.jwt, credentials.public_key));
  OpenedPush out;
  out.vapid_public_key = credentials.public_key;
  auto header = nlohmann::json::parse(jwt.header_json, nullptr, false);
  auto claims = nlohmann::json::parse(jwt.claims_json, nullptr, false);
  if (!header.is_object() || header.value("alg", "") != "ES256" ||
      header.value("typ", "") != "JWT") {
    return bad("JWT header " + jwt.header_json);
  }
  if (!claims.is_object() || !claims["aud"].is_string() || !claims["exp"].is_number_unsigned() ||
      !claims["sub"].is_string()) {
    return bad("JWT claims " + jwt.claims_json);
  }
  out.audience = claims["aud"].get<std::string>();
  out.expires_at = claims["exp"].get<uint64_t>();
  out.subject = claims["sub"].get<std::string>();
  if (out.audience != origin()) return bad("aud " + out.audience + ", want " + origin());
  const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  if (out.expires_at <= now || out.expires_at > now + 24 * 3600) return bad("exp out of range");
  if (out.subject.empty()) return bad("empty sub");

  SOTTO_TRY_ASSIGN(out.plaintext, webpush::decrypt_push(ua_key_, auth_, push.body));
  return out;
}

}  // namespace sotto::server::testing
