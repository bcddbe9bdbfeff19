// The per-architecture constants of core/include/weft/detail/platform.hpp, checked on the
// architecture the test was compiled for. The ARM64 values are proven by running this test
// cross-compiled under qemu-aarch64 (CMakePresets.json: arm64, arm64-no-outline-atomics;
// scripts/test.sh stage arm64); the x86-64 values by every other stage.
//
// cpu_relax() is checked by its machine code: a noinline wrapper's bytes must contain the one
// relax instruction of the architecture (x86-64 `pause` = F3 90; ARM64 `isb` = 0xD5033FDF), so a
// build that silently fell back to the empty asm of the generic branch fails here.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <weft/detail/platform.hpp>
#include <weft/weft.hpp>

namespace {

[[gnu::noinline]] void relax_probe() { weft::detail::cpu_relax(); }

// True if the first `window` bytes of relax_probe's code contain `pattern`.
bool probe_contains(const unsigned char* pattern, std::size_t n) {
  const auto* code = reinterpret_cast<const unsigned char*>(&relax_probe);
  constexpr std::size_t window = 64;  // the wrapper is a handful of instructions
  for (std::size_t i = 0; i + n <= window; ++i) {
    if (std::memcmp(code + i, pattern, n) == 0) return true;
  }
  return false;
}

// The ring's slot placement (flavor_bounded.hpp) follows the CPU: spread on Intel and on CPUs
// not measured, packed on AMD; WEFT_RING_SPREAD=0/1 overrides either way.
TEST(Platform, RingSpreadFollowsTheVendorUnlessTheEnvironmentSays) {
  using weft::detail::spread_ring_slots_for;
  EXPECT_TRUE(spread_ring_slots_for(nullptr, "GenuineIntel"));
  EXPECT_FALSE(spread_ring_slots_for(nullptr, "AuthenticAMD"));
  EXPECT_FALSE(spread_ring_slots_for(nullptr, "HygonGenuine"));
  EXPECT_TRUE(spread_ring_slots_for(nullptr, "")) << "ARM64 and other CPUs without cpuid keep the spread";
  EXPECT_TRUE(spread_ring_slots_for("", "GenuineIntel")) << "an empty variable counts as unset";
  EXPECT_FALSE(spread_ring_slots_for("", "AuthenticAMD")) << "an empty variable counts as unset";
  EXPECT_FALSE(spread_ring_slots_for("0", "GenuineIntel"));
  EXPECT_TRUE(spread_ring_slots_for("1", "AuthenticAMD"));
  // The process's choice is read once: the same on every call.
  const bool chosen = weft::detail::spread_ring_slots();
  EXPECT_EQ(chosen, weft::detail::spread_ring_slots()) << "read once, the same every time";
}

TEST(Platform, CacheLineSizeIsTheArchitecturesValue) {
#if defined(WEFT_CACHE_LINE_SIZE)
  GTEST_SKIP() << "WEFT_CACHE_LINE_SIZE overrides the per-architecture value";
#elif defined(__aarch64__)
  EXPECT_EQ(weft::detail::cache_line_size, 128u) << "ARM64 pads to 128 bytes (platform.hpp)";
#elif defined(__x86_64__)
  EXPECT_EQ(weft::detail::cache_line_size, 128u) << "x86-64 pads to 128 bytes (adjacent-line prefetch)";
#else
  EXPECT_EQ(weft::detail::cache_line_size, 64u);
#endif
}

TEST(Platform, CpuRelaxEmitsTheArchitecturesRelaxInstruction) {
#if defined(__aarch64__)
  // isb sy = 0xD5033FDF, little-endian in memory.
  const unsigned char isb[] = {0xDF, 0x3F, 0x03, 0xD5};
  EXPECT_TRUE(probe_contains(isb, sizeof isb)) << "cpu_relax() on ARM64 must be `isb`";
#elif defined(__x86_64__)
  const unsigned char pause[] = {0xF3, 0x90};
  EXPECT_TRUE(probe_contains(pause, sizeof pause)) << "cpu_relax() on x86-64 must be `pause`";
#else
  GTEST_SKIP() << "no relax instruction on this architecture";
#endif
  relax_probe();  // and it runs (an illegal encoding would kill the test with SIGILL)
}

// The padding is applied where the code claims it: shared atomics of a channel's state sit at
// cache_line_size alignment, which on ARM64 is 128 (an alignas the ABI accepts: operator new
// honours it through the aligned overloads).
TEST(Platform, PaddedAtomicsAreAlignedToTheCacheLine) {
  struct padded {
    alignas(weft::detail::cache_line_size) std::atomic<std::uint64_t> a{0};
    alignas(weft::detail::cache_line_size) std::atomic<std::uint64_t> b{0};
  };
  static_assert(offsetof(padded, b) - offsetof(padded, a) >= weft::detail::cache_line_size);
  std::vector<padded*> heap;
  for (int i = 0; i < 16; ++i) heap.push_back(new padded);
  for (padded* p : heap) {
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % weft::detail::cache_line_size, 0u);
    delete p;
  }
}

// The atomics the channels use run correctly in this build's code generation (outline atomics
// or inline LL/SC on ARM64): a contended fetch_add and CAS loop from two threads lose nothing.
TEST(Platform, ContendedAtomicsLoseNothing) {
  constexpr int per_thread = 20000;
  std::atomic<std::uint64_t> adds{0};
  std::atomic<std::uint64_t> cas{0};
  auto work = [&] {
    for (int i = 0; i < per_thread; ++i) {
      // relaxed: a counter; the join below orders the final read.
      adds.fetch_add(1, std::memory_order_relaxed);
      // relaxed: as above, the CAS loop only has to be atomic.
      std::uint64_t v = cas.load(std::memory_order_relaxed);
      while (!cas.compare_exchange_weak(v, v + 1, std::memory_order_relaxed, std::memory_order_relaxed)) {
      }
    }
  };
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  EXPECT_EQ(adds.load(std::memory_order_relaxed), 2u * per_thread);
  EXPECT_EQ(cas.load(std::memory_order_relaxed), 2u * per_thread);
}

// A small MPMC transfer through each channel flavor (unbuffered, 1, 8, unbounded) delivers every
// value exactly once: the parker's futex and the rings' atomics work in this code generation.
TEST(Platform, ChannelsDeliverEverythingAcrossThreads) {
  for (std::size_t cap : {std::size_t{0}, std::size_t{1}, std::size_t{8}, SIZE_MAX}) {
    auto [tx, rx] = cap == SIZE_MAX ? weft::make_unbounded_chan<int>() : weft::make_chan<int>(cap);
    constexpr int n = 2000;
    std::thread p1([tx = tx] () mutable { for (int i = 0; i < n; i += 2) ASSERT_EQ(tx.send(int{i}), weft::status::ok); });
    std::thread p2([tx = tx] () mutable { for (int i = 1; i < n; i += 2) ASSERT_EQ(tx.send(int{i}), weft::status::ok); });
    { auto drop = std::move(tx); }  // the producers' copies keep it open until they finish
    std::vector<int> seen(n, 0);
    for (int v : rx) ++seen[static_cast<std::size_t>(v)];
    p1.join();
    p2.join();
    for (int i = 0; i < n; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(i)], 1) << "value " << i << " cap " << cap;
  }
}

}  // namespace
