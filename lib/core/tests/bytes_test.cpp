#include "sotto/core/bytes.h"

#include <gtest/gtest.h>

#include <cstring>
#include <type_traits>
#include <utility>

namespace sotto {
namespace {

// Reads `n` bytes at `p` that lie inside a vector's allocation but past its size. The vector
// still owns that memory (clear() and a shrinking resize() keep the capacity), so this is no
// use after free; the attribute keeps ASan's container annotations (libc++) quiet, and the
// volatile reads keep the optimiser from assuming anything about destroyed elements.
__attribute__((no_sanitize("address"))) Bytes peek(const uint8_t* p, size_t n) {
  Bytes out(n);
  const volatile uint8_t* q = p;
  for (size_t i = 0; i < n; ++i) out[i] = q[i];
  return out;
}

bool all_zero(BytesView bytes) {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

Bytes pattern(size_t n, uint8_t start = 1) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(start + i);
  return out;
}

// ---- secure_wipe ---------------------------------------------------------------------

TEST(SecureWipeTest, ZeroesExactlyTheRange) {
  uint8_t buf[16];
  std::memset(buf, 0xaa, sizeof buf);
  secure_wipe(buf + 4, 8);
  for (size_t i = 0; i < sizeof buf; ++i) {
    EXPECT_EQ(buf[i], (i >= 4 && i < 12) ? 0 : 0xaa) << "byte " << i;
  }
}

TEST(SecureWipeTest, NullAndEmptyAreNoOps) {
  secure_wipe(nullptr, 0);
  secure_wipe(nullptr, 10);
  uint8_t b = 7;
  secure_wipe(&b, 0);
  EXPECT_EQ(b, 7);
}

// ---- constant_time_equal -------------------------------------------------------------

TEST(ConstantTimeEqualTest, EqualContents) {
  EXPECT_TRUE(constant_time_equal({}, {}));
  const Bytes a = pattern(33);
  const Bytes b = a;
  EXPECT_TRUE(constant_time_equal(a, b));
}

TEST(ConstantTimeEqualTest, DifferentLengthsAreUnequal) {
  const Bytes a = pattern(32);
  const Bytes prefix(a.begin(), a.end() - 1);
  EXPECT_FALSE(constant_time_equal(a, prefix));
  EXPECT_FALSE(constant_time_equal(prefix, a));
  EXPECT_FALSE(constant_time_equal(a, {}));
  EXPECT_FALSE(constant_time_equal({}, a));
  // Equal up to the shorter length, and zero-padded: still unequal.
  Bytes padded = a;
  padded.push_back(0);
  EXPECT_FALSE(constant_time_equal(a, padded));
}

TEST(ConstantTimeEqualTest, EverySingleBitFlipIsUnequal) {
  const Bytes a = pattern(20, 0x30);
  for (size_t i = 0; i < a.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes b = a;
      b[i] ^= static_cast<uint8_t>(1u << bit);
      EXPECT_FALSE(constant_time_equal(a, b)) << "byte " << i << " bit " << bit;
    }
  }
}

// ---- SecureBytes: construction and access --------------------------------------------

TEST(SecureBytesTest, Constructors) {
  const SecureBytes empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.size(), 0u);

  const SecureBytes zeros(5);
  EXPECT_EQ(zeros.size(), 5u);
  EXPECT_TRUE(all_zero(zeros));

  const Bytes src = pattern(9);
  const SecureBytes from_view{BytesView(src)};
  EXPECT_EQ(from_view.reveal(), src);

  const SecureBytes listed{1, 2, 3};
  EXPECT_EQ(listed.reveal(), (Bytes{1, 2, 3}));
  EXPECT_EQ(listed[0], 1);
  EXPECT_EQ(listed[2], 3);
}

TEST(SecureBytesTest, CopyIsNotImplicitFromPublicBytes) {
  // Bytes -> SecureBytes must be spelled out; SecureBytes -> BytesView is implicit.
  static_assert(!std::is_convertible_v<Bytes, SecureBytes>);
  static_assert(!std::is_convertible_v<BytesView, SecureBytes>);
  static_assert(std::is_convertible_v<SecureBytes, BytesView>);
  static_assert(std::is_nothrow_move_constructible_v<SecureBytes>);
  static_assert(std::is_nothrow_move_assignable_v<SecureBytes>);
}

TEST(SecureBytesTest, ViewsAndIteration) {
  SecureBytes s{BytesView(pattern(4))};
  const BytesView v = s;
  EXPECT_EQ(v.data(), s.data());
  EXPECT_EQ(v.size(), 4u);
  EXPECT_EQ(s.view().data(), s.data());
  s[1] = 0xee;
  EXPECT_EQ(v[1], 0xee);
  const Bytes iterated(s.begin(), s.end());
  EXPECT_EQ(iterated, (Bytes{1, 0xee, 3, 4}));
}

TEST(SecureBytesTest, EqualityComparesLengthAndContents) {
  const SecureBytes a{1, 2, 3};
  EXPECT_TRUE(a == (SecureBytes{1, 2, 3}));
  EXPECT_FALSE(a == (SecureBytes{1, 2, 4}));
  EXPECT_FALSE(a == (SecureBytes{1, 2}));
  EXPECT_FALSE(a == (SecureBytes{1, 2, 3, 0}));
  EXPECT_TRUE(a != (SecureBytes{9, 2, 3}));
  EXPECT_TRUE(SecureBytes() == SecureBytes());
}

// ---- SecureBytes: wiping -------------------------------------------------------------

TEST(SecureBytesTest, ClearWipesTheBuffer) {
  SecureBytes s(64);
  std::memset(s.data(), 0xaa, s.size());
  const uint8_t* buffer = s.data();
  ASSERT_EQ(peek(buffer, 64), Bytes(64, 0xaa));  // the check below is not vacuous
  s.clear();
  EXPECT_TRUE(s.empty());
  // clear() keeps the capacity, so the old buffer is still owned by s.
  EXPECT_TRUE(all_zero(peek(buffer, 64)));
}

TEST(SecureBytesTest, ShrinkingResizeWipesTheTail) {
  SecureBytes s{BytesView(pattern(48, 0x80))};
  const uint8_t* buffer = s.data();
  s.resize(16);
  ASSERT_EQ(s.size(), 16u);
  ASSERT_EQ(s.data(), buffer);  // shrinking never reallocates
  EXPECT_EQ(s.reveal(), pattern(16, 0x80));
  EXPECT_TRUE(all_zero(peek(buffer + 16, 32)));

  s.resize(0);
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(all_zero(peek(buffer, 48)));
}

TEST(SecureBytesTest, GrowingWithinCapacityZeroFills) {
  SecureBytes s{BytesView(pattern(32))};
  s.resize(8);
  s.resize(32);  // back into the capacity the shrink kept
  EXPECT_EQ(BytesView(s).subspan(0, 8).size(), 8u);
  EXPECT_EQ(Bytes(s.begin(), s.begin() + 8), pattern(8));
  EXPECT_TRUE(all_zero(BytesView(s).subspan(8)));
}

TEST(SecureBytesTest, GrowingKeepsContents) {
  SecureBytes s{BytesView(pattern(10))};
  s.resize(10000);  // certainly past the capacity
  ASSERT_EQ(s.size(), 10000u);
  EXPECT_EQ(Bytes(s.begin(), s.begin() + 10), pattern(10));
  EXPECT_TRUE(all_zero(BytesView(s).subspan(10)));
}

TEST(SecureBytesTest, ResizeFromEmpty) {
  SecureBytes s;
  s.resize(3);
  EXPECT_EQ(s.reveal(), (Bytes{0, 0, 0}));
  s.resize(3);
  EXPECT_EQ(s.size(), 3u);
}

TEST(SecureBytesTest, AppendKeepsContents) {
  SecureBytes s;
  Bytes expected;
  for (int round = 0; round < 200; ++round) {
    const Bytes piece = pattern(static_cast<size_t>(round % 7), static_cast<uint8_t>(round));
    s.append(piece);
    expected.insert(expected.end(), piece.begin(), piece.end());
    ASSERT_EQ(s.reveal(), expected) << "after round " << round;
  }
  s.append({});
  EXPECT_EQ(s.reveal(), expected);
}

TEST(SecureBytesTest, AppendOfItself) {
  // SecureBytes converts to BytesView, so s.append(s) compiles; it must not read the buffer
  // that growing has just wiped and released.
  SecureBytes s{1, 2, 3};
  s.append(s);
  EXPECT_EQ(s.reveal(), (Bytes{1, 2, 3, 1, 2, 3}));
  for (int i = 0; i < 6; ++i) s.append(s);
  ASSERT_EQ(s.size(), 6u << 6);
  for (size_t i = 0; i < s.size(); ++i) ASSERT_EQ(s[i], 1 + i % 3) << i;
  // Within the capacity too: a prefix of itself.
  s.resize(4);
  s.append(BytesView(s).subspan(1, 2));
  EXPECT_EQ(s.reveal(), (Bytes{1, 2, 3, 1, 2, 3}));
}

// ---- SecureBytes: copy and move ------------------------------------------------------

TEST(SecureBytesTest, CopyIsDeep) {
  SecureBytes a{1, 2, 3};
  SecureBytes b(a);
  EXPECT_TRUE(a == b);
  EXPECT_NE(a.data(), b.data());
  b[0] = 9;
  EXPECT_EQ(a[0], 1);

  SecureBytes c{BytesView(pattern(100))};
  c = a;  // shrinking copy-assignment
  EXPECT_EQ(c.reveal(), (Bytes{1, 2, 3}));
  SecureBytes d{7};
  d = SecureBytes(BytesView(pattern(100)));  // growing move-assignment
  EXPECT_EQ(d.reveal(), pattern(100));
  d = c;  // growing buffer from a copy
  EXPECT_EQ(d.reveal(), (Bytes{1, 2, 3}));
}

TEST(SecureBytesTest, SelfAssignmentKeepsContents) {
  SecureBytes a{4, 5, 6};
  const SecureBytes& alias = a;
  a = alias;
  EXPECT_EQ(a.reveal(), (Bytes{4, 5, 6}));
  SecureBytes& same = a;
  a = std::move(same);
  EXPECT_EQ(a.reveal(), (Bytes{4, 5, 6}));
}

TEST(SecureBytesTest, MoveTransfersTheBuffer) {
  SecureBytes a{BytesView(pattern(40))};
  const uint8_t* buffer = a.data();
  SecureBytes b(std::move(a));
  EXPECT_EQ(b.data(), buffer);
  EXPECT_EQ(b.reveal(), pattern(40));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified

  SecureBytes c{1};
  c = std::move(b);
  EXPECT_EQ(c.data(), buffer);
  EXPECT_EQ(c.reveal(), pattern(40));
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

// ---- helpers -------------------------------------------------------------------------

TEST(BytesHelpersTest, StringConversions) {
  EXPECT_EQ(to_bytes("abc"), (Bytes{'a', 'b', 'c'}));
  EXPECT_TRUE(to_bytes("").empty());
  const std::string_view with_nul("a\0b", 3);
  EXPECT_EQ(to_bytes(with_nul), (Bytes{'a', 0, 'b'}));
  const BytesView v = as_bytes(with_nul);
  EXPECT_EQ(static_cast<const void*>(v.data()), static_cast<const void*>(with_nul.data()));
  EXPECT_EQ(to_bytes(BytesView(pattern(3))), pattern(3));
}

TEST(BytesHelpersTest, Concat) {
  EXPECT_TRUE(concat({}).empty());
  const Bytes a{1, 2};
  const Bytes b;
  const SecureBytes c{3};
  EXPECT_EQ(concat({a, b, c, a}), (Bytes{1, 2, 3, 1, 2}));
}

}  // namespace
}  // namespace sotto
