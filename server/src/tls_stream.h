// A TLS stream that keeps no buffers of its own. OpenSSL reads and writes the non-blocking
// socket itself, and an operation that cannot go on waits for the socket to be ready. With
// SSL_MODE_RELEASE_BUFFERS an idle connection then costs the SSL object and the socket:
// Asio's ssl::stream holds two 17 KiB buffers per connection for its whole life.
//
// It meets Beast's AsyncStream requirements, and has what sottod's sessions use of
// beast::tcp_stream: deadlines (expires_after, expires_never), cancel, close and socket().
// It is its own lowest layer, so beast::get_lowest_layer finds those. One read and one write
// may be in flight together, on the connection's strand.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <type_traits>

namespace sotto::server {

class TlsStream {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;

  TlsStream(socket_type socket, boost::asio::ssl::context& context);
  TlsStream(TlsStream&&) noexcept = default;
  TlsStream& operator=(TlsStream&&) noexcept = default;
  ~TlsStream() = default;

  executor_type get_executor() noexcept { return impl_->socket.get_executor(); }
  socket_type& socket() noexcept { return impl_->socket; }
  SSL* native_handle() noexcept { return impl_->ssl; }

  // As beast::tcp_stream's: once the deadline passes, the pending operations and any later
  // one fail with beast::error::timeout, and the socket is closed.
  void expires_after(std::chrono::steady_clock::duration after);
  void expires_never();
  // Pending operations end with operation_aborted.
  void cancel();
  void close();

  template <class Handler>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type type, Handler&& handler) {
    const bool server = type == boost::asio::ssl::stream_base::server;
    return start<false>(
        [server](SSL* ssl, Step&) { return server ? SSL_accept(ssl) : SSL_connect(ssl); },
        std::forward<Handler>(handler));
  }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return start<true>([buffers](SSL* ssl, Step& step) { return step.read(ssl, buffers); },
                       std::forward<Handler>(handler));
  }

  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return start<true>([buffers](SSL* ssl, Step& step) { return step.write(ssl, buffers); },
                       std::forward<Handler>(handler));
  }

  // Sends close_notify, then reads (and drops) what comes until the peer's close_notify or
  // the end of the connection, as Asio's ssl::stream does: closing a socket with unread bytes
  // would reset the connection, and could take with it what the peer had not yet read.
  template <class Handler>
  auto async_shutdown(Handler&& handler) {
    return start<false>([](SSL* ssl, Step& step) { return step.shutdown(ssl); },
                        std::forward<Handler>(handler));
  }

  // What Beast's WebSocket stream calls to close the connection (found by lookup on the
  // argument's type): close_notify, then the socket is closed.
  template <class Handler>
  friend void async_teardown(boost::beast::role_type, TlsStream& stream, Handler&& handler) {
    auto executor = boost::asio::get_associated_executor(handler, stream.get_executor());
    stream.async_shutdown(boost::asio::bind_executor(
        executor,
        [&stream, handler = std::forward<Handler>(handler)](boost::beast::error_code) mutable {
          stream.close();
          std::move(handler)(boost::beast::error_code{});
        }));
  }
  // What Beast's WebSocket timeouts call.
  friend void beast_close_socket(TlsStream& stream) { stream.close(); }

 private:
  struct Impl {
    Impl(socket_type s, SSL* native)
        : socket(std::move(s)), timer(socket.get_executor()), ssl(native) {}
    ~Impl();
    socket_type socket;
    boost::asio::steady_timer timer;
    SSL* ssl;
    bool timed_out = false;
  };

  // One attempt of an operation: the OpenSSL call, with what it needs to turn the caller's
  // buffers into the single buffer OpenSSL takes.
  struct Step {
    template <class Buffers>
    int read(SSL* ssl, const Buffers& buffers) {
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        boost::asio::mutable_buffer b = *it;
        if (b.size() > 0) return read_into(ssl, b.data(), b.size());
      }
      return 1;  // nothing asked for: done at once
    }
    template <class Buffers>
    int write(SSL* ssl, const Buffers& buffers) {
      // Small pieces (a WebSocket frame header and its payload) go out as one record. A retry
      // after WANT_WRITE gathers the same bytes again, as OpenSSL requires. A piece that fills
      // a record, or stands alone, is written from where it is.
      const auto end = boost::asio::buffer_sequence_end(buffers);
      auto first = boost::asio::buffer_sequence_begin(buffers);
      while (first != end && boost::asio::const_buffer(*first).size() == 0) ++first;
      if (first == end) return 1;  // nothing to write: done at once
      if (boost::asio::const_buffer only = *first; only.size() >= kRecord || alone(first, end)) {
        return write_from(ssl, only.data(), only.size());
      }
      std::size_t gathered = 0;
      for (auto it = first; it != end; ++it) {
        boost::asio::const_buffer b = *it;
        std::size_t n = std::min(b.size(), kRecord - gathered);
        std::memcpy(scratch + gathered, b.data(), n);
        gathered += n;
        if (gathered == kRecord) break;
      }
      return write_from(ssl, scratch, gathered);
    }
    template <class Iterator>
    static bool alone(Iterator it, Iterator end) {
      for (++it; it != end; ++it) {
        if (boost::asio::const_buffer(*it).size() > 0) return false;
      }
      return true;
    }
    int shutdown(SSL* ssl);
    static constexpr std::size_t kRecord = 16 * 1024;
    int read_into(SSL* ssl, void* data, std::size_t size);
    int write_from(SSL* ssl, const void* data, std::size_t size);
    std::size_t transferred = 0;
    unsigned char* scratch = nullptr;
  };

  // What an attempt asks for next.
  enum class Next { done, wait_read, wait_write };
  // After an attempt whose OpenSSL call returned `result` (errno as it left it): done (with
  // ec set on failure), or the readiness to wait for before the next attempt.
  static Next classify(Impl& impl, int result, int saved_errno, boost::beast::error_code& ec);
  static unsigned char* scratch_buffer();

  template <bool WithSize, class Attempt, class Handler>
  auto start(Attempt attempt, Handler&& handler) {
    using Signature = std::conditional_t<WithSize, void(boost::beast::error_code, std::size_t),
                                         void(boost::beast::error_code)>;
    return boost::asio::async_compose<Handler, Signature>(
        Op<WithSize, Attempt>{impl_, std::move(attempt)}, handler, impl_->socket);
  }

  template <bool WithSize, class Attempt>
  struct Op {
    Op(std::shared_ptr<Impl> owner, Attempt how)
        : impl(std::move(owner)), attempt(std::move(how)) {}
    std::shared_ptr<Impl> impl;
    Attempt attempt;
    enum { starting, waiting, completing } state = starting;
    boost::beast::error_code result;
    std::size_t transferred = 0;

    template <class Self>
    void operator()(Self& self, boost::beast::error_code ec = {}) {
      if (state == completing) return finish(self);
      if (state == waiting && ec) {
        result = impl->timed_out ? boost::beast::error::timeout : ec;
        return finish(self);
      }
      if (impl->timed_out) {
        result = boost::beast::error::timeout;
      } else if (!impl->socket.is_open()) {
        result = boost::asio::error::bad_descriptor;
      } else if (impl->ssl == nullptr) {
        result = boost::asio::error::no_memory;
      } else {
        Step step;
        step.scratch = scratch_buffer();
        ERR_clear_error();
        errno = 0;
        int r = attempt(impl->ssl, step);
        Next next = classify(*impl, r, errno, result);
        if (next != Next::done) {
          state = waiting;
          impl->socket.async_wait(
              next == Next::wait_read ? socket_type::wait_read : socket_type::wait_write,
              std::move(self));
          return;
        }
        transferred = step.transferred;
      }
      if (state == starting) {
        // Never complete inside the initiating call.
        state = completing;
        boost::asio::post(std::move(self));
        return;
      }
      finish(self);
    }

    template <class Self>
    void finish(Self& self) {
      if constexpr (WithSize) {
        self.complete(result, transferred);
      } else {
        self.complete(result);
      }
    }
  };

  std::shared_ptr<Impl> impl_;
};

}  // namespace sotto::server
