// Pooled storage for mailbox message nodes: per-thread free lists by size class, balanced
// through a shared depot of whole batches (the transfer-cache design of tcmalloc; weft's own
// code).
//
// Why: a tell allocates its node on the sender's thread and the runner frees it on the actor's
// worker. With malloc that is a cross-thread free on every message (glibc: 25-30% of W8's
// instructions, measured with callgrind). Here a free pushes the node on the freeing thread's
// own list; a thread whose list of a class grows past 2 x `node_batch` moves one batch of
// `node_batch` nodes to the depot, and a thread whose list is empty takes a batch back. The
// message fast paths touch only the calling thread's lists: no atomic, no lock. The depot's lock
// is taken once per batch.
//
// Why no lock-free shared free list: senders would pop concurrently from one stack (ABA: a popper
// reads head A and A->next B, is preempted, A and B are popped and A is pushed back; its CAS
// succeeds and installs B, which is in use). A per-thread list with a batched depot has no ABA
// and no per-message atomic.
//
// Sizes: classes of 32, 64, 128 and 256 bytes (alignment <= the default new alignment); larger
// or over-aligned nodes use operator new directly. Memory kept: at most 2 x node_batch nodes per
// class per thread, plus at most `depot_batches` batches per class in the depot (the rest is
// given back to operator delete), so a burst of queued messages does not pin its memory forever.
//
// Fibers: the thread-local lists are reached only inside the out-of-line functions below, never
// in inline code, so a task that migrates between workers never uses a TLS address computed on
// its previous thread (compilers treat that address as constant within a function).
//
// Status: switched off by `node_pool_enabled` below (measured slower in real time on W8; see
// there). The functions stay tested (tests/actors/actor_race_test.cpp).
//
// Invariants:
//   N1  A node on a free list (thread list or depot batch) belongs to no mailbox and nobody
//       holds a pointer to it but that list.
//   N2  A thread's lists are touched only by that thread (and by its exit hook on that thread).
// Orderings:
//   P1  A node moves between threads only through the depot, under its lock: the releasing
//       thread's last writes to a node happen-before the taking thread's reuse.
#pragma once

#include <cstddef>
#include <new>

namespace weft::detail {

inline constexpr std::size_t node_class_count = 4;
inline constexpr std::size_t node_min_size = 32;  // class c holds nodes of up to 32 << c bytes
/// Nodes moved to or from the depot at once. Trade: a bigger batch takes the depot's lock less
/// often; a smaller one keeps fewer idle nodes per thread.
inline constexpr std::size_t node_batch = 128;

/// Whether message nodes come from this pool. OFF, measured: W8 (one sender task, one counting
/// actor, 2 workers; gcc 12 -O3, 2-core VM, load ~22, 7 interleaved runs) took 268 ns/msg with
/// the pool and 139 ns/msg with operator new (the same code otherwise), although callgrind counts
/// 259 instructions per message with the pool against 379 without. The likely cause: a LIFO list
/// hands the sender the node the runner freed last, still in the runner's core's cache, and the
/// pop chases its link (a cross-core miss per allocation, serialised), where malloc's fresh
/// chunks are sequential and prefetched. A slab (bump) allocator with per-slab free counts would
/// keep the sequential access; until it is measured better, the pool stays off.
/// Under AddressSanitizer it must stay off (reuse would hide a use after free of a node).
inline constexpr bool node_pool_enabled = false;

/// The pool class of a node of `size` bytes and alignment `align`, or -1 for operator new.
constexpr int node_class_of(std::size_t size, std::size_t align) noexcept {
  if (!node_pool_enabled || align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) return -1;
  for (std::size_t c = 0; c < node_class_count; ++c)
    if (size <= (node_min_size << c)) return static_cast<int>(c);
  return -1;
}

/// Storage of (node_min_size << cls) bytes from the calling thread's list (or the depot, or
/// operator new). Throws std::bad_alloc only.
void* node_pool_allocate(std::size_t cls);
/// Gives storage from node_pool_allocate(cls) back to the calling thread's list. Any thread.
void node_pool_free(void* p, std::size_t cls) noexcept;

}  // namespace weft::detail
