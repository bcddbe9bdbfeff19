// tests/fuzz/chan_fuzz.cpp: a libFuzzer target that drives one channel through a random,
// single-threaded sequence of operations (try_send, try_recv, recv_for(0), send_for(0),
// close, copy / move / drop a handle, queries, calls on moved-from handles) and compares every
// result with a sequential model: a FIFO queue with a capacity, a closed flag and counts of
// live senders and receivers. Values count their lives, so a leak or a double destruction is
// found too. On a mismatch it prints the step and aborts.
//
// Input bytes: [flavor][capacity] then one byte per operation (+ one operand byte).
// Built as weft_chan_fuzz with WEFT_BUILD_FUZZ (clang, -fsanitize=fuzzer); the same function
// runs without libFuzzer through replay_main.cpp (weft_chan_fuzz_replay, a ctest test).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include <weft/weft.hpp>

namespace {

// A value that counts its lives and detects a second destruction.
struct item {
  static inline long live = 0;
  static inline long double_destroys = 0;
  static constexpr unsigned alive_magic = 0xA11CEu, dead_magic = 0xDEADu;
  explicit item(int x) : v(x) { ++live; }
  item(item&& o) noexcept : v(o.v) {
    o.v = -1;
    ++live;
  }
  item(const item&) = delete;
  item& operator=(const item&) = delete;
  item& operator=(item&&) = delete;
  ~item() {
    if (magic != alive_magic) {
      ++double_destroys;
      return;
    }
    magic = dead_magic;
    --live;
  }
  int v;
  unsigned magic = alive_magic;
};

[[noreturn]] void fail(std::size_t step, const char* what, long got, long want) {
  std::fprintf(stderr, "chan_fuzz: step %zu: %s: got %ld, want %ld\n", step, what, got, want);
  std::fflush(stderr);
  std::abort();
}

void expect(bool ok, std::size_t step, const char* what, long got, long want) {
  if (!ok) fail(step, what, got, want);
}

enum class flavor_kind { unbuffered, bounded, unbounded };

struct model {
  flavor_kind kind = flavor_kind::bounded;
  std::size_t cap = 1;
  std::deque<int> q;
  bool closed = false;  // close() was called
  int senders = 1;
  int receivers = 1;

  bool recv_closed() const { return closed || senders == 0; }
  bool send_closed() const { return closed || senders == 0 || receivers == 0; }
  std::size_t capacity() const {
    return kind == flavor_kind::unbuffered ? 0 : kind == flavor_kind::unbounded ? SIZE_MAX : cap;
  }
  weft::status try_send() const {
    if (send_closed()) return weft::status::closed;
    if (kind == flavor_kind::unbuffered) return weft::status::full;
    if (kind == flavor_kind::bounded && q.size() >= cap) return weft::status::full;
    return weft::status::ok;
  }
};

template <class H>
struct slot {
  std::optional<H> h;  // nullopt: dropped
  bool moved_from = false;
};

// Calls f on a moved-from handle and checks it throws weft::error with code closed.
template <class F>
void expect_moved_from_throws(std::size_t step, F&& f) {
  try {
    f();
  } catch (const weft::error& e) {
    expect(e.code() == weft::status::closed, step, "moved-from handle: error code", static_cast<long>(e.code()),
           static_cast<long>(weft::status::closed));
    return;
  }
  fail(step, "moved-from handle: no weft::error thrown", 0, 1);
}

void run(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return;
  model m;
  m.kind = static_cast<flavor_kind>(data[0] % 3);
  m.cap = 1 + data[1] % 6;
  const long live0 = item::live;
  {
    auto ch = m.kind == flavor_kind::unbuffered  ? weft::make_chan<item>(0)
              : m.kind == flavor_kind::unbounded ? weft::make_unbounded_chan<item>()
                                                 : weft::make_chan<item>(m.cap);
    std::vector<slot<weft::sender<item>>> tx(1);
    std::vector<slot<weft::receiver<item>>> rx(1);
    tx[0].h.emplace(std::move(ch.tx));
    rx[0].h.emplace(std::move(ch.rx));
    int next_value = 0;
    for (std::size_t i = 2; i + 1 < size; i += 2) {
      const std::size_t step = i / 2;
      const std::uint8_t op = data[i] % 12, arg = data[i + 1];
      auto& s = tx[arg % tx.size()];
      auto& r = rx[arg % rx.size()];
      const bool s_live = s.h.has_value() && !s.moved_from;
      const bool r_live = r.h.has_value() && !r.moved_from;
      switch (op) {
        case 0:    // try_send
        case 1: {  // send_for(0)
          if (!s.h) break;
          item v(next_value);
          if (s.moved_from) {
            expect_moved_from_throws(step, [&] { (void)s.h->try_send(std::move(v)); });
            expect(v.v == next_value, step, "value after a throwing send", v.v, next_value);
            break;
          }
          const weft::status st = op == 0 ? s.h->try_send(std::move(v)) : s.h->send_for(std::move(v), std::chrono::seconds(0));
          weft::status want = m.try_send();
          if (op == 1 && want == weft::status::full) want = weft::status::timeout;
          expect(st == want, step, "try_send/send_for(0) status", static_cast<long>(st), static_cast<long>(want));
          if (st == weft::status::ok) {
            m.q.push_back(next_value);
          } else {
            expect(v.v == next_value, step, "failed send kept the value", v.v, next_value);
          }
          ++next_value;
          break;
        }
        case 2:    // try_recv
        case 3: {  // recv_for(0)
          if (!r.h) break;
          if (r.moved_from) {
            expect_moved_from_throws(step, [&] { (void)r.h->try_recv(); });
            break;
          }
          auto got = op == 2 ? r.h->try_recv() : r.h->recv_for(std::chrono::seconds(0));
          if (!m.q.empty()) {
            expect(static_cast<bool>(got), step, "recv with a value queued: status", static_cast<long>(got.code()), 0);
            expect(got->v == m.q.front(), step, "recv: FIFO value", got->v, m.q.front());
            m.q.pop_front();
          } else {
            const weft::status want = m.recv_closed() ? weft::status::closed
                                      : op == 2       ? weft::status::empty
                                                      : weft::status::timeout;
            expect(got.code() == want, step, "recv on empty: status", static_cast<long>(got.code()),
                   static_cast<long>(want));
          }
          break;
        }
        case 4:  // close
          if (!s.h) break;
          if (s.moved_from) {
            expect_moved_from_throws(step, [&] { s.h->close(); });
            break;
          }
          s.h->close();
          m.closed = true;
          break;
        case 5:  // drop a sender handle
          if (!s.h) break;
          if (s_live) --m.senders;
          s.h.reset();
          s.moved_from = false;
          break;
        case 6:  // drop a receiver handle
          if (!r.h) break;
          if (r_live) --m.receivers;
          r.h.reset();
          r.moved_from = false;
          break;
        case 7:  // copy a sender (a copy of a moved-from handle is empty too)
          if (!s.h || tx.size() >= 6) break;
          tx.push_back({});
          tx.back().h.emplace(*tx[arg % (tx.size() - 1)].h);
          tx.back().moved_from = tx[arg % (tx.size() - 1)].moved_from;
          if (!tx.back().moved_from) ++m.senders;
          break;
        case 8:  // copy a receiver
          if (!r.h || rx.size() >= 6) break;
          rx.push_back({});
          rx.back().h.emplace(*rx[arg % (rx.size() - 1)].h);
          rx.back().moved_from = rx[arg % (rx.size() - 1)].moved_from;
          if (!rx.back().moved_from) ++m.receivers;
          break;
        case 9: {  // move a sender or a receiver into a new slot; the source becomes moved-from
          if (arg & 0x80) {
            if (!s.h || tx.size() >= 6) break;
            auto& src = tx[arg % tx.size()];
            slot<weft::sender<item>> dst;
            dst.h.emplace(std::move(*src.h));
            dst.moved_from = src.moved_from;
            src.moved_from = true;
            tx.push_back(std::move(dst));
          } else {
            if (!r.h || rx.size() >= 6) break;
            auto& src = rx[arg % rx.size()];
            slot<weft::receiver<item>> dst;
            dst.h.emplace(std::move(*src.h));
            dst.moved_from = src.moved_from;
            src.moved_from = true;
            rx.push_back(std::move(dst));
          }
          break;
        }
        default: {  // queries
          if (s.h) {
            if (s.moved_from) {
              expect_moved_from_throws(step, [&] { (void)s.h->size(); });
              expect_moved_from_throws(step, [&] { (void)s.h->is_closed(); });
              expect_moved_from_throws(step, [&] { (void)s.h->capacity(); });
            } else {
              expect(s.h->is_closed() == m.send_closed(), step, "sender is_closed", s.h->is_closed(), m.send_closed());
              expect(s.h->capacity() == m.capacity(), step, "sender capacity", static_cast<long>(s.h->capacity()),
                     static_cast<long>(m.capacity()));
              expect(s.h->size() == m.q.size(), step, "sender size", static_cast<long>(s.h->size()),
                     static_cast<long>(m.q.size()));
            }
          }
          if (r.h) {
            if (r.moved_from) {
              expect_moved_from_throws(step, [&] { (void)r.h->size(); });
              expect_moved_from_throws(step, [&] { (void)r.h->is_closed(); });
            } else {
              expect(r.h->is_closed() == m.recv_closed(), step, "receiver is_closed", r.h->is_closed(),
                     m.recv_closed());
              expect(r.h->size() == m.q.size(), step, "receiver size", static_cast<long>(r.h->size()),
                     static_cast<long>(m.q.size()));
            }
          }
          break;
        }
      }
      // Every value not yet received is alive in the channel while someone can receive it;
      // every other item (temporaries, failed sends) is gone.
      if (m.receivers > 0) {
        expect(item::live - live0 == static_cast<long>(m.q.size()), step, "live values", item::live - live0,
               static_cast<long>(m.q.size()));
      }
      expect(item::double_destroys == 0, step, "double destruction", item::double_destroys, 0);
    }
  }
  expect(item::live == live0, size, "values leaked after every handle was dropped", item::live - live0, 0);
  expect(item::double_destroys == 0, size, "double destruction", item::double_destroys, 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run(data, size);
  return 0;
}
