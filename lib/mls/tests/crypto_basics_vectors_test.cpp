// tests/vectors/mls/crypto-basics.json: the labelled operations of RFC 9420 section 5 on
// sotto::crypto::CipherSuite. Each operation of each suite counts as one case; suites this
// build lacks (all but 1 and 3, and 1 in the wasm build) are skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sotto/core/encoding.h"
#include "sotto/crypto/cipher_suite.h"
#include "vectors.h"

namespace sotto::mls {
namespace {

using crypto::CipherSuite;
using testing::hex_field;
using testing::Json;
using testing::VectorTally;

constexpr int kOperations = 6;

bool same(BytesView got, BytesView want, const char* what) {
  if (got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin())) return true;
  ADD_FAILURE() << what << ": got " << to_hex(got) << ", want " << to_hex(want);
  return false;
}

template <class T>
bool succeeded(const Result<T>& result, const char* what) {
  if (result.ok()) return true;
  ADD_FAILURE() << what << ": " << result.error().to_string();
  return false;
}

bool check_ref_hash(const CipherSuite& suite, const Json& v) {
  return same(suite.ref_hash(v.at("label").get<std::string>(), hex_field(v, "value")),
              hex_field(v, "out"), "ref_hash");
}

bool check_expand_with_label(const CipherSuite& suite, const Json& v) {
  const auto out = suite.expand_with_label(hex_field(v, "secret"), v.at("label").get<std::string>(),
                                           hex_field(v, "context"), v.at("length").get<size_t>());
  return succeeded(out, "expand_with_label") &&
         same(*out, hex_field(v, "out"), "expand_with_label");
}

bool check_derive_secret(const CipherSuite& suite, const Json& v) {
  const auto out = suite.derive_secret(hex_field(v, "secret"), v.at("label").get<std::string>());
  return succeeded(out, "derive_secret") && same(*out, hex_field(v, "out"), "derive_secret");
}

bool check_derive_tree_secret(const CipherSuite& suite, const Json& v) {
  const auto out =
      suite.derive_tree_secret(hex_field(v, "secret"), v.at("label").get<std::string>(),
                               v.at("generation").get<uint32_t>(), v.at("length").get<size_t>());
  return succeeded(out, "derive_tree_secret") &&
         same(*out, hex_field(v, "out"), "derive_tree_secret");
}

// Their signature verifies; ours verifies; Ed25519 is deterministic, so ours equals theirs.
bool check_sign_with_label(const CipherSuite& suite, const Json& v) {
  const std::string label = v.at("label").get<std::string>();
  const Bytes priv = hex_field(v, "priv");
  const Bytes pub = hex_field(v, "pub");
  const Bytes content = hex_field(v, "content");
  const Bytes signature = hex_field(v, "signature");
  bool ok = true;
  if (!suite.verify_with_label(pub, label, content, signature)) {
    ADD_FAILURE() << "sign_with_label: the vector's signature does not verify";
    ok = false;
  }
  const auto ours = suite.sign_with_label(priv, label, content);
  if (!succeeded(ours, "sign_with_label")) return false;
  if (!suite.verify_with_label(pub, label, content, *ours)) {
    ADD_FAILURE() << "sign_with_label: our signature does not verify";
    ok = false;
  }
  ok = same(*ours, signature, "sign_with_label (Ed25519 is deterministic)") && ok;
  // A signature over other content, or under another label, must not verify.
  Bytes other = content;
  other.push_back(0);
  if (suite.verify_with_label(pub, label, other, signature) ||
      suite.verify_with_label(pub, label + "x", content, signature)) {
    ADD_FAILURE() << "sign_with_label: verified a signature over different content";
    ok = false;
  }
  return ok;
}

// The vector's ciphertext decrypts to its plaintext; our encryption decrypts back.
bool check_encrypt_with_label(const CipherSuite& suite, const Json& v) {
  const std::string label = v.at("label").get<std::string>();
  const Bytes priv = hex_field(v, "priv");
  const Bytes pub = hex_field(v, "pub");
  const Bytes context = hex_field(v, "context");
  const Bytes plaintext = hex_field(v, "plaintext");
  const auto theirs = suite.decrypt_with_label(priv, label, context, hex_field(v, "kem_output"),
                                               hex_field(v, "ciphertext"));
  if (!succeeded(theirs, "decrypt_with_label") || !same(*theirs, plaintext, "decrypt_with_label")) {
    return false;
  }
  const auto sealed = suite.encrypt_with_label(pub, label, context, plaintext);
  if (!succeeded(sealed, "encrypt_with_label")) return false;
  const auto ours =
      suite.decrypt_with_label(priv, label, context, sealed->kem_output, sealed->ciphertext);
  if (!succeeded(ours, "decrypt_with_label of our ciphertext") ||
      !same(*ours, plaintext, "decrypt_with_label of our ciphertext")) {
    return false;
  }
  // Another context must not decrypt.
  Bytes other = context;
  other.push_back(0);
  if (suite.decrypt_with_label(priv, label, other, sealed->kem_output, sealed->ciphertext).ok()) {
    ADD_FAILURE() << "decrypt_with_label succeeded under a different context";
    return false;
  }
  return true;
}

TEST(CryptoBasicsVectors, EveryCase) {
  const auto vectors = testing::load_vectors("mls/crypto-basics.json");
  ASSERT_TRUE(vectors.has_value());
  VectorTally tally("mls/crypto-basics.json");
  for (const auto& tc : *vectors) {
    const uint16_t id = tc.at("cipher_suite").get<uint16_t>();
    SCOPED_TRACE("cipher_suite " + std::to_string(id));
    if (!CipherSuite::supported(id)) {
      for (int i = 0; i < kOperations; ++i)
        tally.skip("suite " + std::to_string(id) + " not supported");
      continue;
    }
    const auto suite = CipherSuite::create(id);
    ASSERT_TRUE(suite.ok()) << suite.error().to_string();
    tally.count(check_ref_hash(*suite, tc.at("ref_hash")));
    tally.count(check_expand_with_label(*suite, tc.at("expand_with_label")));
    tally.count(check_derive_secret(*suite, tc.at("derive_secret")));
    tally.count(check_derive_tree_secret(*suite, tc.at("derive_tree_secret")));
    tally.count(check_sign_with_label(*suite, tc.at("sign_with_label")));
    tally.count(check_encrypt_with_label(*suite, tc.at("encrypt_with_label")));
  }
  EXPECT_EQ(tally.failed(), 0);
}

}  // namespace
}  // namespace sotto::mls
