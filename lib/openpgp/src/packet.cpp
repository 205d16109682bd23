#include "sotto/openpgp/packet.h"

#include <string>

namespace sotto::openpgp {

namespace {

Error truncated(const char* what) {
  return Error(Errc::truncated, std::string("OpenPGP input ends inside ") + what);
}

// Only data packets may use partial body lengths (section 4.2.1.4).
bool may_be_partial(uint8_t tag) {
  return tag == 8 || tag == 9 || tag == 11 || tag == 18 || tag == 20;
}

struct Cursor {
  BytesView data;
  size_t pos = 0;
  size_t left() const { return data.size() - pos; }
};

// One new-format length field. `partial` is set for a partial body length.
Result<size_t> new_length(Cursor& c, bool& partial) {
  partial = false;
  if (c.left() < 1) return truncated("a packet length");
  const uint8_t a = c.data[c.pos++];
  if (a < 192) return size_t{a};
  if (a < 224) {
    if (c.left() < 1) return truncated("a packet length");
    const uint8_t b = c.data[c.pos++];
    return ((size_t{a} - 192) << 8) + b + 192;
  }
  if (a == 255) {
    if (c.left() < 4) return truncated("a packet length");
    size_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | c.data[c.pos++];
    return n;
  }
  partial = true;
  return size_t{1} << (a & 0x1f);
}

Result<void> take_body(Cursor& c, size_t n, size_t limit, Bytes& body) {
  if (n > limit || body.size() + n > limit) {
    return Error(Errc::length_limit, "an OpenPGP packet over " + std::to_string(limit) + " bytes");
  }
  if (c.left() < n) return truncated("a packet body");
  body.insert(body.end(), c.data.begin() + static_cast<std::ptrdiff_t>(c.pos),
              c.data.begin() + static_cast<std::ptrdiff_t>(c.pos + n));
  c.pos += n;
  return success();
}

}  // namespace

Result<std::vector<Packet>> parse_packets(BytesView data, const Limits& limits) {
  std::vector<Packet> packets;
  Cursor c{data};
  while (c.left() > 0) {
    if (packets.size() >= limits.max_packets) {
      return Error(Errc::length_limit,
                   "more than " + std::to_string(limits.max_packets) + " OpenPGP packets");
    }
    const uint8_t header = c.data[c.pos++];
    if ((header & 0x80) == 0) {
      return Error(Errc::invalid_value, "an OpenPGP packet header without bit 7 set");
    }
    Packet p{PacketTag{0}, {}};
    if (header & 0x40) {  // new format
      const uint8_t tag = header & 0x3f;
      p.tag = PacketTag{tag};
      bool partial = false;
      SOTTO_TRY_ASSIGN(size_t n, new_length(c, partial));
      if (partial) {
        if (!may_be_partial(tag)) {
          return Error(Errc::invalid_value, "a partial body length on packet type " +
                                                std::to_string(tag));
        }
        if (n < 512) {
          return Error(Errc::invalid_value, "a first partial body piece under 512 bytes");
        }
      }
      SOTTO_TRY(take_body(c, n, limits.max_packet_size, p.body));
      while (partial) {
        SOTTO_TRY_ASSIGN(n, new_length(c, partial));
        SOTTO_TRY(take_body(c, n, limits.max_packet_size, p.body));
      }
    } else {  // old (legacy) format
      p.tag = PacketTag{static_cast<uint8_t>((header >> 2) & 0x0f)};
      const int type = header & 0x03;
      size_t n = 0;
      if (type == 3) {
        n = c.left();  // indeterminate: to the end of the input
      } else {
        const size_t bytes = size_t{1} << type;
        if (c.left() < bytes) return truncated("a packet length");
        for (size_t i = 0; i < bytes; ++i) n = (n << 8) | c.data[c.pos++];
      }
      SOTTO_TRY(take_body(c, n, limits.max_packet_size, p.body));
    }
    if (static_cast<uint8_t>(p.tag) == 0) {
      return Error(Errc::invalid_value, "OpenPGP packet type 0 is reserved");
    }
    packets.push_back(std::move(p));
  }
  return packets;
}

void append_packet(Bytes& out, PacketTag tag, BytesView body) {
  out.push_back(static_cast<uint8_t>(0xc0 | static_cast<uint8_t>(tag)));
  const size_t n = body.size();
  if (n < 192) {
    out.push_back(static_cast<uint8_t>(n));
  } else if (n < 8384) {
    out.push_back(static_cast<uint8_t>(((n - 192) >> 8) + 192));
    out.push_back(static_cast<uint8_t>((n - 192) & 0xff));
  } else {
    out.push_back(0xff);
    put_u32(out, static_cast<uint32_t>(n));
  }
  out.insert(out.end(), body.begin(), body.end());
}

Bytes encode_packet(PacketTag tag, BytesView body) {
  Bytes out;
  append_packet(out, tag, body);
  return out;
}

Result<uint8_t> BodyReader::u8() {
  SOTTO_TRY_ASSIGN(BytesView b, take(1));
  return b[0];
}

Result<uint16_t> BodyReader::u16() {
  SOTTO_TRY_ASSIGN(BytesView b, take(2));
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}

Result<uint32_t> BodyReader::u32() {
  SOTTO_TRY_ASSIGN(BytesView b, take(4));
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

Result<BytesView> BodyReader::take(size_t n) {
  if (rest_.size() < n) return truncated("a packet field");
  BytesView out = rest_.subspan(0, n);
  rest_ = rest_.subspan(n);
  return out;
}

Result<BytesView> BodyReader::mpi() {
  SOTTO_TRY_ASSIGN(uint16_t bits, u16());
  return take((size_t{bits} + 7) / 8);
}

Result<void> BodyReader::finish(const char* what) const {
  if (!rest_.empty()) {
    return Error(Errc::trailing_bytes, std::to_string(rest_.size()) + " bytes after " + what);
  }
  return success();
}

void put_u16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put_u32(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_mpi(Bytes& out, BytesView magnitude) {
  size_t start = 0;
  while (start < magnitude.size() && magnitude[start] == 0) ++start;
  const BytesView m = magnitude.subspan(start);
  size_t bits = 0;
  if (!m.empty()) {
    bits = (m.size() - 1) * 8;
    for (uint8_t top = m[0]; top != 0; top >>= 1) ++bits;
  }
  put_u16(out, static_cast<uint16_t>(bits));
  out.insert(out.end(), m.begin(), m.end());
}

}  // namespace sotto::openpgp
