// The calling thread's own stack, described for the sanitizers' fiber switch annotations.
#include <pthread.h>

#include <cstdio>
#include <cstdlib>

#include <weft/detail/fiber_switch.hpp>
#include <weft/detail/switch_call.hpp>

namespace weft::detail {

fiber_side this_thread_fiber_side() noexcept {
  fiber_side s;
#if defined(WEFT_DETAIL_ASAN_FIBERS)
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    std::size_t size = 0;
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    s.stack_lo_ = static_cast<std::byte*>(addr);
    s.stack_size_ = size;
  }
#endif
#if defined(WEFT_DETAIL_TSAN_FIBERS)
  s.tsan_fiber_ = __tsan_get_current_fiber();
#endif
  return s;
}

void fiber_slot_not_empty() noexcept {
  std::fputs("weft: internal error: a task's fiber slot still held a context when the scheduler refilled it "
             "(scheduler.cpp D1-D2)\n", stderr);
  std::abort();
}

}  // namespace weft::detail

#if WEFT_DETAIL_SWITCH_CALL
// weft_detail_switch_call(a0, a1, a2, a3, fn) (switch_call.hpp): fn(a0, a1, a2, a3) with the
// argument and result registers as they came, then back to the caller by `pop; jmp` instead of
// `ret`. A frame-pointer frame, so that frame-pointer unwinders (ASan's, perf -g) reach the
// caller too; the push also makes the call to fn 16-byte aligned (entered 8 off, as every
// function). rcx is free once fn returned (neither an argument nor a result register).
asm(R"(
  .pushsection .text
  .globl weft_detail_switch_call
  .type weft_detail_switch_call, @function
  .p2align 4
weft_detail_switch_call:
  .cfi_startproc
  push %rbp
  .cfi_adjust_cfa_offset 8
  .cfi_rel_offset %rbp, 0
  mov %rsp, %rbp
  call *%r8
  pop %rbp
  .cfi_adjust_cfa_offset -8
  .cfi_restore %rbp
  pop %rcx
  .cfi_adjust_cfa_offset -8
  .cfi_register %rip, %rcx
  jmp *%rcx
  .cfi_endproc
  .size weft_detail_switch_call, .-weft_detail_switch_call
  .popsection
)");
#endif
