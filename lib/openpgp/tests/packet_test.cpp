// Packet framing and ASCII armor: both header formats, every length encoding, partial bodies,
// and the malformed inputs a reader must refuse without reading past its input.
#include <gtest/gtest.h>

#include "sotto/core/encoding.h"
#include "sotto/openpgp/armor.h"
#include "sotto/openpgp/packet.h"

namespace sotto::openpgp {
namespace {

Bytes hex(std::string_view text) { return from_hex(text).value(); }

TEST(Packet, NewFormatLengthsRoundTrip) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{191}, size_t{192}, size_t{8383}, size_t{8384},
                   size_t{70000}}) {
    const Bytes body(n, 0xab);
    const Bytes encoded = encode_packet(PacketTag::literal_data, body);
    const size_t header = n < 192 ? 2 : n < 8384 ? 3 : 6;
    EXPECT_EQ(encoded.size(), header + n) << n;
    auto parsed = parse_packets(encoded);
    ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
    ASSERT_EQ(parsed->size(), 1u);
    EXPECT_EQ((*parsed)[0].tag, PacketTag::literal_data);
    EXPECT_EQ((*parsed)[0].body, body) << n;
  }
}

TEST(Packet, OldFormatHeaders) {
  // Tag 2 (signature), one-, two- and four-byte lengths, and indeterminate length.
  auto one = parse_packets(hex("8803aabbcc"));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)[0].tag, PacketTag::signature);
  EXPECT_EQ((*one)[0].body, hex("aabbcc"));
  auto two = parse_packets(hex("890002aabb"));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ((*two)[0].body, hex("aabb"));
  auto four = parse_packets(hex("8a00000001aa"));
  ASSERT_TRUE(four.ok());
  EXPECT_EQ((*four)[0].body, hex("aa"));
  auto rest = parse_packets(hex("af0102030405"));  // tag 11, indeterminate
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ((*rest)[0].tag, PacketTag::literal_data);
  EXPECT_EQ((*rest)[0].body, hex("0102030405"));
}

TEST(Packet, PartialBodyLengths) {
  Bytes data{0xcb, 0xe9};  // literal data, partial piece of 2^9 = 512 bytes
  data.insert(data.end(), 512, 0x11);
  data.push_back(0xe0);  // 1 byte
  data.push_back(0x22);
  data.push_back(0x02);  // final definite piece of 2 bytes
  data.push_back(0x33);
  data.push_back(0x44);
  auto parsed = parse_packets(data);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].body.size(), 515u);
  EXPECT_EQ((*parsed)[0].body[512], 0x22);
  EXPECT_EQ((*parsed)[0].body[514], 0x44);
}

TEST(Packet, RefusesMalformedHeaders) {
  EXPECT_EQ(parse_packets(hex("00")).error().code(), Errc::invalid_value);   // bit 7 clear
  EXPECT_EQ(parse_packets(hex("c0")).error().code(), Errc::truncated);       // no length
  EXPECT_EQ(parse_packets(hex("c005aa")).error().code(), Errc::truncated);   // short body
  EXPECT_EQ(parse_packets(hex("c2c0")).error().code(), Errc::truncated);     // 2-byte length cut
  EXPECT_EQ(parse_packets(hex("c2ff0000")).error().code(), Errc::truncated); // 5-byte length cut
  EXPECT_EQ(parse_packets(hex("c000")).error().code(), Errc::invalid_value); // tag 0 reserved
  EXPECT_EQ(parse_packets(hex("89ff")).error().code(), Errc::truncated);     // old 2-byte cut
  // Partial lengths on a signature packet, and a first piece under 512 bytes.
  Bytes sig{0xc2, 0xe9};
  sig.insert(sig.end(), 512, 0);
  sig.push_back(0x00);
  EXPECT_EQ(parse_packets(sig).error().code(), Errc::invalid_value);
  EXPECT_EQ(parse_packets(hex("cbe1aabb00")).error().code(), Errc::invalid_value);
  // A partial piece with nothing after it.
  Bytes cut{0xcb, 0xe9};
  cut.insert(cut.end(), 512, 0);
  EXPECT_EQ(parse_packets(cut).error().code(), Errc::truncated);
}

TEST(Packet, EnforcesLimits) {
  Limits limits;
  limits.max_packet_size = 100;
  EXPECT_EQ(parse_packets(encode_packet(PacketTag::literal_data, Bytes(101)), limits).error().code(),
            Errc::length_limit);
  EXPECT_TRUE(parse_packets(encode_packet(PacketTag::literal_data, Bytes(100)), limits).ok());
  // A four-byte length that claims 4 GiB is refused before anything is read.
  EXPECT_EQ(parse_packets(hex("cbffffffffff00")).error().code(), Errc::length_limit);
  Limits few;
  few.max_packets = 3;
  Bytes many;
  for (int i = 0; i < 4; ++i) append_packet(many, PacketTag::marker, as_bytes("PGP"));
  EXPECT_EQ(parse_packets(many, few).error().code(), Errc::length_limit);
  // Partial pieces add up against the limit too.
  Bytes pieces{0xcb, 0xea};  // 1024
  pieces.insert(pieces.end(), 1024, 0);
  pieces.push_back(0x01);
  pieces.push_back(0x00);
  Limits small;
  small.max_packet_size = 1024;
  EXPECT_EQ(parse_packets(pieces, small).error().code(), Errc::length_limit);
}

TEST(Packet, EveryPrefixOfAValidSequenceFailsCleanly) {
  Bytes data;
  append_packet(data, PacketTag::user_id, as_bytes("alice@example.org"));
  append_packet(data, PacketTag::literal_data, Bytes(300, 7));
  for (size_t n = 1; n < data.size(); ++n) {
    auto parsed = parse_packets(BytesView(data).subspan(0, n));
    if (n == 19) {  // exactly the first packet
      EXPECT_TRUE(parsed.ok());
    } else {
      ASSERT_FALSE(parsed.ok()) << n;
      EXPECT_EQ(parsed.error().code(), Errc::truncated) << n;
    }
  }
}

TEST(BodyReader, ReadsAndRefusesPastTheEnd) {
  const Bytes body = hex("01000200090102ff");
  BodyReader r(body);
  EXPECT_EQ(r.u8().value(), 1);
  EXPECT_EQ(r.u16().value(), 2);
  auto mpi = r.mpi();  // 9 bits: two bytes
  ASSERT_TRUE(mpi.ok());
  EXPECT_EQ(to_bytes(*mpi), hex("0102"));
  EXPECT_EQ(r.finish("x").error().code(), Errc::trailing_bytes);
  EXPECT_EQ(r.u16().error().code(), Errc::truncated);
  Bytes out;
  put_mpi(out, hex("000001ff"));
  EXPECT_EQ(out, hex("000901ff"));
}

TEST(Armor, RoundTripWithoutChecksum) {
  const Bytes data = hex("c6330453f35f0b16092b06010401da470f010107403f098994bdd916ed4053197934e4a8");
  const std::string text = armor("PUBLIC KEY BLOCK", data, {{"Comment", "test"}});
  auto back = dearmor("mail text before\r\n" + text);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->label, "PUBLIC KEY BLOCK");
  EXPECT_EQ(back->data, data);
  ASSERT_EQ(back->headers.size(), 1u);
  EXPECT_EQ(back->headers[0].second, "test");
  EXPECT_FALSE(back->checksum_matches.has_value());
}

TEST(Armor, ChecksumIsReportedAndCrlfAccepted) {
  const Bytes data = to_bytes("hello");
  const uint32_t crc = crc24(data);
  const Bytes crc_bytes{static_cast<uint8_t>(crc >> 16), static_cast<uint8_t>(crc >> 8),
                        static_cast<uint8_t>(crc)};
  const std::string good = "-----BEGIN PGP MESSAGE-----\r\n\r\n" + to_base64(data) + "\r\n=" +
                           to_base64(crc_bytes) + "\r\n-----END PGP MESSAGE-----\r\n";
  auto parsed = dearmor(good);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->data, data);
  EXPECT_EQ(parsed->checksum_matches, std::optional<bool>(true));
  std::string bad = good;
  const size_t crc_at = bad.rfind("\r\n=") + 3;
  bad[crc_at] = bad[crc_at] == 'A' ? 'B' : 'A';
  auto mismatched = dearmor(bad);
  ASSERT_TRUE(mismatched.ok());  // section 6.1: a wrong CRC24 is not a reason to refuse
  EXPECT_EQ(mismatched->checksum_matches, std::optional<bool>(false));
}

TEST(Armor, RefusesMalformedArmor) {
  EXPECT_EQ(dearmor("no armor here").error().code(), Errc::invalid_encoding);
  EXPECT_EQ(dearmor("-----BEGIN PGP MESSAGE-----\n\naGVsbG8=\n").error().code(),
            Errc::invalid_encoding);  // no END line
  EXPECT_EQ(dearmor("-----BEGIN PGP MESSAGE-----\n\naGVsbG8=\n-----END PGP SIGNATURE-----\n")
                .error()
                .code(),
            Errc::invalid_encoding);  // labels differ
  EXPECT_EQ(dearmor("-----BEGIN PGP MESSAGE-----\n\naGVsb*8=\n-----END PGP MESSAGE-----\n")
                .error()
                .code(),
            Errc::invalid_encoding);  // not base64
  EXPECT_EQ(dearmor("-----BEGIN PGP MESSAGE-----\nbroken header\n\naGVsbG8=\n"
                    "-----END PGP MESSAGE-----\n")
                .error()
                .code(),
            Errc::invalid_encoding);
  EXPECT_EQ(dearmor("-----BEGIN PGP MESSAGE-----\n\naGVsbG8=\n=AAA\n-----END PGP MESSAGE-----\n")
                .error()
                .code(),
            Errc::invalid_encoding);  // checksum line of the wrong size
}

TEST(Armor, Crc24KnownValue) {
  // The CRC24 of no data is its initial value.
  EXPECT_EQ(crc24({}), 0xb704ceu);
}

}  // namespace
}  // namespace sotto::openpgp
