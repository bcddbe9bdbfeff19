// The message-node slabs (actors/include/weft/detail/node_slab.hpp): nodes are carved without
// overlap, a slab is reused only when every node carved from it is free (and then it is reused,
// not made anew), nodes cross threads, and a thread's exit hands its slab and count back.
// Under AddressSanitizer a freed node is poisoned.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <condition_variable>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <weft/detail/node_slab.hpp>

#include "support/scale.hpp"

namespace {

using weft::detail::node_slab_allocate;
using weft::detail::node_slab_bytes;
using weft::detail::node_slab_flush;
using weft::detail::node_slab_free;
using weft::detail::node_slab_stats;

std::uintptr_t slab_base(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{node_slab_bytes - 1};
}

struct block {
  unsigned char* p;
  std::size_t size;
};

// Fills a block with a pattern derived from its address and index; check() finds any overwrite.
void fill(const block& b, std::uint32_t tag) {
  for (std::size_t i = 0; i < b.size; ++i) b.p[i] = static_cast<unsigned char>(tag * 31 + i);
}
bool intact(const block& b, std::uint32_t tag) {
  for (std::size_t i = 0; i < b.size; ++i)
    if (b.p[i] != static_cast<unsigned char>(tag * 31 + i)) return false;
  return true;
}

// Nodes of mixed sizes from one thread: 16-byte aligned, inside one slab each, disjoint, and
// their contents survive the allocation of all the others.
TEST(NodeSlab, NodesAreAlignedDisjointAndInsideTheirSlab) {
  const std::size_t sizes[] = {8, 24, 32, 40, 100, 256, 1000, 1024};
  std::vector<block> blocks;
  for (std::size_t i = 0; i < 3000; ++i) {
    const std::size_t n = sizes[i % std::size(sizes)];
    auto* p = static_cast<unsigned char*>(node_slab_allocate(n));
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u);
    ASSERT_EQ(slab_base(p), slab_base(p + n - 1)) << "a node straddles two slabs";
    ASSERT_GE(reinterpret_cast<std::uintptr_t>(p) - slab_base(p), 64u) << "a node overlaps the slab's header";
    blocks.push_back({p, n});
    fill(blocks.back(), static_cast<std::uint32_t>(i));
  }
  std::set<std::pair<std::uintptr_t, std::uintptr_t>> ranges;
  for (const block& b : blocks) ranges.insert({reinterpret_cast<std::uintptr_t>(b.p), reinterpret_cast<std::uintptr_t>(b.p) + b.size});
  std::uintptr_t end = 0;
  for (const auto& [lo, hi] : ranges) {
    EXPECT_GE(lo, end) << "two nodes overlap";
    end = hi;
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) EXPECT_TRUE(intact(blocks[i], static_cast<std::uint32_t>(i))) << i;
  for (const block& b : blocks) node_slab_free(b.p, b.size);
  node_slab_flush();
}

// Rounds of "carve several slabs' worth, free all": after the first rounds every slab comes
// from the cache, so the number made stays put (an allocator that never gives slabs back, or
// gives them back before their last node is free, fails one of the two checks).
TEST(NodeSlab, EmptySlabsAreReusedNotMadeAnew) {
  constexpr std::size_t node = 32;
  constexpr int per_round = 3 * static_cast<int>(node_slab_bytes / node);  // about 3 slabs
  auto round = [&] {
    std::vector<void*> live;
    live.reserve(per_round);
    for (int i = 0; i < per_round; ++i) live.push_back(node_slab_allocate(node));
    for (void* p : live) node_slab_free(p, node);
    node_slab_flush();
  };
  round();
  round();
  const auto before = node_slab_stats();
  for (int r = 0; r < 20; ++r) round();
  const auto after = node_slab_stats();
  EXPECT_LE(after.slabs_made - before.slabs_made, 1u) << "slabs were made anew instead of reused";
  EXPECT_GE(after.slabs_reused - before.slabs_reused, 20u * 3 - 1) << "rounds did not reuse their slabs";
  EXPECT_EQ(after.slabs_recycled - before.slabs_recycled, after.slabs_reused - before.slabs_reused + (after.slabs_made - before.slabs_made))
      << "every slab taken during the rounds (except the open one) came back";
}

// A node kept alive pins its slab: nothing carved later lands on it, however many slabs come
// and go meanwhile, and its contents stay intact.
TEST(NodeSlab, ALiveNodeKeepsItsSlabFromReuse) {
  constexpr std::size_t node = 48;
  block kept{static_cast<unsigned char*>(node_slab_allocate(node)), node};
  fill(kept, 7);
  const std::uintptr_t pinned = slab_base(kept.p);
  for (int r = 0; r < 10; ++r) {
    std::vector<void*> live;
    for (std::size_t i = 0; i < 2 * node_slab_bytes / node; ++i) {
      void* p = node_slab_allocate(node);
      ASSERT_FALSE(r > 0 && slab_base(p) == pinned) << "a node was carved from a slab that still has a live node";
      std::memset(p, 0xAB, node);
      live.push_back(p);
    }
    for (void* p : live) node_slab_free(p, node);
    node_slab_flush();
  }
  EXPECT_TRUE(intact(kept, 7)) << "a live node was overwritten";
  node_slab_free(kept.p, node);
  node_slab_flush();
}

// One producer thread carves nodes and hands them to a consumer thread, which checks and frees
// them (the actors' pattern: tell on one thread, handle on another). After both threads ended
// (their exit hooks retire the open slab and hand over the held-back count) every slab taken
// during the test is back.
TEST(NodeSlab, NodesCrossThreadsAndEverySlabComesBack) {
  const int total = static_cast<int>(weft::test::scale(200000));
  constexpr std::size_t node = 32;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::uint64_t*, std::uint64_t>> q;
  bool done = false;
  std::atomic<int> bad{0};
  const auto before = node_slab_stats();
  std::thread producer([&] {
    for (int i = 0; i < total; ++i) {
      auto* p = static_cast<std::uint64_t*>(node_slab_allocate(node));
      const std::uint64_t v = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(i + 1);
      p[0] = v;
      p[1] = ~v;
      p[3] = v ^ 0x55;
      std::lock_guard<std::mutex> lk(mu);
      q.emplace_back(p, v);
      if (q.size() == 1) cv.notify_one();
    }
    std::lock_guard<std::mutex> lk(mu);
    done = true;
    cv.notify_one();
  });
  std::thread consumer([&] {
    for (;;) {
      std::deque<std::pair<std::uint64_t*, std::uint64_t>> batch;
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return !q.empty() || done; });
        if (q.empty()) return;
        batch.swap(q);
      }
      for (auto [p, v] : batch) {
        if (p[0] != v || p[1] != ~v || p[3] != (v ^ 0x55)) bad.fetch_add(1, std::memory_order_relaxed);  // relaxed: a count read after join
        node_slab_free(p, node);
      }
    }
  });
  producer.join();
  consumer.join();
  EXPECT_EQ(bad.load(), 0) << "a node's contents changed between its producer and its consumer";
  const auto after = node_slab_stats();
  const std::uint64_t taken = (after.slabs_made - before.slabs_made) + (after.slabs_reused - before.slabs_reused);
  EXPECT_GE(taken, static_cast<std::uint64_t>(total) * node / node_slab_bytes);
  EXPECT_EQ(after.slabs_recycled - before.slabs_recycled, taken) << "a slab did not come back after both threads ended";
}

// A thread that carved nodes and exited before they were freed: the slab comes back when the
// last of them is freed elsewhere.
TEST(NodeSlab, AnExitedProducersSlabComesBackWithItsLastNode) {
  std::vector<void*> nodes;
  const auto before = node_slab_stats();
  std::thread([&] {
    for (int i = 0; i < 100; ++i) nodes.push_back(node_slab_allocate(64));
  }).join();
  const auto mid = node_slab_stats();
  EXPECT_EQ(mid.slabs_recycled, before.slabs_recycled) << "the slab came back while its nodes were live";
  for (void* p : nodes) node_slab_free(p, 64);
  node_slab_flush();
  const auto after = node_slab_stats();
  EXPECT_EQ(after.slabs_recycled - before.slabs_recycled, 1u);
}

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_TEST_ASAN 1
#endif
#endif

#if defined(WEFT_TEST_ASAN)
// AddressSanitizer reports a read of a freed node.
TEST(NodeSlabDeathTest, AReadOfAFreedNodeIsReported) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto* p = static_cast<volatile std::uint64_t*>(node_slab_allocate(32));
        p[0] = 1;
        node_slab_free(const_cast<std::uint64_t*>(p), 32);
        std::uint64_t v = p[0];
        (void)v;
      },
      "use-after-poison");
}
#endif

}  // namespace

namespace {
/// Allocates one more node and frees them all in its destructor: as a thread-local constructed
/// before the thread's first slab use, it is destroyed after the slabs' exit hook.
struct late_user {
  std::vector<void*> nodes;
  ~late_user() {
    nodes.push_back(node_slab_allocate(32));
    for (void* p : nodes) node_slab_free(p, 32);
  }
};
}  // namespace

// A thread-local destroyed after the slabs' exit hook allocates and frees nodes: the frees are
// handed over at once and the slab opened for the allocation is retired at once, so every slab
// the thread took comes back (a count held back, or a slab left open, after the hook would stay
// out for good).
TEST(NodeSlab, UseAfterTheExitHookHoldsNothingBack) {
  const auto before = node_slab_stats();
  std::thread([] {
    static thread_local late_user late;  // constructed first: destroyed after the exit hook
    for (int i = 0; i < 100; ++i) late.nodes.push_back(node_slab_allocate(32));
  }).join();
  const auto after = node_slab_stats();
  const std::uint64_t taken = (after.slabs_made - before.slabs_made) + (after.slabs_reused - before.slabs_reused);
  EXPECT_EQ(taken, 2u) << "one slab before the exit hook, one for the allocation after it";
  EXPECT_EQ(after.slabs_recycled - before.slabs_recycled, taken) << "a slab used after the exit hook never came back";
}
