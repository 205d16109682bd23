// The web client's files (web.root), read once at start into memory. Only what is in this map
// is ever served: a request path is looked up as it came, never joined to a directory, so no
// path can reach the file system.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "sotto/core/result.h"

namespace sotto::server {

struct WebFile {
  std::string content;
  std::string_view content_type;  // by the name's extension (content_type_for)
  std::string etag;               // strong: the hex SHA-256 of the content, quoted
  bool immutable = false;         // under /assets/: Vite's names carry a hash of the content
};

class WebRoot {
 public:
  // By request path: "/index.html", "/assets/app-1a2b.js".
  using Files = std::map<std::string, WebFile, std::less<>>;

  // All files together are held in memory; a web client is a few MiB.
  static constexpr uint64_t kMaxTotalBytes = uint64_t{64} << 20;

  // Reads every regular file below `dir`, recursively. Symbolic links below it are skipped
  // (never followed, never served), as are other special files and names that are not plain
  // URL path segments (characters other than A-Z a-z 0-9 . _ - ~, or a leading dot). `dir`
  // itself may be a link. Errc::invalid_argument when `dir` cannot be read or its files add up
  // to more than `max_total_bytes`.
  static Result<WebRoot> load(const std::filesystem::path& dir,
                              uint64_t max_total_bytes = kMaxTotalBytes);

  // The file at exactly this request path, or nullptr.
  const WebFile* find(std::string_view path) const;
  std::size_t file_count() const { return files_.size(); }
  uint64_t total_bytes() const { return total_bytes_; }

 private:
  Files files_;
  uint64_t total_bytes_ = 0;
};

// The Content-Type of a file by its name's extension; application/octet-stream when unknown.
std::string_view content_type_for(std::string_view name);

}  // namespace sotto::server
