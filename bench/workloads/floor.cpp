// The hardware floor, no weft code involved (peer `floor`):
//   L0 cacheline_rt  two threads bounce one atomic word: the cost of moving one cache line from
//                    core to core and back. No channel round trip can beat it.
//   L1 spsc_ring     a minimal Lamport SPSC ring (cap 1024) with cached indices: what a
//                    single-producer single-consumer queue costs when it does nothing else. W1
//                    (a full MPMC channel with close and blocking) is measured against it.
// Both spin with the CPU relax instruction and never park, so they need two idle cores.
#include "runner.hpp"

#include <weft/detail/platform.hpp>

#include <atomic>
#include <cstdint>
#include <memory>

namespace weft_bench {
namespace {

constexpr std::size_t line = weft::detail::cache_line_size;

// ---------------------------------------------------------------- L0
rep_result run_l0(const options& opt) {
  rep_result res;
  const std::uint64_t n = scaled(opt, 1'000'000);
  struct alignas(line) shared_word {
    std::atomic<std::uint64_t> v{0};
  };
  auto word = std::make_unique<shared_word>();
  std::int64_t ping_ns = 0;
  run_concurrently({exec_kind::threads_spin}, 2, [&](int who) {
    std::atomic<std::uint64_t>& w = word->v;
    if (who == 0) {  // pinger: writes odd values, waits for the next even one
      const std::int64_t t0 = now_ns();
      for (std::uint64_t i = 0; i < n; ++i) {
        // release/acquire: only the word itself travels; the pair keeps the bounce honest.
        w.store(2 * i + 1, std::memory_order_release);
        while (w.load(std::memory_order_acquire) != 2 * i + 2) weft::detail::cpu_relax();
      }
      ping_ns = now_ns() - t0;
    } else {  // ponger: waits for each odd value, answers with the next even one
      for (std::uint64_t i = 0; i < n; ++i) {
        while (w.load(std::memory_order_acquire) != 2 * i + 1) weft::detail::cpu_relax();
        w.store(2 * i + 2, std::memory_order_release);
      }
    }
  }, res);
  if (word->v.load(std::memory_order_relaxed) != 2 * n) {
    res.fail(mismatch("L0 final word", word->v.load(std::memory_order_relaxed), 2 * n));
  }
  res.add("ns_per_round_trip", static_cast<double>(ping_ns) / static_cast<double>(n));
  return res;
}

// ---------------------------------------------------------------- L1
/// Lamport's SPSC ring with cached indices (each side re-reads the other's index only when its
/// cached copy says full/empty). Capacity is a power of two; indices grow without wrapping.
// Invariants:
//   I1  0 <= tail_ - head_ <= capacity.
//   I2  slots [head_, tail_) hold values; only the consumer reads them, only it advances head_.
// Orderings:
//   P1  tail_.store(release) in try_push -> tail_.load(acquire) in try_pop: the slot's value is
//       visible before the consumer sees the index that covers it.
//   P2  head_.store(release) in try_pop -> head_.load(acquire) in try_push: the consumer's read
//       of a slot happens before the producer overwrites it.
template <std::size_t Capacity>
class spsc_ring {
  static_assert((Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");

 public:
  bool try_push(std::uint64_t v) {
    // relaxed: tail_ is written only by this (producer) thread.
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - cached_head_ == Capacity) {
      cached_head_ = head_.load(std::memory_order_acquire);  // P2
      if (t - cached_head_ == Capacity) return false;
    }
    slots_[t & (Capacity - 1)] = v;
    tail_.store(t + 1, std::memory_order_release);  // P1
    return true;
  }
  bool try_pop(std::uint64_t& out) {
    // relaxed: head_ is written only by this (consumer) thread.
    const std::uint64_t h = head_.load(std::memory_order_relaxed);
    if (h == cached_tail_) {
      cached_tail_ = tail_.load(std::memory_order_acquire);  // P1
      if (h == cached_tail_) return false;
    }
    out = slots_[h & (Capacity - 1)];
    head_.store(h + 1, std::memory_order_release);  // P2
    return true;
  }

 private:
  alignas(line) std::atomic<std::uint64_t> head_{0};  // consumer writes, producer reads
  std::uint64_t cached_tail_ = 0;                     // consumer only
  alignas(line) std::atomic<std::uint64_t> tail_{0};  // producer writes, consumer reads
  std::uint64_t cached_head_ = 0;                     // producer only
  alignas(line) std::uint64_t slots_[Capacity] = {};
};

rep_result run_l1(const options& opt) {
  rep_result res;
  const std::uint64_t n = scaled(opt, 10'000'000);
  auto ring = std::make_unique<spsc_ring<1024>>();
  checksum got;
  std::uint64_t out_of_order = 0;
  const std::int64_t ns = run_concurrently({exec_kind::threads_spin}, 2, [&](int who) {
    if (who == 0) {
      for (std::uint64_t i = 1; i <= n; ++i) {
        while (!ring->try_push(i)) weft::detail::cpu_relax();
      }
    } else {
      checksum c;
      std::uint64_t expect = 1, bad = 0;
      for (std::uint64_t i = 0; i < n; ++i) {
        std::uint64_t v;
        while (!ring->try_pop(v)) weft::detail::cpu_relax();
        bad += v != expect;
        expect = v + 1;
        c.add(v);
      }
      got = c;
      out_of_order = bad;
    }
  }, res);
  if (!(got == expected_checksum(1, n))) res.fail(mismatch("L1 received count", got.count, n) + " or checksum differs");
  if (out_of_order != 0) res.fail(mismatch("L1 out-of-order values", out_of_order, 0));
  res.add("ns_per_msg", static_cast<double>(ns) / static_cast<double>(n));
  return res;
}

}  // namespace

std::vector<workload_case> floor_workloads() {
  return {
      {"L0", peer_floor, run_l0},
      {"L1", peer_floor, run_l1},
  };
}

}  // namespace weft_bench
