#include "mail_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace sotto::testing {

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::vector<uint16_t> free_ports(std::size_t n) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (std::size_t i = 0; i < n; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      break;
    }
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

MailServer::MailServer(std::string domain, std::vector<std::string> users, bool idle)
    : domain_(std::move(domain)) {
  std::string pattern = (fs::temp_directory_path() / "sotto-mail-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    output_ = "no temporary directory";
    return;
  }
  dir_ = pattern;
  // The daemons run as their own users and must reach the state under it.
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  auto ports = free_ports(7);
  if (ports.size() != 7) {
    output_ = "no free ports";
    return;
  }
  ports_ = ports;
  std::string user_list;
  for (const auto& u : users) user_list += (user_list.empty() ? "" : " ") + u;
  std::ostringstream env;
  env << "MS_DIR='" << state().string() << "' MS_DOMAIN=" << domain_ << " MS_USERS='" << user_list
      << "'"
      << " MS_IMAP_PORT=" << ports[0] << " MS_IMAPS_PORT=" << ports[1]
      << " MS_SMTP_PORT=" << ports[2] << " MS_SUBMISSION_PORT=" << ports[3]
      << " MS_SUBMISSIONS_PORT=" << ports[4] << " MS_LMTP_PORT=" << ports[5]
      << " MS_AUTH_PORT=" << ports[6] << (idle ? "" : " MS_NO_IDLE=1");
  env_ = env.str();
  started_ = run("start") == 0;
}

MailServer::~MailServer() {
  if (started_) run("stop");
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::vector<std::string> MailServer::mails(const std::string& user) const {
  fs::path dir = state() / "vmail" / domain_ / user / "Maildir" / "new";
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) files.push_back(e.path());
  // Maildir names start with the delivery time in seconds, then a sequence within it.
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    return fs::last_write_time(a) < fs::last_write_time(b) ||
           (fs::last_write_time(a) == fs::last_write_time(b) && a < b);
  });
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(read_file(f));
  return out;
}

std::vector<std::string> MailServer::wait_mails(const std::string& user, std::size_t count,
                                                std::chrono::seconds limit) const {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto m = mails(user);
    if (m.size() >= count || std::chrono::steady_clock::now() > deadline) return m;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

bool MailServer::stop() {
  if (!started_) return false;
  started_ = false;
  return run("stop") == 0;
}

bool MailServer::start() {
  if (started_) return true;
  started_ = run("start") == 0;
  return started_;
}

std::string MailServer::logs() const {
  return read_file(state() / "log" / "postfix.log") + read_file(state() / "log" / "dovecot.log");
}

int MailServer::run(const std::string& command) {
  fs::path out = dir_ / "mailserver.out";
  std::string line = env_ + " bash '" + std::string(SOTTO_SOURCE_DIR) + "/scripts/mailserver.sh' " +
                     command + " >'" + out.string() + "' 2>&1";
  int status = std::system(line.c_str());
  output_ += read_file(out);
  return status;
}

}  // namespace sotto::testing
