#include "tls.h"

#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <system_error>

namespace sotto::server {
namespace {

namespace fs = std::filesystem;

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Error tls_error(std::string what) {
  return Error(Errc::internal, std::move(what) + ": " + openssl_errors());
}

Result<X509Ptr> read_certificate(const fs::path& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f)
    return Error(Errc::not_found, "cannot open the TLS certificate \"" + path.string() + "\"");
  X509Ptr cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!cert) return tls_error("cannot read the TLS certificate \"" + path.string() + "\"");
  return cert;
}

std::string fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    if (i) out += ':';
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// Writes `data` to `path` through a temporary file created with `mode`, then renames it, so
// that a crash never leaves half a key and the key is never readable by others.
Result<void> write_file_atomically(const fs::path& path, const std::string& data, mode_t mode) {
  fs::path tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return Error(Errc::internal, "cannot create \"" + tmp.string() +
                                     "\": " + std::generic_category().message(errno));
  }
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Error(Errc::internal, "cannot write \"" + tmp.string() +
                                       "\": " + std::generic_category().message(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Error(Errc::internal, "cannot write \"" + tmp.string() + "\"");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Error(Errc::internal, "cannot rename \"" + tmp.string() +
                                     "\": " + std::generic_category().message(errno));
  }
  return success();
}

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Result<void> add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return tls_error("cannot make a certificate extension");
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ok) return tls_error("cannot add a certificate extension");
  return success();
}

// A self-signed ECDSA P-256 certificate for localhost and 127.0.0.1, valid for 825 days (the
// longest that Apple's clients accept).
Result<void> create_self_signed(const fs::path& cert_file, const fs::path& key_file) {
  PKey key(EVP_EC_gen("P-256"));
  if (!key) return tls_error("cannot generate a P-256 key");

  X509Ptr cert(X509_new());
  if (!cert) return tls_error("cannot allocate a certificate");
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return tls_error("cannot draw a serial number");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 825L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("sottod self-signed"), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  SOTTO_TRY(add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"));
  SOTTO_TRY(add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  SOTTO_TRY(add_extension(cert.get(), NID_key_usage, "critical,digitalSignature"));
  SOTTO_TRY(add_extension(cert.get(), NID_ext_key_usage, "serverAuth"));
  if (!X509_sign(cert.get(), key.get(), EVP_sha256()))
    return tls_error("cannot sign the certificate");

  Bio key_pem(BIO_new(BIO_s_mem()));
  Bio cert_pem(BIO_new(BIO_s_mem()));
  if (!key_pem || !cert_pem ||
      !PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) ||
      !PEM_write_bio_X509(cert_pem.get(), cert.get())) {
    return tls_error("cannot encode the certificate");
  }
  // The key first: a certificate without its key would be reused and fail to load.
  SOTTO_TRY(write_file_atomically(key_file, bio_to_string(key_pem.get()), 0600));
  SOTTO_TRY(write_file_atomically(cert_file, bio_to_string(cert_pem.get()), 0644));
  return success();
}

}  // namespace

Result<TlsIdentity> load_or_create_identity(const Config& config) {
  TlsIdentity id;
  if (!config.tls_cert.empty()) {
    id.cert_file = config.tls_cert;
    id.key_file = config.tls_key;
  } else {
    std::error_code ec;
    fs::path dir = config.data_dir / "tls";
    fs::create_directories(dir, ec);
    if (ec) {
      return Error(Errc::internal,
                   "cannot create the directory \"" + dir.string() + "\": " + ec.message());
    }
    fs::permissions(config.data_dir, fs::perms::owner_all, ec);
    fs::permissions(dir, fs::perms::owner_all, ec);
    id.cert_file = dir / "cert.pem";
    id.key_file = dir / "key.pem";
    if (!fs::exists(id.cert_file) || !fs::exists(id.key_file)) {
      SOTTO_TRY_CTX(create_self_signed(id.cert_file, id.key_file),
                    "making the self-signed certificate");
      id.generated = true;
    }
  }
  auto cert = read_certificate(id.cert_file);
  if (!cert) {
    // A configured certificate that cannot be read is a configuration error (exit code 2).
    return Error(config.tls_cert.empty() ? Errc::internal : Errc::invalid_argument,
                 cert.error().message());
  }
  id.fingerprint_sha256 = fingerprint(cert->get());
  return id;
}

Result<void> configure_server_context(boost::asio::ssl::context& ctx, const TlsIdentity& identity) {
  namespace ssl = boost::asio::ssl;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use | ssl::context::no_compression);
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // TLS 1.2: ECDHE with AEAD only (Mozilla's "intermediate"); TLS 1.3 suites are all fine.
  if (SSL_CTX_set_cipher_list(native,
                              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                              "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
    return tls_error("cannot set the TLS cipher list");
  }
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  // An idle connection should cost little memory: give the read and write buffers back while
  // nothing is in flight (about 34 KiB per idle connection otherwise).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(identity.cert_file.string(), ec);
  if (ec) {
    return Error(Errc::invalid_argument, "cannot load the TLS certificate \"" +
                                             identity.cert_file.string() + "\": " + ec.message());
  }
  ctx.use_private_key_file(identity.key_file.string(), ssl::context::pem, ec);
  if (ec) {
    return Error(Errc::invalid_argument,
                 "cannot load the TLS key \"" + identity.key_file.string() + "\": " + ec.message());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Error(Errc::invalid_argument, "the TLS key does not match the certificate");
  }
  return success();
}

}  // namespace sotto::server
