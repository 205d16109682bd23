#include "push/push_sender.h"

#include <fcntl.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <cerrno>
#include <charconv>
#include <optional>
#include <system_error>
#include <vector>

#include "server_state.h"
#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"
#include "sotto/store/store.h"

namespace sotto::server {
namespace {

namespace fs = std::filesystem;

// What a woken device reads: only that there is something to fetch.
constexpr std::string_view kPayload = R"({"t":"sotto"})";
constexpr size_t kMaxResponseBody = 16 * 1024;
constexpr auto kRateWindow = std::chrono::minutes(1);

// Logs name a device by a hash prefix: enough for an operator to follow one device's pushes,
// not its identifier.
std::string device_tag(BytesView device_id) {
  return to_hex(BytesView(crypto::sha256(device_id)).first(6));
}

// Addresses a push service does not live at. A client chooses its endpoint, so without this
// check it could make sottod POST into the server's own network.
bool is_public_address(const asio::ip::address& address) {
  if (address.is_v6()) {
    const auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
      return is_public_address(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
    }
    const auto b = v6.to_bytes();
    return !(v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_site_local() ||
             v6.is_multicast() || (b[0] & 0xfe) == 0xfc);
  }
  const auto b = address.to_v4().to_bytes();
  return !(b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224 || (b[0] == 169 && b[1] == 254) ||
           (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
           (b[0] == 100 && (b[1] & 0xc0) == 64));
}

Result<void> write_private_file(const fs::path& path, BytesView data) {
  fs::path tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error(Errc::internal, "cannot create \"" + tmp.string() +
                                     "\": " + std::generic_category().message(errno));
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return Error(Errc::internal, "cannot write \"" + tmp.string() + "\"");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Error(Errc::internal, "cannot write \"" + path.string() + "\"");
  }
  return success();
}

Result<SecureBytes> read_private_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error(Errc::internal, "cannot open \"" + path.string() +
                                     "\": " + std::generic_category().message(errno));
  }
  SecureBytes out;
  uint8_t chunk[4096];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      secure_wipe(chunk, sizeof chunk);
      ::close(fd);
      if (n < 0) return Error(Errc::internal, "cannot read \"" + path.string() + "\"");
      return out;
    }
    out.append(BytesView(chunk, static_cast<size_t>(n)));
  }
}

}  // namespace

Result<webpush::EndpointUrl> check_push_endpoint(std::string_view endpoint,
                                                 const PushSettings& settings) {
  SOTTO_TRY_ASSIGN(webpush::EndpointUrl url, webpush::parse_endpoint(endpoint));
  if (!url.https() && !(settings.allow_http_endpoints && url.loopback())) {
    return Error(Errc::invalid_argument, "endpoint: a push endpoint must be an https URL");
  }
  return url;
}

Result<webpush::P256KeyPair> load_or_create_vapid_key(const fs::path& data_dir) {
  std::error_code ec;
  const fs::path dir = data_dir / "push";
  fs::create_directories(dir, ec);
  if (ec) {
    return Error(Errc::internal,
                 "cannot create the directory \"" + dir.string() + "\": " + ec.message());
  }
  fs::permissions(dir, fs::perms::owner_all, ec);
  const fs::path file = dir / "vapid.pem";
  if (fs::exists(file)) {
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, ec);
    SOTTO_TRY_ASSIGN(SecureBytes pem, read_private_file(file));
    auto key = webpush::P256KeyPair::from_pem(
        std::string_view(reinterpret_cast<const char*>(pem.data()), pem.size()));
    if (!key.ok()) return std::move(key).error().with_context("the VAPID key " + file.string());
    return key;
  }
  SOTTO_TRY_ASSIGN(webpush::P256KeyPair key, webpush::P256KeyPair::generate());
  SOTTO_TRY_ASSIGN(SecureBytes pem, key.to_pem());
  SOTTO_TRY_CTX(write_private_file(file, pem), "saving the VAPID key");
  spdlog::info("push: made a new VAPID key");
  return key;
}

// One push to one device, through its retries. Runs on its own strand; holds the sender.
class PushSender::Delivery : public std::enable_shared_from_this<Delivery> {
 public:
  Delivery(std::shared_ptr<PushSender> sender, Bytes device_id)
      : sender_(std::move(sender)),
        device_id_(std::move(device_id)),
        strand_(asio::make_strand(sender_->io_)),
        resolver_(strand_),
        timer_(strand_) {}

  void start() {
    asio::dispatch(strand_, [self = shared_from_this()] { self->attempt(); });
  }

 private:
  enum class Outcome { sent, gone, retry, fail };

  void attempt() {
    ++attempts_;
    ServerState& state = sender_->state_;
    auto subscription = state.store().push_subscription(device_id_);
    if (!subscription.ok()) {
      if (subscription.error().code() == Errc::not_found) return done();  // nothing to wake
      spdlog::warn("push: device {}: cannot read its subscription: {}", device_tag(device_id_),
                   subscription.error().message());
      return finish(Outcome::retry, 0, std::nullopt);
    }
    endpoint_ = subscription->endpoint;
    auto url = check_push_endpoint(endpoint_, state.config().push);
    if (!url.ok()) {
      spdlog::warn("push: device {}: {}", device_tag(device_id_), url.error().message());
      return finish(Outcome::fail, 0, std::nullopt);
    }
    url_ = std::move(url).value();

    // A fresh one-time key and salt for every try (RFC 8291 forbids reusing them).
    auto body =
        webpush::encrypt_push({subscription->p256dh, subscription->auth}, as_bytes(kPayload));
    auto authorization = webpush::vapid_authorization(
        sender_->vapid_key_, endpoint_, state.config().push.vapid_subject,
        std::chrono::system_clock::now(), sender_->options_.vapid_lifetime);
    if (!body.ok() || !authorization.ok()) {
      const Error& error = !body.ok() ? body.error() : authorization.error();
      spdlog::warn("push: device {}: {}", device_tag(device_id_), error.message());
      return finish(Outcome::fail, 0, std::nullopt);
    }

    request_ = {};
    request_.method(http::verb::post);
    request_.target(url_.target);
    request_.version(11);
    request_.set(http::field::host, url_.host_header());
    request_.set(http::field::user_agent, kServerHeader);
    request_.set("TTL", std::to_string(sender_->options_.ttl.count()));
    request_.set(http::field::content_encoding, "aes128gcm");
    request_.set(http::field::content_type, "application/octet-stream");
    request_.set("Urgency", "high");
    request_.set(http::field::authorization, *authorization);
    request_.body().assign(body->begin(), body->end());
    request_.keep_alive(false);
    request_.prepare_payload();

    resolver_.async_resolve(
        url_.host, std::to_string(url_.port),
        [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
          self->on_resolve(ec, std::move(results));
        });
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return network_error("resolve", ec);
    std::vector<tcp::endpoint> targets;
    const bool any_address = sender_->state_.config().push.allow_http_endpoints;
    for (const auto& entry : results) {
      if (any_address || is_public_address(entry.endpoint().address())) {
        targets.push_back(entry.endpoint());
      }
    }
    if (targets.empty()) {
      spdlog::warn("push: device {}: the endpoint's host has no public address",
                   device_tag(device_id_));
      return finish(Outcome::fail, 0, std::nullopt);
    }
    const auto timeout = sender_->options_.request_timeout;
    if (url_.https()) {
      tls_.emplace(strand_, sender_->client_tls());
      SSL* ssl = tls_->native_handle();
      // SNI takes a host name, never an address literal (RFC 6066 section 3).
      beast::error_code parse_ec;
      asio::ip::make_address(url_.host, parse_ec);
      if (parse_ec && SSL_set_tlsext_host_name(ssl, url_.host.c_str()) != 1) {
        return finish(Outcome::fail, 0, std::nullopt);
      }
      tls_->set_verify_callback(ssl::host_name_verification(url_.host));
      beast::get_lowest_layer(*tls_).expires_after(timeout);
      beast::get_lowest_layer(*tls_).async_connect(
          targets, [self = shared_from_this()](beast::error_code e, const tcp::endpoint&) {
            if (e) return self->network_error("connect", e);
            self->tls_->async_handshake(ssl::stream_base::client, [self](beast::error_code he) {
              if (he) return self->network_error("TLS", he);
              self->exchange(*self->tls_);
            });
          });
    } else {
      plain_.emplace(strand_);
      plain_->expires_after(timeout);
      plain_->async_connect(targets,
                            [self = shared_from_this()](beast::error_code e, const tcp::endpoint&) {
                              if (e) return self->network_error("connect", e);
                              self->exchange(*self->plain_);
                            });
    }
  }

  template <class Stream>
  void exchange(Stream& stream) {
    beast::get_lowest_layer(stream).expires_after(sender_->options_.request_timeout);
    http::async_write(
        stream, request_, [self = shared_from_this(), &stream](beast::error_code ec, size_t) {
          if (ec) return self->network_error("write", ec);
          self->parser_.emplace();
          self->parser_->body_limit(kMaxResponseBody);
          http::async_read(stream, self->buffer_, *self->parser_,
                           [self](beast::error_code rec, size_t) { self->on_response(rec); });
        });
  }

  void on_response(beast::error_code ec) {
    if (ec) return network_error("read", ec);
    close();
    const auto& response = parser_->get();
    const unsigned status = response.result_int();
    std::optional<std::chrono::seconds> retry_after;
    if (auto it = response.find(http::field::retry_after); it != response.end()) {
      unsigned seconds = 0;
      auto value = it->value();
      auto [end, err] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (err == std::errc() && end == value.data() + value.size()) {
        retry_after = std::chrono::seconds(seconds);
      }
    }
    if (status >= 200 && status < 300) return finish(Outcome::sent, status, std::nullopt);
    if (status == 404 || status == 410) return finish(Outcome::gone, status, std::nullopt);
    if (status == 429 || status >= 500) return finish(Outcome::retry, status, retry_after);
    // 400 (malformed), 403 (a key other than the one the subscription names), 413 (too
    // large): the same request would fail again.
    return finish(Outcome::fail, status, std::nullopt);
  }

  void network_error(const char* step, beast::error_code ec) {
    spdlog::debug("push: device {}: {} failed: {}", device_tag(device_id_), step, ec.message());
    close();
    finish(Outcome::retry, 0, std::nullopt);
  }

  void close() {
    beast::error_code ignored;
    if (tls_) beast::get_lowest_layer(*tls_).socket().close(ignored);
    if (plain_) plain_->socket().close(ignored);
  }

  // The device is released before the counters move, so that whoever sees a counter change
  // can notify again at once.
  void finish(Outcome outcome, unsigned status, std::optional<std::chrono::seconds> retry_after) {
    Metrics& metrics = sender_->state_.metrics();
    const std::string tag = device_tag(device_id_);
    switch (outcome) {
      case Outcome::sent:
        spdlog::debug("push: device {}: delivered to {} ({})", tag, url_.host, status);
        done();
        metrics.pushes_sent.fetch_add(1);
        return;
      case Outcome::gone:
        spdlog::info("push: device {}: subscription gone ({}), deleting it", tag, status);
        forget_subscription();
        done();
        metrics.pushes_gone.fetch_add(1);
        return;
      case Outcome::retry:
        if (attempts_ < sender_->options_.max_attempts) return retry_later(retry_after);
        [[fallthrough]];
      case Outcome::fail:
        spdlog::warn("push: device {}: giving up after {} tries (last status {})", tag, attempts_,
                     status);
        done();
        metrics.pushes_failed.fetch_add(1);
        return;
    }
  }

  // Deletes the subscription the push went to, unless the device replaced it meanwhile.
  void forget_subscription() {
    store::Store& store = sender_->state_.store();
    auto current = store.push_subscription(device_id_);
    if (!current.ok() || current->endpoint != endpoint_) return;
    if (auto deleted = store.delete_push_subscription(device_id_); !deleted.ok()) {
      spdlog::warn("push: cannot delete a subscription: {}", deleted.error().message());
    }
  }

  void retry_later(std::optional<std::chrono::seconds> retry_after) {
    const auto& options = sender_->options_;
    auto delay = options.first_backoff * (1u << std::min(attempts_ - 1, 16u));
    if (retry_after) delay = std::max<std::chrono::milliseconds>(delay, *retry_after);
    delay = std::min(delay, options.max_backoff);
    tls_.reset();
    plain_.reset();
    buffer_.clear();
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->done();
      self->attempt();
    });
  }

  void done() { sender_->finished(device_id_); }

  std::shared_ptr<PushSender> sender_;
  Bytes device_id_;
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  unsigned attempts_ = 0;
  std::string endpoint_;
  webpush::EndpointUrl url_;
  http::request<http::string_body> request_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<AsioTlsStream> tls_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

PushSender::PushSender(asio::io_context& io, ServerState& state, webpush::P256KeyPair vapid_key,
                       PushSenderOptions options)
    : io_(io), state_(state), vapid_key_(std::move(vapid_key)), options_(options) {}

ssl::context& PushSender::client_tls() {
  // Made at the first push, not at start: reading the system's trust store takes longer
  // than the rest of sottod's start put together.
  std::call_once(tls_once_, [this] {
    ssl::context& tls = tls_.emplace(ssl::context::tls_client);
    // Push services are public HTTPS servers: the system's trust store, TLS 1.2 at least.
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                    ssl::context::no_compression);
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    tls.set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    tls.set_default_verify_paths(ec);
    if (ec) spdlog::warn("push: cannot load the system's trust store: {}", ec.message());
  });
  return *tls_;
}

void PushSender::notify(const Bytes& device_id) {
  const auto now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    forget_idle_devices(now);
    DeviceState& device = devices_[device_id];
    if (device.in_flight) return;  // the push under way says the same thing
    std::erase_if(device.started, [&](Clock::time_point t) { return now - t >= kRateWindow; });
    if (device.started.size() >= state_.config().push.max_per_device_per_minute) return;
    device.in_flight = true;
    device.started.push_back(now);
  }
  std::make_shared<Delivery>(shared_from_this(), device_id)->start();
}

void PushSender::finished(const Bytes& device_id) {
  std::lock_guard lock(mutex_);
  if (auto it = devices_.find(device_id); it != devices_.end()) it->second.in_flight = false;
}

void PushSender::forget_idle_devices(Clock::time_point now) {
  // At most once a minute: the map holds only devices pushed to within the last minute.
  if (now - last_sweep_ < kRateWindow) return;
  last_sweep_ = now;
  std::erase_if(devices_, [&](const auto& entry) {
    const DeviceState& d = entry.second;
    return !d.in_flight && (d.started.empty() || now - d.started.back() >= kRateWindow);
  });
}

}  // namespace sotto::server
