// Slab allocation of fiber stacks; see <weft/detail/stack_pool.hpp>.
#include <weft/detail/stack_pool.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <weft/detail/fiber_switch.hpp>  // WEFT_DETAIL_ASAN_FIBERS
#if defined(WEFT_DETAIL_ASAN_FIBERS)
#include <sanitizer/asan_interface.h>
#endif

namespace weft::detail {

namespace {
std::size_t round_up(std::size_t n, std::size_t to) noexcept { return (n + to - 1) / to * to; }
}  // namespace

stack_pool::stack_pool(std::size_t stack_size, bool guard_pages)
    : page_(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))), guard_pages_(guard_pages) {
  stack_size_ = round_up(stack_size < 2 * page_ ? 2 * page_ : stack_size, page_);
}

stack_pool::~stack_pool() {
  for (const slab& s : slabs_) ::munmap(s.base_, s.bytes_);
}

void* stack_pool::map(std::size_t bytes) {
  // MAP_NORESERVE: a stack's pages are committed only when touched (overcommit heuristics must
  // not count the untouched part of a million 64 KiB stacks).
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr,
                 "weft: cannot map %zu bytes of fiber stacks: %s (check vm.max_map_count, "
                 "ulimit -v, or lower runtime_options::stack_size)\n",
                 bytes, std::strerror(errno));
    std::abort();
  }
  // Transparent huge pages would commit 2 MiB at the first touch of a slab: a stack must cost
  // only the small pages it uses.
  ::madvise(p, bytes, MADV_NOHUGEPAGE);
  return p;
}

void stack_pool::allocate_slab(std::size_t n, stack_block* out) {
  // Room for the slab's record first: a push_back that threw after the mmap would leak it.
  slabs_.reserve(slabs_.size() + 1);
  if (guard_pages_) {
    // Layout: [spare page][guard][stack 0][guard][stack 1]... The spare page at the start means
    // an overflow of stack 0 by less than a page lands in mapped memory, where the canary check
    // reports it, as it does for every other stack (whose overflow lands in its neighbour).
    const std::size_t stride = stack_size_ + page_;
    auto* base = static_cast<std::byte*>(map(page_ + n * stride));
    slabs_.push_back(slab{base, page_ + n * stride});
    for (std::size_t i = 0; i < n; ++i) {
      std::byte* start = base + page_ + i * stride;
      if (::mprotect(start, page_, PROT_NONE) != 0) {
        std::fprintf(stderr, "weft: mprotect of a stack guard page failed: %s (vm.max_map_count?)\n",
                     std::strerror(errno));
        std::abort();
      }
      out[i] = stack_block{start + page_, stack_size_};
    }
    return;
  }
  // Layout without guard pages: the stacks are contiguous and shifted down by canary_bytes from
  // page boundaries, so stack i+1's canary occupies the last canary_bytes of stack i's top page
  // (I3). A fresh task writes its top page anyway (first frames); its neighbour's canary there
  // costs nothing more, whereas a canary alone in an untouched page costs a fault per fresh
  // stack at its first switch: 3-6 us on this VM, more than the rest of a spawn. The runtime
  // writes the canary when the fiber starts (claim_canary): the free list hands out stacks 1,
  // 2, ... in order, so that write lands in a page the previous task uses anyway (stack 0, handed
  // out last, is the one neighbour that may be committed early). Stack 0's canary is in the
  // spare first page, which also keeps an overflow of stack 0 by less than a page in mapped
  // memory, where the canary check reports it (any other stack's overflow lands in its
  // neighbour's top).
  //   [spare page .. c0][stack 0 .. top0 c1][stack 1 ...]   (c = canary, each page-aligned run
  //   "top_i c_{i+1}" is one page)
  const std::size_t bytes = page_ + n * stack_size_;
  auto* base = static_cast<std::byte*>(map(bytes));
  slabs_.push_back(slab{base, bytes});
  for (std::size_t i = 0; i < n; ++i) out[i] = stack_block{base + page_ - canary_bytes + i * stack_size_, stack_size_};
}

stack_block stack_pool::allocate_one() {
  const std::size_t bytes = stack_size_ + page_;
  auto* base = static_cast<std::byte*>(map(bytes));
  // A guard page below each fresh stack (these are the sanitizer builds: few stacks, and an
  // overflow should fault where it happens).
  ::mprotect(base, page_, PROT_NONE);
  stack_block s{base + page_, stack_size_};
#if defined(WEFT_DETAIL_ASAN_FIBERS)
  // A finished fiber leaves its outermost frames' redzones poisoned in ASan's shadow (those
  // frames never return: the fiber ends with a jump). munmap does not clear that shadow, so a
  // new stack mapped at the same address would inherit it and ASan would report (or crash on)
  // the new task's first stack accesses. Start every stack clean.
  __asan_unpoison_memory_region(s.lo_, s.size_);
#endif
  return s;
}

void stack_pool::free_one(stack_block s) noexcept {
#if defined(WEFT_DETAIL_ASAN_FIBERS)
  // See allocate_one: leave no stale poison behind for whatever is mapped here next.
  __asan_unpoison_memory_region(s.lo_, s.size_);
#endif
  ::munmap(s.lo_ - page_, s.size_ + page_);
}

}  // namespace weft::detail
