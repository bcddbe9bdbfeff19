// weft_workloads: runs the common workloads of bench/WORKLOADS.md and prints one CSV line
// `peer,workload,metric_name,value` per figure on stdout (nothing else goes to stdout).
//
//   weft_workloads [--only W1,W3,...] [--reps N] [--scale X] [--peers weft,weft-spin,...]
//
// --only picks workloads (default: all implemented), --reps the repetitions per figure (default
// 5; the median is printed), --scale multiplies every N (default 1.0; 0.01 for a smoke run).
// --peers (an extension, not in WORKLOADS.md) picks variants. Diagnostics go to stderr. Exit
// status: 0 if every result check passed, 1 if one failed, 2 on a usage error, 3 if a repetition
// hung (the watchdog, WEFT_BENCH_TIMEOUT_S seconds per repetition, default 300).
//
// Adding a family: write its cases in a new file returning std::vector<workload_case>, declare
// it in runner.hpp, and add it to `families` below.
#include "runner.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace weft_bench {
namespace {

// The registry: one entry per workload family (file).
using family_fn = std::vector<workload_case> (*)();
constexpr family_fn families[] = {
    floor_workloads,       // L0, L1
    throughput_workloads,  // W1, W2, W6
    pingpong_workloads,    // W3, W4, W5
    timeout_workloads,     // W10
    actor_workloads,       // W7, W8
    spawn_workloads,       // W9
};

/// L0 < L1 < W1 < W2 < ... < W10; within a workload, registry order (weft, weft-spin, ...).
std::pair<int, int> order_key(const std::string& id) {
  return {id.empty() ? 9 : (id[0] == 'L' ? 0 : 1), std::atoi(id.c_str() + 1)};
}

std::set<std::string> split_list(const std::string& s) {
  std::set<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.insert(item);
  }
  return out;
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "weft_workloads: %s\nusage: weft_workloads [--only W1,W3,...] [--reps N] [--scale X] "
               "[--peers weft,weft-spin,weft-fiber,weft-actor,floor]\n",
               msg);
  std::exit(2);
}

std::string format_value(double v) {
  char buf[64];
  if (v >= 1e6 || v <= -1e6) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3f", v);
  }
  return buf;
}

/// Kills the process if one repetition runs longer than the limit: a hang must never be silent.
class watchdog {
 public:
  explicit watchdog(double limit_s) : limit_(std::chrono::duration<double>(limit_s)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~watchdog() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void arm(std::string what) {
    std::lock_guard<std::mutex> lk(mu_);
    what_ = std::move(what);
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(limit_);
    armed_ = true;
    cv_.notify_all();
  }
  void disarm() {
    std::lock_guard<std::mutex> lk(mu_);
    armed_ = false;
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lk(mu_);
    // Sleeps until the deadline or a change (no polling: a periodic wake-up would show up in
    // `strace -c` of a spin-mode run as syscalls that the library did not make).
    while (!stop_) {
      if (!armed_) {
        cv_.wait(lk);
      } else if (std::chrono::steady_clock::now() > deadline_) {
        std::fprintf(stderr, "weft_workloads: %s did not finish within %.0f s: a hang? giving up\n",
                     what_.c_str(), limit_.count());
        std::fflush(stderr);
        std::fflush(stdout);
        std::_Exit(3);
      } else {
        cv_.wait_until(lk, deadline_);
      }
    }
  }
  std::chrono::duration<double> limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string what_;
  std::chrono::steady_clock::time_point deadline_{};
  bool armed_ = false, stop_ = false;
  std::thread thread_;
};

}  // namespace
}  // namespace weft_bench

int main(int argc, char** argv) {
  using namespace weft_bench;
  options opt;
  std::set<std::string> only, peers;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--only") {
      only = split_list(next());
    } else if (a == "--reps") {
      opt.reps = std::atoi(next().c_str());
      if (opt.reps < 1) usage("--reps must be at least 1");
    } else if (a == "--scale") {
      opt.scale = std::atof(next().c_str());
      if (!(opt.scale > 0.0)) usage("--scale must be positive");
    } else if (a == "--peers") {
      peers = split_list(next());
    } else if (a == "--help" || a == "-h") {
      usage("help");
    } else {
      usage(("unknown argument " + a).c_str());
    }
  }

  std::vector<workload_case> cases;
  for (family_fn f : families) {
    for (auto& c : f()) cases.push_back(std::move(c));
  }
  std::stable_sort(cases.begin(), cases.end(), [](const workload_case& x, const workload_case& y) {
    return order_key(x.workload) < order_key(y.workload);
  });
  std::set<std::string> known_ids, known_peers;
  for (const auto& c : cases) {
    known_ids.insert(c.workload);
    known_peers.insert(c.peer);
  }
  for (const auto& id : only) {
    if (known_ids.count(id) == 0) std::fprintf(stderr, "weft_workloads: %s is not implemented; skipped\n", id.c_str());
  }
  for (const auto& p : peers) {
    if (known_peers.count(p) == 0) std::fprintf(stderr, "weft_workloads: no variant named %s\n", p.c_str());
  }

  double limit_s = 300.0;
  if (const char* e = std::getenv("WEFT_BENCH_TIMEOUT_S")) limit_s = std::atof(e);
  if (!(limit_s > 0.0)) limit_s = 300.0;
  watchdog dog(limit_s);

  int failed = 0;
  for (const auto& c : cases) {
    if (!only.empty() && only.count(c.workload) == 0) continue;
    if (!peers.empty() && peers.count(c.peer) == 0) continue;
    std::map<std::string, std::vector<double>> values;
    std::vector<std::string> order;  // metric names in the order the workload reports them
    std::string error;
    const auto started = std::chrono::steady_clock::now();
    for (int rep = 0; rep < opt.reps && error.empty(); ++rep) {
      dog.arm(c.workload + "/" + c.peer + " repetition " + std::to_string(rep + 1));
      rep_result r;
      try {
        r = c.run(opt);
      } catch (const std::exception& e) {
        r.fail(std::string("exception: ") + e.what());
      } catch (...) {
        r.fail("unknown exception");
      }
      dog.disarm();
      if (!r.ok()) {
        error = r.error;
        break;
      }
      for (const auto& m : r.metrics) {
        if (values.count(m.name) == 0) order.push_back(m.name);
        values[m.name].push_back(m.value);
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!error.empty()) {
      ++failed;
      std::fprintf(stderr, "weft_workloads: FAILED %s/%s: %s\n", c.workload.c_str(), c.peer.c_str(), error.c_str());
      continue;
    }
    for (const auto& name : order) {
      std::printf("%s,%s,%s,%s\n", c.peer.c_str(), c.workload.c_str(), name.c_str(),
                  format_value(median(values[name])).c_str());
    }
    std::fflush(stdout);
    std::fprintf(stderr, "weft_workloads: %s/%s ok (%d reps, %.1f s)\n", c.workload.c_str(), c.peer.c_str(),
                 opt.reps, secs);
  }
  if (failed != 0) std::fprintf(stderr, "weft_workloads: %d case(s) failed their result checks\n", failed);
  return failed != 0 ? 1 : 0;
}
