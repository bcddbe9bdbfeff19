// once_value<T>: the first get() runs init, concurrent callers wait (task-aware) and read the
// same object; if init throws, that caller gets the exception and the next get() tries again;
// init's writes are visible to every reader (API.md "Coordination").
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <weft/sync.hpp>

#include "../support/helpers.hpp"

namespace {

using weft::status;

class OnceValue : public ::testing::TestWithParam<weft::test::exec> {
 protected:
  weft::test::exec ex() const { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Exec, OnceValue, weft::test::exec_values(), weft::test::exec_param_name);

TEST(OnceValueBasics, ComputesOnFirstGetOnly) {
  int calls = 0;
  weft::once_value<int> v([&] { return ++calls * 42; });
  EXPECT_EQ(calls, 0) << "init runs lazily";
  EXPECT_FALSE(v.has_value());
  EXPECT_EQ(v.get(), 42);
  EXPECT_EQ(v.get(), 42);
  EXPECT_EQ(&v.get(), &v.get());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(v.has_value());
}

struct no_default {
  explicit no_default(std::string s) : text(std::move(s)) {}
  no_default(const no_default&) = delete;
  no_default(no_default&&) = default;
  std::string text;
};

TEST(OnceValueBasics, MoveOnlyInitNonDefaultConstructibleTAndDeduction) {
  auto p = std::make_unique<std::string>("hello");
  weft::once_value<no_default> v([p = std::move(p)] { return no_default(*p); });
  EXPECT_EQ(v.get().text, "hello");

  weft::once_value w([] { return std::string("deduced"); });  // once_value<std::string>
  static_assert(std::is_same_v<decltype(w), weft::once_value<std::string>>);
  EXPECT_EQ(w.get(), "deduced");
}

TEST(OnceValueBasics, ThrowingInitRethrowsToTheCallerAndTheNextGetRetries) {
  int calls = 0;
  weft::once_value<int> v([&]() -> int {
    if (++calls == 1) throw std::runtime_error("first init fails");
    return 7;
  });
  EXPECT_THROW((void)v.get(), std::runtime_error);
  EXPECT_FALSE(v.has_value());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(v.get(), 7);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(v.get(), 7);
  EXPECT_EQ(calls, 2);
}

TEST(OnceValueBasics, InitIsDestroyedOncePublished) {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  weft::once_value<int> v([t = std::move(token)] { return *t; });
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(v.get(), 1);
  EXPECT_TRUE(watch.expired()) << "init (and what it captured) is released after publishing";
}

// N concurrent getters: init runs exactly once, every caller gets the same object, and init's
// plain writes are visible to all (checked by value, and by TSan in the tsan preset).
TEST_P(OnceValue, InitRunsExactlyOnceUnderConcurrentGetters) {
  const std::size_t rounds = weft::test::scale(30);
  constexpr std::size_t getters = 6;
  for (std::size_t r = 0; r < rounds; ++r) {
    std::atomic<int> calls{0};
    std::atomic<std::size_t> arrived{0};
    int side_effect = 0;  // plain: published by once_value
    weft::once_value<std::vector<int>> v([&] {
      calls.fetch_add(1);
      side_effect = 99;
      // Keep init running until the others arrived, so they really wait (hang-guarded).
      weft::test::wait_until([&] { return arrived.load() >= getters - 1; }, "getters");
      return std::vector<int>{1, 2, 3};
    });
    std::vector<const std::vector<int>*> seen(getters, nullptr);
    weft::test::run_concurrently_n(ex(), getters, [&](std::size_t i) {
      arrived.fetch_add(1);
      const auto& value = v.get();
      seen[i] = &value;
      EXPECT_EQ(value.size(), 3u);
      EXPECT_EQ(side_effect, 99);
    });
    EXPECT_EQ(calls.load(), 1);
    for (auto* p : seen) EXPECT_EQ(p, seen[0]);
  }
}

// init throws while others wait: exactly that caller sees the exception; a waiting caller runs
// init again and every other caller gets its value.
TEST_P(OnceValue, WaitersRetryWhenInitThrows) {
  constexpr std::size_t getters = 5;
  std::atomic<int> calls{0};
  std::atomic<std::size_t> arrived{0};
  std::atomic<int> exceptions{0};
  std::atomic<int> values{0};
  weft::once_value<int> v([&]() -> int {
    if (calls.fetch_add(1) == 0) {
      weft::test::wait_until([&] { return arrived.load() >= getters; }, "getters");
      weft::test::let_others_block();
      throw std::runtime_error("first init fails");
    }
    return 5;
  });
  weft::test::run_concurrently_n(ex(), getters, [&](std::size_t) {
    arrived.fetch_add(1);
    try {
      EXPECT_EQ(v.get(), 5);
      values.fetch_add(1);
    } catch (const std::runtime_error&) {
      exceptions.fetch_add(1);
    }
  });
  EXPECT_EQ(exceptions.load(), 1);
  EXPECT_EQ(values.load(), static_cast<int>(getters) - 1);
  EXPECT_EQ(calls.load(), 2);
}

}  // namespace
