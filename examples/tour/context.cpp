// Tour 3 — context: cancellation and deadlines that flow down to every blocking call.
//
// with_cancel(parent) / with_timeout(parent, d) / with_deadline(parent, t) make a child
// context and a cancel function. Pass the context to blocking calls (send(v, ctx),
// recv(ctx), select's on_done(ctx, f)): they return `cancelled` or `timeout` as soon as it
// ends. Cancelling a parent cancels every descendant; a child never cancels its parent.
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}
}  // namespace

int main() {
  using namespace std::chrono_literals;

  // 1. Cancel a blocked receive from another thread. The child (with its own 60 s deadline)
  //    ends with the parent's cause.
  auto [root, cancel_root] = weft::with_cancel(weft::background());
  auto [request, cancel_request] = weft::with_timeout(root, 60s);
  auto [tx, rx] = weft::make_chan<int>(1);  // nobody sends
  weft::status got = weft::status::ok;
  std::thread worker([ctx = request, r = rx, &got]() mutable { got = r.recv(ctx).code(); });
  cancel_root();  // e.g. the user pressed Ctrl-C
  worker.join();
  check(got == weft::status::cancelled, "the blocked recv returned cancelled");
  check(request.err() == weft::status::cancelled, "the child took the parent's cause");

  // 2. A deadline: the receive gives up with `timeout`, and err() says why.
  auto [quick, cancel_quick] = weft::with_timeout(weft::background(), 20ms);
  check(rx.recv(quick).code() == weft::status::timeout && quick.err() == weft::status::timeout,
        "recv(ctx) past the deadline: timeout");

  // 3. A child never cancels its parent.
  auto [parent, cancel_parent] = weft::with_cancel(weft::background());
  auto [child, cancel_child] = weft::with_cancel(parent);
  cancel_child();
  check(child.err() == weft::status::cancelled && parent.err() == weft::status::ok, "cancelling a child leaves the parent");

  // 4. In select: stop waiting for work when the context ends.
  bool stopped = false;
  cancel_parent();
  weft::select(weft::on_recv(rx, [](weft::result<int>&&) {}), weft::on_done(parent, [&] { stopped = true; }));
  check(stopped, "on_done(ctx) fired once the context was cancelled");

  // 5. A value that is there completes at once, whatever the context.
  tx.send(7);
  check(rx.recv(parent).value() == 7, "a ready value is delivered even to an ended context");

  cancel_request();  // release the rest (idempotent)
  cancel_quick();
  return failures == 0 ? 0 : 1;
}
