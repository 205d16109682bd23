// HPKE (RFC 9180) with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-128-GCM,
// ChaCha20-Poly1305 or export-only; all four modes; single-shot and context APIs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::crypto {

enum class HpkeMode : uint8_t { base = 0x00, psk = 0x01, auth = 0x02, auth_psk = 0x03 };
enum class HpkeKem : uint16_t { x25519_sha256 = 0x0020 };
enum class HpkeKdf : uint16_t { hkdf_sha256 = 0x0001 };
enum class HpkeAead : uint16_t {
  aes128gcm = 0x0001,
  chacha20poly1305 = 0x0003,
  export_only = 0xffff
};

struct HpkeKeyPair {
  SecureBytes private_key;
  Bytes public_key;
};

// The inputs a mode takes beyond the recipient's key and `info`. psk and psk_id go together
// (psk and auth_psk modes, where they are required; a psk is at least 32 bytes); the
// sender's key pair is for auth and auth_psk. An input the mode does not take is
// Errc::invalid_argument rather than ignored.
struct HpkeOptions {
  BytesView psk;
  BytesView psk_id;
  const HpkeKeyPair* sender = nullptr;     // sender side, auth modes
  BytesView sender_public_key;             // receiver side, auth modes
  const HpkeKeyPair* ephemeral = nullptr;  // sender side: fixed ephemeral key (test vectors only)
};

// An encryption context (RFC 9180 section 5.2): seal/open with a growing sequence number,
// and the exporter. A context is used by one party in one direction; seal on the sender's,
// open on the receiver's.
class HpkeContext {
 public:
  // Errc::unsupported for an export-only context; Errc::message_limit once the sequence
  // number is exhausted. A failed open leaves the sequence number where it was.
  Result<Bytes> seal(BytesView aad, BytesView plaintext);
  Result<SecureBytes> open(BytesView aad, BytesView ciphertext);
  // Export(exporter_context, L); Errc::invalid_argument when L > 255 * 32.
  Result<SecureBytes> export_secret(BytesView exporter_context, size_t length) const;

  uint64_t sequence_number() const { return seq_; }

 private:
  friend class Hpke;
  // Tests only (defined in lib/crypto/tests/hpke_test.cpp): reads the key schedule's
  // outputs to check them against RFC 9180 vectors, and moves the sequence number.
  friend struct HpkeContextTestAccess;

  HpkeContext() = default;
  // base_nonce XOR I2OSP(seq, Nn).
  SecureBytes nonce() const;

  HpkeKem kem_ = HpkeKem::x25519_sha256;
  HpkeKdf kdf_ = HpkeKdf::hkdf_sha256;
  HpkeAead aead_ = HpkeAead::chacha20poly1305;
  SecureBytes key_;
  SecureBytes base_nonce_;
  SecureBytes exporter_secret_;
  uint64_t seq_ = 0;
};

class Hpke {
 public:
  // Errc::unsupported for AES-128-GCM in the wasm build.
  static Result<Hpke> create(HpkeKem kem, HpkeKdf kdf, HpkeAead aead);

  HpkeAead aead() const { return aead_; }

  // DeriveKeyPair (RFC 9180 section 7.1.3); ikm of at least 32 bytes, else
  // Errc::invalid_argument.
  Result<HpkeKeyPair> derive_key_pair(BytesView ikm) const;
  HpkeKeyPair generate_key_pair() const;

  // SetupBaseS / SetupPSKS / SetupAuthS / SetupAuthPSKS, chosen by `mode`. A low-order
  // recipient key is Errc::crypto_failure; a key of the wrong size Errc::invalid_argument.
  struct SenderContext {
    Bytes enc;
    HpkeContext context;
  };
  Result<SenderContext> setup_sender(HpkeMode mode, BytesView recipient_public_key, BytesView info,
                                     const HpkeOptions& options = {}) const;
  Result<HpkeContext> setup_receiver(HpkeMode mode, BytesView enc, const HpkeKeyPair& recipient,
                                     BytesView info, const HpkeOptions& options = {}) const;

  // Single-shot: enc and ciphertext from one context's first seal.
  struct Sealed {
    Bytes enc;
    Bytes ciphertext;
  };
  Result<Sealed> seal(HpkeMode mode, BytesView recipient_public_key, BytesView info, BytesView aad,
                      BytesView plaintext, const HpkeOptions& options = {}) const;
  Result<SecureBytes> open(HpkeMode mode, BytesView enc, const HpkeKeyPair& recipient,
                           BytesView info, BytesView aad, BytesView ciphertext,
                           const HpkeOptions& options = {}) const;

 private:
  Hpke(HpkeKem kem, HpkeKdf kdf, HpkeAead aead) : kem_(kem), kdf_(kdf), aead_(aead) {}
  Result<HpkeContext> key_schedule(HpkeMode mode, BytesView shared_secret, BytesView info,
                                   BytesView psk, BytesView psk_id) const;
  HpkeKem kem_;
  HpkeKdf kdf_;
  HpkeAead aead_;
};

}  // namespace sotto::crypto
