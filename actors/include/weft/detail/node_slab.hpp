// Bump-allocated storage for mailbox message nodes ("slabs").
//
// A tell allocates its node on the sender's thread and the runner frees it on the actor's
// worker. With malloc that is a cross-thread free per message (glibc: a quarter of W8's
// instructions); with per-thread free lists of nodes (tried in session 2 and removed: slower on
// W8 in real time) the sender pops the node the runner freed last, still in the runner's cache,
// and chases its link: a cross-core miss per message, serialised. Here the sender's thread
// carves nodes one after another out of its
// current slab (64 KiB, aligned to its size, so a node's slab is its address with the low bits
// cleared): sequential stores into lines nobody else holds. Freeing a node only counts it
// against its slab; the count is kept per thread and handed to the slab in one atomic
// subtraction when the thread frees a node of another slab or flushes (the actor runner does at
// the end of each run of messages). The slab whose last node comes back goes to a shared cache
// of empty slabs, from which any sender's thread takes its next one.
//
// Memory: each sending thread holds one open slab (retired by its exit hook; a thread-local
// destructor that runs after the hook gets a slab retired at once, and its frees are handed
// over at once); each freeing thread holds back the count of at most one slab until its next flush (so at most one slab per thread is kept from reuse by
// held-back counts); a slab is reused only when every node carved from it is freed, so one
// message left in a mailbox keeps its whole slab (64 KiB) alive. The cache keeps at most
// `node_slab_cache_max` empty slabs and gives the rest back to operator delete.
//
// Fibers: the thread-local state is reached only inside the out-of-line functions below, never
// in inline code, so a task that migrates between workers never uses a TLS address computed on
// its previous thread.
//
// AddressSanitizer: every byte of a slab that is not a live node is poisoned, so a use of a
// node after its free is reported as in any other build of weft.
//
// Invariants:
//   S1  slab.refs == open_bias + (nodes freed and counted: negative) while its producer carves;
//       after the producer retires it, refs == nodes handed out - nodes counted. Whoever brings
//       it to 0 (the producer's retire or a freeing thread's flush) owns the empty slab and
//       gives it to the cache. refs > 0 while any thread holds back a count for it.
//   S2  A thread's producer and consumer state is touched only by that thread (and its exit hook
//       on that thread).
// Protocol (who may touch what):
//   slab.refs        the producer (store at open, subtraction at retire) and freeing threads
//                    (subtraction at flush); nobody reads it otherwise.
//   slab payload     a node: its sender until the mailbox push, then the runner (P3); bytes not
//                    in a live node: nobody (poisoned under ASan).
//   slab.next_free, the cache lists   under the cache's mutex (P2).
// Orderings:
//   P1  Every subtraction from refs is acq_rel: release, so each thread's last reads and writes
//       of its nodes happen-before the subtraction that reaches 0 (a release sequence of RMWs),
//       acquire, so the thread that reaches 0 has them all before it hands the slab on.
//   P2  The cache is a mutex-guarded list: the slab's reuse by the next producer is ordered
//       after its recycling.
//   P3  Node contents go from sender to runner through the mailbox (mailbox.hpp), not here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weft::detail {

inline constexpr std::size_t node_slab_bytes = 64 * 1024;  // size and alignment of a slab
inline constexpr std::size_t node_slab_grain = 16;         // node sizes are rounded up to this
/// Nodes bigger than this (or aligned more than node_slab_grain) use operator new: a slab then
/// still holds at least 63 of the biggest.
inline constexpr std::size_t node_slab_max_node = 1024;
/// Empty slabs kept for reuse (4 MiB); more go back to operator delete.
inline constexpr std::size_t node_slab_cache_max = 64;

/// Whether message nodes come from slabs (measured: bench/RESULTS.md, "message slabs").
inline constexpr bool node_slab_enabled = true;

/// Whether a node of `size` bytes and alignment `align` comes from a slab.
constexpr bool node_slab_fits(std::size_t size, std::size_t align) noexcept {
  return node_slab_enabled && align <= node_slab_grain && size <= node_slab_max_node;
}

/// Storage for a node of `size` bytes (node_slab_fits) from the calling thread's open slab.
/// Throws std::bad_alloc (only when a new slab is needed and none can be had), changing nothing.
void* node_slab_allocate(std::size_t size);
/// Counts storage from node_slab_allocate(size) as free. Any thread.
void node_slab_free(void* p, std::size_t size) noexcept;
/// Hands the calling thread's held-back count to its slab (which may then be reused).
void node_slab_flush() noexcept;
/// Retires the calling thread's open slab and opens another, so the next nodes up to a slab's
/// worth need no allocation (tests use it to know which allocation a tell makes first).
/// Throws std::bad_alloc, changing nothing.
void node_slab_open_fresh();

/// Counters for tests and diagnostics (process-wide, relaxed snapshots).
struct node_slab_counters {
  std::uint64_t slabs_made = 0;      ///< slabs taken from operator new
  std::uint64_t slabs_released = 0;  ///< empty slabs whose pages went back to the kernel
  std::uint64_t slabs_recycled = 0;  ///< slabs that came back empty
  std::uint64_t slabs_reused = 0;    ///< slabs a producer took from the cache
  std::size_t slabs_warm = 0;        ///< empty slabs kept with their pages now
  std::size_t slabs_cold = 0;        ///< empty slabs kept without (MADV_FREE) now
};
node_slab_counters node_slab_stats() noexcept;

}  // namespace weft::detail
