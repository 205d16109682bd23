// Arbitrary bytes as OpenPGP: as armor, as a packet sequence whose packets are each decoded by
// type, as a certificate and a secret key, and as an encrypted message for a fixed recipient
// and under a fixed password.
// Nothing may crash or read past its input, and every packet that decodes must encode back to
// exactly its body (fingerprints and signature hashes are computed over the re-encoding).
#include <string_view>

#include "fuzz_support.h"
#include "sotto/openpgp/armor.h"
#include "sotto/openpgp/cert.h"
#include "sotto/openpgp/message.h"

namespace {

using namespace sotto;
using namespace sotto::openpgp;

constexpr uint32_t kNow = 1700000000;

Limits small_limits() {
  Limits limits;
  limits.max_packet_size = 1 << 20;
  limits.max_decompressed_size = 1 << 20;
  limits.max_packets = 256;
  limits.max_s2k_bytes = 1 << 16;
  return limits;
}

void decode_packet(const Packet& p, const Limits& limits) {
  switch (p.tag) {
    case PacketTag::public_key:
    case PacketTag::public_subkey:
      if (auto k = PublicKey::parse(p.body); k.ok()) {
        fuzz::require_same_encoding("PublicKey", p.body, k->encode());
        (void)k->fingerprint();
      }
      break;
    case PacketTag::secret_key:
    case PacketTag::secret_subkey:
      if (auto k = SecretKey::parse(p.body); k.ok()) {
        fuzz::require_same_encoding("SecretKey", p.body, k->encode());
      }
      break;
    case PacketTag::signature:
      if (auto s = Signature::parse(p.body);
          s.ok() && s->algorithm == PublicKeyAlgorithm::eddsa_legacy) {
        fuzz::require_same_encoding("Signature", p.body, s->encode());
        (void)s->issuer_key_id();
        (void)s->features();
      }
      break;
    case PacketTag::pkesk:
      if (auto k = Pkesk::parse(p.body); k.ok()) {
        fuzz::require_same_encoding("Pkesk", p.body, k->encode());
      }
      break;
    case PacketTag::skesk:
      if (auto k = Skesk::parse(p.body); k.ok()) {
        fuzz::require_same_encoding("Skesk", p.body, k->encode());
        if (k->s2k.hashed_bytes(3) <= limits.max_s2k_bytes) {
          (void)decrypt_session_key_with_password(*k, BytesView(p.body).subspan(0, 3));
        }
      }
      break;
    case PacketTag::one_pass_signature:
      if (auto o = OnePassSignature::parse(p.body); o.ok()) {
        fuzz::require_same_encoding("OnePassSignature", p.body, o->encode());
      }
      break;
    case PacketTag::literal_data:
      (void)parse_literal(p.body);
      break;
    case PacketTag::compressed_data:
      (void)decompress(p.body, limits.max_decompressed_size);
      break;
    case PacketTag::seipd: {
      SessionKey key;
      key.cipher = 7;
      key.key = SecureBytes(Bytes(16, 0x42));
      (void)seipd_decrypt(key, p.body, limits);
      break;
    }
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const SecretCert recipient = generate_cert("fuzz@example.org", kNow).value();
  const BytesView input(data, size);
  const Limits limits = small_limits();

  (void)dearmor(std::string_view(reinterpret_cast<const char*>(data), size));
  if (auto packets = parse_packets(input, limits); packets.ok()) {
    for (const Packet& p : *packets) decode_packet(p, limits);
  }
  if (auto cert = Cert::parse(input, limits); cert.ok()) (void)validate(*cert, kNow);
  (void)SecretCert::parse(input, limits);
  (void)decrypt(input, {recipient}, {recipient.cert}, kNow, limits);
  const std::string_view password = "password";  // RFC 9580 A.10's, among the seeds
  (void)decrypt_with_password(
      input, BytesView(reinterpret_cast<const uint8_t*>(password.data()), password.size()),
      {recipient.cert}, kNow, limits);
  return 0;
}
