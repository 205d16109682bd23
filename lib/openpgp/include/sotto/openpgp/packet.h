// OpenPGP packet framing (RFC 9580 section 4): a strict reader of new- and old-format packet
// headers, partial body lengths included, and a writer of new-format packets. The reader never
// reads past its input and turns every malformed or oversized input into an Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sotto/core/bytes.h"
#include "sotto/core/result.h"

namespace sotto::openpgp {

// Packet type IDs (RFC 9580 section 5).
enum class PacketTag : uint8_t {
  pkesk = 1,
  signature = 2,
  skesk = 3,
  one_pass_signature = 4,
  secret_key = 5,
  public_key = 6,
  secret_subkey = 7,
  compressed_data = 8,
  symmetrically_encrypted_data = 9,
  marker = 10,
  literal_data = 11,
  trust = 12,
  user_id = 13,
  public_subkey = 14,
  user_attribute = 17,
  seipd = 18,
  mdc = 19,
  aead_encrypted = 20,
  padding = 21,
};

// Hard limits on what a reader accepts; anything over one is Errc::length_limit.
struct Limits {
  size_t max_packet_size = size_t{64} << 20;        // one packet's body, all partial pieces
  size_t max_packets = 4096;                        // packets in one sequence
  size_t max_decompressed_size = size_t{64} << 20;  // what one Compressed Data packet yields
  int max_nesting = 8;                              // compressed and encrypted containers
  size_t max_session_key_attempts = 64;  // PKESK x own key trials (anonymous PKESKs try all)
  // What S2K may hash to open one message under a password, all its SKESKs together: an
  // iterated S2K hashes up to 65,011,712 octets for each.
  size_t max_s2k_bytes = size_t{64} << 20;
};

struct Packet {
  PacketTag tag;
  Bytes body;
};

// Splits `data` into packets. Errors: truncated (a header or body past the end),
// invalid_value (a header without bit 7, a partial length on a packet that may not have one,
// a first partial piece under 512 bytes), length_limit (see Limits).
Result<std::vector<Packet>> parse_packets(BytesView data, const Limits& limits = {});

// Appends one new-format packet with a definite length.
void append_packet(Bytes& out, PacketTag tag, BytesView body);
Bytes encode_packet(PacketTag tag, BytesView body);

// Reads the fields of a packet body, strictly: every read checks the bytes remaining.
class BodyReader {
 public:
  explicit BodyReader(BytesView body) : rest_(body) {}

  Result<uint8_t> u8();
  Result<uint16_t> u16();
  Result<uint32_t> u32();
  Result<BytesView> take(size_t n);
  // An MPI (section 3.2): its magnitude, big-endian, as written (bit count checked against
  // the bytes present, not against leading zeros).
  Result<BytesView> mpi();
  BytesView rest() {
    BytesView r = rest_;
    rest_ = {};
    return r;
  }
  size_t remaining() const { return rest_.size(); }
  // Errc::trailing_bytes when anything is left, naming `what`.
  Result<void> finish(const char* what) const;

 private:
  BytesView rest_;
};

void put_u16(Bytes& out, uint16_t v);
void put_u32(Bytes& out, uint32_t v);
// An MPI of a big-endian magnitude; leading zero bytes are dropped.
void put_mpi(Bytes& out, BytesView magnitude);

}  // namespace sotto::openpgp
