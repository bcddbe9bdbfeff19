// weft/histogram.hpp: a latency histogram with bounded relative error (HDR-style), for
// benchmarks, examples and services that report p50/p99/p99.9/max.
//
// Values are non-negative integers (nanoseconds, by convention; any unit works) from 0 up to
// INT64_MAX. Buckets are log-linear: values below 2^b get one bucket each, and every power-of-two
// range [2^k, 2^(k+1)) above is cut into 2^b equal buckets, so a bucket is never wider than
// 2^-b of its lowest value. A percentile reports the middle of the bucket holding the exact
// sample, clamped to the exact [min, max], so it is within `relative_error()` = 2^-(b+1) of the
// exact nearest-rank percentile of everything recorded. `b` is chosen from the constructor's
// `max_relative_error` (default 1%: b = 6, 3,712 buckets, 29 KiB). The idea of log-linear
// buckets (a "significant digits" exponent/mantissa split) comes from Gil Tene's HdrHistogram
// (https://github.com/HdrHistogram/HdrHistogram); the indexing below is written for this file.
//
// Threads: a histogram is a plain value, not synchronised. Give each thread its own, then
// merge() them once the threads are done (after join(), a wait_group wait, or a channel
// receive: anything that orders the recording before the merge).
// Allocation: the constructor allocates the buckets; record() never allocates, never throws,
// and costs a count-leading-zeros, a shift and four updates. min/max/count/mean are exact
// (the mean from a 128-bit sum).
// Misuse (a precision out of range, a percentile outside [0, 100], merging histograms of
// different precisions) throws weft::error naming the call. Negative values are recorded as 0.
//
//   weft::histogram h;                        // <= 1% relative error
//   auto t0 = std::chrono::steady_clock::now();
//   do_work();
//   h.record(std::chrono::steady_clock::now() - t0);
//   std::cout << h << '\n';                   // n=1 min=.. p50=.. p99=.. p99.9=.. max=.. mean=..
//   std::int64_t p99 = h.p99();               // nanoseconds
#pragma once

#include <bit>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

class histogram {
 public:
  /// The default bound on a reported percentile's relative error (1%).
  static constexpr double default_relative_error = 0.01;

  /// An empty histogram whose percentiles are within `max_relative_error` of the exact ones.
  /// Accepted range [0.0001, 0.5]; outside it (or NaN) throws weft::error (status `failed`).
  /// Memory: (64 - b) * 2^b counters of 8 bytes, b = bits chosen (1%: 29 KiB, 0.1%: 220 KiB).
  explicit histogram(double max_relative_error = default_relative_error);

  /// Adds one value. Negative values count as 0. Never allocates, never throws.
  void record(std::int64_t value) noexcept {
    const std::uint64_t u = value < 0 ? 0u : static_cast<std::uint64_t>(value);
    ++counts_[bucket_of(u)];
    ++count_;
    sum_lo_ += u;
    sum_hi_ += sum_lo_ < u ? 1u : 0u;  // carry of the 128-bit sum
    if (u < min_) min_ = u;
    if (u > max_) max_ = u;
  }
  /// Adds one duration, in nanoseconds.
  template <class Rep, class Period>
  void record(std::chrono::duration<Rep, Period> d) noexcept {
    record(static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()));
  }

  /// Adds every value recorded in `other` (as if they had been recorded here). Throws
  /// weft::error (status `failed`) if the two precisions differ; then *this is unchanged.
  void merge(const histogram& other);
  /// Forgets every value; keeps the precision and the memory.
  void reset() noexcept;

  /// How many values were recorded.
  std::uint64_t count() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  /// Exact smallest / largest value; 0 when empty.
  std::int64_t min() const noexcept { return count_ == 0 ? 0 : static_cast<std::int64_t>(min_); }
  std::int64_t max() const noexcept { return count_ == 0 ? 0 : static_cast<std::int64_t>(max_); }
  /// Exact arithmetic mean (rounded to double); 0 when empty.
  double mean() const noexcept;

  /// The nearest-rank percentile p (p in [0, 100]): the value of rank max(1, ceil(p/100 * n))
  /// in sorted order, within relative_error() of it; p = 0 is min(), p = 100 is max(). 0 when
  /// empty. p outside [0, 100] or NaN throws weft::error (status `failed`).
  std::int64_t percentile(double p) const;
  std::int64_t p50() const { return percentile(50.0); }
  std::int64_t p99() const { return percentile(99.0); }
  std::int64_t p999() const { return percentile(99.9); }

  /// The guaranteed bound: |percentile(p) - exact| <= relative_error() * exact.
  double relative_error() const noexcept;
  /// b: values below 2^b are exact; each power-of-two range has 2^b buckets.
  int precision_bits() const noexcept { return bits_; }

  /// One line: "<label>: n=1000 min=1.20us p50=2.31us p99=8.70us p99.9=12.1us max=15.0us
  /// mean=2.56us" (values read as nanoseconds; no "<label>: " when label is empty).
  void print(std::ostream& os, std::string_view label = {}) const;
  /// The same line as a string.
  std::string summary(std::string_view label = {}) const;
  /// Writes summary().
  friend std::ostream& operator<<(std::ostream& os, const histogram& h);

  /// "950ns", "1.23us", "45.6ms", "2.00s": a nanosecond count with three significant digits.
  static std::string format_ns(std::int64_t ns);

 private:
  // Bucket of u: shift = max(0, bit_width(u) - (b + 1)); index = (shift << b) + (u >> shift).
  // For shift = 0 this is u itself (exact values below 2^(b+1)); above, u >> shift keeps the
  // top b + 1 bits (in [2^b, 2^(b+1))), so consecutive shifts tile the index range.
  std::size_t bucket_of(std::uint64_t u) const noexcept {
    const int width = static_cast<int>(std::bit_width(u));
    const int shift = width > bits_ + 1 ? width - (bits_ + 1) : 0;
    return (static_cast<std::size_t>(shift) << bits_) + static_cast<std::size_t>(u >> shift);
  }
  std::uint64_t bucket_middle(std::size_t index) const noexcept;

  int bits_;                            // b, in [0, 13]
  std::vector<std::uint64_t> counts_;   // (64 - b) << b buckets
  std::uint64_t count_ = 0;
  std::uint64_t sum_lo_ = 0, sum_hi_ = 0;  // 128-bit sum of the values
  std::uint64_t min_ = UINT64_MAX;      // UINT64_MAX / 0 while empty
  std::uint64_t max_ = 0;
};

}  // namespace weft
