// switch_call: a call into a function that may switch fibers, whose return into the caller is an
// indirect jump instead of a `ret`.
//
// Why: the CPU predicts every `ret` from its return stack buffer (RSB), the stack of return
// addresses its own `call`s pushed. A fiber switch changes stacks but not that buffer. When task
// B resumes, the buffer still holds the return addresses of the calls task A made before it
// switched out, so B's first returns are predicted into A's frames. Returns inside the library
// still hit when A and B parked in the same function (same call sites, same addresses), but the
// return into the user's code that called the blocking operation does not: A's loop and B's loop
// are different code, and that return misses on every switch (a W5 round trip: two misses, about
// 12-14 ns of ~77 on Zen 4; bench/RESULTS.md session 19 measured it with both tasks in one
// shared function, session 20 with this call).
//
// How: the blocking operation's slow path is called through `weft_detail_switch_call` (core/src/
// fiber.cpp, x86-64 ELF): it calls the slow path (whose own `ret` then comes back to one shared
// address, predicted whichever task returns), pops the caller's return address and jumps to it.
// An indirect jump is predicted from the branch history that led to it; where that history
// differs between A's and B's paths (W5's does; bench/RESULTS.md session 20 shows a case where
// it does not, and the jump then costs 2-7 ns more than the missed return), the jump into each
// task's own code is predicted. The caller enters the trampoline by `push; jmp`, not `call`, so
// the RSB stays balanced: the return addresses of the caller's own callers stay where their
// `ret`s expect them (a `call` would leave one entry no `ret` pops, and the caller's next
// return would be predicted into that stale entry).
//
// Where: the unbuffered channel's blocking send and receive (channels/include/weft/chan.hpp,
// call_send_slow / call_recv_slow), whose waits park and hand off from task to task. Not the
// bounded ring's: its waits mostly spin on a thread or a worker that has nothing else to run,
// with no switch to repair, and there it measured slower (W3 +10 to +18 ns per round trip for
// threads; bench/RESULTS.md session 20).
//
// Contract of a function called this way (switch_call_fn): up to four integer arguments and an
// integer result, all in registers (the trampoline passes the argument registers through and
// keeps no stack arguments in place), noexcept. Callers use it only where the slow path cannot
// throw (a value type whose move cannot throw); elsewhere they call the slow path directly. The
// trampoline has call-frame information and a frame-pointer frame, so debuggers, profilers and
// sanitizer reports walk through it. Off x86-64 ELF with GCC or Clang (and under x32 or CET),
// switch_call is a plain call. The trampoline's indirect call and jump are not retpolines:
// weft's fiber switch is not either (Boost's jump_fcontext jumps through a register).
#pragma once

#include <cstdint>

#include <weft/detail/platform.hpp>

namespace weft::detail {
/// What switch_call can call: four integer arguments, an integer result, no exceptions.
using switch_call_fn = std::uintptr_t (*)(void*, void*, std::int64_t, void*) noexcept;
}  // namespace weft::detail

// Not under x32 (untested) nor CET (-fcf-protection: the trampoline's jump back lands on no
// `endbr64`; weft's fiber switch does not keep a shadow stack either).
#if defined(__x86_64__) && !defined(__ILP32__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__CET__)
#define WEFT_DETAIL_SWITCH_CALL 1
/// The trampoline (core/src/fiber.cpp): fn(a0, a1, a2, a3), returning to the caller by a jump.
extern "C" std::uintptr_t weft_detail_switch_call(void* a0, void* a1, std::int64_t a2, void* a3,
                                                  weft::detail::switch_call_fn fn) noexcept;
#else
#define WEFT_DETAIL_SWITCH_CALL 0
#endif

namespace weft::detail {
/// fn(a0, a1, a2, a3), returning into the caller by an indirect jump (see the file comment).
[[gnu::always_inline]] inline std::uintptr_t switch_call(switch_call_fn fn, void* a0, void* a1, std::int64_t a2,
                                                         void* a3) noexcept {
#if WEFT_DETAIL_SWITCH_CALL
  // Entered by `push; jmp`, not `call`: no return-stack entry is pushed that the trampoline's
  // jump back would leave unpopped, so the caller's own callers' returns stay predicted (a
  // blocking call inside a helper function: its `ret` after the switch hits). As in
  // fiber_switch.hpp's jump_balanced: the frame goes below the red zone, 16-byte aligned as at
  // a call, its stack pointer kept there; every call-clobbered register is declared clobbered.
  // The stack pointer moves below what the caller's frame description says, so the caller is
  // made to keep a frame pointer (the __builtin_frame_address operand: GCC and Clang then
  // describe its frame from rbp), and an unwinder walking out of fn finds the caller right.
  register switch_call_fn r8 asm("r8") = fn;
  std::uintptr_t rax;
  asm volatile(
      "mov %%rsp, %%rax\n\t"
      "sub $128, %%rsp\n\t"
      "and $-16, %%rsp\n\t"
      "push %%rax\n\t"
      "sub $8, %%rsp\n\t"
      "lea 1f(%%rip), %%rax\n\t"
      "push %%rax\n\t"
      "jmp weft_detail_switch_call@PLT\n\t"
      "1:\n\t"
      "mov 8(%%rsp), %%rsp\n\t"
      : "+D"(a0), "+S"(a1), "+d"(a2), "+c"(a3), "+r"(r8), "=a"(rax)
      : "g"(__builtin_frame_address(0))
      : "r9", "r10", "r11", WEFT_DETAIL_X86_64_CALL_CLOBBERS_REST);
  return rax;
#else
  return fn(a0, a1, a2, a3);
#endif
}
}  // namespace weft::detail
