// Peer `tbb`: oneTBB 2021.8 tbb::concurrent_bounded_queue (Debian libtbb-dev), whose push blocks
// while the queue is at its capacity and pop while it is empty.
//   W1, W2  set_capacity(1024)
//   W3      two queues with set_capacity(1)
//   W4 (a capacity of 0 is not a rendezvous: push would wait for ever), W5 (no green threads),
//   W6 (no select), W7-W9 (no actors), W10 (no timed pop: only try_pop or an abort()): not
//   offered.
// https://oneapi-src.github.io/oneTBB/main/tbb_userguide/Concurrent_Queue_Classes.html
#include "common/peer.hpp"
#include "common/queue_workloads.hpp"

#include <tbb/concurrent_queue.h>

namespace {

using namespace peer;

struct cbq {
  tbb::concurrent_bounded_queue<std::uint64_t> q;
  explicit cbq(std::size_t capacity) { q.set_capacity(static_cast<std::ptrdiff_t>(capacity)); }
  struct producer {
    cbq& b;
    explicit producer(cbq& x) : b(x) {}
    void push(std::uint64_t v) { b.q.push(v); }
  };
  struct consumer {
    cbq& b;
    explicit consumer(cbq& x) : b(x) {}
    std::uint64_t pop() {
      std::uint64_t v = 0;
      b.q.pop(v);
      return v;
    }
  };
};

}  // namespace

int main(int argc, char** argv) {
  return peer::main("tbb", argc, argv,
                    {
                        {"W1", [](const options& o) { return run_w1<cbq>(o); }},
                        {"W2", [](const options& o) { return run_w2<cbq>(o); }},
                        {"W3", [](const options& o) { return run_pingpong<cbq>("W3", o, 1); }},
                    });
}
