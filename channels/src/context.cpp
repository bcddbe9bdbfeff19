// Contexts: the cancellation tree, deadline expiry, and done() as a clock-aware channel flavor.
#include <weft/context.hpp>

#include <algorithm>

namespace weft {
namespace detail {

context_state::context_state(std::shared_ptr<context_state> parent, time_point own_deadline)
    : parent_(std::move(parent)),
      deadline_(parent_ ? std::min(own_deadline, parent_->deadline()) : own_deadline) {
  if (parent_) parent_->add_child(this);
}

context_state::~context_state() {
  if (parent_) parent_->remove_child(this);
}

void context_state::add_child(context_state* c) {
  status parent_err;
  {
    std::lock_guard lk(mu_);
    children_.push_back(c);
    // acquire: P1. Read under mu_: a cancel that completed its CAS before we took the lock
    // either sees us in children_ (it takes mu_ after the CAS) or we see its err_ here.
    parent_err = err_.load(std::memory_order_acquire);
  }
  if (parent_err != status::ok) c->cancel(parent_err);
}

void context_state::remove_child(context_state* c) noexcept {
  std::lock_guard lk(mu_);
  auto it = std::find(children_.begin(), children_.end(), c);
  if (it != children_.end()) {
    *it = children_.back();
    children_.pop_back();
  }
}

status context_state::expire() noexcept {
  cancel(status::timeout);
  // acquire: P1.
  return err_.load(std::memory_order_acquire);
}

void context_state::cancel(status cause) noexcept {
  // The first cause sticks: if the deadline already passed, that came first.
  if (cause == status::cancelled && deadline_ != no_deadline && clock::now() >= deadline_) cause = status::timeout;
  status expected = status::ok;
  // acq_rel: P1 (release our prior writes; acquire on failure is unneeded but harmless).
  if (!err_.compare_exchange_strong(expected, cause, std::memory_order_acq_rel, std::memory_order_acquire)) return;
  waiters_.disconnect_all();  // P2
  std::vector<context_state*> kids;
  {
    std::lock_guard lk(mu_);
    kids = children_;
    // Cancelling a child runs under our mu_ so it cannot be destroyed meanwhile (its
    // destructor takes mu_ to unlink itself).
    for (context_state* k : kids) k->cancel(cause);
  }
}

// ---- hooks used by blocking operations (chan_state.hpp) ----
status context_err(context_state* ctx) noexcept { return ctx->err(); }
time_point context_deadline(context_state* ctx) noexcept { return ctx->deadline(); }
void context_register(context_state* ctx, waker_entry& e) noexcept { ctx->waiters().register_entry(e); }
void context_unregister(context_state* ctx, waker_entry& e) noexcept { ctx->waiters().unregister_entry(e); }

namespace {

// done(): a receive-only flavor with no values: closed once the context ends.
class done_chan final : public special_chan<std::monostate> {
 public:
  explicit done_chan(std::shared_ptr<context_state> s) noexcept : s_(std::move(s)) {}
  result<std::monostate> try_recv() override {
    return is_ready() ? result<std::monostate>(status::closed) : result<std::monostate>(status::empty);
  }
  bool is_ready() noexcept override { return s_ && s_->err() != status::ok; }
  time_point ready_at() noexcept override { return s_ ? s_->deadline() : no_deadline; }
  void register_entry(waker_entry& e) noexcept override {
    if (s_) s_->waiters().register_entry(e);
  }
  void unregister_entry(waker_entry& e) noexcept override {
    if (s_) s_->waiters().unregister_entry(e);
  }
  bool is_closed() const noexcept override { return s_ && s_->err() != status::ok; }

 private:
  std::shared_ptr<context_state> s_;
};

}  // namespace

context_state* state_of(const context& ctx) noexcept { return ctx.s_.get(); }

}  // namespace detail

receiver<std::monostate> context::done() const {
  return detail::make_receiver<std::monostate>(new detail::done_chan(s_));
}

std::pair<context, cancel_fn> make_child_context(const context& parent, detail::time_point own_deadline) {
  auto s = std::make_shared<detail::context_state>(parent.s_, own_deadline);
  return {context(s), cancel_fn(s)};
}

}  // namespace weft
