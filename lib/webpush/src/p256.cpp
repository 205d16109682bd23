// P-256 through OpenSSL 3's EVP interface: key pairs, ECDH and ES256. Keys live as bytes in
// P256KeyPair; each operation builds the EVP_PKEY it needs and frees it at once.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "openssl_util.h"
#include "sotto/webpush/webpush.h"

namespace sotto::webpush {
namespace {

using detail::openssl_error;

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PKeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using Group = std::unique_ptr<EC_GROUP, Deleter<EC_GROUP, EC_GROUP_free>>;
using Point = std::unique_ptr<EC_POINT, Deleter<EC_POINT, EC_POINT_free>>;
using SecretBn = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_clear_free>>;
using Bn = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using BnCtx = std::unique_ptr<BN_CTX, Deleter<BN_CTX, BN_CTX_free>>;
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Sig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

constexpr char kGroupName[] = "prime256v1";

Group p256_group() {
  return Group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
}

// An EVP_PKEY from OSSL_PARAMs: a key pair (scalar and point) or a public key alone.
Result<PKey> pkey_from(BytesView public_key, const BIGNUM* scalar) {
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroupName, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, public_key.data(),
                                        public_key.size()) ||
      (scalar && !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, scalar))) {
    return openssl_error(Errc::crypto_failure, "cannot build P-256 key parameters");
  }
  // The builder copies the scalar into its own buffer; OSSL_PARAM_free does not wipe it,
  // so the buffer is cleared by hand below.
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return openssl_error(Errc::crypto_failure, "cannot build P-256 key parameters");
  PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  bool ok = ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
            EVP_PKEY_fromdata(ctx.get(), &raw, scalar ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                              params.get()) == 1;
  for (OSSL_PARAM* p = params.get(); p->key != nullptr; ++p) {
    if (std::string_view(p->key) == OSSL_PKEY_PARAM_PRIV_KEY && p->data) {
      secure_wipe(p->data, p->data_size);
    }
  }
  if (!ok) return openssl_error(Errc::crypto_failure, "cannot make a P-256 key");
  return PKey(raw);
}

Result<PKey> private_pkey(const P256KeyPair& key) {
  SecretBn d(
      BN_bin2bn(key.private_key().data(), static_cast<int>(key.private_key().size()), nullptr));
  if (!d) return openssl_error(Errc::crypto_failure, "cannot read the P-256 scalar");
  return pkey_from(key.public_key(), d.get());
}

// The scalar of an EC EVP_PKEY as 32 bytes.
Result<SecureBytes> scalar_of(const EVP_PKEY* pkey) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) {
    return openssl_error(Errc::crypto_failure, "cannot read the P-256 scalar");
  }
  SecretBn d(raw);
  SecureBytes out(kP256PrivateKeySize);
  if (BN_bn2binpad(d.get(), out.data(), static_cast<int>(out.size())) !=
      static_cast<int>(out.size())) {
    return Error(Errc::crypto_failure, "the P-256 scalar does not fit 32 bytes");
  }
  return out;
}

}  // namespace

Result<void> check_public_key(BytesView public_key) {
  if (public_key.size() != kP256PublicKeySize) {
    return Error(Errc::invalid_argument, "a P-256 public key is 65 bytes, this one is " +
                                             std::to_string(public_key.size()));
  }
  if (public_key[0] != 0x04) {
    return Error(Errc::invalid_argument, "a P-256 public key must be uncompressed (0x04 first)");
  }
  Group group = p256_group();
  Point point(group ? EC_POINT_new(group.get()) : nullptr);
  BnCtx bn_ctx(BN_CTX_new());
  if (!group || !point || !bn_ctx) {
    return openssl_error(Errc::crypto_failure, "cannot allocate a P-256 point");
  }
  // oct2point already refuses coordinates off the curve; the explicit checks say so in code
  // and would catch a library that did not.
  if (EC_POINT_oct2point(group.get(), point.get(), public_key.data(), public_key.size(),
                         bn_ctx.get()) != 1 ||
      EC_POINT_is_on_curve(group.get(), point.get(), bn_ctx.get()) != 1 ||
      EC_POINT_is_at_infinity(group.get(), point.get())) {
    ERR_clear_error();
    return Error(Errc::invalid_argument, "the P-256 public key is not a point on the curve");
  }
  return success();
}

Result<P256KeyPair> P256KeyPair::generate() {
  PKey pkey(EVP_EC_gen("P-256"));
  if (!pkey) return openssl_error(Errc::crypto_failure, "cannot generate a P-256 key");
  SOTTO_TRY_ASSIGN(SecureBytes scalar, scalar_of(pkey.get()));
  return from_private_key(scalar);
}

Result<P256KeyPair> P256KeyPair::from_private_key(BytesView scalar) {
  if (scalar.size() != kP256PrivateKeySize) {
    return Error(Errc::invalid_argument,
                 "a P-256 private key is 32 bytes, this one is " + std::to_string(scalar.size()));
  }
  Group group = p256_group();
  BnCtx bn_ctx(BN_CTX_secure_new());
  SecretBn d(BN_secure_new());
  Point point(group ? EC_POINT_new(group.get()) : nullptr);
  if (!group || !bn_ctx || !d || !point ||
      !BN_bin2bn(scalar.data(), static_cast<int>(scalar.size()), d.get())) {
    return openssl_error(Errc::crypto_failure, "cannot allocate a P-256 key");
  }
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0) {
    return Error(Errc::invalid_argument, "the P-256 private key is not in [1, n-1]");
  }
  // Q = d * G. The public key of a key pair is always derived, never trusted from a file.
  BN_set_flags(d.get(), BN_FLG_CONSTTIME);
  if (EC_POINT_mul(group.get(), point.get(), d.get(), nullptr, nullptr, bn_ctx.get()) != 1) {
    return openssl_error(Errc::crypto_failure, "cannot compute the P-256 public key");
  }
  P256KeyPair pair;
  pair.public_key_.resize(kP256PublicKeySize);
  if (EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED,
                         pair.public_key_.data(), pair.public_key_.size(),
                         bn_ctx.get()) != kP256PublicKeySize) {
    return openssl_error(Errc::crypto_failure, "cannot encode the P-256 public key");
  }
  pair.scalar_ = SecureBytes(scalar);
  return pair;
}

Result<P256KeyPair> P256KeyPair::from_pem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_error(Errc::crypto_failure, "cannot allocate a buffer");
  PKey pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) {
    ERR_clear_error();
    return Error(Errc::invalid_encoding, "not a PEM private key");
  }
  char group[64] = {};
  size_t group_len = 0;
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_EC ||
      EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &group_len) != 1 ||
      std::string_view(group, group_len) != kGroupName) {
    ERR_clear_error();
    return Error(Errc::invalid_argument, "the PEM key is not a P-256 key");
  }
  SOTTO_TRY_ASSIGN(SecureBytes scalar, scalar_of(pkey.get()));
  return from_private_key(scalar);
}

Result<SecureBytes> P256KeyPair::to_pem() const {
  SOTTO_TRY_ASSIGN(PKey pkey, private_pkey(*this));
  // A secure-memory BIO: OpenSSL clears its buffer when it is freed.
  Bio bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return openssl_error(Errc::crypto_failure, "cannot encode the P-256 key as PEM");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || !data) return Error(Errc::crypto_failure, "cannot encode the P-256 key as PEM");
  SecureBytes out(BytesView(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)));
  return out;
}

Result<SecureBytes> ecdh(const P256KeyPair& own, BytesView peer_public_key) {
  SOTTO_TRY_CTX(check_public_key(peer_public_key), "ECDH");
  SOTTO_TRY_ASSIGN(PKey mine, private_pkey(own));
  SOTTO_TRY_ASSIGN(PKey peer, pkey_from(peer_public_key, nullptr));
  PKeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, mine.get(), nullptr));
  size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1 || len != 32) {
    return openssl_error(Errc::crypto_failure, "ECDH on P-256 failed");
  }
  SecureBytes secret(len);
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1 || len != secret.size()) {
    return openssl_error(Errc::crypto_failure, "ECDH on P-256 failed");
  }
  return secret;
}

Result<Bytes> es256_sign(const P256KeyPair& key, BytesView message) {
  SOTTO_TRY_ASSIGN(PKey pkey, private_pkey(key));
  MdCtx md(EVP_MD_CTX_new());
  size_t der_len = 0;
  if (!md ||
      EVP_DigestSignInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, pkey.get(), nullptr) !=
          1 ||
      EVP_DigestSign(md.get(), nullptr, &der_len, message.data(), message.size()) != 1) {
    return openssl_error(Errc::crypto_failure, "ES256 signing failed");
  }
  Bytes der(der_len);
  if (EVP_DigestSign(md.get(), der.data(), &der_len, message.data(), message.size()) != 1) {
    return openssl_error(Errc::crypto_failure, "ES256 signing failed");
  }
  // OpenSSL signs in DER (SEQUENCE of two INTEGERs); JWS wants the fixed-size r || s.
  const unsigned char* p = der.data();
  Sig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) return openssl_error(Errc::crypto_failure, "cannot read the ECDSA signature");
  Bytes raw(64);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + 32, 32) != 32) {
    return Error(Errc::crypto_failure, "an ECDSA signature value does not fit 32 bytes");
  }
  return raw;
}

bool es256_verify(BytesView public_key, BytesView message, BytesView signature) {
  if (signature.size() != 64 || !check_public_key(public_key).ok()) return false;
  auto pkey = pkey_from(public_key, nullptr);
  if (!pkey.ok()) return false;
  Bn r(BN_bin2bn(signature.data(), 32, nullptr));
  Bn s(BN_bin2bn(signature.data() + 32, 32, nullptr));
  Sig sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  r.release();  // owned by sig now
  s.release();
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) {
    ERR_clear_error();
    return false;
  }
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_owner(
      der, [](unsigned char* q) { OPENSSL_free(q); });
  MdCtx md(EVP_MD_CTX_new());
  bool ok = md &&
            EVP_DigestVerifyInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, pkey->get(),
                                    nullptr) == 1 &&
            EVP_DigestVerify(md.get(), der, static_cast<size_t>(der_len), message.data(),
                             message.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace sotto::webpush
