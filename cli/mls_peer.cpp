// mls-peer: one MLS member in a directory, exchanging TLS-serialised MLSMessage files with
// other RFC 9420 implementations, on lib/mls's Group API.
//
//   mls-peer gen-kp DIR SUITE IDENTITY       DIR/key_package.mls, DIR/kp_private.bin
//   mls-peer create-add DIR KEYPACKAGE SUITE TEXT
//                                            DIR/commit.mls, welcome.mls, app.mls, state.bin,
//                                            expected.json
//   mls-peer join DIR WELCOME [APP...]       joins with DIR's key package, reads each APP
//   mls-peer send DIR TEXT                   DIR/app-N.mls
//   mls-peer commit DIR                      DIR/commit-N.mls: an empty commit (a self-update)
//   mls-peer recv DIR MSG...                 handshake and application messages, in order
//
// After each command that leaves a group, the epoch: its number, its epoch authenticator and
// MLS-Exporter("interop", "", 32) (RFC 9420 sections 8.5, 8.7), the values two
// implementations in one epoch must agree on; create-add also writes them to expected.json.
//
// Files, messages and suites that are wrong are errors with a message (exit 1); a wrong
// command line is exit 2. The group state (state.bin) and the key package's private keys
// hold secrets: they are written mode 0600, unencrypted, since this is a test tool.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/encoding.h"
#include "sotto/core/result.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/cipher_suite.h"
#include "sotto/crypto/primitives.h"
#include "sotto/mls/group.h"
#include "sotto/mls/messages.h"

namespace {

using namespace sotto;
using namespace sotto::mls;
namespace fs = std::filesystem;

constexpr int kFailure = 1;
constexpr int kUsage = 2;

constexpr const char* kKeyPackageFile = "key_package.mls";
constexpr const char* kKeyPackagePrivateFile = "kp_private.bin";
constexpr const char* kStateFile = "state.bin";
// Version of kp_private.bin, which only mls-peer reads.
constexpr uint16_t kPrivateKeysVersion = 1;
// A KeyPackage from gen-kp is valid from an hour ago (for peers whose clocks run behind)
// for 90 days.
constexpr uint64_t kLifetimeBefore = 3600;
constexpr uint64_t kLifetimeAfter = 90 * 24 * 3600;
// What expected.json and the output hold of MLS-Exporter: label, empty context, 32 bytes.
constexpr std::string_view kExporterLabel = "interop";
constexpr size_t kExporterLength = 32;

int usage() {
  std::fprintf(stderr,
               "usage: mls-peer gen-kp DIR SUITE IDENTITY\n"
               "       mls-peer create-add DIR KEYPACKAGE SUITE TEXT\n"
               "       mls-peer join DIR WELCOME [APP...]\n"
               "       mls-peer send DIR TEXT\n"
               "       mls-peer commit DIR\n"
               "       mls-peer recv DIR MSG...\n"
               "SUITE is 1 (X25519, AES-128-GCM, SHA-256, Ed25519) or 3 (X25519,\n"
               "ChaCha20-Poly1305, SHA-256, Ed25519).\n");
  return kUsage;
}

Error failure(std::string message) {
  return Error(Errc::invalid_argument, std::move(message));
}

uint64_t now_seconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void system_random(std::span<uint8_t> out) {
  crypto::random_fill(out);
}

// ---- files -------------------------------------------------------------------------------

Result<Bytes> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(Errc::not_found, path.string() + ": cannot open: " + std::strerror(errno));
  }
  Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Error(Errc::unavailable, path.string() + ": read error");
  return data;
}

// Written beside `path` and renamed over it, so that an interrupted write never leaves half a
// group state. `secret` files are 0600 whatever the umask.
Result<void> write_file(const fs::path& path, BytesView data, bool secret) {
  const std::string tmp = path.string() + ".tmp";
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0600 : 0644);
  if (fd < 0) {
    return Error(Errc::unavailable, tmp + ": cannot create: " + std::strerror(errno));
  }
  bool ok = !secret || ::fchmod(fd, 0600) == 0;
  for (size_t done = 0; ok && done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Error(Errc::unavailable, path.string() + ": cannot write: " + why);
  }
  return success();
}

Result<void> write_text(const fs::path& path, std::string_view text) {
  return write_file(path, as_bytes(text), /*secret=*/false);
}

// DIR for gen-kp and create-add: made when missing.
Result<void> make_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(Errc::unavailable, dir.string() + ": cannot create: " + ec.message());
  return success();
}

Result<MlsMessage> read_message(const fs::path& path) {
  SOTTO_TRY_ASSIGN(const Bytes wire, read_file(path));
  auto message = tls::decode<MlsMessage>(wire);
  if (!message.ok()) {
    return failure(path.string() +
                   ": not a TLS-serialised MLSMessage: " + message.error().to_string());
  }
  return message;
}

Result<void> write_message(const fs::path& path, const MlsMessage& message) {
  return write_file(path, tls::encode(message), /*secret=*/false);
}

// ---- suites, key packages, state --------------------------------------------------------

Result<crypto::SuiteId> parse_suite(std::string_view text) {
  uint16_t id = 0;
  if (text == "1" || text == "0x0001" || text == "0x1") id = 1;
  if (text == "3" || text == "0x0003" || text == "0x3") id = 3;
  if (id == 0) {
    return failure("suite \"" + std::string(text) + "\": mls-peer speaks suites 1 and 3");
  }
  if (!crypto::CipherSuite::supported(id)) {
    return Error(Errc::unsupported, "suite " + std::to_string(id) + " is not in this build");
  }
  return static_cast<crypto::SuiteId>(id);
}

Result<KeyPackage> key_package_of(const MlsMessage& message, const fs::path& path) {
  const auto* key_package = std::get_if<KeyPackage>(&message.content);
  if (key_package == nullptr) return failure(path.string() + ": not a KeyPackage message");
  return *key_package;
}

// kp_private.bin: u16 version, then the init, encryption and signature private keys, each
// opaque<V>.
Bytes encode_private_keys(const KeyPackagePrivateKeys& keys) {
  tls::Writer w;
  w.u16(kPrivateKeysVersion);
  w.opaque(keys.init_private_key);
  w.opaque(keys.encryption_private_key);
  w.opaque(keys.signature_private_key);
  return w.take();
}

Result<KeyPackagePrivateKeys> decode_private_keys(BytesView data, const fs::path& path) {
  tls::Reader r(data);
  const auto version = r.u16();
  if (!version.ok() || *version != kPrivateKeysVersion) {
    return failure(path.string() + ": not an mls-peer private key file");
  }
  KeyPackagePrivateKeys keys;
  for (SecureBytes* key :
       {&keys.init_private_key, &keys.encryption_private_key, &keys.signature_private_key}) {
    auto bytes = r.opaque();
    if (!bytes.ok()) return failure(path.string() + ": truncated");
    *key = SecureBytes(*bytes);
  }
  if (!r.expect_end().ok()) return failure(path.string() + ": trailing bytes");
  return keys;
}

Result<Group> load_state(const fs::path& dir) {
  const fs::path path = dir / kStateFile;
  if (!fs::exists(path)) {
    return Error(Errc::not_found,
                 path.string() + ": no group state here (run create-add or join first)");
  }
  SOTTO_TRY_ASSIGN(const Bytes state, read_file(path));
  auto group = Group::deserialize(state);
  if (!group.ok()) {
    return failure(path.string() + ": not a group state: " + group.error().to_string());
  }
  return group;
}

Result<void> save_state(const fs::path& dir, const Group& group) {
  Bytes state = group.serialize();
  auto written = write_file(dir / kStateFile, state, /*secret=*/true);
  secure_wipe(state.data(), state.size());
  return written;
}

// Refuses to overwrite a group: its secrets would be lost.
Result<void> expect_no_state(const fs::path& dir) {
  if (fs::exists(dir / kStateFile)) {
    return failure((dir / kStateFile).string() + " already holds a group; use another DIR");
  }
  return success();
}

// ---- output ------------------------------------------------------------------------------

// Application data as one line: printable ASCII as is, anything else as \xNN, so that a
// peer's bytes cannot move the terminal or split the line.
std::string printable(BytesView data) {
  std::string out;
  for (const uint8_t b : data) {
    if (b >= 0x20 && b < 0x7f && b != '\\') {
      out.push_back(static_cast<char>(b));
    } else {
      char esc[5];
      std::snprintf(esc, sizeof esc, "\\x%02x", b);
      out += esc;
    }
  }
  return out;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto b = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (b < 0x20) {
      char esc[7];
      std::snprintf(esc, sizeof esc, "\\u%04x", b);
      out += esc;
    } else {
      out.push_back(ch);
    }
  }
  return out + "\"";
}

Result<std::string> exporter_hex(const Group& group) {
  SOTTO_TRY_ASSIGN(const SecureBytes secret,
                   group.export_secret(kExporterLabel, BytesView{}, kExporterLength));
  return to_hex(secret);
}

Result<void> print_epoch(const Group& group) {
  // The epoch authenticator is meant to be compared out of band (RFC 9420 section 8.7), and
  // an exporter value of a label no application uses tells nothing of other exports: printing
  // them is their purpose, to check that two implementations share the epoch.
  SOTTO_TRY_ASSIGN(const std::string exporter, exporter_hex(group));
  std::printf("epoch: %llu\nepoch_authenticator: %s\nexporter: %s\n",
              static_cast<unsigned long long>(group.epoch()),
              to_hex(group.epoch_authenticator()).c_str(), exporter.c_str());
  return success();
}

// ---- commands ----------------------------------------------------------------------------

Result<void> gen_kp(const fs::path& dir, std::string_view suite_text, std::string_view identity) {
  SOTTO_TRY_ASSIGN(const crypto::SuiteId suite, parse_suite(suite_text));
  SOTTO_TRY(make_dir(dir));
  const SecureBytes signature_key = crypto::random_secret(32);
  const uint64_t now = now_seconds();
  SOTTO_TRY_ASSIGN(
      KeyPackageBundle bundle,
      create_key_package(suite, Credential{BasicCredential{to_bytes(identity)}}, signature_key,
                         Lifetime{now - kLifetimeBefore, now + kLifetimeAfter}, system_random));
  Bytes private_keys = encode_private_keys(bundle.private_keys);
  auto written = write_file(dir / kKeyPackagePrivateFile, private_keys, /*secret=*/true);
  secure_wipe(private_keys.data(), private_keys.size());
  SOTTO_TRY(std::move(written));
  MlsMessage message;
  message.content = std::move(bundle.key_package);
  SOTTO_TRY(write_message(dir / kKeyPackageFile, message));
  std::printf("%s\n", (dir / kKeyPackageFile).string().c_str());
  return success();
}

Result<void> create_add(const fs::path& dir, const fs::path& key_package_path,
                        std::string_view suite_text, std::string_view text) {
  SOTTO_TRY_ASSIGN(const crypto::SuiteId suite, parse_suite(suite_text));
  SOTTO_TRY_ASSIGN(const MlsMessage kp_message, read_message(key_package_path));
  SOTTO_TRY_ASSIGN(const KeyPackage key_package, key_package_of(kp_message, key_package_path));
  if (static_cast<uint16_t>(key_package.cipher_suite) != static_cast<uint16_t>(suite)) {
    return failure(key_package_path.string() + ": the KeyPackage is for suite " +
                   std::to_string(static_cast<uint16_t>(key_package.cipher_suite)) +
                   ", not suite " + std::to_string(static_cast<uint16_t>(suite)));
  }
  SOTTO_TRY(make_dir(dir));
  SOTTO_TRY(expect_no_state(dir));

  const SecureBytes signature_key = crypto::random_secret(32);
  SOTTO_TRY_ASSIGN(Group group, Group::create(suite, crypto::random_bytes(16),
                                              Credential{BasicCredential{to_bytes("mls-peer")}},
                                              signature_key, system_random));
  const uint64_t now = now_seconds();
  auto add = group.propose_add(key_package, now);
  if (!add.ok()) return std::move(add).error().with_context(key_package_path.string());
  // The Welcome's GroupInfo carries the ratchet_tree extension (Group::commit adds it), so
  // that the joiner needs nothing else.
  SOTTO_TRY_ASSIGN(CommitResult committed, group.commit({*add}, system_random, now));
  if (!committed.output.welcome) return Error(Errc::internal, "the commit made no Welcome");
  Group next = std::move(committed.next);
  SOTTO_TRY_ASSIGN(const MlsMessage app, next.protect(as_bytes(text), system_random));
  // The state first: the application key is used, and must not be used again on a rerun.
  SOTTO_TRY(save_state(dir, next));
  SOTTO_TRY(write_message(dir / "commit.mls", committed.output.commit));
  SOTTO_TRY(write_message(dir / "welcome.mls", *committed.output.welcome));
  SOTTO_TRY(write_message(dir / "app.mls", app));
  SOTTO_TRY_ASSIGN(const std::string exporter, exporter_hex(next));
  const std::string expected = "{\n  \"epoch_authenticator\": \"" +
                               to_hex(next.epoch_authenticator()) + "\",\n  \"exporter\": \"" +
                               exporter + "\",\n  \"epoch\": " + std::to_string(next.epoch()) +
                               ",\n  \"group_id\": \"" + to_hex(next.group_id()) +
                               "\",\n  \"text\": " + json_string(text) + "\n}\n";
  SOTTO_TRY(write_text(dir / "expected.json", expected));
  std::printf("group_id: %s\n", to_hex(next.group_id()).c_str());
  return print_epoch(next);
}

// Opens an application message and prints its text.
Result<void> read_application(Group& group, const MlsMessage& message, const fs::path& path) {
  auto received = group.unprotect(message);
  if (!received.ok()) return std::move(received).error().with_context(path.string());
  std::printf("message: %s\n", printable(received->data).c_str());
  return success();
}

bool is_application(const MlsMessage& message) {
  if (const auto* priv = std::get_if<PrivateMessage>(&message.content)) {
    return priv->content_type == ContentType::application;
  }
  if (const auto* pub = std::get_if<PublicMessage>(&message.content)) {
    return pub->content.content_type() == ContentType::application;
  }
  return false;
}

Result<void> join(const fs::path& dir, const fs::path& welcome_path,
                  const std::vector<fs::path>& apps) {
  SOTTO_TRY(expect_no_state(dir));
  SOTTO_TRY_ASSIGN(const MlsMessage kp_message, read_message(dir / kKeyPackageFile));
  SOTTO_TRY_ASSIGN(const KeyPackage key_package, key_package_of(kp_message, dir / kKeyPackageFile));
  SOTTO_TRY_ASSIGN(const Bytes private_file, read_file(dir / kKeyPackagePrivateFile));
  SOTTO_TRY_ASSIGN(const KeyPackagePrivateKeys keys,
                   decode_private_keys(private_file, dir / kKeyPackagePrivateFile));
  SOTTO_TRY_ASSIGN(const MlsMessage welcome, read_message(welcome_path));
  if (welcome.wire_format() != WireFormat::welcome) {
    return failure(welcome_path.string() + ": not a Welcome message");
  }
  auto joined = Group::join(welcome, key_package, keys);
  if (!joined.ok()) return std::move(joined).error().with_context(welcome_path.string());
  Group group = std::move(joined).value();
  for (const fs::path& path : apps) {
    SOTTO_TRY_ASSIGN(const MlsMessage message, read_message(path));
    if (!is_application(message)) return failure(path.string() + ": not an application message");
    SOTTO_TRY(read_application(group, message, path));
  }
  SOTTO_TRY(save_state(dir, group));
  std::printf("group_id: %s\n", to_hex(group.group_id()).c_str());
  return print_epoch(group);
}

// DIR/PREFIX-N.mls with the first N not taken.
fs::path next_free(const fs::path& dir, std::string_view prefix) {
  for (unsigned n = 1;; ++n) {
    fs::path path = dir / (std::string(prefix) + "-" + std::to_string(n) + ".mls");
    if (!fs::exists(path)) return path;
  }
}

Result<void> send(const fs::path& dir, std::string_view text) {
  SOTTO_TRY_ASSIGN(Group group, load_state(dir));
  const fs::path path = next_free(dir, "app");
  SOTTO_TRY_ASSIGN(const MlsMessage message, group.protect(as_bytes(text), system_random));
  // The state first: the key just used must not be used again if writing the message fails.
  SOTTO_TRY(save_state(dir, group));
  SOTTO_TRY(write_message(path, message));
  std::printf("%s\n", path.string().c_str());
  return success();
}

// A commit of no proposals: it carries an UpdatePath, so it renews our leaf and every key on
// its path to the root, and starts the next epoch.
Result<void> commit(const fs::path& dir) {
  SOTTO_TRY_ASSIGN(const Group group, load_state(dir));
  const fs::path path = next_free(dir, "commit");
  SOTTO_TRY_ASSIGN(CommitResult committed, group.commit({}, system_random, now_seconds()));
  // The new state first, as for create-add: it holds the only copy of the new path secrets.
  SOTTO_TRY(save_state(dir, committed.next));
  SOTTO_TRY(write_message(path, committed.output.commit));
  std::printf("%s\n", path.string().c_str());
  return print_epoch(committed.next);
}

// All or nothing: the state is saved only when every message was processed, so that a failed
// run can be repeated on the same files.
Result<void> recv(const fs::path& dir, const std::vector<fs::path>& messages) {
  SOTTO_TRY_ASSIGN(Group group, load_state(dir));
  for (const fs::path& path : messages) {
    SOTTO_TRY_ASSIGN(const MlsMessage message, read_message(path));
    if (is_application(message)) {
      SOTTO_TRY(read_application(group, message, path));
      continue;
    }
    if (message.wire_format() != WireFormat::public_message &&
        message.wire_format() != WireFormat::private_message) {
      return failure(path.string() + ": not a group message (a Welcome, GroupInfo or KeyPackage)");
    }
    const uint64_t epoch = group.epoch();
    auto next = group.process(message);
    if (!next.ok()) return std::move(next).error().with_context(path.string());
    group = std::move(next).value();
    if (group.epoch() != epoch) {
      std::printf("commit: epoch %llu\n", static_cast<unsigned long long>(group.epoch()));
    } else {
      std::printf("proposal cached\n");
    }
  }
  SOTTO_TRY(save_state(dir, group));
  return print_epoch(group);
}

std::vector<fs::path> paths(char** begin, char** end) {
  return std::vector<fs::path>(begin, end);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string_view command = argv[1];
  if (command == "-h" || command == "--help") {
    usage();
    return 0;
  }
  Result<void> result = success();
  if (command == "gen-kp" && argc == 5) {
    result = gen_kp(argv[2], argv[3], argv[4]);
  } else if (command == "create-add" && argc == 6) {
    result = create_add(argv[2], argv[3], argv[4], argv[5]);
  } else if (command == "join" && argc >= 4) {
    result = join(argv[2], argv[3], paths(argv + 4, argv + argc));
  } else if (command == "send" && argc == 4) {
    result = send(argv[2], argv[3]);
  } else if (command == "commit" && argc == 3) {
    result = commit(argv[2]);
  } else if (command == "recv" && argc >= 4) {
    result = recv(argv[2], paths(argv + 3, argv + argc));
  } else {
    return usage();
  }
  std::fflush(stdout);
  if (!result.ok()) {
    std::fprintf(stderr, "mls-peer %s: %s\n", argv[1], result.error().message().c_str());
    return kFailure;
  }
  return 0;
}
