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
// Protocol: one slot per task (task::ctx_) alternates between "the suspended task" (while the
//   scheduler runs) and "the suspended scheduler" (while the task runs), so the same
//   `slot = std::move(slot).resume()` works on both sides.
// Orderings: none here; the scheduler publishes a task to other workers only after the switch
//   returned (see scheduler.cpp, P1 there).
#pragma once

#include <cstddef>
#include <utility>

#include <boost/context/fiber.hpp>

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

/// THE switch: jumps from the context `self` into the one held by `slot` (described by `to`).
/// Returns when some context jumps back; `slot` then holds that context (I2).
inline void switch_fiber(boost::context::fiber& slot, fiber_side& self, const fiber_side& to) noexcept {
#if defined(WEFT_DETAIL_ASAN_FIBERS)
  __sanitizer_start_switch_fiber(&self.asan_fake_, to.stack_lo_, to.stack_size_);
#endif
#if defined(WEFT_DETAIL_TSAN_FIBERS)
  __tsan_switch_to_fiber(to.tsan_fiber_, 0);
#endif
  boost::context::fiber back = std::move(slot).resume();  // slot is empty until the swap
  slot.swap(back);  // a move into an empty slot: no self-check, no unwind of an old context
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
