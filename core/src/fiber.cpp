// The calling thread's own stack, described for the sanitizers' fiber switch annotations.
#include <pthread.h>

#include <cstdio>
#include <cstdlib>

#include <weft/detail/fiber_switch.hpp>

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
