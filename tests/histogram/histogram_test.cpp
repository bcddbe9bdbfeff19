// weft::histogram: every reported percentile is within relative_error() of the exact
// nearest-rank percentile of the recorded values (checked against a sorted copy on several
// distributions and precisions); merge() equals recording everything in one histogram; the
// edge values 0 and INT64_MAX; the empty histogram; misuse throws weft::error; record() does
// not allocate.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <weft/histogram.hpp>
#include <weft/status.hpp>

#include "../support/scale.hpp"

// Counts allocations made by this test's own thread while `counting` is set (record() must not
// allocate). Replacing the global operator new is allowed by the standard; sanitizer runtimes
// define their own (TSan's statically: a second definition does not link), so sanitized builds
// skip this check.
namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
}  // namespace

#if !defined(WEFT_SANITIZED)

// gcc 12 warns that free() pairs with the replaced operator new when both are inlined into
// std::allocator (-Wmismatched-new-delete): they do pair, both replacements use malloc/free.
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  if (counting) ++allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic pop
#endif
#endif  // !WEFT_SANITIZED

namespace {

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
const std::vector<double> percentiles = {0,  0.1, 1,  5,    10,   25,    50,     75,
                                         90, 95,  99, 99.5, 99.9, 99.99, 99.999, 100};

// The exact nearest-rank percentile: the value of rank max(1, ceil(p/100 * n)) in sorted order.
std::int64_t exact_percentile(const std::vector<std::int64_t>& sorted, double p) {
  const double want = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  const std::size_t rank = want < 1.0 ? 1 : std::min(sorted.size(), static_cast<std::size_t>(want));
  return sorted[rank - 1];
}

// |reported - exact| <= bound * exact, for every percentile in the list.
void expect_within_bound(const weft::histogram& h, std::vector<std::int64_t> values,
                         const std::string& what) {
  std::sort(values.begin(), values.end());
  ASSERT_EQ(h.count(), values.size()) << what;
  EXPECT_EQ(h.min(), values.front()) << what;
  EXPECT_EQ(h.max(), values.back()) << what;
  for (double p : percentiles) {
    const std::int64_t exact = exact_percentile(values, p);
    const std::int64_t got = h.percentile(p);
    const double err = std::fabs(static_cast<double>(got) - static_cast<double>(exact));
    EXPECT_LE(err, h.relative_error() * static_cast<double>(exact))
        << what << ": p" << p << " exact " << exact << " reported " << got;
  }
}

using generator = std::int64_t (*)(std::mt19937_64&);

std::int64_t uniform_us(std::mt19937_64& rng) {
  return std::uniform_int_distribution<std::int64_t>(0, 1'000'000)(rng);
}
std::int64_t lognormal_latency(std::mt19937_64& rng) {  // median ~ 1 us, long tail to ~ms
  return static_cast<std::int64_t>(std::lognormal_distribution<double>(7.0, 1.5)(rng));
}
std::int64_t exponential_ns(std::mt19937_64& rng) {
  return static_cast<std::int64_t>(std::exponential_distribution<double>(1.0 / 300.0)(rng));
}
std::int64_t any_magnitude(std::mt19937_64& rng) {  // log-uniform over the whole int64 range
  const int bits = std::uniform_int_distribution<int>(0, 63)(rng);
  const std::uint64_t r = rng();
  return bits == 0 ? 0 : static_cast<std::int64_t>(r >> (64 - bits));
}
std::int64_t small_ints(std::mt19937_64& rng) {  // many ties, exact region
  return std::uniform_int_distribution<std::int64_t>(0, 40)(rng);
}
std::int64_t bimodal(std::mt19937_64& rng) {  // fast path ~200 ns, 1% slow path ~ 2 ms
  return std::bernoulli_distribution(0.01)(rng)
             ? 2'000'000 + std::uniform_int_distribution<std::int64_t>(0, 500'000)(rng)
             : 150 + std::uniform_int_distribution<std::int64_t>(0, 100)(rng);
}

TEST(Histogram, PercentilesAreWithinTheBoundOfExactSortedPercentiles) {
  const struct {
    const char* name;
    generator gen;
  } dists[] = {{"uniform", uniform_us},         {"lognormal", lognormal_latency},
               {"exponential", exponential_ns}, {"any-magnitude", any_magnitude},
               {"small-ints", small_ints},      {"bimodal", bimodal}};
  const std::size_t n = weft::test::scale(50'000);
  for (double bound : {0.01, 0.001, 0.05, 0.5}) {
    for (const auto& d : dists) {
      std::mt19937_64 rng(12345);
      weft::histogram h(bound);
      ASSERT_LE(h.relative_error(), bound);
      std::vector<std::int64_t> values;
      values.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t v = d.gen(rng);
        values.push_back(v);
        h.record(v);
      }
      expect_within_bound(h, values, std::string(d.name) + " bound " + std::to_string(bound));
    }
  }
}

TEST(Histogram, EveryBucketBoundaryIsWithinTheBound) {
  // Around every power of two, and the values just inside each bucket of the first octaves:
  // {0, v, INT64_MAX} makes p50 land in v's bucket without being clamped to min or max.
  for (double bound : {0.01, 0.05}) {  // (finer bounds: the random-distribution test)
    std::vector<std::int64_t> vs;
    for (int k = 0; k < 63; ++k) {
      const std::int64_t p2 = std::int64_t{1} << k;
      for (std::int64_t d : {-1, 0, 1}) vs.push_back(p2 + d);
      vs.push_back(p2 + p2 / 3);
    }
    for (std::int64_t v = 0; v < 1000; ++v) vs.push_back(v);
    for (std::int64_t v : vs) {
      if (v <= 0 || v >= int64_max) continue;
      weft::histogram h(bound);
      h.record(0);
      h.record(v);
      h.record(int64_max);
      const double err = std::fabs(static_cast<double>(h.p50()) - static_cast<double>(v));
      ASSERT_LE(err, h.relative_error() * static_cast<double>(v)) << "value " << v << " bound " << bound;
    }
  }
}

TEST(Histogram, ValuesBelowTwoToThePrecisionBitsAreExact) {
  weft::histogram h;  // 1%: b = 6, values below 2^7 have their own bucket
  ASSERT_EQ(h.precision_bits(), 6);
  for (std::int64_t v = 1; v < 128; ++v) {
    h.reset();
    h.record(0);
    h.record(v);
    h.record(1000);
    ASSERT_EQ(h.p50(), v);
  }
}

TEST(Histogram, PrecisionIsTheSmallestThatMeetsTheBound) {
  EXPECT_EQ(weft::histogram(0.5).precision_bits(), 0);
  EXPECT_EQ(weft::histogram(0.01).precision_bits(), 6);    // 2^-7 = 0.78%
  EXPECT_EQ(weft::histogram(0.0078125).precision_bits(), 6);
  EXPECT_EQ(weft::histogram(0.0078).precision_bits(), 7);
  EXPECT_EQ(weft::histogram(0.001).precision_bits(), 9);   // 2^-10 ~ 0.098%
  EXPECT_DOUBLE_EQ(weft::histogram(0.001).relative_error(), std::ldexp(1.0, -10));
  EXPECT_EQ(weft::histogram(0.0001).precision_bits(), 13);
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
  constexpr int threads = 4;
  const std::size_t per_thread = weft::test::scale(20'000);
  std::vector<weft::histogram> parts(threads);
  std::vector<std::vector<std::int64_t>> values(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 1);
      for (std::size_t i = 0; i < per_thread; ++i) {
        // each thread has its own range, so the merged extremes come from different parts
        const std::int64_t v = lognormal_latency(rng) * (t + 1) + t;
        values[static_cast<std::size_t>(t)].push_back(v);
        parts[static_cast<std::size_t>(t)].record(v);
      }
    });
  for (auto& t : ts) t.join();  // orders every record() before the merges below

  weft::histogram merged, whole;
  std::vector<std::int64_t> all;
  for (int t = 0; t < threads; ++t) {
    merged.merge(parts[static_cast<std::size_t>(t)]);
    for (std::int64_t v : values[static_cast<std::size_t>(t)]) {
      whole.record(v);
      all.push_back(v);
    }
  }
  EXPECT_EQ(merged.count(), whole.count());
  EXPECT_EQ(merged.min(), whole.min());
  EXPECT_EQ(merged.max(), whole.max());
  EXPECT_DOUBLE_EQ(merged.mean(), whole.mean());
  for (double p = 0; p <= 100.0; p += 0.5) EXPECT_EQ(merged.percentile(p), whole.percentile(p)) << p;
  EXPECT_EQ(merged.p999(), whole.p999());
  EXPECT_EQ(merged.summary(), whole.summary());
  expect_within_bound(merged, all, "merged");

  // Merging an empty histogram changes nothing; merging into an empty one copies.
  const std::string before = merged.summary();
  merged.merge(weft::histogram());
  EXPECT_EQ(merged.summary(), before);
  weft::histogram copy;
  copy.merge(merged);
  EXPECT_EQ(copy.summary(), before);
}

TEST(Histogram, MergeOfDifferentPrecisionsThrowsAndChangesNothing) {
  weft::histogram a(0.01), b(0.001);
  a.record(10);
  b.record(20);
  try {
    a.merge(b);
    FAIL() << "merge of different precisions did not throw";
  } catch (const weft::error& e) {
    EXPECT_EQ(e.code(), weft::status::failed);
    EXPECT_NE(std::string(e.what()).find("histogram::merge"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a.count(), 1u);
  EXPECT_EQ(a.max(), 10);
}

TEST(Histogram, EdgeValuesZeroAndInt64Max) {
  weft::histogram h;
  h.record(0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.p50(), 0);
  EXPECT_EQ(h.percentile(100), 0);
  for (int i = 0; i < 4; ++i) h.record(int64_max);  // the 128-bit sum must not wrap
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), int64_max);
  EXPECT_EQ(h.percentile(0), 0);
  EXPECT_EQ(h.percentile(20), 0);
  EXPECT_EQ(h.percentile(100), int64_max);
  const double top = static_cast<double>(int64_max);
  EXPECT_LE(std::fabs(static_cast<double>(h.p50()) - top), h.relative_error() * top);
  EXPECT_NEAR(h.mean(), top * 4.0 / 5.0, top * 1e-12);
  EXPECT_NE(h.summary().find("n=5"), std::string::npos) << h.summary();

  // Negative values count as 0.
  weft::histogram neg;
  neg.record(-5);
  neg.record(std::chrono::nanoseconds(-1));
  EXPECT_EQ(neg.count(), 2u);
  EXPECT_EQ(neg.max(), 0);
  EXPECT_EQ(neg.mean(), 0.0);
}

TEST(Histogram, EmptyHistogramReportsZerosAndNoSamples) {
  weft::histogram h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0.0);
  for (double p : percentiles) EXPECT_EQ(h.percentile(p), 0) << p;
  EXPECT_EQ(h.summary("idle"), "idle: n=0 min=0ns p50=0ns p99=0ns p99.9=0ns max=0ns mean=0ns");

  // After reset() a used histogram is empty again.
  h.record(123);
  EXPECT_FALSE(h.empty());
  h.reset();
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.p99(), 0);
  h.record(7);
  EXPECT_EQ(h.min(), 7);  // min was reset too
}

TEST(Histogram, DurationsAreRecordedInNanoseconds) {
  weft::histogram h;
  h.record(std::chrono::microseconds(3));
  h.record(std::chrono::milliseconds(2));
  EXPECT_EQ(h.min(), 3'000);
  EXPECT_EQ(h.max(), 2'000'000);
}

TEST(Histogram, MisuseThrowsWeftErrorNamingTheCall) {
  auto expect_error = [](auto f, const char* name) {
    try {
      f();
      ADD_FAILURE() << name << " did not throw";
    } catch (const weft::error& e) {
      EXPECT_EQ(e.code(), weft::status::failed);
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  expect_error([] { weft::histogram h(0.0); }, "histogram(max_relative_error)");
  expect_error([] { weft::histogram h(0.6); }, "histogram(max_relative_error)");
  expect_error([] { weft::histogram h(std::nan("")); }, "histogram(max_relative_error)");
  weft::histogram h;
  h.record(1);
  expect_error([&] { (void)h.percentile(-0.1); }, "histogram::percentile");
  expect_error([&] { (void)h.percentile(100.01); }, "histogram::percentile");
  expect_error([&] { (void)h.percentile(std::nan("")); }, "histogram::percentile");
}

TEST(Histogram, PrintWritesOneLineWithUnits) {
  weft::histogram h;
  for (int i = 0; i < 1000; ++i) h.record(std::int64_t{1000} + i);  // 1.00 us .. 2.00 us
  const std::string s = h.summary("lat");
  EXPECT_EQ(s.rfind("lat: n=1000 min=1.00us ", 0), 0u) << s;
  EXPECT_NE(s.find(" max=2.00us"), std::string::npos) << s;
  EXPECT_NE(s.find(" p50=1.50us"), std::string::npos) << s;
  std::ostringstream os;
  os << h;
  EXPECT_EQ("lat: " + os.str(), s);
  EXPECT_EQ(weft::histogram::format_ns(950), "950ns");
  EXPECT_EQ(weft::histogram::format_ns(1234), "1.23us");
  EXPECT_EQ(weft::histogram::format_ns(45'600'000), "45.6ms");
  EXPECT_EQ(weft::histogram::format_ns(2'000'000'000), "2.00s");
}

TEST(Histogram, RecordDoesNotAllocate) {
  if (weft::test::sanitized) GTEST_SKIP() << "the sanitizer runtime owns operator new";
  weft::histogram h;
  std::mt19937_64 rng(7);
  std::vector<std::int64_t> vs(1000);
  for (auto& v : vs) v = any_magnitude(rng);
  counting = true;
  for (std::int64_t v : vs) h.record(v);
  h.record(std::chrono::microseconds(5));
  counting = false;
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(h.count(), 1001u);
}

}  // namespace
