#include "web_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/beast/core/string.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "sotto/core/encoding.h"
#include "sotto/crypto/primitives.h"

namespace sotto::server {
namespace {

// Deeper than any build output; bounds the recursion.
constexpr int kMaxDepth = 32;

// A name a browser requests as it is, without percent-encoding: RFC 3986's unreserved
// characters. A leading dot (hidden files, and "." and "..") is not served either.
bool is_plain_segment(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  for (char c : name) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '.' && c != '_' && c != '-' && c != '~') return false;
  }
  return true;
}

struct ClosedFd {
  int fd;
  ~ClosedFd() {
    if (fd >= 0) ::close(fd);
  }
};

// The walk below the root: directories by descriptor (openat, O_NOFOLLOW), so that no link
// is followed even if one appears while sottod reads.
class Loader {
 public:
  Loader(std::string root, uint64_t max_total_bytes)
      : root_(std::move(root)), max_total_bytes_(max_total_bytes) {}

  // Reads the directory open at `fd` (taken over) whose request path is `prefix`.
  Result<void> directory(int fd, const std::string& prefix, int depth);
  WebRoot::Files take() && { return std::move(files_); }
  uint64_t total_bytes() const { return total_bytes_; }

 private:
  Result<void> file(int dir_fd, const char* name, const std::string& path);

  Error error(const std::string& what) const {
    return Error(Errc::invalid_argument, "web root \"" + root_ + "\": " + what);
  }
  Error system_error(const std::string& what, const std::string& path) const {
    return error("cannot " + what + " " + (path.empty() ? std::string("it") : path.substr(1)) +
                 ": " + std::strerror(errno));
  }

  std::string root_;
  uint64_t max_total_bytes_;
  WebRoot::Files files_;
  uint64_t total_bytes_ = 0;
};

Result<void> Loader::directory(int fd, const std::string& prefix, int depth) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd), &::closedir);
  if (!dir) {
    auto failed = system_error("list", prefix);
    ::close(fd);
    return failed;
  }
  if (depth > kMaxDepth) {
    return error(prefix.substr(1) + ": directories nested more than " + std::to_string(kMaxDepth) +
                 " deep");
  }
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (!entry) {
      if (errno != 0) return system_error("list", prefix);
      return success();
    }
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string path = prefix + "/" + std::string(name);
    if (!is_plain_segment(name)) {
      spdlog::warn("web root: {} is not served: its name is not a plain URL path segment",
                   path.substr(1));
      continue;
    }
    struct stat st {};
    if (::fstatat(::dirfd(dir.get()), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return system_error("read", path);
    }
    if (S_ISLNK(st.st_mode)) {
      spdlog::warn("web root: {} is not served: symbolic links are not followed", path.substr(1));
    } else if (S_ISDIR(st.st_mode)) {
      int sub = ::openat(::dirfd(dir.get()), entry->d_name,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) return system_error("open", path);
      SOTTO_TRY(directory(sub, path, depth + 1));
    } else if (S_ISREG(st.st_mode)) {
      SOTTO_TRY(file(::dirfd(dir.get()), entry->d_name, path));
    } else {
      spdlog::warn("web root: {} is not served: not a regular file", path.substr(1));
    }
  }
}

Result<void> Loader::file(int dir_fd, const char* name, const std::string& path) {
  ClosedFd in{::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  if (in.fd < 0) return system_error("open", path);
  struct stat st {};
  if (::fstat(in.fd, &st) != 0) return system_error("read", path);
  if (!S_ISREG(st.st_mode)) return error(path.substr(1) + " changed while it was read");
  std::string content;
  std::array<char, 64 * 1024> buffer;
  for (;;) {
    ssize_t n = ::read(in.fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return system_error("read", path);
    if (n == 0) break;
    content.append(buffer.data(), static_cast<std::size_t>(n));
    if (total_bytes_ + content.size() > max_total_bytes_) {
      return error("its files add up to more than " + std::to_string(max_total_bytes_) +
                   " bytes, which sottod would hold in memory; is it the web client's build "
                   "output?");
    }
  }
  total_bytes_ += content.size();
  WebFile web_file;
  web_file.etag = "\"" +
                  to_hex(crypto::sha256(BytesView(reinterpret_cast<const uint8_t*>(content.data()),
                                                  content.size()))) +
                  "\"";
  web_file.content = std::move(content);
  web_file.content_type = content_type_for(name);
  web_file.immutable = path.rfind("/assets/", 0) == 0;
  files_.emplace(path, std::move(web_file));
  return success();
}

}  // namespace

Result<WebRoot> WebRoot::load(const std::filesystem::path& dir, uint64_t max_total_bytes) {
  Loader loader(dir.string(), max_total_bytes);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Error(
        Errc::invalid_argument,
        "web root \"" + dir.string() + "\": cannot open the directory: " + std::strerror(errno));
  }
  SOTTO_TRY(loader.directory(fd, "", 0));
  WebRoot root;
  root.total_bytes_ = loader.total_bytes();
  root.files_ = std::move(loader).take();
  if (!root.find("/index.html")) {
    spdlog::warn("web root \"{}\" has no index.html: / answers 404", dir.string());
  }
  return root;
}

const WebFile* WebRoot::find(std::string_view path) const {
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

std::string_view content_type_for(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"wasm", "application/wasm"},
      {"json", "application/json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"ico", "image/x-icon"},
      {"webmanifest", "application/manifest+json"},
      {"txt", "text/plain; charset=utf-8"},
  };
  auto slash = name.rfind('/');
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  auto dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    std::string_view extension = name.substr(dot + 1);
    for (const auto& [ext, type] : kTypes) {
      if (boost::beast::iequals(extension, ext)) return type;
    }
  }
  return "application/octet-stream";
}

}  // namespace sotto::server
