// sotto-witness: follows a key-transparency log's signed heads and cosigns each one that
// extends the last it cosigned. The protocol logic is Witness (witness.h); this file reads
// arguments and files, and writes the state before it prints a cosignature, so that a crash
// cannot leave a published cosignature the state does not remember.
//
//   sotto-witness init   --state FILE --log-key HEX       new witness key; prints its public key
//   sotto-witness cosign --state FILE HEAD_FILE [PROOF_FILE]
//                        HEAD_FILE: a TLS-encoded SignedTreeHead; PROOF_FILE: the TLS-encoded
//                        consistency proof (a list of hashes) from the cosigned head. Prints
//                        the cosignature (the Ed25519 signature, hex).
//   sotto-witness show   --state FILE
//
// Exit status: 0 done, 1 refused or failed (the reason on stderr), 2 no such command or
// unparsable options.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/encoding.h"
#include "sotto/core/tls.h"
#include "sotto/crypto/primitives.h"
#include "state_file.h"
#include "witness.h"

namespace {

using namespace sotto;

constexpr char kUsage[] =
    "usage: sotto-witness init   --state FILE --log-key HEX\n"
    "       sotto-witness cosign --state FILE HEAD_FILE [PROOF_FILE]\n"
    "       sotto-witness show   --state FILE\n";

struct Arguments {
  std::string command;
  std::string state;
  std::string log_key;
  std::vector<std::string> positional;
};

// Errc::invalid_argument for arguments that do not parse; the message says which.
Result<Arguments> parse(int argc, char** argv) {
  if (argc < 2) return Error(Errc::invalid_argument, "no command");
  Arguments args;
  args.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--state" || arg == "--log-key") {
      if (i + 1 >= argc) return Error(Errc::invalid_argument, std::string(arg) + " needs a value");
      (arg == "--state" ? args.state : args.log_key) = argv[++i];
    } else if (arg.starts_with("--")) {
      return Error(Errc::invalid_argument, "unknown option " + std::string(arg));
    } else {
      args.positional.emplace_back(arg);
    }
  }
  if (args.state.empty()) return Error(Errc::invalid_argument, "--state FILE is required");
  return args;
}

Result<witness::Witness> load(const std::string& path) {
  SOTTO_TRY_ASSIGN(const Bytes state, witness::read_file(path));
  auto restored = witness::Witness::restore(state);
  if (!restored.ok()) return std::move(restored).error().with_context("the state file " + path);
  return restored;
}

template <class T>
Result<T> read_encoded(const std::string& path, std::string_view what) {
  SOTTO_TRY_ASSIGN(const Bytes bytes, witness::read_file(path));
  auto decoded = tls::decode<T>(bytes);
  if (!decoded.ok()) {
    return std::move(decoded).error().with_context(path + " is not a TLS-encoded " +
                                                   std::string(what));
  }
  return decoded;
}

// Each command returns what it prints on success.
Result<std::string> init(const Arguments& args) {
  if (args.log_key.empty() || !args.positional.empty()) {
    return Error(Errc::invalid_argument, "init takes --log-key HEX and no files");
  }
  auto log_key = from_hex(args.log_key);
  if (!log_key.ok()) return std::move(log_key).error().with_context("--log-key");
  SOTTO_TRY_ASSIGN(const auto lock, witness::StateLock::acquire(args.state));
  if (witness::file_exists(args.state)) {
    return Error(Errc::invalid_argument,
                 "the state file " + args.state + " exists; refusing to replace its key");
  }
  SOTTO_TRY_ASSIGN(auto created,
                   witness::Witness::create(*log_key, crypto::Ed25519SigningKey::generate()));
  SOTTO_TRY(witness::write_file_atomic(args.state, created.save()));
  return to_hex(created.public_key());
}

Result<std::string> cosign(const Arguments& args) {
  if (args.positional.empty() || args.positional.size() > 2) {
    return Error(Errc::invalid_argument, "cosign takes HEAD_FILE and optionally PROOF_FILE");
  }
  SOTTO_TRY_ASSIGN(const auto lock, witness::StateLock::acquire(args.state));
  SOTTO_TRY_ASSIGN(auto witness, load(args.state));
  SOTTO_TRY_ASSIGN(const auto head,
                   read_encoded<kt::SignedTreeHead>(args.positional[0], "signed tree head"));
  std::vector<Bytes> proof;
  if (args.positional.size() == 2) {
    SOTTO_TRY_ASSIGN(proof,
                     read_encoded<std::vector<Bytes>>(args.positional[1], "consistency proof"));
  }
  auto cosignature = witness.cosign(head, proof);
  if (!cosignature.ok()) {
    return std::move(cosignature)
        .error()
        .with_context("refusing to cosign the head of epoch " + std::to_string(head.epoch));
  }
  SOTTO_TRY(witness::write_file_atomic(args.state, witness.save()));
  return to_hex(cosignature->signature);
}

Result<std::string> show(const Arguments& args) {
  if (!args.positional.empty()) return Error(Errc::invalid_argument, "show takes no files");
  SOTTO_TRY_ASSIGN(const auto witness, load(args.state));
  std::string out = "log key:     " + to_hex(witness.log_public_key()) + "\n" +
                    "witness key: " + to_hex(witness.public_key()) + "\n";
  if (const auto& head = witness.cosigned()) {
    out += "cosigned:    epoch " + std::to_string(head->epoch) + ", log size " +
           std::to_string(head->log_size) + ", log root " + to_hex(head->log_root) +
           ", timestamp " + std::to_string(head->timestamp);
  } else {
    out += "cosigned:    nothing yet";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parse(argc, argv);
  if (!args.ok()) {
    std::fprintf(stderr, "sotto-witness: %s\n%s", args.error().message().c_str(), kUsage);
    return 2;
  }
  Result<std::string> result = Error(Errc::invalid_argument, "");
  if (args->command == "init") {
    result = init(*args);
  } else if (args->command == "cosign") {
    result = cosign(*args);
  } else if (args->command == "show") {
    result = show(*args);
  } else {
    std::fprintf(stderr, "sotto-witness: unknown command %s\n%s", args->command.c_str(), kUsage);
    return 2;
  }
  if (!result.ok()) {
    std::fprintf(stderr, "sotto-witness %s: %s\n", args->command.c_str(),
                 result.error().to_string().c_str());
    return 1;
  }
  std::printf("%s\n", result->c_str());
  return 0;
}
