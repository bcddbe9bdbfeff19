// Shared helpers of the workload runner: scaling, statistics, RSS, checksums, and the OS-thread
// executor with its start gate.
#include "runner.hpp"

#include <weft/wait_strategy.hpp>

#include <malloc.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>
#include <thread>

namespace weft_bench {

std::uint64_t scaled(const options& opt, std::uint64_t n, std::uint64_t min, std::uint64_t multiple) {
  double x = std::floor(static_cast<double>(n) * opt.scale);
  std::uint64_t v = x < 1.0 ? 0 : static_cast<std::uint64_t>(x);
  if (v < min) v = min;
  if (multiple > 1) v = std::max(multiple, v - v % multiple);
  return v;
}

void rep_result::fail(const std::string& why) {
  if (error.empty()) {
    error = why;
  } else if (error.find(" (and more)") == std::string::npos) {
    error += " (and more)";
  }
}

double median(std::vector<double>& v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2.0;
}

double percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0.0;
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  if (rank == 0) rank = 1;
  if (rank > v.size()) rank = v.size();
  auto it = v.begin() + static_cast<std::ptrdiff_t>(rank - 1);
  std::nth_element(v.begin(), it, v.end());
  return static_cast<double>(*it);
}

namespace {
std::size_t status_field_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t len = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, len, field) == 0 && line.size() > len && line[len] == ':') {
      return std::strtoull(line.c_str() + len + 1, nullptr, 10);  // "VmHWM:   1234 kB"
    }
  }
  return 0;
}
}  // namespace

std::size_t peak_rss_bytes() { return status_field_kb("VmHWM") * 1024; }
std::size_t current_rss_bytes() { return status_field_kb("VmRSS") * 1024; }

bool reset_peak_rss() {
  // Give free heap memory back to the kernel first (every arena), so the RSS a workload measures
  // from is not inflated by what an earlier workload freed, and new units fault in fresh pages
  // instead of silently reusing retained ones.
  malloc_trim(0);
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

checksum expected_checksum(std::uint64_t first, std::uint64_t n) {
  checksum c;
  for (std::uint64_t v = first; v < first + n; ++v) c.add(v);
  return c;
}

std::string mismatch(const char* what, std::uint64_t got, std::uint64_t expected) {
  return std::string(what) + ": got " + std::to_string(got) + ", expected " +
         std::to_string(expected);
}

void apply_wait_strategy(exec_kind kind) {
  switch (kind) {
    case exec_kind::threads_adaptive:
      weft::this_thread::set_wait_strategy(weft::wait_strategy::adaptive);
      break;
    case exec_kind::threads_spin:
      weft::this_thread::set_wait_strategy(weft::wait_strategy::spin);
      break;
    case exec_kind::fibers:
      break;
  }
}

namespace {
/// Holds every thread until all have started, so thread creation is not timed.
class start_gate {
 public:
  void arrive_and_wait() {
    // acq_rel: the count only tells the opener everyone is here; no data rides on it.
    arrived_.fetch_add(1, std::memory_order_acq_rel);
    // acquire: pairs with open()'s release, so every body sees what the opener set up.
    // Yield, not spin: 8 threads on 2 cores would otherwise eat the opener's time slices.
    while (!go_.load(std::memory_order_acquire)) std::this_thread::yield();
  }
  /// Waits for n arrivals, then opens; returns the start time.
  std::int64_t open(int n) {
    while (arrived_.load(std::memory_order_acquire) < n) std::this_thread::yield();
    const std::int64_t t0 = now_ns();
    go_.store(true, std::memory_order_release);
    return t0;
  }

 private:
  std::atomic<int> arrived_{0};
  std::atomic<bool> go_{false};
};
}  // namespace

std::int64_t run_concurrently(const exec& ex, int n, const std::function<void(int)>& body,
                              rep_result& res) {
  if (ex.kind == exec_kind::fibers) return run_as_tasks(ex.workers, n, body, res);

  start_gate gate;
  std::vector<std::int64_t> ends(static_cast<std::size_t>(n), 0);
  std::vector<std::string> errors(static_cast<std::size_t>(n));
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      const auto k = static_cast<std::size_t>(i);
      apply_wait_strategy(ex.kind);
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

}  // namespace weft_bench
