// The one place where weft switches between fibers (Boost.Context `fiber`), with the sanitizer
// annotations Debian's Boost 1.74 does not make for its fcontext backend.
//
// Every context switch of the runtime (scheduler -> task, task -> scheduler) is a call to
// `switch_fiber()`. A task's fiber is started once and then runs task after task (the runtime
// recycles it), so the only other transitions are a fiber's first entry (`fiber_entered()`) and
// its final return (`fiber_exiting()` right before the entry function returns): both are here
// too, so the annotations for every transition live in this file.
//
// AddressSanitizer: `__sanitizer_start_switch_fiber` before the jump names the stack we go to,
// `__sanitizer_finish_switch_fiber` after it (in the resumed context) restores our fake stack.
// A fiber that ends passes a null fake-stack slot, so ASan frees its fake frames.
// ThreadSanitizer: each task fiber has its own TSan fiber (`__tsan_create_fiber`), and each worker
// thread keeps the one it started on (`__tsan_get_current_fiber`); `__tsan_switch_to_fiber(f, 0)`
// before every jump tells TSan which shadow stack runs next (flag 0: the switch synchronises,
// which is true: both sides run on one OS thread, one after the other).
//
// Invariants:
//   I1  A `fiber_side` describes one execution context: a task's fiber, or a worker (or other
//       OS) thread's own stack. Its `asan_fake_` slot is written only while that context is
//       switching away and read when it is resumed, so it needs no synchronisation.
//   I2  `slot` in switch_fiber() holds the context we jump to; on return it holds the context of
//       whoever jumped back to us (Boost returns it from resume()).
//   I3  On x86-64 the jump enters Boost's jump_fcontext by `push; jmp`, not `call`
//       (jump_balanced): Boost leaves by `jmp`, so a `call` would leave one return-stack-buffer
//       entry behind per switch. Boost's own code still saves, switches and restores.
// Protocol: one slot per task (task::ctx_) alternates between "the suspended task" (while the
//   scheduler runs) and "the suspended scheduler" (while the task runs), so the same
//   `slot = std::move(slot).resume()` works on both sides.
// Orderings: none here; the scheduler publishes a task to other workers only after the switch
//   returned (see scheduler.cpp, P1 there).
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include <boost/context/fiber.hpp>

#include <weft/detail/platform.hpp>

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_DETAIL_ASAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_DETAIL_ASAN_FIBERS 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define WEFT_DETAIL_TSAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_DETAIL_TSAN_FIBERS 1
#endif
#endif

#if defined(WEFT_DETAIL_ASAN_FIBERS)
extern "C" {
void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom, std::size_t size);
void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old,
                                     std::size_t* size_old);
}
#endif
#if defined(WEFT_DETAIL_TSAN_FIBERS)
extern "C" {
void* __tsan_get_current_fiber(void);
void* __tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void* fiber);
void __tsan_switch_to_fiber(void* fiber, unsigned flags);
}
#endif

namespace weft::detail {

/// True in an AddressSanitizer build: the runtime then gives every task a fresh stack (no
/// pooling), so ASan sees use-after-return and stack reuse bugs.
inline constexpr bool asan_fibers =
#if defined(WEFT_DETAIL_ASAN_FIBERS)
    true;
#else
    false;
#endif

/// One execution context as the sanitizers need to know it (see I1).
struct fiber_side {
  std::byte* stack_lo_ = nullptr;   // lowest address of the stack (ASan; a task's stack_block)
  std::size_t stack_size_ = 0;      // its size in bytes (ASan)
  void* tsan_fiber_ = nullptr;      // TSan's fiber for this context
  void* asan_fake_ = nullptr;       // ASan's fake stack while switched away (I1)
};

/// Describes the calling OS thread's own stack and TSan fiber (for a worker's scheduler loop,
/// or any thread that resumes task fibers). Defined in core/src/fiber.cpp.
fiber_side this_thread_fiber_side() noexcept;

/// Creates / destroys the TSan fiber of a task context (no-ops without TSan).
inline void* tsan_create_fiber() noexcept {
#if defined(WEFT_DETAIL_TSAN_FIBERS)
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}
inline void tsan_destroy_fiber(void* f) noexcept {
#if defined(WEFT_DETAIL_TSAN_FIBERS)
  if (f != nullptr) __tsan_destroy_fiber(f);
#else
  (void)f;
#endif
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WEFT_DETAIL_BALANCED_JUMP 1
/// The context a `boost::context::fiber` holds. The class is standard-layout with the context
/// pointer as its only member (checked below), so the two are pointer-interconvertible.
inline boost::context::detail::fcontext_t& fcontext_of(boost::context::fiber& f) noexcept {
  static_assert(std::is_standard_layout_v<boost::context::fiber> &&
                sizeof(boost::context::fiber) == sizeof(boost::context::detail::fcontext_t));
  return *reinterpret_cast<boost::context::detail::fcontext_t*>(&f);
}

/// Boost's `jump_fcontext(to, nullptr)`, entered without a `call`. On x86-64 Boost 1.74 leaves
/// jump_fcontext with `jmp *%r8`, not `ret`, so every switch that enters it by `call` leaves one
/// return address on the CPU's return stack buffer that nothing pops: the resumed context's next
/// `ret`s are then predicted one frame off and miss (two misses per W5 round trip, measured as
/// ~9-17 ns of ~95, bench/RESULTS.md session 19). Here the return address is pushed by hand and
/// jump_fcontext is reached by `jmp`, so the buffer stays as the switched-out context left it,
/// and the resumed context -- which suspended at this same spot -- finds its callers' return
/// addresses where it expects them. ARM64's jump_fcontext returns with `ret x4`: no fix needed.
///   - The 128 bytes below the stack pointer (the red zone) may hold the caller's data: the
///     jump's frame goes below them, 16-byte aligned as at a call (jump_fcontext is entered with
///     the stack pointer 8 off a multiple of 16), whatever the surrounding code's alignment. The
///     frame's own stack pointer is kept there and restored after the jump.
///   - Every register the SysV ABI lets a call clobber is declared clobbered (the other context
///     runs in between); the callee-saved ones, MXCSR and the x87 control word come back as
///     jump_fcontext saved them.
///   - A context suspended here is resumed by jump_fcontext, or by ontop_fcontext with a function
///     that returns (Boost's fiber_exit when a task's fiber ends: it runs on this stack as if
///     called from here, hence the alignment). Never with one that throws (fiber_unwind, for a
///     destroyed suspended fiber: weft never destroys one, move_into_empty checks): no unwinder
///     can walk through this spot, whose stack pointer differs from what the frame description
///     says until the jump returns.
inline boost::context::detail::fcontext_t jump_balanced(
    boost::context::detail::fcontext_t to) noexcept {
  void* rdi = to;
  void* rsi = nullptr;  // transfer_t::data: weft passes nothing through the jump
  void* rax;  // transfer_t::fctx: the context that jumped back to us (its data, in rdx, is unused)
  asm volatile(
      "mov %%rsp, %%rcx\n\t"       // the frame's stack pointer
      "sub $128, %%rsp\n\t"        // past the red zone
      "and $-16, %%rsp\n\t"
      "push %%rcx\n\t"             // kept for the way back
      "sub $8, %%rsp\n\t"          // aligned: the return address comes next, as at a call
      "lea 1f(%%rip), %%rax\n\t"
      "push %%rax\n\t"
      "jmp *jump_fcontext@GOTPCREL(%%rip)\n\t"
      "1:\n\t"                     // resumed: jump_fcontext has popped the return address
      "mov 8(%%rsp), %%rsp\n\t"
      : "+D"(rdi), "+S"(rsi), "=a"(rax)
      :
      : "rcx", "rdx", "r8", "r9", "r10", "r11", WEFT_DETAIL_X86_64_CALL_CLOBBERS_REST);
  return static_cast<boost::context::detail::fcontext_t>(rax);
}
#else
#define WEFT_DETAIL_BALANCED_JUMP 0
#endif

/// THE switch: jumps from the context `self` into the one held by `slot` (described by `to`).
/// Returns when some context jumps back; `slot` then holds that context (I2).
inline void switch_fiber(boost::context::fiber& slot, fiber_side& self, const fiber_side& to) noexcept {
#if defined(WEFT_DETAIL_ASAN_FIBERS)
  __sanitizer_start_switch_fiber(&self.asan_fake_, to.stack_lo_, to.stack_size_);
#endif
#if defined(WEFT_DETAIL_TSAN_FIBERS)
  __tsan_switch_to_fiber(to.tsan_fiber_, 0);
#endif
#if WEFT_DETAIL_BALANCED_JUMP
  auto& fctx = fcontext_of(slot);
  fctx = jump_balanced(std::exchange(fctx, nullptr));  // slot is empty while we are away
#else
  boost::context::fiber back = std::move(slot).resume();  // slot is empty until the swap
  slot.swap(back);  // a move into an empty slot: no self-check, no unwind of an old context
#endif
#if defined(WEFT_DETAIL_ASAN_FIBERS)
  __sanitizer_finish_switch_fiber(self.asan_fake_, nullptr, nullptr);
#endif
  (void)self;
  (void)to;
}

/// `dst = std::move(src)` for a slot that holds no context (scheduler.cpp D1-D2 empty it before
/// it is refilled): a pointer swap. Boost's move assignment would also test for self-assignment
/// and unwind the old context of a non-empty `dst`; this runs at every task switch. A
/// non-empty `dst` is a scheduler bug: reported, never silently swapped away.
[[noreturn]] void fiber_slot_not_empty() noexcept;  // core/src/fiber.cpp
inline void move_into_empty(boost::context::fiber& dst, boost::context::fiber& src) noexcept {
  if (dst) [[unlikely]]
    fiber_slot_not_empty();
  dst.swap(src);
}

/// First thing a new fiber does: completes the switch that started it.
inline void fiber_entered() noexcept {
#if defined(WEFT_DETAIL_ASAN_FIBERS)
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
}

/// Last thing a fiber does before its entry function returns (Boost then jumps to `to`):
/// a null fake-stack slot tells ASan this fiber's fake frames die here.
inline void fiber_exiting(const fiber_side& to) noexcept {
#if defined(WEFT_DETAIL_ASAN_FIBERS)
  __sanitizer_start_switch_fiber(nullptr, to.stack_lo_, to.stack_size_);
#endif
#if defined(WEFT_DETAIL_TSAN_FIBERS)
  __tsan_switch_to_fiber(to.tsan_fiber_, 0);
#endif
  (void)to;
}

}  // namespace weft::detail
