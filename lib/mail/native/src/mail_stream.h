// A connection to a mail server (private to lib/mail/native): TCP, then TLS at once or after
// STARTTLS, with the caller's trust; every operation runs the io_context on the caller's
// thread until it completes or its time passes. At most one read is outstanding, and it may
// stay so across calls (an IMAP IDLE writes DONE while it waits).
#pragma once

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ascii.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"
#include "sotto/mail/imap_connection.h"

namespace sotto::mail {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

inline Error mail_unavailable(std::string_view protocol, std::string what) {
  return Error(Errc::unavailable, std::string(protocol) + ": " + std::move(what));
}

inline std::string server_text(std::string_view text) {
  return ascii::excerpt(text);
}

class MailStream {
 public:
  MailStream(std::string protocol, std::chrono::milliseconds timeout)
      : protocol_(std::move(protocol)), timeout_(timeout) {}
  ~MailStream() { close(); }

  std::chrono::milliseconds timeout() const { return timeout_; }
  bool closed() const { return closed_; }
  bool encrypted() const { return stream_ != nullptr; }

  // Connects to the endpoint's host and port, or where its connect_to rule sends it.
  Result<void> connect(const MailServerEndpoint& endpoint) {
    if (endpoint.connect_host.empty()) return connect(endpoint.host, endpoint.port);
    return connect(endpoint.connect_host, endpoint.connect_port);
  }

  Result<void> connect(const std::string& host, uint16_t port) {
    tcp::resolver resolver(ioc_);
    std::optional<boost::system::error_code> result;
    tcp::resolver::results_type endpoints;
    resolver.async_resolve(host, std::to_string(port),
                           [&](boost::system::error_code ec, tcp::resolver::results_type r) {
                             result = ec;
                             endpoints = std::move(r);
                           });
    if (!run_until([&] { return result.has_value(); }, Clock::now() + timeout_)) {
      resolver.cancel();
      close();
      return mail_unavailable(protocol_, "resolving " + host + " timed out");
    }
    if (*result)
      return mail_unavailable(protocol_, "cannot resolve " + host + ": " + result->message());
    result.reset();
    asio::async_connect(socket_, endpoints,
                        [&](boost::system::error_code ec, const tcp::endpoint&) { result = ec; });
    if (!run_until([&] { return result.has_value(); }, Clock::now() + timeout_)) {
      close();
      return mail_unavailable(protocol_, "connecting to " + host + " timed out");
    }
    if (*result) {
      close();
      return mail_unavailable(protocol_, "cannot connect to " + host + ": " + result->message());
    }
    return success();
  }

  Result<void> start_tls(const MailServerEndpoint& endpoint) {
    tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::no_compression);
    boost::system::error_code ec;
    if (endpoint.accept_any_certificate) {
      tls_.set_verify_mode(ssl::verify_none);
    } else {
      if (endpoint.ca_file.empty()) {
        tls_.set_default_verify_paths(ec);
      } else {
        tls_.load_verify_file(endpoint.ca_file, ec);
      }
      if (ec)
        return mail_unavailable(protocol_, "cannot load the trusted certificates: " + ec.message());
      tls_.set_verify_mode(ssl::verify_peer);
      tls_.set_verify_callback(ssl::host_name_verification(endpoint.host));
    }
    stream_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, tls_);
    if (SSL_set_tlsext_host_name(stream_->native_handle(), endpoint.host.c_str()) != 1) {
      return mail_unavailable(protocol_, "cannot name the server for TLS");
    }
    std::optional<boost::system::error_code> result;
    stream_->async_handshake(ssl::stream_base::client,
                             [&](boost::system::error_code e) { result = e; });
    if (!run_until([&] { return result.has_value(); }, Clock::now() + timeout_)) {
      close();
      return mail_unavailable(protocol_, "the TLS handshake timed out");
    }
    if (*result) {
      close();
      return mail_unavailable(
          protocol_,
          "the TLS handshake failed (is the server's certificate trusted?): " + result->message());
    }
    return success();
  }

  // Writes all of `bytes` and wipes them (they may hold a password).
  Result<void> write(std::string& bytes) {
    if (closed_) return mail_unavailable(protocol_, "the connection is closed");
    std::optional<boost::system::error_code> result;
    auto done = [&](boost::system::error_code ec, size_t) { result = ec; };

    if (stream_) {
      asio::async_write(*stream_, asio::buffer(bytes), done);
    } else {
      asio::async_write(socket_, asio::buffer(bytes), done);
    }
    bool finished = run_until([&] { return result.has_value(); }, Clock::now() + timeout_);
    if (!finished) close();
    secure_wipe(bytes.data(), bytes.size());
    if (!finished) return mail_unavailable(protocol_, "writing to the server timed out");
    if (*result) {
      close();
      return mail_unavailable(protocol_, "writing to the server failed: " + result->message());
    }
    return success();
  }

  // Reads what arrives until `deadline`: the bytes (empty on timeout, when the read stays
  // outstanding for the next call). Errors: unavailable (closed, failed).
  Result<std::string> read(Clock::time_point deadline) {
    if (closed_) return mail_unavailable(protocol_, "the connection is closed");
    if (!reading_) {
      reading_ = true;
      auto done = [this](boost::system::error_code ec, size_t n) {
        reading_ = false;
        if (ec) {
          read_error_ = ec;
        } else {
          received_.append(buffer_.data(), n);
        }
      };
      if (stream_) {
        stream_->async_read_some(asio::buffer(buffer_), done);
      } else {
        socket_.async_read_some(asio::buffer(buffer_), done);
      }
    }
    run_until([&] { return !reading_; }, deadline);
    if (read_error_) {
      auto ec = *read_error_;
      close();
      return mail_unavailable(protocol_,
                              ec == asio::error::eof || ec == ssl::error::stream_truncated
                                  ? "the server closed the connection"
                                  : "reading from the server failed: " + ec.message());
    }
    return std::exchange(received_, std::string());
  }

  // Closes the socket and completes every outstanding operation, whose handlers refer to
  // the callers' frames.
  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    ioc_.restart();
    ioc_.run();
  }

 private:
  bool run_until(const std::function<bool()>& finished, Clock::time_point deadline) {
    while (!finished()) {
      auto now = Clock::now();
      if (now >= deadline) return false;
      if (ioc_.stopped()) ioc_.restart();
      ioc_.run_one_for(deadline - now);
    }
    return true;
  }

  std::string protocol_;
  std::chrono::milliseconds timeout_;
  asio::io_context ioc_;
  tcp::socket socket_{ioc_};
  ssl::context tls_{ssl::context::tls_client};
  std::unique_ptr<ssl::stream<tcp::socket&>> stream_;
  std::array<char, 16384> buffer_{};
  std::string received_;
  bool reading_ = false;
  std::optional<boost::system::error_code> read_error_;
  bool closed_ = false;
};

}  // namespace sotto::mail
