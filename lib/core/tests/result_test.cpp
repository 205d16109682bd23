#include "sotto/core/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace sotto {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Error(Errc::invalid_value, "not a digit");
  return c - '0';
}

Result<void> check_even(int v) {
  if (v % 2 != 0) return Error(Errc::invalid_argument, "odd");
  return success();
}

// Counts how far a function got, so that the tests can see SOTTO_TRY return early.
struct Progress {
  int steps = 0;
};

Result<int> add_digits(char a, char b, Progress& progress) {
  SOTTO_TRY_ASSIGN(const int x, parse_digit(a));
  ++progress.steps;
  SOTTO_TRY_ASSIGN(const int y, parse_digit(b));
  ++progress.steps;
  return x + y;
}

Result<void> even_digit(char c, Progress& progress) {
  SOTTO_TRY_ASSIGN(auto v, parse_digit(c));
  ++progress.steps;
  SOTTO_TRY(check_even(v));
  ++progress.steps;
  return success();
}

Result<int> even_digit_value(char c) {
  Progress progress;
  SOTTO_TRY_CTX(even_digit(c, progress), "reading an even digit");
  return parse_digit(c);
}

Result<int> nested_context(char c) {
  SOTTO_TRY_CTX(even_digit_value(c), "outer");
  return 0;
}

TEST(ErrcTest, NamesAreStable) {
  EXPECT_EQ(errc_name(Errc::ok), "ok");
  EXPECT_EQ(errc_name(Errc::truncated), "truncated");
  EXPECT_EQ(errc_name(Errc::trailing_bytes), "trailing_bytes");
  EXPECT_EQ(errc_name(Errc::non_minimal_varint), "non_minimal_varint");
  EXPECT_EQ(errc_name(Errc::length_limit), "length_limit");
  EXPECT_EQ(errc_name(Errc::invalid_value), "invalid_value");
  EXPECT_EQ(errc_name(Errc::invalid_encoding), "invalid_encoding");
  EXPECT_EQ(errc_name(Errc::crypto_failure), "crypto_failure");
  EXPECT_EQ(errc_name(Errc::authentication_failed), "authentication_failed");
  EXPECT_EQ(errc_name(Errc::bad_signature), "bad_signature");
  EXPECT_EQ(errc_name(Errc::unsupported), "unsupported");
  EXPECT_EQ(errc_name(Errc::message_limit), "message_limit");
  EXPECT_EQ(errc_name(Errc::invalid_argument), "invalid_argument");
  EXPECT_EQ(errc_name(Errc::not_found), "not_found");
  EXPECT_EQ(errc_name(Errc::internal), "internal");
  EXPECT_EQ(errc_name(static_cast<Errc>(999)), "unknown");
}

TEST(ErrcTest, NumbersAreStable) {
  // Part of the wire protocol and of logs: a change here is a compatibility break.
  EXPECT_EQ(static_cast<int>(Errc::ok), 0);
  EXPECT_EQ(static_cast<int>(Errc::truncated), 1);
  EXPECT_EQ(static_cast<int>(Errc::trailing_bytes), 2);
  EXPECT_EQ(static_cast<int>(Errc::non_minimal_varint), 3);
  EXPECT_EQ(static_cast<int>(Errc::length_limit), 4);
  EXPECT_EQ(static_cast<int>(Errc::invalid_value), 5);
  EXPECT_EQ(static_cast<int>(Errc::invalid_encoding), 6);
  EXPECT_EQ(static_cast<int>(Errc::crypto_failure), 20);
  EXPECT_EQ(static_cast<int>(Errc::authentication_failed), 21);
  EXPECT_EQ(static_cast<int>(Errc::bad_signature), 22);
  EXPECT_EQ(static_cast<int>(Errc::unsupported), 23);
  EXPECT_EQ(static_cast<int>(Errc::message_limit), 24);
  EXPECT_EQ(static_cast<int>(Errc::invalid_argument), 40);
  EXPECT_EQ(static_cast<int>(Errc::not_found), 41);
  EXPECT_EQ(static_cast<int>(Errc::internal), 60);
}

TEST(ErrorTest, CodeMessageAndToString) {
  const Error e(Errc::truncated, "needed 4 bytes, 2 left");
  EXPECT_EQ(e.code(), Errc::truncated);
  EXPECT_EQ(e.message(), "needed 4 bytes, 2 left");
  EXPECT_EQ(e.to_string(), "truncated: needed 4 bytes, 2 left");
}

TEST(ErrorTest, WithContextPrefixesAndKeepsCode) {
  Error e = Error(Errc::bad_signature, "leaf signature").with_context("commit");
  EXPECT_EQ(e.code(), Errc::bad_signature);
  EXPECT_EQ(e.message(), "commit: leaf signature");
  e = std::move(e).with_context("welcome");
  EXPECT_EQ(e.message(), "welcome: commit: leaf signature");
  EXPECT_EQ(e.to_string(), "bad_signature: welcome: commit: leaf signature");
}

TEST(ResultTest, HoldsValue) {
  Result<std::string> r = std::string("abc");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), "abc");
  EXPECT_EQ(*r, "abc");
  EXPECT_EQ(r->size(), 3u);
  r.value() += "d";
  EXPECT_EQ(*r, "abcd");
  const Result<std::string>& cr = r;
  EXPECT_EQ(cr.value(), "abcd");
  EXPECT_EQ(cr->size(), 4u);
  const std::string moved = std::move(r).value();
  EXPECT_EQ(moved, "abcd");
}

TEST(ResultTest, HoldsError) {
  Result<int> r = Error(Errc::not_found, "no such group");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error().code(), Errc::not_found);
  EXPECT_EQ(r.error().message(), "no such group");
  const Error e = std::move(r).error();
  EXPECT_EQ(e.code(), Errc::not_found);
}

TEST(ResultTest, MoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(ResultVoidTest, SuccessAndFailure) {
  const Result<void> good = success();
  EXPECT_TRUE(good.ok());
  EXPECT_TRUE(static_cast<bool>(good));
  const Result<void> default_constructed;
  EXPECT_TRUE(default_constructed.ok());

  Result<void> bad = Error(Errc::internal, "broken");
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(bad.error().code(), Errc::internal);
  EXPECT_EQ(bad.error().message(), "broken");
  const Error e = std::move(bad).error();
  EXPECT_EQ(e.to_string(), "internal: broken");
}

TEST(TryAssignTest, DeclaresValueOnSuccess) {
  Progress progress;
  const auto r = add_digits('3', '4', progress);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(progress.steps, 2);
}

TEST(TryAssignTest, ReturnsFirstErrorUnchanged) {
  Progress progress;
  auto r = add_digits('x', '4', progress);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::invalid_value);
  EXPECT_EQ(r.error().message(), "not a digit");
  EXPECT_EQ(progress.steps, 0);

  progress = {};
  r = add_digits('1', 'y', progress);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(progress.steps, 1);
}

TEST(TryAssignTest, AssignsToExistingVariable) {
  auto f = [](char c) -> Result<int> {
    int out = -1;
    SOTTO_TRY_ASSIGN(out, parse_digit(c));
    return out * 10;
  };
  EXPECT_EQ(*f('5'), 50);
  EXPECT_EQ(f('z').error().code(), Errc::invalid_value);
}

TEST(TryTest, PassesThroughOnSuccess) {
  Progress progress;
  EXPECT_TRUE(even_digit('8', progress).ok());
  EXPECT_EQ(progress.steps, 2);
}

TEST(TryTest, ReturnsErrorIntoVoidResult) {
  Progress progress;
  const auto r = even_digit('7', progress);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::invalid_argument);
  EXPECT_EQ(r.error().message(), "odd");
  EXPECT_EQ(progress.steps, 1);
}

TEST(TryTest, ReturnsVoidErrorIntoValueResult) {
  // A Result<void> error propagates into a function returning Result<int>.
  auto f = [](int v) -> Result<int> {
    SOTTO_TRY(check_even(v));
    return v / 2;
  };
  EXPECT_EQ(*f(6), 3);
  EXPECT_EQ(f(5).error().code(), Errc::invalid_argument);
}

TEST(TryTest, WorksOnNamedResult) {
  auto f = [](char c) -> Result<void> {
    const Result<int> digit = parse_digit(c);
    SOTTO_TRY(digit);
    return success();
  };
  EXPECT_TRUE(f('1').ok());
  EXPECT_EQ(f('a').error().message(), "not a digit");
}

TEST(TryTest, EvaluatesExpressionOnce) {
  int calls = 0;
  auto counted = [&calls]() -> Result<void> {
    ++calls;
    return Error(Errc::internal, "x");
  };
  auto f = [&]() -> Result<void> {
    SOTTO_TRY(counted());
    return success();
  };
  EXPECT_FALSE(f().ok());
  EXPECT_EQ(calls, 1);
}

TEST(TryCtxTest, AddsContextOnFailureOnly) {
  const auto bad = even_digit_value('3');
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::invalid_argument);
  EXPECT_EQ(bad.error().message(), "reading an even digit: odd");

  const auto good = even_digit_value('4');
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4);
}

TEST(TryCtxTest, ContextsNestOutermostFirst) {
  const auto r = nested_context('q');
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::invalid_value);
  EXPECT_EQ(r.error().message(), "outer: reading an even digit: not a digit");
  EXPECT_EQ(r.error().to_string(), "invalid_value: outer: reading an even digit: not a digit");
}

TEST(TryCtxTest, AcceptsStdStringContext) {
  auto f = [](int v) -> Result<void> {
    const std::string where = "value " + std::to_string(v);
    SOTTO_TRY_CTX(check_even(v), where);
    return success();
  };
  EXPECT_EQ(f(3).error().message(), "value 3: odd");
  EXPECT_TRUE(f(2).ok());
}

}  // namespace
}  // namespace sotto
