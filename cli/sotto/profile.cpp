#include "profile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <system_error>

#include "sotto/core/encoding.h"

namespace sotto::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kSettingsVersion = 1;

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

Error io_error(const std::string& what, const fs::path& path, int err) {
  return Error(Errc::unavailable,
               what + " " + path.string() + ": " + std::generic_category().message(err));
}

Result<void> write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(Errc::unavailable, std::generic_category().message(errno));
    }
    done += static_cast<size_t>(n);
  }
  return success();
}

// One line from the terminal with echo off. nullopt when there is no terminal.
std::optional<std::string> prompt_without_echo(const std::string& prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  termios before{};
  const bool is_tty = ::tcgetattr(fd, &before) == 0;
  if (is_tty) {
    termios quiet = before;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  (void)write_all(fd, prompt);
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  if (is_tty) ::tcsetattr(fd, TCSAFLUSH, &before);
  ::close(fd);
  return line;
}

SecureBytes take_secret(std::string& text) {
  SecureBytes out(BytesView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  secure_wipe(reinterpret_cast<uint8_t*>(text.data()), text.size());
  return out;
}

}  // namespace

// ---- parsing what the user gives -------------------------------------------------------

Result<std::pair<std::string, uint16_t>> parse_server(std::string_view text) {
  const Error usage(
      Errc::invalid_argument,
      "--server: HOST:PORT, HOST (port 443) or [IPv6]:PORT, the port from 1 to 65535");
  std::string_view host = text;
  std::optional<std::string_view> port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return usage;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return usage;
      port_text = text.substr(close + 2);
    }
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (host.empty()) return usage;
  uint32_t port = 443;
  if (port_text) {
    if (port_text->empty() || port_text->size() > 5) return usage;
    port = 0;
    for (char c : *port_text) {
      if (c < '0' || c > '9') return usage;
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port == 0 || port > 65535) return usage;
  }
  return std::make_pair(std::string(host), static_cast<uint16_t>(port));
}

Result<std::string> parse_fingerprint(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c != ':') hex.push_back(c);
  }
  auto bytes = from_hex(hex);
  if (!bytes || bytes->size() != 32) {
    return Error(Errc::invalid_argument,
                 "--fingerprint: the certificate's SHA-256 as 64 hex digits (sottod prints it "
                 "as AB:CD:...)");
  }
  std::string out;
  for (char c : to_hex(*bytes)) {
    if (out.size() % 3 == 2) out.push_back(':');
    out.push_back(c >= 'a' && c <= 'f' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

Result<Bytes> parse_key(std::string_view text, std::string_view what) {
  auto bytes = from_hex(text);
  if (!bytes || bytes->size() != 32) {
    return Error(Errc::invalid_argument, std::string(what) + ": a 32-byte key as 64 hex digits");
  }
  return std::move(bytes).value();
}

// ---- the profile directory -------------------------------------------------------------

fs::path Profile::default_dir() {
  if (auto dir = env("SOTTO_PROFILE")) return *dir;
  if (auto data = env("XDG_DATA_HOME")) return fs::path(*data) / "sotto";
  if (auto home = env("HOME")) return fs::path(*home) / ".local" / "share" / "sotto";
  return fs::path(".sotto");
}

Result<void> Profile::create() const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return io_error("cannot make the profile directory", dir_, ec.value());
  // The store is encrypted, but what profile.json says (server, contacts) is for us alone.
  if (::chmod(dir_.c_str(), 0700) != 0) return io_error("cannot restrict", dir_, errno);
  return success();
}

Result<ProfileSettings> Profile::load() const {
  const fs::path path = settings_path();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return Error(Errc::not_found, "no profile at " + dir_.string() +
                                        " (make one with `sotto init` or `sotto login`)");
    }
    return io_error("cannot read", path, errno);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);

  const Error damaged(Errc::invalid_value, path.string() + " is damaged");
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return damaged;
  try {
    if (j.at("version").get<int>() != kSettingsVersion) {
      return Error(Errc::unsupported, path.string() + " was written by another sotto version");
    }
    ProfileSettings s;
    const json& server = j.at("server");
    s.server.host = server.at("host").get<std::string>();
    s.server.port = server.at("port").get<uint16_t>();
    SOTTO_TRY_ASSIGN(s.server.fingerprint,
                     parse_fingerprint(server.at("fingerprint").get<std::string>()));
    SOTTO_TRY_ASSIGN(s.server.directory_key,
                     parse_key(server.at("directory_key").get<std::string>(), "directory_key"));
    SOTTO_TRY_ASSIGN(s.server.vrf_key,
                     parse_key(server.at("vrf_key").get<std::string>(), "vrf_key"));
    if (j.contains("key_file")) s.key_file = j.at("key_file").get<std::string>();
    for (const auto& name : j.value("contacts", json::array())) {
      s.contacts.insert(name.get<std::string>());
    }
    const json shown = j.value("shown", json::object());
    for (const auto& [group, count] : shown.items()) s.shown[group] = count.get<uint64_t>();
    const json verified = j.value("verified", json::object());
    for (const auto& [name, side] : verified.items()) s.verified[name] = side.get<std::string>();
    const json names = j.value("names", json::object());
    for (const auto& [name, called] : names.items()) s.names[name] = called.get<std::string>();
    s.read_receipts = j.value("read_receipts", true);
    return s;
  } catch (const json::exception&) {
    return damaged;
  }
}

Result<void> Profile::save(const ProfileSettings& s) const {
  json j = {{"version", kSettingsVersion},
            {"server",
             {{"host", s.server.host},
              {"port", s.server.port},
              {"fingerprint", s.server.fingerprint},
              {"directory_key", to_hex(s.server.directory_key)},
              {"vrf_key", to_hex(s.server.vrf_key)}}},
            {"contacts", s.contacts},
            {"shown", s.shown},
            {"verified", s.verified},
            {"names", s.names},
            {"read_receipts", s.read_receipts}};
  if (s.key_file) j["key_file"] = *s.key_file;
  const std::string text = j.dump(2) + "\n";

  return write_private_file(settings_path(), text);
}

Result<void> write_private_file(const fs::path& path, const std::string& text) {
  // A new file beside the old one, synced, then renamed over it: a crash leaves one or the
  // other, never half of each.
  const fs::path temp = path.string() + ".new";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot write", temp, errno);
  auto written = write_all(fd, text);
  const bool synced = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return io_error("cannot write", path, err);
  }
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return success();
}

// ---- unlocking the store ---------------------------------------------------------------

Result<SecureBytes> read_secret(const char* env_name, const std::string& prompt, bool confirm) {
  if (const char* value = std::getenv(env_name); value != nullptr && *value != '\0') {
    return SecureBytes(BytesView(reinterpret_cast<const uint8_t*>(value), std::strlen(value)));
  }
  auto first = prompt_without_echo(prompt + ": ");
  if (!first) {
    return Error(Errc::invalid_argument,
                 std::string("no terminal to ask for the ") + prompt + ": set " + env_name);
  }
  SecureBytes secret = take_secret(*first);
  if (secret.empty()) return Error(Errc::invalid_argument, "an empty " + prompt);
  if (confirm) {
    auto again = prompt_without_echo(prompt + " again: ");
    SecureBytes second = again ? take_secret(*again) : SecureBytes();
    if (second.size() != secret.size() ||
        !std::equal(second.data(), second.data() + second.size(), secret.data())) {
      return Error(Errc::invalid_argument, "the two entries of the " + prompt + " differ");
    }
  }
  return secret;
}

Result<client::StoreUnlock> choose_unlock(const std::optional<std::string>& key_file_option,
                                          const std::optional<std::string>& profile_key_file,
                                          bool confirm) {
  std::optional<std::string> key_file = key_file_option;
  if (!key_file) key_file = env("SOTTO_KEY_FILE");
  if (!key_file) key_file = profile_key_file;
  if (key_file) return client::StoreUnlock(client::StoreKeyFile{*key_file});
  SOTTO_TRY_ASSIGN(auto passphrase, read_secret("SOTTO_PASSPHRASE", "profile passphrase", confirm));
  return client::StoreUnlock(client::StorePassphrase{std::move(passphrase)});
}

Result<std::unique_ptr<client::SqliteClientStore>> open_store(const Profile& profile,
                                                              const client::StoreUnlock& unlock,
                                                              bool create) {
  client::SqliteClientStoreOptions options;
  options.create = create;
  auto store = client::SqliteClientStore::open(profile.store_path().string(), unlock, options);
  if (!store && store.error().code() == Errc::not_found) {
    return Error(Errc::not_found, "no account in the profile " + profile.dir().string() +
                                      " (make one with `sotto init` or `sotto login`)");
  }
  return store;
}

Exit exit_for_store_open(const Error& error) {
  switch (error.code()) {
    case Errc::not_found:
      return Exit::no_account;
    case Errc::authentication_failed:
    case Errc::invalid_argument:  // an unusable key file, or the wrong kind of secret
      return Exit::bad_unlock;
    case Errc::unavailable:
      return Exit::profile_busy;
    default:
      return Exit::failure;
  }
}

}  // namespace sotto::cli
