// Shared pieces of the Relacy models: a payload type whose accesses Relacy sees, the blocking
// loop of the ring flavors, and the registry the driver (relacy_main.cpp) runs from.
#pragma once

#include "rl_bridge.hpp"

#include <cstddef>
#include <vector>

namespace weft::models {

// ---- payload: a message whose construction, move-out and destruction are Relacy accesses ----
//
// The ring stores values in raw slot storage, re-constructed in place every lap. Relacy checks
// races only on its own rl::var objects, and a fresh rl::var per construction would hide a race
// between the receiver that destroys a slot's value and the sender that builds the next one. So
// each payload object reports its accesses to a Relacy variable keyed by its ADDRESS (`cell`):
// the slot at one address keeps one variable across laps, and
//   construct = write, move-out = read of the source, destroy = write
// model what a real T does to the slot's bytes. The value itself travels in a plain int.
class payload_cells {
 public:
  static constexpr std::size_t capacity = 32;
  void reset() noexcept { used_ = 0; }
  rl::var<int>& cell(const void* addr) {
    for (std::size_t i = 0; i < used_; ++i)
      if (addr_[i] == addr) return cells_[i];
    RL_ASSERT(used_ < capacity);
    addr_[used_] = addr;
    return cells_[used_++];
  }

 private:
  const void* addr_[capacity] = {};
  rl::var<int> cells_[capacity];
  std::size_t used_ = 0;
};

/// The current iteration's cells (set by each test's before(); Relacy runs one test at a time).
inline payload_cells* g_cells = nullptr;
/// Payload objects alive now (Relacy runs one fiber at a time: a plain counter is exact).
inline int g_live_payloads = 0;

struct payload {
  int v;
  explicit payload(int x) : v(x) {
    ++g_live_payloads;
    g_cells->cell(this)($).store(x);
  }
  payload(payload&& o) noexcept : v(o.v) {
    ++g_live_payloads;
    (void)g_cells->cell(&o)($).load();    // the move reads the source...
    g_cells->cell(this)($).store(o.v);    // ...and writes the destination
  }
  payload(const payload&) = delete;
  payload& operator=(const payload&) = delete;
  ~payload() {
    --g_live_payloads;
    g_cells->cell(this)($).store(-1);  // destruction writes the bytes too
  }
};

// ---- the blocking loop -------------------------------------------------------------------------

/// The shape of chan_state.hpp:wait_for_ring without the spin phase, contexts and deadlines:
/// try_once -> register -> re-check (abort if ready) -> wait -> unregister, repeated.
template <class P, class TryOnce, class IsReady>
void block_until(weft::detail::basic_waker_list<P>& list, typename P::parker& pk, TryOnce&& try_once,
                 IsReady&& is_ready, time_point deadline = no_deadline) {
  while (!try_once()) {
    weft::detail::basic_waiter<P> w(pk);
    weft::detail::basic_waker_entry<P> e{&w, 0};
    list.register_entry(e);
    if (is_ready()) w.abort();
    w.wait_until(deadline);
    list.unregister_entry(e);
  }
}

// ---- the registry --------------------------------------------------------------------------------

struct model_entry {
  const char* name;
  const char* what;                     // one line: what it checks, or which order it weakens
  rl::test_result_e expect;             // success for a model, the expected report for a mutation
  rl::test_result_e (*run)(const run_options&, rl::iteration_t*);
};

inline std::vector<model_entry>& registry() {
  static std::vector<model_entry> r;
  return r;
}

struct register_model {
  register_model(const char* name, const char* what, rl::test_result_e expect,
                 rl::test_result_e (*run)(const run_options&, rl::iteration_t*)) {
    registry().push_back({name, what, expect, run});
  }
};

/// A mutation: the production policy with ONE memory order (`Field`) weakened to `Order`.
#define WEFT_MUTATION(Name, Field, Order)                                 \
  struct Name : rl_policy<Name> {                                         \
    static constexpr std::memory_order Field = std::memory_order_##Order; \
  }

#define WEFT_MODEL_CAT2(a, b) a##b
#define WEFT_MODEL_CAT(a, b) WEFT_MODEL_CAT2(a, b)
/// Registers the Relacy test `Test` under `name`; `expect` is what Relacy must report.
#define WEFT_MODEL(name, what, expect, ...)                                                      \
  static const ::weft::models::register_model WEFT_MODEL_CAT(weft_model_reg_, __LINE__)(       \
      name, what, expect, &::weft::models::run_model<__VA_ARGS__>)

}  // namespace weft::models
