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
// An indirect jump is predicted from the branch history that led to it, which differs between
// A's and B's paths, so the jump into each task's own loop is predicted. The caller's `call`
// leaves one return address in the RSB that no `ret` pops: the RSB is a ring, so older entries
// are overwritten, which costs at most one missed return when the caller's own frames unwind.
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

namespace weft::detail {
/// What switch_call can call: four integer arguments, an integer result, no exceptions.
using switch_call_fn = std::uintptr_t (*)(void*, void*, std::int64_t, void*) noexcept;
}  // namespace weft::detail

// Not under x32 (untested) nor CET (-fcf-protection: the trampoline's call is never matched by
// a `ret`, which a shadow stack rejects, and its jump lands on no `endbr64`).
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
  return weft_detail_switch_call(a0, a1, a2, a3, fn);
#else
  return fn(a0, a1, a2, a3);
#endif
}
}  // namespace weft::detail
