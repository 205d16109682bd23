#include "https_server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <istream>

namespace sotto::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

struct HttpsServer::State {
  asio::io_context ioc;
  asio::ssl::context tls{asio::ssl::context::tls_server};
  tcp::acceptor acceptor{ioc};
  std::map<std::string, std::string> bodies;
  mutable std::mutex mutex;
  std::vector<std::string> requests;

  // Takes connections one at a time, each answered before the next is accepted.
  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      serve(std::move(socket));
      accept();
    });
  }

  void serve(tcp::socket socket) {
    boost::system::error_code ec;
    // A client that stops halfway cannot hold the server (and its destructor) for long.
    const timeval limit{10, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    asio::ssl::stream<tcp::socket> stream(std::move(socket), tls);
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (ec) return;
    asio::streambuf head;
    asio::read_until(stream, head, "\r\n\r\n", ec);
    if (ec) return;
    std::istream in(&head);
    std::string method, target;
    in >> method >> target;
    {
      std::lock_guard<std::mutex> lock(mutex);
      requests.push_back(target);
    }
    const auto found = bodies.find(target.substr(0, target.find('?')));
    const std::string body = found == bodies.end() ? "not here\n" : found->second;
    const std::string response =
        std::string(found == bodies.end() ? "HTTP/1.1 404 Not Found" : "HTTP/1.1 200 OK") +
        "\r\nContent-Type: text/xml\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body;
    asio::write(stream, asio::buffer(response), ec);
    stream.shutdown(ec);
  }
};

HttpsServer::HttpsServer(const std::filesystem::path& certificate, const std::filesystem::path& key,
                         std::map<std::string, std::string> bodies)
    : state_(std::make_unique<State>()) {
  state_->bodies = std::move(bodies);
  state_->tls.use_certificate_chain_file(certificate.string());
  state_->tls.use_private_key_file(key.string(), asio::ssl::context::pem);
  const tcp::endpoint local(asio::ip::make_address("127.0.0.1"), 0);
  state_->acceptor.open(local.protocol());
  state_->acceptor.bind(local);
  state_->acceptor.listen();
  port_ = state_->acceptor.local_endpoint().port();
  state_->accept();
  thread_ = std::thread([s = state_.get()] { s->ioc.run(); });
}

HttpsServer::~HttpsServer() {
  state_->ioc.stop();  // thread-safe; the thread then returns from run()
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> HttpsServer::requests() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->requests;
}

}  // namespace sotto::testing
