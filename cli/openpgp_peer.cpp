// openpgp-peer: lib/openpgp on the command line, for interop tests with other OpenPGP
// implementations (tests/interop/openpgp). Keys live in a directory as armored files.
//
//   openpgp-peer gen DIR USER_ID [--v1]     DIR/secret.asc, DIR/public.asc (--v1: no SEIPD v2
//                                           in the features)
//   openpgp-peer encrypt DIR OUT TEXT [--compress] [--anonymous] [--unsigned] PUBLIC...
//                                           signs with DIR's key, encrypts to each PUBLIC file
//   openpgp-peer decrypt DIR MESSAGE [PUBLIC...]
//                                           prints "seipd: N", "signature: STATUS", "text: TEXT"
//   openpgp-peer encrypt-password DIR OUT TEXT PASSWORD [--unsigned]
//                                           signs with DIR's key, encrypts under PASSWORD
//   openpgp-peer decrypt-password MESSAGE PASSWORD [PUBLIC...]
//                                           as decrypt, with the password
//
// Exit 1 on any error (printed to stderr), 2 on usage.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "sotto/core/encoding.h"
#include "sotto/openpgp/armor.h"
#include "sotto/openpgp/cert.h"
#include "sotto/openpgp/message.h"

namespace {

using namespace sotto;
using namespace sotto::openpgp;

int usage() {
  std::cerr << "usage: openpgp-peer gen DIR USER_ID [--v1]\n"
               "       openpgp-peer encrypt DIR OUT TEXT [--compress] [--anonymous] [--unsigned] "
               "PUBLIC...\n"
               "       openpgp-peer decrypt DIR MESSAGE [PUBLIC...]\n"
               "       openpgp-peer encrypt-password DIR OUT TEXT PASSWORD [--unsigned]\n"
               "       openpgp-peer decrypt-password MESSAGE PASSWORD [PUBLIC...]\n";
  return 2;
}

int fail(const std::string& what, const Error& e) {
  std::cerr << what << ": " << e.to_string() << "\n";
  return 1;
}

bool read_text(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

Result<Bytes> read_armored(const std::string& path) {
  std::string text;
  if (!read_text(path, text)) return Error(Errc::not_found, "cannot read " + path);
  SOTTO_TRY_ASSIGN(Armored a, dearmor(text));
  return std::move(a.data);
}

Result<Cert> read_cert(const std::string& path) {
  SOTTO_TRY_ASSIGN(Bytes data, read_armored(path));
  return Cert::parse(data);
}

Result<SecretCert> read_secret(const std::string& dir) {
  SOTTO_TRY_ASSIGN(Bytes data, read_armored(dir + "/secret.asc"));
  return SecretCert::parse(data);
}

uint32_t now() {
  return static_cast<uint32_t>(std::time(nullptr));
}

const char* status_name(SignatureStatus s) {
  switch (s) {
    case SignatureStatus::valid:
      return "valid";
    case SignatureStatus::invalid:
      return "invalid";
    case SignatureStatus::unknown_signer:
      return "unknown_signer";
    default:
      return "unsigned";
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage();
  if (args[0] == "gen" && (args.size() == 3 || args.size() == 4)) {
    GenerateOptions options;
    if (args.size() == 4) {
      if (args[3] != "--v1") return usage();
      options.seipd_v2 = false;
    }
    auto cert = generate_cert(args[2], now() - 60, options);
    if (!cert.ok()) return fail("gen", cert.error());
    const SecureBytes secret = cert->encode();
    if (!write_text(args[1] + "/secret.asc", armor("PRIVATE KEY BLOCK", secret)) ||
        !write_text(args[1] + "/public.asc", armor("PUBLIC KEY BLOCK", cert->cert.encode()))) {
      std::cerr << "gen: cannot write to " << args[1] << "\n";
      return 1;
    }
    std::cout << "fingerprint: " << to_hex(cert->cert.fingerprint()) << "\n";
    return 0;
  }
  if (args[0] == "encrypt" && args.size() >= 5) {
    EncryptOptions options;
    options.now = now();
    bool sign = true;
    std::vector<Cert> recipients;
    for (size_t i = 4; i < args.size(); ++i) {
      if (args[i] == "--compress") {
        options.compress = true;
      } else if (args[i] == "--anonymous") {
        options.anonymous_recipients = true;
      } else if (args[i] == "--unsigned") {
        sign = false;
      } else {
        auto cert = read_cert(args[i]);
        if (!cert.ok()) return fail(args[i], cert.error());
        recipients.push_back(std::move(cert).value());
      }
    }
    auto own = read_secret(args[1]);
    if (!own.ok()) return fail("secret key", own.error());
    auto message = encrypt(as_bytes(args[3]), sign ? &*own : nullptr, recipients, options);
    if (!message.ok()) return fail("encrypt", message.error());
    if (!write_text(args[2], armor("MESSAGE", *message))) {
      std::cerr << "encrypt: cannot write " << args[2] << "\n";
      return 1;
    }
    return 0;
  }
  if (args[0] == "encrypt-password" && (args.size() == 5 || args.size() == 6)) {
    if (args.size() == 6 && args[5] != "--unsigned") return usage();
    EncryptOptions options;
    options.now = now();
    auto own = read_secret(args[1]);
    if (!own.ok()) return fail("secret key", own.error());
    auto message = encrypt_with_password(as_bytes(args[3]), args.size() == 6 ? nullptr : &*own,
                                         as_bytes(args[4]), options);
    if (!message.ok()) return fail("encrypt-password", message.error());
    if (!write_text(args[2], armor("MESSAGE", *message))) {
      std::cerr << "encrypt-password: cannot write " << args[2] << "\n";
      return 1;
    }
    return 0;
  }
  const bool with_password = args[0] == "decrypt-password";
  if ((args[0] == "decrypt" || with_password) && args.size() >= 3) {
    std::vector<Cert> known;
    for (size_t i = 3; i < args.size(); ++i) {
      auto cert = read_cert(args[i]);
      if (!cert.ok()) return fail(args[i], cert.error());
      known.push_back(std::move(cert).value());
    }
    auto data = read_armored(with_password ? args[1] : args[2]);
    if (!data.ok()) return fail("message", data.error());
    Result<Decrypted> out = Error(Errc::invalid_argument, "no key");
    if (with_password) {
      out = decrypt_with_password(*data, as_bytes(args[2]), known, now());
    } else {
      auto own = read_secret(args[1]);
      if (!own.ok()) return fail("secret key", own.error());
      out = decrypt(*data, {*own}, known, now());
    }
    if (!out.ok()) return fail(args[0], out.error());
    std::cout << "seipd: " << (out->seipd_v2 ? 2 : 1) << "\n"
              << "signature: " << status_name(out->signature) << "\n"
              << "text: " << std::string(out->plaintext.begin(), out->plaintext.end()) << "\n";
    return 0;
  }
  return usage();
}
