// Peer `boost-fiber`: Boost.Fiber 1.74 channels (Debian libboost-fiber-dev).
//   W1, W2      boost::fibers::buffered_channel<uint64_t>(1024), one OS thread per producer and
//               consumer (each blocks in its thread's main fiber; Boost.Fiber wakes a fiber of
//               another thread through that thread's scheduler). buffered_channel needs a
//               power-of-two size and holds size - 1 values: 1023 here.
//   W3          two buffered_channel(2) (one value each: W3's capacity 1), two OS threads
//   W4          two unbuffered_channel (rendezvous), two OS threads
//   W5          as W4 between two fibers on ONE thread (the default round_robin scheduler)
//   W9          two OS threads each launch N/2 fibers (64 KiB fixedsize_stack, weft's default
//               stack size) that block in pop() on one unbuffered_channel; close() releases them
//   W10         buffered_channel::pop_wait_for(50 us) on an empty channel
//   W6 (no select), W7, W8 (no actors): not offered.
// Boost.Fiber's channels are documented at
// https://www.boost.org/doc/libs/1_74_0/libs/fiber/doc/html/fiber/synchronization/channels.html
#include "common/peer.hpp"
#include "common/queue_workloads.hpp"

#include <boost/fiber/all.hpp>

#include <stdexcept>

namespace {

using namespace peer;
namespace bf = boost::fibers;

void check(bf::channel_op_status s, const char* what) {
  if (s != bf::channel_op_status::success) throw std::runtime_error(std::string(what) + " did not succeed");
}

struct buffered {
  bf::buffered_channel<std::uint64_t> ch;
  /// `capacity` values fit: the channel needs a power of two and keeps one slot free.
  explicit buffered(std::size_t capacity) : ch(capacity <= 1 ? 2 : capacity) {}
  struct producer {
    buffered& q;
    explicit producer(buffered& b) : q(b) {}
    void push(std::uint64_t v) { check(q.ch.push(v), "buffered_channel::push"); }
  };
  struct consumer {
    buffered& q;
    explicit consumer(buffered& b) : q(b) {}
    std::uint64_t pop() {
      std::uint64_t v = 0;
      check(q.ch.pop(v), "buffered_channel::pop");
      return v;
    }
  };
  static bool pop_for(consumer& c, std::chrono::microseconds d, std::uint64_t& v) {
    const bf::channel_op_status s = c.q.ch.pop_wait_for(v, d);
    if (s == bf::channel_op_status::timeout) return false;
    check(s, "buffered_channel::pop_wait_for");
    return true;
  }
};

struct unbuffered {
  bf::unbuffered_channel<std::uint64_t> ch;
  explicit unbuffered(std::size_t) {}
  struct producer {
    unbuffered& q;
    explicit producer(unbuffered& u) : q(u) {}
    void push(std::uint64_t v) { check(q.ch.push(v), "unbuffered_channel::push"); }
  };
  struct consumer {
    unbuffered& q;
    explicit consumer(unbuffered& u) : q(u) {}
    std::uint64_t pop() {
      std::uint64_t v = 0;
      check(q.ch.pop(v), "unbuffered_channel::pop");
      return v;
    }
  };
};

/// W5's executor: the bodies as fibers on the calling thread.
std::int64_t fibers_on_this_thread(int n, const std::function<void(int)>& body, rep_result& res) {
  std::vector<std::string> errors(static_cast<std::size_t>(n));
  const std::int64_t t0 = now_ns();
  std::vector<bf::fiber> fs;
  for (int i = 0; i < n; ++i) {
    fs.emplace_back([&, i] {
      try {
        body(i);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(i)] = e.what();
      }
    });
  }
  for (auto& f : fs) f.join();
  const std::int64_t ns = now_ns() - t0;
  for (const auto& e : errors) {
    if (!e.empty()) res.fail(e);
  }
  return ns;
}

rep_result run_w9(const options& opt) {
  rep_result res;
  constexpr int threads = 2;
  constexpr std::size_t stack_size = 64 * 1024;
  const std::uint64_t n = scaled(opt, 1'000'000, threads, threads);
  bf::unbuffered_channel<std::uint64_t> release;
  std::atomic<std::uint64_t> started{0}, released{0};
  std::atomic<int> idle_threads{0};
  if (!reset_peak_rss()) std::fprintf(stderr, "boost-fiber: W9: cannot reset the peak RSS; figure is an upper bound\n");
  const std::size_t base = current_rss_bytes();
  std::vector<std::string> errors(threads);
  const std::int64_t t0 = now_ns();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      try {
        std::vector<bf::fiber> fs;
        fs.reserve(n / threads);
        for (std::uint64_t i = 0; i < n / threads; ++i) {
          fs.emplace_back(std::allocator_arg, bf::fixedsize_stack(stack_size), [&] {
            // relaxed: progress counters, read after the joins (which order them).
            started.fetch_add(1, std::memory_order_relaxed);
            std::uint64_t v = 0;
            if (release.pop(v) == bf::channel_op_status::closed) released.fetch_add(1, std::memory_order_relaxed);
          });
        }
        // round_robin runs every fiber launched above before this one resumes: each runs to its
        // pop() and suspends there, so after the yield this thread's fibers are all idle.
        boost::this_fiber::yield();
        // release: the main thread's acquire load sees this thread's fibers idle.
        idle_threads.fetch_add(1, std::memory_order_release);
        for (auto& f : fs) f.join();
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(t)] = e.what();
        idle_threads.fetch_add(1, std::memory_order_release);  // release: as above (failure path)
      }
    });
  }
  // acquire: pairs with the threads' release increments.
  while (idle_threads.load(std::memory_order_acquire) < threads) std::this_thread::sleep_for(std::chrono::microseconds(100));
  const std::int64_t ns = now_ns() - t0;
  const double rss = per_unit(peak_rss_bytes(), base, n);
  release.close();
  for (auto& t : ts) t.join();
  for (const auto& e : errors) {
    if (!e.empty()) res.fail("W9: " + e);
  }
  if (started.load(std::memory_order_relaxed) != n) res.fail(mismatch("W9 fibers started", started.load(), n));
  if (released.load(std::memory_order_relaxed) != n) res.fail(mismatch("W9 fibers released by close", released.load(), n));
  res.add("ns_per_spawn", static_cast<double>(ns) / static_cast<double>(n));
  res.add("peak_rss_bytes_per_unit", rss);
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  return peer::main("boost-fiber", argc, argv,
                    {
                        {"W1", [](const options& o) { return run_w1<buffered>(o); }},
                        {"W2", [](const options& o) { return run_w2<buffered>(o); }},
                        {"W3", [](const options& o) { return run_pingpong<buffered>("W3", o, 1); }},
                        {"W4", [](const options& o) { return run_pingpong<unbuffered>("W4", o, 0); }},
                        {"W5", [](const options& o) { return run_pingpong<unbuffered>("W5", o, 0, fibers_on_this_thread); }},
                        {"W9", run_w9},
                        {"W10", [](const options& o) { return run_w10<buffered>(o); }},
                    });
}
