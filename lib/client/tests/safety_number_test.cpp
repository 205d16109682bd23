#include "sotto/client/safety_number.h"

#include <gtest/gtest.h>

#include <regex>

namespace sotto::client {
namespace {

Bytes key(uint8_t fill) { return Bytes(32, fill); }

const SafetyNumberSide kAlice{"alice", {key(1), key(2)}};
const SafetyNumberSide kBob{"bob", {key(3)}};

// The construction as safety_number.h writes it, computed separately (Python's hashlib), so
// that another implementation (the web client's) can check itself against the same digits.
TEST(SafetyNumber, MatchesTheDigitsOfTheDocumentedConstruction) {
  EXPECT_EQ(safety_number_side(kAlice), "71455 83119 39270 51155 35560 09965");
  EXPECT_EQ(safety_number_side(kBob), "58619 79156 34660 03668 32935 10633");
  EXPECT_EQ(safety_number(kAlice, kBob),
            "71455 83119 39270 51155 35560 09965 58619 79156 34660 03668 32935 10633");
}

TEST(SafetyNumber, IsTheSameOnBothSidesAndForAnyOrderOfKeys) {
  EXPECT_EQ(safety_number(kAlice, kBob), safety_number(kBob, kAlice));
  const SafetyNumberSide reordered{"alice", {key(2), key(1)}};
  EXPECT_EQ(safety_number_side(reordered), safety_number_side(kAlice));
  EXPECT_TRUE(std::regex_match(safety_number(kAlice, kBob),
                               std::regex("([0-9]{5} ){11}[0-9]{5}")));
}

TEST(SafetyNumber, ChangesWithAnyKeyOrName) {
  const std::string before = safety_number_side(kAlice);
  EXPECT_NE(safety_number_side({"alice", {key(1), key(4)}}), before);  // a key swapped
  EXPECT_NE(safety_number_side({"alice", {key(1)}}), before);          // a device gone
  EXPECT_NE(safety_number_side({"alice", {key(1), key(2), key(5)}}), before);  // one more
  EXPECT_NE(safety_number_side({"alicf", {key(1), key(2)}}), before);
  EXPECT_NE(safety_number_side({"alice", {}}), before);
}

}  // namespace
}  // namespace sotto::client
