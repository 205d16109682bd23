// A `sotto` profile: one directory per account and device, holding the encrypted client store
// (store.db) and profile.json, the settings that are not secret: the server and what is
// pinned for it, the key file's path, the contacts added, and how far `recv` has shown each
// conversation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "output.h"
#include "sotto/client/sqlite_client_store.h"
#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::cli {

// The server and what the client pins for it, as given to `init` or `login`.
struct ServerPins {
  std::string host;
  uint16_t port = 443;
  std::string fingerprint;  // "AB:CD:...", the SHA-256 of the server's certificate
  Bytes directory_key;      // the key directory's Ed25519 signing key
  Bytes vrf_key;            // its VRF key
};

// "HOST:PORT", "HOST" (port 443) or "[V6]:PORT".
Result<std::pair<std::string, uint16_t>> parse_server(std::string_view text);
// 64 hex digits, with or without colons between the pairs; gives "AB:CD:...".
Result<std::string> parse_fingerprint(std::string_view text);
// A 32-byte key in hex.
Result<Bytes> parse_key(std::string_view text, std::string_view what);

struct ProfileSettings {
  ServerPins server;
  std::optional<std::string> key_file;    // absolute; unset for a passphrase store
  std::set<std::string> contacts;         // usernames added with `contacts add` or written to
  std::map<std::string, uint64_t> shown;  // group id (hex) -> messages `recv` has gone past
  // username -> their side of the safety number when this user confirmed it (`verify
  // --matches`); sending to them stops while their keys differ from it.
  std::map<std::string, std::string> verified;
  // username -> the name an imported address book (`contacts import`) gives them; kept on
  // this device only.
  std::map<std::string, std::string> names;
  // Tell senders when their messages were read here (`sotto receipts on|off`).
  bool read_receipts = true;
};

class Profile {
 public:
  explicit Profile(std::filesystem::path dir) : dir_(std::move(dir)) {}
  // $SOTTO_PROFILE, else $XDG_DATA_HOME/sotto, else ~/.local/share/sotto.
  static std::filesystem::path default_dir();

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path store_path() const { return dir_ / "store.db"; }
  std::filesystem::path settings_path() const { return dir_ / "profile.json"; }

  // Makes the directory (mode 0700) when it is missing.
  Result<void> create() const;
  // Errc::not_found when there is no profile.json; Errc::invalid_value when it is damaged.
  Result<ProfileSettings> load() const;
  // Replaces profile.json atomically (mode 0600).
  Result<void> save(const ProfileSettings& settings) const;

 private:
  std::filesystem::path dir_;
};

// Replaces `path` with `text` atomically (a synced temporary file renamed over it), readable
// and writable by its owner only.
Result<void> write_private_file(const std::filesystem::path& path, const std::string& text);

// What unlocks the store: a key file (the --key-file option, $SOTTO_KEY_FILE, or the one the
// profile names), else the passphrase in $SOTTO_PASSPHRASE, else one typed at the terminal
// without echo (twice when `confirm`, for a new store).
Result<client::StoreUnlock> choose_unlock(const std::optional<std::string>& key_file_option,
                                          const std::optional<std::string>& profile_key_file,
                                          bool confirm);

// A secret from the environment variable `env`, else typed at the terminal without echo.
// Errc::invalid_argument when neither is there.
Result<SecureBytes> read_secret(const char* env, const std::string& prompt, bool confirm);

// Opens the profile's store (creating it when `create`), with the exit status for a failure.
Result<std::unique_ptr<client::SqliteClientStore>> open_store(const Profile& profile,
                                                              const client::StoreUnlock& unlock,
                                                              bool create);
Exit exit_for_store_open(const Error& error);

}  // namespace sotto::cli
