// tests/stress/lin_checker.hpp: a small linearizability checker (Wing & Gong's search with
// Lowe's memoisation) for histories of FIFO-channel operations, against the sequential model
// "a FIFO queue with a capacity".
//
// A history is a list of completed operations, each with an invocation and a response
// ticket taken from one global seq_cst counter (so a.res < b.inv means a finished before b
// started in real time). Sequential model (capacity c; SIZE_MAX for unbounded):
//   send ok(v)      size < c, push v           send failed (full/timeout)  size == c
//   recv ok(v)      front == v, pop            recv failed (empty/timeout) size == 0
// The search linearizes, one at a time, any operation invoked before every pending
// operation's response, applies it to the model, and backtracks on a mismatch; visited
// (set of linearized ops, queue contents) states are memoised, so short histories (up to
// ~24 operations) check in microseconds.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace weft::test {

struct lin_op {
  enum class kind { send, recv };
  kind k;
  bool ok;           // the operation returned ok
  int value;         // send: the value sent; recv ok: the value received
  std::uint64_t inv;  // ticket before the call
  std::uint64_t res;  // ticket after the return
  int thread;
};

class fifo_lin_checker {
 public:
  fifo_lin_checker(std::vector<lin_op> history, std::size_t capacity)
      : h_(std::move(history)), cap_(capacity) {}

  /// True iff some linearization of the history is legal for the FIFO model.
  bool check() {
    if (h_.size() > 63) return false;
    std::deque<int> q;
    return search(0, q);
  }

  std::string describe() const {
    std::ostringstream os;
    for (const auto& o : h_) {
      os << "  t" << o.thread << " [" << o.inv << "," << o.res << "] "
         << (o.k == lin_op::kind::send ? "send(" + std::to_string(o.value) + ")" : std::string("recv"))
         << " -> " << (o.ok ? "ok" : "fail");
      if (o.k == lin_op::kind::recv && o.ok) os << " " << o.value;
      os << "\n";
    }
    return os.str();
  }

 private:
  bool search(std::uint64_t done, std::deque<int>& q) {
    const std::uint64_t all = (h_.size() == 64) ? ~0ull : ((1ull << h_.size()) - 1);
    if (done == all) return true;
    if (!seen_.insert({done, std::vector<int>(q.begin(), q.end())}).second) return false;
    // The earliest response among pending ops bounds which ops may go next.
    std::uint64_t min_res = UINT64_MAX;
    for (std::size_t i = 0; i < h_.size(); ++i)
      if (!(done >> i & 1)) min_res = std::min(min_res, h_[i].res);
    for (std::size_t i = 0; i < h_.size(); ++i) {
      if (done >> i & 1) continue;
      const lin_op& o = h_[i];
      if (o.inv > min_res) continue;  // some pending op finished before this one started
      if (o.k == lin_op::kind::send) {
        if (o.ok) {
          if (q.size() >= cap_) continue;
          q.push_back(o.value);
          if (search(done | (1ull << i), q)) return true;
          q.pop_back();
        } else {
          if (q.size() != cap_) continue;
          if (search(done | (1ull << i), q)) return true;
        }
      } else {
        if (o.ok) {
          if (q.empty() || q.front() != o.value) continue;
          q.pop_front();
          if (search(done | (1ull << i), q)) return true;
          q.push_front(o.value);
        } else {
          if (!q.empty()) continue;
          if (search(done | (1ull << i), q)) return true;
        }
      }
    }
    return false;
  }

  std::vector<lin_op> h_;
  std::size_t cap_;
  std::set<std::pair<std::uint64_t, std::vector<int>>> seen_;
};

}  // namespace weft::test
