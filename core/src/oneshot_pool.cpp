// Memory for one-shot states (channels/include/weft/detail/oneshot_state.hpp): a per-thread free
// list per 64-byte size class, so spawn -> future allocates nothing in steady state. Blocks have
// operator new's default alignment (oneshot_state::make takes over-aligned states elsewhere).
//
// A state is usually freed on another thread than the one that made it (a task spawned on worker
// 0 ends on worker 1): each thread keeps what it frees, up to `cache_max` blocks per class, and
// hands the rest to operator delete, so no cache grows without bound and no lock is taken.
// Under AddressSanitizer every block goes straight to operator new/delete (ASan then sees a
// use-after-free of a state).
//
// Invariants:
//   I1  A cached block belongs to exactly one thread's list; only that thread touches the list.
//   I2  After the thread's drainer ran (thread exit), the list is empty and `dead` is set: later
//       frees on that thread (other thread_local destructors) go to operator delete.
// Protocol: thread-local only. Orderings: none (no shared data).
#include <cstddef>
#include <cstdint>
#include <new>

#include <weft/detail/fiber_switch.hpp>  // asan_fibers

namespace weft::detail {

void* oneshot_pool_alloc(std::size_t bytes);
void oneshot_pool_free(void* p, std::size_t bytes) noexcept;

namespace {

constexpr std::size_t class_bytes = 64;
constexpr std::size_t classes = 4;  // 64, 128, 192, 256 bytes
constexpr std::uint32_t cache_max = 4096;

struct free_block {
  free_block* next;
};

struct cache {
  free_block* head[classes];
  std::uint32_t count[classes];
  bool registered;
  bool dead;
};

// Trivially destructible on purpose (I2): it stays usable while other thread_locals are destroyed.
constinit thread_local cache tls_cache [[gnu::tls_model("initial-exec")]]{};

struct drainer {
  ~drainer() {
    cache& c = tls_cache;
    for (std::size_t k = 0; k < classes; ++k) {
      while (free_block* b = c.head[k]) {
        c.head[k] = b->next;
        ::operator delete(static_cast<void*>(b));
      }
      c.count[k] = 0;
    }
    c.dead = true;
  }
};
thread_local drainer tls_drainer;

std::size_t class_of(std::size_t bytes) noexcept { return (bytes + class_bytes - 1) / class_bytes - 1; }

}  // namespace

void* oneshot_pool_alloc(std::size_t bytes) {
  const std::size_t k = class_of(bytes);
  if (asan_fibers || k >= classes) return ::operator new(bytes);
  cache& c = tls_cache;
  if (free_block* b = c.head[k]) {
    c.head[k] = b->next;
    --c.count[k];
    return b;
  }
  return ::operator new((k + 1) * class_bytes);
}

void oneshot_pool_free(void* p, std::size_t bytes) noexcept {
  const std::size_t k = class_of(bytes);
  cache& c = tls_cache;
  if (asan_fibers || k >= classes || c.dead || c.count[k] >= cache_max) {
    ::operator delete(p);
    return;
  }
  if (!c.registered) {
    c.registered = true;
    (void)&tls_drainer;  // odr-use: constructs the drainer, so thread exit empties this cache
  }
  auto* b = static_cast<free_block*>(p);
  b->next = c.head[k];
  c.head[k] = b;
  ++c.count[k];
}

}  // namespace weft::detail
