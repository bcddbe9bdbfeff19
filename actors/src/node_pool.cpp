// The message-node pool of <weft/detail/node_pool.hpp>: per-thread lists and the shared depot.
#include <weft/detail/node_pool.hpp>

#include <array>
#include <cstdint>
#include <mutex>
#include <new>

namespace weft::detail {

namespace {

/// A free node's first word links it to the next free node (N1: nobody else uses it then).
struct free_link {
  free_link* next;
};

struct thread_list {
  free_link* head;
  std::size_t count;
};

/// The calling thread's lists (N2). constinit and trivially destructible: reaching them needs no
/// guard; the exit hook below is registered the first time a thread refills.
struct thread_cache {
  std::array<thread_list, node_class_count> lists;
  bool hooked;
};
constinit thread_local thread_cache tls_cache{};

/// Batches kept per class in the depot; beyond that a batch goes back to operator delete.
constexpr std::size_t depot_batches = 256;

/// Whole batches of node_batch nodes each, by class (P1: under mu).
struct depot {
  std::mutex mu;
  std::array<std::array<free_link*, depot_batches>, node_class_count> batches{};
  std::array<std::size_t, node_class_count> count{};
};

depot& the_depot() {
  static depot* d = new depot();  // never destroyed: threads may exit after static destruction
  return *d;
}

std::size_t class_size(std::size_t cls) noexcept { return node_min_size << cls; }

void delete_chain(free_link* n) noexcept {
  while (n != nullptr) {
    free_link* next = n->next;
    ::operator delete(static_cast<void*>(n));
    n = next;
  }
}

/// Takes `n` nodes off the front of `l` as one chain.
free_link* take_chain(thread_list& l, std::size_t n) noexcept {
  free_link* first = l.head;
  free_link* last = first;
  for (std::size_t i = 1; i < n; ++i) last = last->next;
  l.head = last->next;
  last->next = nullptr;
  l.count -= n;
  return first;
}

/// Hands one chain of node_batch nodes to the depot, or frees it if the depot is full.
void release_batch(free_link* chain, std::size_t cls) noexcept {
  depot& d = the_depot();
  {
    std::lock_guard<std::mutex> lk(d.mu);
    if (d.count[cls] < depot_batches) {
      d.batches[cls][d.count[cls]++] = chain;
      return;
    }
  }
  delete_chain(chain);
}

/// At thread exit: whole batches go to the depot, the remainder to operator delete.
struct exit_hook {
  ~exit_hook() {
    for (std::size_t cls = 0; cls < node_class_count; ++cls) {
      thread_list& l = tls_cache.lists[cls];
      while (l.count >= node_batch) release_batch(take_chain(l, node_batch), cls);
      delete_chain(l.head);
      l = thread_list{nullptr, 0};
    }
  }
};

[[gnu::noinline, gnu::cold]] void hook_thread_exit() {
  static thread_local exit_hook hook;  // constructed now: its destructor runs at thread exit
  (void)&hook;
  tls_cache.hooked = true;
}

}  // namespace

void* node_pool_allocate(std::size_t cls) {
  thread_list& l = tls_cache.lists[cls];
  if (free_link* n = l.head) [[likely]] {
    l.head = n->next;
    --l.count;
    return n;
  }
  if (!tls_cache.hooked) [[unlikely]]
    hook_thread_exit();
  free_link* chain = nullptr;
  {
    depot& d = the_depot();
    std::lock_guard<std::mutex> lk(d.mu);
    if (d.count[cls] > 0) chain = d.batches[cls][--d.count[cls]];
  }
  if (chain == nullptr) return ::operator new(class_size(cls));
  l.head = chain->next;  // the depot holds whole batches only
  l.count = node_batch - 1;
  return chain;
}

void node_pool_free(void* p, std::size_t cls) noexcept {
  if (!tls_cache.hooked) [[unlikely]]
    hook_thread_exit();  // a thread that only frees (a runner's worker) gives its lists back too
  thread_list& l = tls_cache.lists[cls];
  auto* n = static_cast<free_link*>(p);
  n->next = l.head;
  l.head = n;
  if (++l.count >= 2 * node_batch) [[unlikely]] {
    release_batch(take_chain(l, node_batch), cls);
  }
}

}  // namespace weft::detail
