#include "tls_stream.h"

#include <climits>
#include <system_error>

namespace sotto::server {

namespace asio = boost::asio;
namespace beast = boost::beast;

TlsStream::TlsStream(socket_type socket, asio::ssl::context& context) {
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  SSL* ssl = SSL_new(context.native_handle());
  if (ssl != nullptr) {
    // The socket BIO does not own the descriptor: the socket closes it.
    if (SSL_set_fd(ssl, static_cast<int>(socket.native_handle())) != 1) {
      SSL_free(ssl);
      ssl = nullptr;
    } else {
      // A write may end after a record, and its retry may gather the same bytes elsewhere.
      SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
  }
  impl_ = std::make_shared<Impl>(std::move(socket), ssl);
}

TlsStream::Impl::~Impl() {
  if (ssl != nullptr) SSL_free(ssl);
}

void TlsStream::expires_after(std::chrono::steady_clock::duration after) {
  impl_->timer.expires_after(after);
  impl_->timer.async_wait([weak = std::weak_ptr<Impl>(impl_)](beast::error_code ec) {
    auto impl = weak.lock();
    if (ec || !impl) return;
    // Set again since this wait began: a later wait stands for the new deadline.
    if (impl->timer.expiry() > std::chrono::steady_clock::now()) return;
    impl->timed_out = true;
    beast::error_code ignored;
    impl->socket.close(ignored);
  });
}

void TlsStream::expires_never() {
  impl_->timer.cancel();
}

void TlsStream::cancel() {
  beast::error_code ignored;
  impl_->socket.cancel(ignored);
}

void TlsStream::close() {
  impl_->timer.cancel();
  beast::error_code ignored;
  impl_->socket.close(ignored);
}

int TlsStream::Step::read_into(SSL* ssl, void* data, std::size_t size) {
  int r = SSL_read(ssl, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
  if (r > 0) transferred = static_cast<std::size_t>(r);
  return r;
}

int TlsStream::Step::write_from(SSL* ssl, const void* data, std::size_t size) {
  int r = SSL_write(ssl, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
  if (r > 0) transferred = static_cast<std::size_t>(r);
  return r;
}

int TlsStream::Step::shutdown(SSL* ssl) {
  if ((SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) == 0) {
    int r = SSL_shutdown(ssl);
    if (r == 1) return 1;  // the peer's close_notify was in already
    if (r < 0) return r;
  }
  for (;;) {
    int r = SSL_read(ssl, scratch, static_cast<int>(kRecord));
    if (r > 0) continue;
    return SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN ? 1 : r;
  }
}

unsigned char* TlsStream::scratch_buffer() {
  thread_local unsigned char buffer[Step::kRecord];
  return buffer;
}

TlsStream::Next TlsStream::classify(Impl& impl, int result, int saved_errno,
                                    beast::error_code& ec) {
  ec = {};
  if (result > 0) return Next::done;
  switch (SSL_get_error(impl.ssl, result)) {
    case SSL_ERROR_WANT_READ:
      return Next::wait_read;
    case SSL_ERROR_WANT_WRITE:
      return Next::wait_write;
    case SSL_ERROR_ZERO_RETURN:
      ec = asio::error::eof;  // the peer's close_notify
      break;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        // The peer closed the connection without close_notify, or the socket failed.
        ec = saved_errno == 0 ? beast::error_code(asio::ssl::error::stream_truncated)
                              : beast::error_code(saved_errno, beast::system_category());
        break;
      }
      [[fallthrough]];
    default: {
      unsigned long code = ERR_peek_last_error();
      if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ec = asio::ssl::error::stream_truncated;
      } else {
        ec = beast::error_code(static_cast<int>(code), asio::error::get_ssl_category());
      }
      break;
    }
  }
  ERR_clear_error();
  return Next::done;
}

}  // namespace sotto::server
