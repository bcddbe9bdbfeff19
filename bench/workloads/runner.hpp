// The workload runner's shared parts: options, one repetition's result, the registry entry,
// the executors that run a workload's bodies on OS threads (adaptive or spin) or as tasks on a
// weft runtime, and the small statistics and timing helpers every workload uses.
//
// A workload family lives in its own file (floor.cpp, throughput.cpp, pingpong.cpp,
// timeout.cpp, actors.cpp, spawn.cpp) and exposes one function returning its cases; main.cpp
// lists those functions in its registry table. One case = one (workload, peer/variant) pair
// whose `run` performs ONE full repetition (all N operations) and returns its metrics; the
// runner repeats it `--reps` times and prints the median of each metric.
//
// Every repetition checks what was received (count and checksum, and order where the contract
// promises it) and reports a failed check through rep_result::fail; the runner then prints no
// figure for that case and exits non-zero.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace weft_bench {

using clock = std::chrono::steady_clock;

struct options {
  double scale = 1.0;  ///< multiplies every N (0.01 for a smoke run)
  int reps = 5;        ///< repetitions per figure; the median is printed
};

/// `n * scale`, at least `min`, rounded down to a multiple of `multiple` (never below it).
std::uint64_t scaled(const options& opt, std::uint64_t n, std::uint64_t min = 1,
                     std::uint64_t multiple = 1);

struct metric {
  std::string name;  ///< exactly as in WORKLOADS.md: ns_per_msg, p99_ns, ...
  double value;
};

/// The outcome of one repetition: its metrics, or why a result check failed.
struct rep_result {
  std::vector<metric> metrics;
  std::string error;  ///< empty: every check passed
  /// Records a failed check (the first one is kept; later ones are counted in the message).
  void fail(const std::string& why);
  void add(std::string name, double value) { metrics.push_back({std::move(name), value}); }
  bool ok() const { return error.empty(); }
};

/// Peer names. weft's own variants, and `floor` for the hardware floor (L0, L1), which is not
/// weft code at all (see bench/README.md for why it is not printed as `weft`).
inline constexpr const char* peer_weft = "weft";
inline constexpr const char* peer_spin = "weft-spin";
inline constexpr const char* peer_fiber = "weft-fiber";
inline constexpr const char* peer_actor = "weft-actor";
inline constexpr const char* peer_floor = "floor";

struct workload_case {
  std::string workload;  ///< L0, L1, W1 ... W10
  std::string peer;      ///< one of the peer_* names above
  std::function<rep_result(const options&)> run;  ///< one full repetition
};

// ---------------------------------------------------------------- executors
/// Where a workload's bodies run.
enum class exec_kind {
  threads_adaptive,  ///< one OS thread per body, default wait strategy  (peer `weft`)
  threads_spin,      ///< one OS thread per body, wait_strategy::spin     (peer `weft-spin`)
  fibers,            ///< one task per body on a fresh weft::runtime     (peer `weft-fiber`)
};

struct exec {
  exec_kind kind = exec_kind::threads_adaptive;
  std::size_t workers = 2;  ///< runtime workers, for `fibers`
};

inline const char* peer_of(const exec& ex) {
  switch (ex.kind) {
    case exec_kind::threads_adaptive: return peer_weft;
    case exec_kind::threads_spin: return peer_spin;
    case exec_kind::fibers: return peer_fiber;
  }
  return "?";
}

/// Runs body(0) ... body(n-1) concurrently and waits for all of them. Returns the nanoseconds
/// from the common start to the end of the last body.
///   threads: every thread sets its wait strategy, then waits at a start gate; the clock starts
///            when the gate opens (thread creation is not timed).
///   fibers:  a runtime with `ex.workers` workers is made first (not timed); the clock starts just
///            before the first spawn (a spawn costs well under a microsecond, against runs of
///            hundreds of milliseconds).
/// An exception escaping a body, or a task whose future does not complete ok, fails `res`.
std::int64_t run_concurrently(const exec& ex, int n, const std::function<void(int)>& body,
                              rep_result& res);

/// Like run_concurrently for one body on one thread of the executor's kind (fibers: one task on
/// a 1-worker runtime).
inline std::int64_t run_one(const exec& ex, const std::function<void()>& body, rep_result& res) {
  exec one = ex;
  one.workers = 1;
  return run_concurrently(one, 1, [&](int) { body(); }, res);
}

/// Applies the executor's wait strategy to the calling OS thread (no-op for fibers).
void apply_wait_strategy(exec_kind kind);

/// The task-executor half of run_concurrently, in fibers.cpp (the only file that needs
/// weft::runtime and spawn).
std::int64_t run_as_tasks(std::size_t workers, int n, const std::function<void(int)>& body,
                          rep_result& res);

// ---------------------------------------------------------------- timing and statistics
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
      .count();
}

/// Median of `v` (mean of the two middle values for an even count). `v` is reordered.
double median(std::vector<double>& v);

/// Nearest-rank percentile `p` in [0, 100] of `v` (reordered).
double percentile(std::vector<std::int64_t>& v, double p);

/// Peak resident set size of this process in bytes (VmHWM of /proc/self/status); 0 if unknown.
std::size_t peak_rss_bytes();
/// Returns free heap memory to the kernel (malloc_trim), then resets the peak RSS to the current
/// RSS (writes "5" to /proc/self/clear_refs, Linux >= 4.0); false if the kernel refused. For W9: reset, spawn the idle units, read peak_rss_bytes().
bool reset_peak_rss();
/// Current resident set size in bytes (VmRSS); 0 if unknown.
std::size_t current_rss_bytes();

/// A checksum that catches lost, duplicated and corrupted values (order-independent).
struct checksum {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  std::uint64_t xor_mix = 0;
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

/// The checksum of the values in [first, first + n).
checksum expected_checksum(std::uint64_t first, std::uint64_t n);

/// Formats "what: got X, expected Y".
std::string mismatch(const char* what, std::uint64_t got, std::uint64_t expected);

}  // namespace weft_bench

// ---------------------------------------------------------------- the families (registry)
namespace weft_bench {
std::vector<workload_case> floor_workloads();       // floor.cpp:      L0, L1
std::vector<workload_case> throughput_workloads();  // throughput.cpp: W1, W2, W6
std::vector<workload_case> pingpong_workloads();    // pingpong.cpp:   W3, W4, W5
std::vector<workload_case> timeout_workloads();     // timeout.cpp:    W10
std::vector<workload_case> actor_workloads();       // actors.cpp:     W7, W8
std::vector<workload_case> spawn_workloads();       // spawn.cpp:      W9
}  // namespace weft_bench
