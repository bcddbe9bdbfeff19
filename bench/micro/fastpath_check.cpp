// weft_fastpath_check: "the fast path allocates nothing and takes no lock" (DESIGN.md,
// Performance rules), checked by counting rather than assumed.
//
// This binary replaces the global operator new/delete (every form) and interposes
// pthread_mutex_lock/trylock, counting calls only while a measured loop runs. Each case warms up
// first (so first-use allocations such as a thread's parker, or an unbounded channel's first
// blocks, are not counted), then runs N operation pairs (default 1,000,000; argv[1] overrides)
// and prints the counts. Exit status 1 if a case marked "must be 0" allocated or locked.
//
// System calls are checked from outside, because a syscall is not a function we can interpose
// reliably (futex is raw): run `strace -f -c ./weft_fastpath_check 1000000` and again with
// 2000000: the syscall counts must not grow with N (see bench/README.md for the recorded run).
#include <weft/weft.hpp>

#include <dlfcn.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

namespace {

std::atomic<bool> counting{false};
std::atomic<std::uint64_t> allocations{0};
std::atomic<std::uint64_t> locks{0};

void count_allocation() {
  // relaxed: a statistics counter read after the loop by the same thread.
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
}

void* allocate(std::size_t n) {
  count_allocation();
  if (n == 0) n = 1;
  if (void* p = std::malloc(n)) return p;
  throw std::bad_alloc();
}
void* allocate_aligned(std::size_t n, std::size_t align) {
  count_allocation();
  if (align < sizeof(void*)) align = sizeof(void*);
  n = (n + align - 1) / align * align;
  if (n == 0) n = align;
  if (void* p = std::aligned_alloc(align, n)) return p;
  throw std::bad_alloc();
}

}  // namespace

// ---- global operator new/delete, every form
void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
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
void* operator new(std::size_t n, std::align_val_t a) { return allocate_aligned(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate_aligned(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return allocate_aligned(n, static_cast<std::size_t>(a));
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return allocate_aligned(n, static_cast<std::size_t>(a));
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
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

// ---- pthread mutex interposition (std::mutex, std::shared_mutex writers, condition variables'
// mutexes): counted, then forwarded to the C library's definition.
namespace {
using mutex_fn = int (*)(pthread_mutex_t*);
mutex_fn real(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (f == nullptr) {
    std::fprintf(stderr, "weft_fastpath_check: dlsym(%s) failed\n", name);
    std::abort();
  }
  return reinterpret_cast<mutex_fn>(f);
}
void count_lock() {
  if (counting.load(std::memory_order_relaxed)) locks.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" int pthread_mutex_lock(pthread_mutex_t* m) {
  static const mutex_fn f = real("pthread_mutex_lock");
  count_lock();
  return f(m);
}
extern "C" int pthread_mutex_trylock(pthread_mutex_t* m) {
  static const mutex_fn f = real("pthread_mutex_trylock");
  count_lock();
  return f(m);
}

namespace {

struct outcome {
  std::uint64_t allocations = 0, locks = 0, failures = 0;
};

/// Runs `warmup` untimed then `n` counted iterations of `op` (which returns false on a wrong
/// result) and reports what the counted ones allocated and locked.
template <class Op>
outcome measure(std::uint64_t warmup, std::uint64_t n, Op op) {
  outcome o;
  for (std::uint64_t i = 0; i < warmup; ++i) o.failures += op(i) ? 0 : 1;
  allocations.store(0, std::memory_order_relaxed);
  locks.store(0, std::memory_order_relaxed);
  counting.store(true, std::memory_order_relaxed);
  for (std::uint64_t i = 0; i < n; ++i) o.failures += op(warmup + i) ? 0 : 1;
  counting.store(false, std::memory_order_relaxed);
  o.allocations = allocations.load(std::memory_order_relaxed);
  o.locks = locks.load(std::memory_order_relaxed);
  return o;
}

bool try_pair(weft::chan<std::uint64_t>& c, std::uint64_t v) {
  if (c.tx.try_send(std::uint64_t{v}) != weft::status::ok) return false;
  weft::result<std::uint64_t> r = c.rx.try_recv();
  return r && *r == v;
}

bool blocking_pair(weft::chan<std::uint64_t>& c, std::uint64_t v) {
  if (c.tx.send(std::uint64_t{v}) != weft::status::ok) return false;
  weft::result<std::uint64_t> r = c.rx.recv();
  return r && *r == v;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const std::uint64_t warmup = 100'000;
  int bad = 0;
  std::printf("%-44s %12s %12s %8s  %s\n", "case (N counted operations)", "allocations", "mutex_locks",
              "wrong", "expected");
  auto report = [&](const char* name, const outcome& o, bool must_be_zero) {
    const bool fail = o.failures != 0 || (must_be_zero && (o.allocations != 0 || o.locks != 0));
    bad += fail ? 1 : 0;
    std::printf("%-44s %12llu %12llu %8llu  %s%s\n", name, static_cast<unsigned long long>(o.allocations),
                static_cast<unsigned long long>(o.locks), static_cast<unsigned long long>(o.failures),
                must_be_zero ? "must be 0" : "informational", fail ? "  <-- FAIL" : "");
  };

  {
    auto c = weft::make_chan<std::uint64_t>(1024);
    report("bounded(1024) try_send+try_recv", measure(warmup, n, [&](std::uint64_t i) { return try_pair(c, i); }), true);
  }
  {
    auto c = weft::make_unbounded_chan<std::uint64_t>();
    report("unbounded try_send+try_recv", measure(warmup, n, [&](std::uint64_t i) { return try_pair(c, i); }), true);
  }
  {
    auto c = weft::make_chan<std::uint64_t>(1024);
    report("bounded(1024) send+recv (never blocking)", measure(warmup, n, [&](std::uint64_t i) { return blocking_pair(c, i); }), true);
  }
  {
    auto c = weft::make_unbounded_chan<std::uint64_t>();
    report("unbounded send+recv (never blocking)", measure(warmup, n, [&](std::uint64_t i) { return blocking_pair(c, i); }), true);
  }
  {
    // Bursts of 1,000: steady state means blocks freed by one burst serve the next.
    auto c = weft::make_unbounded_chan<std::uint64_t>();
    constexpr std::uint64_t burst = 1000;
    auto op = [&](std::uint64_t i) {
      bool ok = true;
      for (std::uint64_t k = 0; k < burst; ++k) ok &= c.tx.try_send(i * burst + k) == weft::status::ok;
      for (std::uint64_t k = 0; k < burst; ++k) {
        weft::result<std::uint64_t> r = c.rx.try_recv();
        ok &= r && *r == i * burst + k;
      }
      return ok;
    };
    report("unbounded bursts of 1000 (N/1000 bursts)", measure(warmup / burst, n / burst, op), false);
  }
  {
    std::array<weft::chan<std::uint64_t>, 4> ch{weft::make_chan<std::uint64_t>(16), weft::make_chan<std::uint64_t>(16),
                                                weft::make_chan<std::uint64_t>(16), weft::make_chan<std::uint64_t>(16)};
    for (auto& c : ch) (void)c.tx.try_send(std::uint64_t{1});
    std::uint64_t got = 0;
    auto f = [&](weft::result<std::uint64_t>&& r) { got += r ? *r : 0; };
    auto op = [&](std::uint64_t) {
      const std::size_t i = weft::select(weft::on_recv(ch[0].rx, f), weft::on_recv(ch[1].rx, f),
                                         weft::on_recv(ch[2].rx, f), weft::on_recv(ch[3].rx, f));
      return i < 4 && ch[i].tx.try_send(std::uint64_t{1}) == weft::status::ok;
    };
    report("select over 4 ready on_recv (+1 try_send)", measure(warmup, n, op), false);
  }
  {
    auto cc = weft::with_cancel(weft::background());  // not a structured binding: clang 14 cannot capture one
    const weft::context& ctx = cc.first;
    report("context err() (with_cancel child)", measure(warmup, n, [&](std::uint64_t) { return ctx.err() == weft::status::ok; }), false);
    cc.second();
  }
  std::printf("%s\n", bad == 0 ? "fast path: no allocation, no mutex lock" : "fast path check FAILED");
  return bad == 0 ? 0 : 1;
}
