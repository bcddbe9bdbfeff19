// Replaces the global operator new/delete of weft_fault_tests so that a test can make the n-th
// allocation of its own thread throw std::bad_alloc (fault_support.hpp, arm_allocs). Other threads
// (runtime workers, gtest) are never failed: the countdown is thread-local, so a failure lands
// exactly in the operation the test called. Memory comes from malloc/aligned_alloc, so ASan still
// sees every block. Under ThreadSanitizer (clang's runtime defines operator new/delete in a static
// archive: a second definition does not link) the replacement is left out and
// alloc_injection_available() is false: the allocation-failure tests skip there.
#include <cstddef>
#include <cstdlib>
#include <new>

#include "fault_support.hpp"

#if defined(__SANITIZE_THREAD__)
#define WEFT_FAULT_NO_ALLOC_HOOK 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_FAULT_NO_ALLOC_HOOK 1
#endif
#endif

namespace weft::test::fault {
namespace {
constinit thread_local long t_countdown = 0;  // > 0: armed; the allocation that takes it to 0 fails

[[maybe_unused]] bool fail_now() noexcept {
  if (t_countdown <= 0) return false;
  return --t_countdown == 0;
}
}  // namespace

void arm_allocs(long n) { t_countdown = n; }
void disarm_allocs() { t_countdown = 0; }
long allocations_left() { return t_countdown; }
bool alloc_injection_available() {
#if defined(WEFT_FAULT_NO_ALLOC_HOOK)
  return false;
#else
  return true;
#endif
}

}  // namespace weft::test::fault

#if !defined(WEFT_FAULT_NO_ALLOC_HOOK)
namespace {
void* allocate(std::size_t n) {
  if (weft::test::fault::fail_now()) throw std::bad_alloc();
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* allocate_aligned(std::size_t n, std::align_val_t al) {
  if (weft::test::fault::fail_now()) throw std::bad_alloc();
  const auto a = static_cast<std::size_t>(al);
  const std::size_t size = ((n == 0 ? 1 : n) + a - 1) / a * a;  // aligned_alloc wants a multiple
  void* p = std::aligned_alloc(a, size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, std::align_val_t al) { return allocate_aligned(n, al); }
void* operator new[](std::size_t n, std::align_val_t al) { return allocate_aligned(n, al); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif  // !WEFT_FAULT_NO_ALLOC_HOOK
