// Platform constants: the cache-line size used to pad shared atomics apart, and the CPU relax
// instruction used in every spin loop. Each is one definition per architecture; nothing else in
// weft writes a literal line size or an inline `pause`.
#pragma once

#include <cstddef>

// For x86-64 inline asm that leaves for other code and comes back (fiber_switch.hpp's jump,
// switch_call.hpp's call): the vector, mask and x87 registers a SysV call may clobber, then
// memory and flags. Each user lists the general-purpose registers itself (some are operands).
#if defined(__x86_64__) && defined(__AVX512F__)
#define WEFT_DETAIL_X86_64_CALL_CLOBBERS_REST                                                          \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",   \
      "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",       \
      "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k0", \
      "k1", "k2", "k3", "k4", "k5", "k6", "k7", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)",    \
      "st(6)", "st(7)", "memory", "cc"
#elif defined(__x86_64__)
#define WEFT_DETAIL_X86_64_CALL_CLOBBERS_REST                                                          \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",   \
      "xmm12", "xmm13", "xmm14", "xmm15", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", \
      "st(7)", "memory", "cc"
#endif

namespace weft::detail {

// The destructive-interference size used for padding.
// x86-64: 128, not 64: Intel's L2 "spatial prefetcher" fetches lines in adjacent pairs, so two
//   atomics 64 bytes apart still bounce together (Intel optimization manual, 2.5.5.4; the same
//   choice as crossbeam-utils' CachePadded and folly's hardware_destructive_interference_size).
// ARM64: 128: Apple M-series and Cortex-A7x big cores use 128-byte lines or prefetch pairs.
// Measured both ways on this project's 2-core x86-64 VM: bench/RESULTS.md, "Cache-line size".
// -DWEFT_CACHE_LINE_SIZE=N overrides it (for that measurement; every translation unit of a
// program must agree, so set it on the whole build).
#if defined(WEFT_CACHE_LINE_SIZE)
inline constexpr std::size_t cache_line_size = WEFT_CACHE_LINE_SIZE;
#elif defined(__x86_64__) || defined(__aarch64__) || defined(__powerpc64__)
inline constexpr std::size_t cache_line_size = 128;
#else
inline constexpr std::size_t cache_line_size = 64;
#endif
static_assert((cache_line_size & (cache_line_size - 1)) == 0 && cache_line_size >= 32,
              "cache_line_size must be a power of two >= 32");

/// One CPU relax instruction: tells the core we are spinning (saves power, yields the pipeline to
/// the sibling hyper-thread, and avoids the memory-order-violation flush when the spin ends).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  // `yield` is a hint the big cores ignore; `isb` stalls ~10-40 ns, close to x86's pause.
  asm volatile("isb" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

/// Asks for the cache line of `p` in a writable (exclusive) state ahead of a load-then-store to
/// it: one coherence transaction instead of two (a shared fetch, then an upgrade) when another
/// core wrote the line last. A hint only. x86-64: PREFETCHW (0F 0D /1): every AMD64 CPU and
/// Intel since Broadwell implement it, Core 2 to Haswell execute it as a NOP; only NetBurst
/// (Pentium 4 era) x86-64 CPUs fault on it: build with -DWEFT_NO_PREFETCHW for those.
/// ARM64: PRFM PSTL1KEEP.
inline void prefetch_for_write(const void* p) noexcept {
#if defined(WEFT_NO_PREFETCHW)
  (void)p;
#elif defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__aarch64__)
  asm volatile("prfm pstl1keep, %0" : : "Q"(*static_cast<const char*>(p)));
#else
  (void)p;
#endif
}

/// Whether a bounded channel spreads consecutive ring indices over cache lines
/// (flavor_bounded.hpp "Slot placement"). It pays where a sender and a receiver working on
/// neighbouring slots of one line cost more than one line per message, and loses where four
/// slots per line batch the transfers: measured on this project's VMs (bench/RESULTS.md,
/// sessions 16 and 18) as a gain on Intel (Ice Lake-SP: W1 -3 to -13 ns/msg, W2 -13) and a loss
/// on AMD (Zen 4: W1 +5, W2 +9 to +14, W6 +11). So: off on AMD (and Hygon) x86-64 CPUs, on
/// elsewhere. WEFT_RING_SPREAD=0 or 1 in the environment overrides it (read once, at the first
/// bounded channel; for measuring both layouts with one binary).
bool spread_ring_slots() noexcept;
/// The decision of spread_ring_slots() from its two inputs: the environment's WEFT_RING_SPREAD
/// (nullptr: unset) and the CPU's vendor string (cpuid leaf 0; "" where there is none).
bool spread_ring_slots_for(const char* env, const char* cpu_vendor) noexcept;

}  // namespace weft::detail
