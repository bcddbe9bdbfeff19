// Fiber stacks: carved from large anonymous mappings ("slabs") so that a million tasks cost a
// few thousand kernel mappings, not two million (a guard page per stack costs two mappings each,
// and vm.max_map_count defaults to 65,530). Pages are committed by the kernel only when touched,
// so an idle task's stack costs the one or two pages at its top that it actually used.
//
// Overflow detection without guard pages: a canary at each stack's low end, checked by the
// scheduler at every switch out of the task (a stack overflow that reached the low end is
// reported with the task's spawn site, then the process aborts). The canary's expected value is
// zero, written by the kernel: a fresh anonymous page reads as zeros, and a read maps the shared
// zero page without committing memory. A non-zero canary would have to be written into every
// stack's lowest page, committing a second page per task (twice the RSS of an idle task, measured
// with tests/runtime/idle_rss_test.cpp). The trade: an overflow that happens to leave exactly
// zeros in the canary's 16 bytes goes unnoticed; overflowing frames (return addresses, saved
// registers, pointers) rarely do. With `runtime_options::guard_pages` each stack also gets a
// PROT_NONE page below it (a debugging
// switch: two mappings per stack, so about 32K stacks at most under the default limit).
//
// The runtime pools stacks with the task objects that own them (a task keeps its stack, and its
// started fiber, across reuse). Under AddressSanitizer the runtime instead takes a fresh mapping
// per task with allocate_one()/free_one(), so ASan sees stack reuse bugs.
//
// Invariants:
//   I1  Every stack handed out has canary_bytes of zeros at its low end (stack_block::lo_):
//       fresh anonymous memory; a recycled stack was checked at every switch of its last task.
//   I2  Slabs are unmapped only by ~stack_pool (the runtime's end); until then a stack's memory
//       stays mapped, so a task's stack pointer and canary stay valid while the task object lives.
//   I3  Without guard pages a slab's stacks are contiguous and end canary_bytes below a page
//       boundary: stack i's top page also holds stack i+1's canary (see allocate_slab). The
//       runtime writes a fresh slab stack's canary (zeros: I1 holds) when its fiber starts
//       (claim_canary), so the neighbour's top page is committed by that write and the first
//       canary check never maps the zero page there (which the neighbour's first frames would
//       then copy on write, flushing the TLB of every CPU running the process: an IPI each).
// Protocol: allocate_slab/allocate_one/free_one are called under the runtime's pool mutex.
// Orderings: none (no atomics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace weft::detail {

/// One stack: [lo_, lo_ + size_). The canary word sits at lo_ (the deepest end).
struct stack_block {
  std::byte* lo_ = nullptr;
  std::size_t size_ = 0;
  std::byte* hi() const noexcept { return lo_ + size_; }
};

class stack_pool {
 public:
  /// Bytes at each stack's low end that must stay zero (the canary, see above). Fibers start
  /// their frames above them.
  static constexpr std::size_t canary_bytes = 16;

  /// stack_size is rounded up to whole pages.
  stack_pool(std::size_t stack_size, bool guard_pages);
  ~stack_pool();
  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;

  std::size_t stack_size() const noexcept { return stack_size_; }

  /// Maps one slab of `n` stacks and writes them to out[0..n). Aborts if the kernel refuses
  /// (out of address space or mappings), with a message naming the limit.
  void allocate_slab(std::size_t n, stack_block* out);
  /// A stack in its own mapping (AddressSanitizer mode); give it back with free_one().
  stack_block allocate_one();
  void free_one(stack_block s) noexcept;

  /// A fresh stack from a slab without guard pages, before its first frame: writes its canary's
  /// zeros (I3). Not for guard-page or allocate_one() stacks, whose canary is alone in their own
  /// lowest page (writing it would commit that page).
  static void claim_canary(const stack_block& s) noexcept {
    auto* w = reinterpret_cast<volatile std::uint64_t*>(s.lo_);
    w[0] = 0;
    w[1] = 0;
  }

  static bool canary_intact(const stack_block& s) noexcept {
    const auto* w = reinterpret_cast<const volatile std::uint64_t*>(s.lo_);
    return (w[0] | w[1]) == 0;
  }

 private:
  struct slab {
    void* base_;
    std::size_t bytes_;
  };
  void* map(std::size_t bytes);

  std::size_t stack_size_;
  std::size_t page_;
  bool guard_pages_;
  std::vector<slab> slabs_;
};

}  // namespace weft::detail
