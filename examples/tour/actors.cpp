// Tour 7 — actors: state owned by one handler at a time, reached by tell and ask.
//
// spawn_actor<B>(args...) builds B(args...) and returns an actor_ref<B>. B's operator()
// overloads are its handlers, chosen by the message type; they never run concurrently, so B
// needs no lock. tell(m) queues and returns (ok | closed | full); ask(m) returns a future of the
// handler's result. A handler that throws fails that ask; restart_policy rebuilds the actor.
#include <weft/weft.hpp>

#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

struct deposit {
  long cents;
};
struct withdraw {
  long cents;
};
struct balance {};

class account {
 public:
  void operator()(deposit d) { cents_ += d.cents; }
  long operator()(withdraw w) {  // ask returns the new balance, or fails
    if (w.cents > cents_) throw std::runtime_error("insufficient funds");
    return cents_ -= w.cents;
  }
  long operator()(balance) const { return cents_; }

 private:
  long cents_ = 0;  // touched only by handlers: no lock
};
}  // namespace

int main() {
  weft::actor_ref<account> acct = weft::spawn_actor<account>();

  // 1. Four threads deposit concurrently; the actor applies one message at a time.
  std::vector<std::thread> tellers;
  for (int t = 0; t < 4; ++t)
    tellers.emplace_back([acct] {
      for (int i = 0; i < 1000; ++i) acct.tell(deposit{1});
    });
  for (auto& t : tellers) t.join();  // the tells happen-before the ask below: it sees them all
  check(acct.ask(balance{}).get().value() == 4000, "ask(balance) after 4,000 concurrent deposits");

  // 2. ask gets the handler's return value, or `failed` with its exception.
  check(acct.ask(withdraw{1500}).get().value() == 2500, "withdraw returned the new balance");
  weft::result<long> overdraft = acct.ask(withdraw{1'000'000}).get();
  check(overdraft.code() == weft::status::failed, "a throwing handler fails that ask");

  // 3. With restart_policy the actor is rebuilt after a throw (here: the account starts at
  //    zero again); without it, the actor would have ended. Our account had no policy:
  weft::receiver<weft::exit_info> exit = acct.monitor();
  weft::result<weft::exit_info> ended = exit.recv();  // the throw above ended it
  check(ended && ended->reason == weft::exit_reason::failed, "monitor(): the actor ended with failed");
  check(acct.tell(deposit{1}) == weft::status::closed, "tell to an ended actor: closed");

  weft::actor_options opts;
  opts.restart.max_restarts = 3;
  weft::actor_ref<account> sturdy = weft::spawn_actor<account>(opts);
  sturdy.tell(deposit{10});
  (void)sturdy.ask(withdraw{99}).get();  // throws inside: restarted, state rebuilt
  check(sturdy.ask(balance{}).get().value() == 0, "restarted actor: fresh state, still answering");

  // 4. stop(): refuse new messages, handle the queued ones, end.
  weft::receiver<weft::exit_info> sturdy_exit = sturdy.monitor();
  sturdy.tell(deposit{5});
  sturdy.stop();
  check(sturdy.tell(deposit{1}) == weft::status::closed, "after stop(): closed");
  check(sturdy_exit.recv()->reason == weft::exit_reason::stopped, "monitor(): stopped");
  return failures == 0 ? 0 : 1;
}
