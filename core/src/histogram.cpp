// weft::histogram: the parts off the record() path (construction, merge, percentiles, printing).
#include <weft/histogram.hpp>
#include <weft/status.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

namespace weft {

namespace {
constexpr int max_bits = 13;

// mean() rounded for printing; means at the very top of the int64 range print as INT64_MAX.
std::int64_t mean_ns_rounded(double m) {
  return m >= 9.2e18 ? INT64_MAX : static_cast<std::int64_t>(std::llround(m));
}  // 2^-14 ~ 0.006%: 51 << 13 counters, 3.3 MiB

int bits_for(double max_relative_error) {
  if (!(max_relative_error >= 0.0001 && max_relative_error <= 0.5))  // NaN fails too
    detail::throw_error(status::failed,
                        "histogram(max_relative_error): the bound must be in [0.0001, 0.5]");
  int b = 0;
  // relative error of b bits: 2^-(b+1); the smallest b that meets the bound.
  while (b < max_bits && std::ldexp(1.0, -(b + 1)) > max_relative_error) ++b;
  return b;
}
}  // namespace

histogram::histogram(double max_relative_error)
    : bits_(bits_for(max_relative_error)),
      counts_(static_cast<std::size_t>(64 - bits_) << bits_, 0) {}

void histogram::merge(const histogram& other) {
  if (other.bits_ != bits_)
    detail::throw_error(status::failed,
                        "histogram::merge: the two histograms have different precisions "
                        "(construct both with the same max_relative_error)");
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_lo_ += other.sum_lo_;
  sum_hi_ += other.sum_hi_ + (sum_lo_ < other.sum_lo_ ? 1u : 0u);
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void histogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  sum_lo_ = sum_hi_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

double histogram::mean() const noexcept {
  if (count_ == 0) return 0.0;
  const long double sum = static_cast<long double>(sum_hi_) * 18446744073709551616.0L +
                          static_cast<long double>(sum_lo_);
  return static_cast<double>(sum / static_cast<long double>(count_));
}

double histogram::relative_error() const noexcept { return std::ldexp(1.0, -(bits_ + 1)); }

// Inverse of bucket_of(): index = (shift << b) + m with m in [2^b, 2^(b+1)) when shift > 0, so
// index >> b = shift + 1 there, and index >> b is 0 or 1 when shift = 0 (m = index).
std::uint64_t histogram::bucket_middle(std::size_t index) const noexcept {
  const std::size_t top = index >> bits_;
  const unsigned shift = top > 1 ? static_cast<unsigned>(top - 1) : 0u;
  const std::uint64_t m = index - (static_cast<std::size_t>(shift) << bits_);
  const std::uint64_t low = m << shift;
  const std::uint64_t width = std::uint64_t{1} << shift;
  return low + width / 2;  // within width/2 <= low * 2^-(b+1) of any value in the bucket
}

std::int64_t histogram::percentile(double p) const {
  if (!(p >= 0.0 && p <= 100.0))  // NaN fails too
    detail::throw_error(status::failed, "histogram::percentile(p): p must be in [0, 100]");
  if (count_ == 0) return 0;
  if (p == 0.0) return min();
  if (p == 100.0) return max();
  // Nearest rank: the smallest value with at least ceil(p/100 * n) values at or below it.
  const double want = std::ceil(p / 100.0 * static_cast<double>(count_));
  const std::uint64_t rank = want < 1.0 ? 1 : std::min(count_, static_cast<std::uint64_t>(want));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const std::uint64_t v = std::clamp(bucket_middle(i), min_, max_);
      return static_cast<std::int64_t>(v);
    }
  }
  return max();  // unreachable: the counts add up to count_
}

std::string histogram::format_ns(std::int64_t ns) {
  char buf[32];
  const double v = static_cast<double>(ns);
  const double a = std::fabs(v);
  if (a < 1e3) {
    std::snprintf(buf, sizeof buf, "%lldns", static_cast<long long>(ns));
    return buf;
  }
  const char* unit = a < 1e6 ? "us" : a < 1e9 ? "ms" : "s";
  const double scaled = v / (a < 1e6 ? 1e3 : a < 1e9 ? 1e6 : 1e9);
  const double sa = std::fabs(scaled);
  const int decimals = sa < 10 ? 2 : sa < 100 ? 1 : 0;  // three significant digits
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals, scaled, unit);
  return buf;
}

void histogram::print(std::ostream& os, std::string_view label) const {
  if (!label.empty()) os << label << ": ";
  os << "n=" << count_ << " min=" << format_ns(min()) << " p50=" << format_ns(p50())
     << " p99=" << format_ns(p99()) << " p99.9=" << format_ns(p999()) << " max=" << format_ns(max())
     << " mean=" << format_ns(mean_ns_rounded(mean()));
}

std::string histogram::summary(std::string_view label) const {
  std::ostringstream os;
  print(os, label);
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const histogram& h) {
  h.print(os);
  return os;
}

}  // namespace weft
