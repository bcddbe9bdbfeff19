// The shared skeleton of every C++ peer program in bench/peers/ (no weft code: a peer must not
// depend on the library it is compared with, nor the library on it).
//
//   peer_<name> [--only W1,W3,...] [--reps N] [--scale X]
//
// The same interface and output as weft's runner (bench/WORKLOADS.md): one CSV line
// `peer,workload,metric_name,value` per figure on stdout, the median of --reps repetitions, N of
// WORKLOADS.md multiplied by --scale. A workload the peer has no feature for is simply not in its
// case list, so it prints nothing for it (bench/run.sh shows N/A). Every repetition checks its
// result (count and checksum, per-sender order where the peer promises it); a failed check prints
// `<peer>: FAILED <workload>: <why>` on stderr, no figure, and the program exits 1.
//
// The helpers below mirror bench/workloads/runner.hpp (same checksum, same nearest-rank
// percentile, same start gate, same VmHWM reset) so the two sides measure the same way.
#pragma once

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace peer {

struct options {
  double scale = 1.0;
  int reps = 5;
  std::set<std::string> only;  ///< empty: every workload the peer implements
};

/// `n * scale`, at least `min`, rounded down to a multiple of `multiple` (never below it).
inline std::uint64_t scaled(const options& opt, std::uint64_t n, std::uint64_t min = 1,
                            std::uint64_t multiple = 1) {
  const double x = std::floor(static_cast<double>(n) * opt.scale);
  std::uint64_t v = x < 1.0 ? 0 : static_cast<std::uint64_t>(x);
  if (v < min) v = min;
  if (multiple > 1) v = std::max(multiple, v - v % multiple);
  return v;
}

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

/// Spin briefly, then yield: how a peer without a blocking operation waits (documented per use).
struct backoff {
  unsigned n = 0;
  void wait() {
    if (n < 64) {
      ++n;
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
};

/// Order-independent checksum, identical to weft_bench::checksum.
struct checksum {
  std::uint64_t count = 0, sum = 0, xor_mix = 0;
  void add(std::uint64_t v) {
    ++count;
    sum += v;
    xor_mix ^= v * 0x9E3779B97F4A7C15ull;
  }
  void merge(const checksum& o) {
    count += o.count;
    sum += o.sum;
    xor_mix ^= o.xor_mix;
  }
  bool operator==(const checksum&) const = default;
};

inline checksum expected_checksum(std::uint64_t first, std::uint64_t n) {
  checksum c;
  for (std::uint64_t v = first; v < first + n; ++v) c.add(v);
  return c;
}

// Multi-producer values: producer p in the top bits, a sequence number 1, 2, ... below (as weft).
constexpr unsigned producer_shift = 48;
constexpr std::uint64_t seq_mask = (std::uint64_t{1} << producer_shift) - 1;
constexpr std::uint64_t tag(std::uint64_t producer, std::uint64_t seq) {
  return (producer << producer_shift) | seq;
}
inline checksum expected_tagged(std::uint64_t producers, std::uint64_t per_producer) {
  checksum c;
  for (std::uint64_t p = 0; p < producers; ++p) {
    for (std::uint64_t s = 1; s <= per_producer; ++s) c.add(tag(p, s));
  }
  return c;
}

/// Tracks per-producer FIFO as one consumer sees it.
template <int Producers>
struct order_check {
  std::uint64_t last[Producers] = {};
  std::uint64_t bad = 0;
  void see(std::uint64_t v) {
    const std::uint64_t p = v >> producer_shift, s = v & seq_mask;
    if (p >= static_cast<std::uint64_t>(Producers) || s <= last[p]) {
      ++bad;
    } else {
      last[p] = s;
    }
  }
};

inline std::string mismatch(const std::string& what, std::uint64_t got, std::uint64_t expected) {
  return what + ": got " + std::to_string(got) + ", expected " + std::to_string(expected);
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2.0;
}

/// Nearest-rank percentile p in [0, 100] (v reordered).
inline double percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0.0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  auto it = v.begin() + static_cast<std::ptrdiff_t>(rank - 1);
  std::nth_element(v.begin(), it, v.end());
  return static_cast<double>(*it);
}

// ---------------------------------------------------------------- RSS (W9)
inline std::size_t status_field_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t len = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, len, field) == 0 && line.size() > len && line[len] == ':') {
      return std::strtoull(line.c_str() + len + 1, nullptr, 10);
    }
  }
  return 0;
}
inline std::size_t peak_rss_bytes() { return status_field_kb("VmHWM") * 1024; }
inline std::size_t current_rss_bytes() { return status_field_kb("VmRSS") * 1024; }
/// Returns free heap to the kernel, then resets VmHWM to the current RSS (Linux >= 4.0).
inline bool reset_peak_rss() {
  malloc_trim(0);
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}
inline double per_unit(std::size_t peak, std::size_t base, std::uint64_t n) {
  return peak > base ? static_cast<double>(peak - base) / static_cast<double>(n) : 0.0;
}

// ---------------------------------------------------------------- one repetition
struct rep_result {
  std::vector<std::pair<std::string, double>> metrics;
  std::string error;
  void fail(const std::string& why) {
    if (error.empty()) {
      error = why;
    } else if (error.find(" (and more)") == std::string::npos) {
      error += " (and more)";
    }
  }
  void add(std::string name, double v) { metrics.emplace_back(std::move(name), v); }
  bool ok() const { return error.empty(); }
};

struct workload_case {
  std::string workload;
  std::function<rep_result(const options&)> run;
};

/// Holds every thread until all have started, so thread creation is not timed.
class start_gate {
 public:
  void arrive_and_wait() {
    // acq_rel: the count only tells the opener everyone is here.
    arrived_.fetch_add(1, std::memory_order_acq_rel);
    // acquire: pairs with open()'s release, so every body sees what the opener set up.
    while (!go_.load(std::memory_order_acquire)) std::this_thread::yield();
  }
  std::int64_t open(int n) {
    // acquire: pairs with the arrivals' acq_rel increments.
    while (arrived_.load(std::memory_order_acquire) < n) std::this_thread::yield();
    const std::int64_t t0 = now_ns();
    go_.store(true, std::memory_order_release);  // release: publishes the setup to every body
    return t0;
  }

 private:
  std::atomic<int> arrived_{0};
  std::atomic<bool> go_{false};
};

/// Runs body(0) ... body(n-1) on n OS threads started together; returns the nanoseconds from the
/// gate's opening to the end of the last body. An exception in a body fails `res`.
inline std::int64_t run_threads(int n, const std::function<void(int)>& body, rep_result& res) {
  start_gate gate;
  std::vector<std::int64_t> ends(static_cast<std::size_t>(n), 0);
  std::vector<std::string> errors(static_cast<std::size_t>(n));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      const auto k = static_cast<std::size_t>(i);
      gate.arrive_and_wait();
      try {
        body(i);
      } catch (const std::exception& e) {
        errors[k] = std::string("exception: ") + e.what();
      } catch (...) {
        errors[k] = "unknown exception";
      }
      ends[k] = now_ns();
    });
  }
  const std::int64_t t0 = gate.open(n);
  for (auto& t : threads) t.join();
  for (const auto& e : errors) {
    if (!e.empty()) res.fail(e);
  }
  return *std::max_element(ends.begin(), ends.end()) - t0;
}

// ---------------------------------------------------------------- main
inline std::set<std::string> split_list(const std::string& s) {
  std::set<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.insert(item);
  }
  return out;
}

inline std::string format_value(double v) {
  char buf[64];
  if (v >= 1e6 || v <= -1e6) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3f", v);
  }
  return buf;
}

/// Parses the arguments, runs the selected cases, prints the medians. Returns the exit status:
/// 0 all checks passed, 1 a check failed, 2 usage error.
inline int main(const char* peer_name, int argc, char** argv, const std::vector<workload_case>& cases) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--only" && has_value) {
      opt.only = split_list(argv[++i]);
    } else if (a == "--reps" && has_value) {
      opt.reps = std::atoi(argv[++i]);
    } else if (a == "--scale" && has_value) {
      opt.scale = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "%s: unknown or incomplete argument '%s'\nusage: peer [--only W1,W3,...] [--reps N] [--scale X]\n",
                   peer_name, a.c_str());
      return 2;
    }
  }
  if (opt.reps < 1 || !(opt.scale > 0.0)) {
    std::fprintf(stderr, "%s: --reps must be >= 1 and --scale > 0\n", peer_name);
    return 2;
  }
  int failed = 0;
  for (const auto& c : cases) {
    if (!opt.only.empty() && opt.only.count(c.workload) == 0) continue;
    std::map<std::string, std::vector<double>> values;
    std::vector<std::string> order;
    std::string error;
    const std::int64_t t0 = now_ns();
    for (int rep = 0; rep < opt.reps && error.empty(); ++rep) {
      rep_result r;
      try {
        r = c.run(opt);
      } catch (const std::exception& e) {
        r.fail(std::string("exception: ") + e.what());
      }
      if (!r.ok()) {
        error = r.error;
        break;
      }
      for (const auto& [name, v] : r.metrics) {
        if (values.count(name) == 0) order.push_back(name);
        values[name].push_back(v);
      }
    }
    if (!error.empty()) {
      ++failed;
      std::fprintf(stderr, "%s: FAILED %s: %s\n", peer_name, c.workload.c_str(), error.c_str());
      continue;
    }
    for (const auto& name : order) {
      std::printf("%s,%s,%s,%s\n", peer_name, c.workload.c_str(), name.c_str(), format_value(median(values[name])).c_str());
    }
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s ok (%d reps, %.1f s)\n", peer_name, c.workload.c_str(), opt.reps,
                 static_cast<double>(now_ns() - t0) / 1e9);
  }
  return failed != 0 ? 1 : 0;
}

}  // namespace peer
