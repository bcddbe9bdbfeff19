// tests/fault/fault_support.hpp: injected failures for the fault-injection suite (issue 7 item 3).
//
//   fragile             a tracked_move_only payload whose copy and move constructors throw
//                       fault_error at a chosen count (arm_moves(n): the n-th copy/move from now,
//                       counted across all threads, throws; disarm_moves() stops it). A throwing
//                       move leaves its source untouched (the strong guarantee), so a caller whose
//                       send threw still holds the value and the test can check it.
//   arm_allocs(n)       the n-th operator new on THIS thread from now throws std::bad_alloc
//                       (alloc_hook.cpp replaces the global operator new/delete of this
//                       executable); allocations_left() > 0 afterwards means the operation
//                       finished before the failure point (the sweep is over).
//
// Lifetimes are counted by tracked.hpp (leak_check): nothing leaked, nothing destroyed twice.
#pragma once

#include <atomic>
#include <stdexcept>

#include "support/tracked.hpp"

namespace weft::test::fault {

struct fault_error : std::runtime_error {
  fault_error() : std::runtime_error("fault injection: copy/move constructor threw") {}
};

inline std::atomic<long>& move_countdown() {
  static std::atomic<long> c{0};
  return c;
}
/// The n-th copy or move of a fragile from now throws (n >= 1).
inline void arm_moves(long n) { move_countdown().store(n, std::memory_order_seq_cst); }  // seq_cst: test setup
inline void disarm_moves() { move_countdown().store(0, std::memory_order_seq_cst); }     // seq_cst: test setup
/// True if the armed throw has not happened yet.
inline bool moves_pending() { return move_countdown().load(std::memory_order_seq_cst) > 0; }  // seq_cst: test check

inline void maybe_throw() {
  // relaxed: a plain countdown; the CAS makes exactly one copy/move see 1.
  long c = move_countdown().load(std::memory_order_relaxed);
  while (c > 0) {
    // relaxed: see above; nothing is published through the counter.
    if (move_countdown().compare_exchange_weak(c, c - 1, std::memory_order_relaxed, std::memory_order_relaxed)) {
      if (c == 1) throw fault_error();
      return;
    }
  }
}

class fragile {
 public:
  explicit fragile(int v) : t_(v) {}
  fragile(fragile&& o) : t_((maybe_throw(), std::move(o.t_))) {}
  fragile(const fragile& o) : t_((maybe_throw(), tracked_move_only(o.t_.value()))) {}
  fragile& operator=(fragile&& o) noexcept = default;
  fragile& operator=(const fragile& o) = delete;
  ~fragile() = default;
  int value() const { return t_.value(); }
  bool is_moved_from() const { return t_.is_moved_from(); }

 private:
  tracked_move_only t_;
};
static_assert(!std::is_nothrow_move_constructible_v<fragile>, "fragile must take the throwing-move paths");

// ---- allocation failure (alloc_hook.cpp) ----
void arm_allocs(long n);
void disarm_allocs();
/// > 0: the armed failure has not happened (the operation needed fewer allocations).
long allocations_left();
/// False where operator new cannot be replaced (ThreadSanitizer): allocation tests skip.
bool alloc_injection_available();

/// RAII: disarms both injections at scope exit (a failed ASSERT must not leave them armed).
struct disarm_on_exit {
  disarm_on_exit() = default;
  disarm_on_exit(const disarm_on_exit&) = delete;
  disarm_on_exit& operator=(const disarm_on_exit&) = delete;
  ~disarm_on_exit() {
    disarm_moves();
    disarm_allocs();
  }
};

}  // namespace weft::test::fault
