// Type-erased mailbox messages: a `message_node` (the mailbox link plus a pointer to a static
// table of two functions) and the typed nodes behind it: `tell_node<B, M>` holds the message,
// `ask_node<B, M, R>` also holds the promise the handler's result goes to, and
// `tombstone_node` stands in for a message whose construction threw after its mailbox slot was
// reserved (it is popped and freed like any other node, and handles nothing).
//
// One node per message, taken before the slot is reserved so a failed tell/ask leaves the
// caller's message untouched and no reserved slot is ever left without a node. Nodes come from
// the sending thread's slab (node_slab.hpp), or from operator new when they are too big for one.
//
// A node is owned by whoever holds it: the sender until push(), the mailbox until try_pop(),
// then the runner, which calls exactly one of `handle` (runs the handler, completes the promise,
// frees the node) or `drop` (frees it unhandled: an ask's promise is destroyed unset, so its
// future completes with `broken`).
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

#include <weft/detail/mailbox.hpp>
#include <weft/detail/node_slab.hpp>
#include <weft/oneshot.hpp>

namespace weft::detail {

struct message_node;

/// What a runner can do with a popped node. Both free the node.
struct message_ops {
  /// Runs the handler on *behaviour; returns the exception it threw, if any (an ask's promise
  /// has already received it).
  std::exception_ptr (*handle)(message_node* self, void* behaviour) noexcept;
  /// Destroys the message unhandled.
  void (*drop)(message_node* self) noexcept;
  /// True for an ask: handling it completes a promise, which may wake the asker onto the
  /// runner's worker (the runner then lingers before going idle; actor.cpp).
  bool replies;
};

struct message_node : mailbox_link {
  explicit message_node(const message_ops* ops) noexcept : ops_(ops) {}
  const message_ops* const ops_;
};

// ---- raw node storage ------------------------------------------------------------------------

/// Storage for one node of type N, not constructed. Throws std::bad_alloc (before anything else
/// has happened, so the caller's message and the actor are untouched).
template <class N>
void* allocate_node() {
  if constexpr (node_slab_fits(sizeof(N), alignof(N)))
    return node_slab_allocate(sizeof(N));
  else if constexpr (alignof(N) > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
    return ::operator new(sizeof(N), std::align_val_t{alignof(N)});
  else
    return ::operator new(sizeof(N));
}

/// Frees storage from allocate_node<N>() (the object in it, if any, is already destroyed).
template <class N>
void free_node(void* p) noexcept {
  // Unsized forms: clang 14 (the TSan compiler) has no sized deallocation by default.
  if constexpr (node_slab_fits(sizeof(N), alignof(N)))
    node_slab_free(p, sizeof(N));
  else if constexpr (alignof(N) > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
    ::operator delete(p, std::align_val_t{alignof(N)});
  else
    ::operator delete(p);
}

/// Destroys a node of type N and frees its storage.
template <class N>
void destroy_node(N* n) noexcept {
  n->~N();
  free_node<N>(n);
}

// ---- the typed nodes ---------------------------------------------------------------------------

/// Occupies storage allocated for an N whose construction threw. Handles nothing.
template <class N>
struct tombstone_node final : message_node {
  static_assert(sizeof(message_node) <= sizeof(N), "a tombstone must fit in the node it replaces");
  static void drop(message_node* self) noexcept {
    static_cast<tombstone_node*>(self)->~tombstone_node();
    free_node<N>(self);
  }
  static std::exception_ptr handle(message_node* self, void*) noexcept {
    drop(self);
    return {};
  }
  static constexpr message_ops ops{&handle, &drop, false};

  tombstone_node() noexcept : message_node(&ops) {}
};

/// A told message: the handler's return value, if any, is discarded.
template <class B, class M>
struct tell_node final : message_node {
  static std::exception_ptr handle(message_node* self, void* behaviour) noexcept {
    auto* n = static_cast<tell_node*>(self);
    std::exception_ptr error;
    try {
      std::invoke(*static_cast<B*>(behaviour), std::move(n->msg_));
    } catch (...) {
      error = std::current_exception();
    }
    destroy_node(n);
    return error;
  }
  static void drop(message_node* self) noexcept { destroy_node(static_cast<tell_node*>(self)); }
  static constexpr message_ops ops{&handle, &drop, false};

  template <class U>
  explicit tell_node(U&& m) : message_node(&ops), msg_(std::forward<U>(m)) {}

  M msg_;
};

/// An asked message: the handler's result (or exception) completes `promise_`.
template <class B, class M, class R>
struct ask_node final : message_node {
  static std::exception_ptr handle(message_node* self, void* behaviour) noexcept {
    auto* n = static_cast<ask_node*>(self);
    std::exception_ptr error;
    try {
      if constexpr (std::is_void_v<R>) {
        std::invoke(*static_cast<B*>(behaviour), std::move(n->msg_));
        n->promise_.set_value();
      } else {
        n->promise_.set_value(R(std::invoke(*static_cast<B*>(behaviour), std::move(n->msg_))));
      }
    } catch (...) {
      error = std::current_exception();
      n->promise_.set_exception(error);
    }
    destroy_node(n);
    return error;
  }
  static void drop(message_node* self) noexcept { destroy_node(static_cast<ask_node*>(self)); }
  static constexpr message_ops ops{&handle, &drop, true};

  template <class U>
  ask_node(U&& m, promise<R>&& p) : message_node(&ops), msg_(std::forward<U>(m)), promise_(std::move(p)) {}

  M msg_;
  promise<R> promise_;
};

}  // namespace weft::detail
