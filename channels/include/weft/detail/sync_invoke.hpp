// Calling user code that may return a value, a result, a status or nothing, and may throw, and
// turning every outcome into a result<R>. Shared by group (task bodies), retry,
// circuit_breaker and call_with_timeout, so "what counts as a failure" is decided in one place:
//   returns result<R>       -> that result (ok or not)
//   returns status          -> result<void> with that status (status::ok is a success)
//   returns void            -> result<void>, ok
//   returns anything else R -> result<R>, ok
//   throws                  -> failed, with the exception (result::exception())
#pragma once

#include <exception>
#include <functional>
#include <type_traits>
#include <utility>

#include <weft/status.hpp>

namespace weft::detail {

template <class X>
struct as_result {
  using type = result<X>;
};
template <class R>
struct as_result<result<R>> {
  using type = result<R>;
};
template <>
struct as_result<status> {
  using type = result<void>;
};
template <>
struct as_result<void> {
  using type = result<void>;
};

/// The result<R> that invoke_as_result(f, args...) returns.
template <class F, class... Args>
using invoke_as_result_t =
    typename as_result<std::remove_cvref_t<std::invoke_result_t<F&, Args...>>>::type;

template <class X>
inline constexpr bool is_result_v = false;
template <class R>
inline constexpr bool is_result_v<result<R>> = true;

/// Calls f(args...) and turns its outcome into a result (table above). Never lets an exception
/// from f escape; only a throwing move constructor of R could still throw.
template <class F, class... Args>
invoke_as_result_t<F, Args...> invoke_as_result(F& f, Args&&... args) {
  using raw = std::remove_cvref_t<std::invoke_result_t<F&, Args...>>;
  using out = invoke_as_result_t<F, Args...>;
  try {
    if constexpr (std::is_void_v<raw>) {
      std::invoke(f, std::forward<Args>(args)...);
      return out();
    } else if constexpr (std::is_same_v<raw, status>) {
      return out(static_cast<status>(std::invoke(f, std::forward<Args>(args)...)));
    } else {
      return out(std::invoke(f, std::forward<Args>(args)...));
    }
  } catch (...) {
    return out(std::current_exception());
  }
}

/// Calls f(ctx) if f takes a context, else f(); the outcome as a result.
template <class F, class Ctx>
auto invoke_with_optional_context(F& f, const Ctx& ctx) {
  if constexpr (std::is_invocable_v<F&, const Ctx&>)
    return invoke_as_result(f, ctx);
  else
    return invoke_as_result(f);
}

/// The result type of invoke_with_optional_context(f, ctx).
template <class F, class Ctx>
using invoke_with_optional_context_t =
    decltype(invoke_with_optional_context(std::declval<F&>(), std::declval<const Ctx&>()));

}  // namespace weft::detail
