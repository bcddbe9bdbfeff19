// The message-node slabs of <weft/detail/node_slab.hpp>: per-thread carving and counting, and
// the shared cache of empty slabs.
#include <weft/detail/node_slab.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <new>

#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_DETAIL_SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_DETAIL_SLAB_ASAN 1
#endif
#endif
#if defined(WEFT_DETAIL_SLAB_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace weft::detail {

namespace {

void poison(void* p, std::size_t n) noexcept {
#if defined(WEFT_DETAIL_SLAB_ASAN)
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}
void unpoison(void* p, std::size_t n) noexcept {
#if defined(WEFT_DETAIL_SLAB_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}

/// The first line of a slab; nodes follow it.
struct alignas(64) slab_header {
  std::atomic<std::int64_t> refs{0};  // S1
  slab_header* next_free = nullptr;   // the cache's link (under cache::mu)
};
constexpr std::size_t payload_offset = sizeof(slab_header);
constexpr std::size_t payload_bytes = node_slab_bytes - payload_offset;
static_assert(payload_bytes >= 63 * node_slab_max_node);

/// Added to refs while the producer still carves (S1): no count of freed nodes can reach 0 then.
constexpr std::int64_t open_bias = std::int64_t{1} << 40;

slab_header* slab_of(void* p) noexcept {
  return reinterpret_cast<slab_header*>(reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{node_slab_bytes - 1});
}

/// Empty slabs: `warm` ones as they came back, and `cold` ones whose pages were handed back to
/// the kernel with MADV_FREE (it reclaims them only under memory pressure; a slab reused before
/// that costs no page fault, one reused after costs its first-touch faults).
struct cache {
  std::mutex mu;
  slab_header* warm = nullptr;  // P2: under mu (both lists)
  std::size_t warm_count = 0;
  slab_header* cold = nullptr;
  std::size_t cold_count = 0;
  // relaxed (all four): statistics, read as snapshots.
  std::atomic<std::uint64_t> made{0}, released{0}, recycled{0}, reused{0};
};

cache& the_cache() {
  static cache* c = new cache();  // never destroyed: threads may exit after static destruction
  return *c;
}

/// S2: the calling thread's open slab (producer) and held-back count (consumer). constinit and
/// trivially destructible: no guard on the fast paths; the exit hook is registered on first use.
struct thread_state {
  slab_header* open;     // the slab being carved, or nullptr
  char* bump;            // the next free byte of `open`
  char* end;             // the end of `open`
  std::int64_t handed;   // nodes carved from `open`
  slab_header* counted;  // the slab whose freed nodes are being counted, or nullptr
  std::int64_t count;    // freed nodes of `counted` not yet subtracted from its refs
  bool hooked;
  bool exited;           // the exit hook has run: nothing is held back or left open any more
};
constinit thread_local thread_state tls [[gnu::tls_model("initial-exec")]]{};

/// Hands a slab's payload pages back to the kernel, keeping the address range (its header line
/// stays: it holds the cold list's link).
void release_pages(slab_header* s) noexcept {
  char* first_page = reinterpret_cast<char*>(s) + 4096;
  const std::size_t len = node_slab_bytes - 4096;
#if defined(MADV_FREE)
  if (::madvise(first_page, len, MADV_FREE) == 0) return;
#endif
  (void)::madvise(first_page, len, MADV_DONTNEED);  // older kernels; a failure only keeps the pages
}

/// An empty slab (refs reached 0, S1) goes to the warm list, or (that one full) to the cold one.
void recycle(slab_header* s) noexcept {
  cache& c = the_cache();
  c.recycled.fetch_add(1, std::memory_order_relaxed);  // relaxed: statistic
  poison(reinterpret_cast<char*>(s) + payload_offset, payload_bytes);
  {
    std::lock_guard<std::mutex> lk(c.mu);
    if (c.warm_count < node_slab_cache_max) {
      s->next_free = c.warm;
      c.warm = s;
      ++c.warm_count;
      return;
    }
  }
  release_pages(s);  // outside the lock: a system call
  c.released.fetch_add(1, std::memory_order_relaxed);  // relaxed: statistic
  std::lock_guard<std::mutex> lk(c.mu);
  s->next_free = c.cold;
  c.cold = s;
  ++c.cold_count;
}

/// Subtracts n from s's refs; recycles s if that emptied it (S1, P1).
void put_back(slab_header* s, std::int64_t n) noexcept {
  // acq_rel: P1 (publish our use of the nodes; take everyone's if we reach 0).
  if (s->refs.fetch_sub(n, std::memory_order_acq_rel) == n) recycle(s);
}

/// An empty slab from the cache, or a new one. Throws std::bad_alloc.
slab_header* take_slab() {
  cache& c = the_cache();
  {
    std::lock_guard<std::mutex> lk(c.mu);
    slab_header* s = c.warm != nullptr ? c.warm : c.cold;
    if (s != nullptr) {
      if (s == c.warm) {
        c.warm = s->next_free;
        --c.warm_count;
      } else {
        c.cold = s->next_free;
        --c.cold_count;
      }
      c.reused.fetch_add(1, std::memory_order_relaxed);  // relaxed: statistic
      return s;
    }
  }
  void* m = ::operator new(node_slab_bytes, std::align_val_t{node_slab_bytes});
  c.made.fetch_add(1, std::memory_order_relaxed);  // relaxed: statistic
  auto* s = new (m) slab_header();
  poison(reinterpret_cast<char*>(s) + payload_offset, payload_bytes);
  return s;
}

/// The producer closes its open slab: refs drops the bias and keeps the nodes still out (S1).
void retire(thread_state& t) noexcept {
  if (t.open == nullptr) return;
  slab_header* s = t.open;
  t.open = nullptr;
  t.bump = t.end = nullptr;
  put_back(s, open_bias - t.handed);
}

void flush(thread_state& t) noexcept {
  if (t.counted == nullptr) return;
  slab_header* s = t.counted;
  const std::int64_t n = t.count;
  t.counted = nullptr;
  t.count = 0;
  put_back(s, n);
}

/// At thread exit: the open slab is retired and the held-back count handed over. Other
/// thread-local destructors may still run after this one (those constructed before the hook)
/// and tell or drop messages: from then on a free is handed over at once and a slab opened for
/// an allocation is retired right after it (no later hook would do either).
struct exit_hook {
  ~exit_hook() {
    flush(tls);
    retire(tls);
    tls.exited = true;
  }
};

[[gnu::noinline, gnu::cold]] void hook_thread_exit() {
  static thread_local exit_hook hook;  // constructed now: its destructor runs at thread exit
  (void)&hook;
  tls.hooked = true;
}

constexpr std::size_t rounded(std::size_t size) noexcept {
  return (size + node_slab_grain - 1) & ~(node_slab_grain - 1);
}

[[gnu::noinline]] void open_new_slab(thread_state& t) {
  if (!t.hooked) hook_thread_exit();
  slab_header* s = take_slab();  // may throw: the open slab stays as it was
  retire(t);
  // relaxed: the slab is ours (S1: the cache's mutex ordered its last use before, P2); the
  // nodes carved from it reach other threads through the mailbox, after this store.
  s->refs.store(open_bias, std::memory_order_relaxed);
  t.open = s;
  t.bump = reinterpret_cast<char*>(s) + payload_offset;
  t.end = reinterpret_cast<char*>(s) + node_slab_bytes;
  t.handed = 0;
}

void* carve(thread_state& t, std::size_t n) noexcept {
  void* p = t.bump;
  t.bump += n;
  ++t.handed;
  unpoison(p, n);
  return p;
}

[[gnu::noinline]] void* allocate_slow(thread_state& t, std::size_t n) {
  open_new_slab(t);
  void* p = carve(t, n);
  if (t.exited) retire(t);  // after the exit hook: nobody would retire this slab later
  return p;
}

}  // namespace

void* node_slab_allocate(std::size_t size) {
  const std::size_t n = rounded(size);
  thread_state& t = tls;
  if (static_cast<std::size_t>(t.end - t.bump) < n) [[unlikely]]
    return allocate_slow(t, n);
  return carve(t, n);
}

void node_slab_free(void* p, std::size_t size) noexcept {
  poison(p, rounded(size));
  slab_header* s = slab_of(p);
  thread_state& t = tls;
  if (t.counted == s) [[likely]] {
    ++t.count;
    return;
  }
  if (!t.hooked) [[unlikely]]
    hook_thread_exit();  // a thread that only frees (a runner's worker) hands its count over too
  if (t.exited) [[unlikely]] {
    put_back(s, 1);  // after the exit hook: nobody would hand a held-back count over
    return;
  }
  flush(t);
  t.counted = s;
  t.count = 1;
}

void node_slab_flush() noexcept { flush(tls); }

void node_slab_open_fresh() { open_new_slab(tls); }

node_slab_counters node_slab_stats() noexcept {
  cache& c = the_cache();
  node_slab_counters r;
  // relaxed (x4): statistics.
  r.slabs_made = c.made.load(std::memory_order_relaxed);
  r.slabs_released = c.released.load(std::memory_order_relaxed);
  r.slabs_recycled = c.recycled.load(std::memory_order_relaxed);
  r.slabs_reused = c.reused.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lk(c.mu);
  r.slabs_warm = c.warm_count;
  r.slabs_cold = c.cold_count;
  return r;
}

}  // namespace weft::detail
