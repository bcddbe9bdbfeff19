// weft/status.hpp: the outcome of every weft operation.
//
// `status` is what a send, a try_ operation or a wait returns; `result<T>` carries a value or
// a non-ok status (plus the exception when the status is `failed`); `error` is what misuse
// throws (a moved-from handle, a negative wait_group count, a select with no cases).
//
// Hot paths return a status and never throw. Only misuse and `result::value()` on a non-ok
// result throw. All of it is usable from threads and tasks alike; nothing here allocates except
// `error`'s message and a stored exception_ptr.
//
//   weft::result<int> r = rx.recv();
//   if (!r) { std::cerr << "recv: " << r.code() << '\n'; return; }
//   use(*r);
#pragma once

#include <cstdint>
#include <exception>
#include <iosfwd>
#include <new>
#include <weft/detail/source_location.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace weft {

/// The outcome of an operation. See API.md for the meaning of each value.
enum class status : std::uint8_t {
  ok,         ///< done
  closed,     ///< channel closed (and drained, for receives), other side gone, or value already taken
  timeout,    ///< the deadline passed
  cancelled,  ///< the context was cancelled
  full,       ///< a try_ send would block
  empty,      ///< a try_ receive would block
  broken,     ///< a promise was destroyed without a value
  failed,     ///< a task or handler threw; see result::exception()
  rejected,   ///< refused by policy (open circuit breaker)
};

/// "ok", "closed", ...; never null.
const char* to_string(status s) noexcept;
std::ostream& operator<<(std::ostream& os, status s);

/// What weft throws on misuse and from `result::value()` on a non-ok, non-failed result.
class error : public std::runtime_error {
 public:
  error(status code, const std::string& what) : std::runtime_error(what), code_(code) {}
  /// The status that describes the failure (`closed` for a moved-from handle, ...).
  status code() const noexcept { return code_; }

 private:
  status code_;
};

namespace detail {
/// Throws weft::error(code) with "<what> (at file:line in function)". Cold; never inlined.
[[noreturn, gnu::cold, gnu::noinline]] void throw_error(
    status code, const char* what, detail::source_location where = detail::source_location::current());
/// Throws for result::value() on a non-ok result.
[[noreturn, gnu::cold, gnu::noinline]] void throw_result(status code, const std::exception_ptr& e);
}  // namespace detail

/// A T, or a non-ok status (+ the exception when the status is `failed`).
template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T>, "result<T&> is not supported: hold a pointer");

 public:
  result(T value) noexcept(std::is_nothrow_move_constructible_v<T>) : code_(status::ok) {
    ::new (static_cast<void*>(&storage_.value)) T(std::move(value));
  }
  /// Precondition: s != ok (an ok result needs a value); result(status::ok) throws weft::error.
  result(status s) : code_(s) {
    if (s == status::ok) [[unlikely]]
      detail::throw_error(status::failed, "result<T>(status::ok) has no value: construct it from a T");
  }
  /// code() == failed; exception() == e.
  result(std::exception_ptr e) noexcept : code_(status::failed), error_(std::move(e)) {}

  result(result&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : code_(o.code_), error_(std::move(o.error_)) {
    if (code_ == status::ok) ::new (static_cast<void*>(&storage_.value)) T(std::move(o.storage_.value));
  }
  result(const result& o) requires std::is_copy_constructible_v<T> : code_(o.code_), error_(o.error_) {
    if (code_ == status::ok) ::new (static_cast<void*>(&storage_.value)) T(o.storage_.value);
  }
  result& operator=(result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (this != &o) {
      reset();
      error_ = std::move(o.error_);
      if (o.code_ == status::ok) ::new (static_cast<void*>(&storage_.value)) T(std::move(o.storage_.value));
      code_ = o.code_;
    }
    return *this;
  }
  result& operator=(const result& o) requires std::is_copy_constructible_v<T> {
    if (this != &o) {
      result tmp(o);
      *this = std::move(tmp);
    }
    return *this;
  }
  ~result() { reset(); }

  /// true iff ok.
  explicit operator bool() const noexcept { return code_ == status::ok; }
  /// Precondition: ok.
  T& operator*() noexcept { return storage_.value; }
  const T& operator*() const noexcept { return storage_.value; }
  T* operator->() noexcept { return &storage_.value; }
  const T* operator->() const noexcept { return &storage_.value; }
  /// The value; failed: rethrows the exception; any other non-ok status: throws weft::error.
  T& value() {
    if (code_ != status::ok) detail::throw_result(code_, error_);
    return storage_.value;
  }
  const T& value() const {
    if (code_ != status::ok) detail::throw_result(code_, error_);
    return storage_.value;
  }
  status code() const noexcept { return code_; }
  /// Set iff code() == failed and an exception was given.
  std::exception_ptr exception() const noexcept { return error_; }

 private:
  void reset() noexcept {
    if (code_ == status::ok) storage_.value.~T();
    code_ = status::closed;
  }
  union storage {
    storage() noexcept {}
    ~storage() {}
    T value;
  } storage_;
  status code_;
  std::exception_ptr error_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() noexcept : code_(status::ok) {}
  /// Precondition: s != ok is not required here: result<void>(status::ok) is a success.
  result(status s) noexcept : code_(s) {}
  result(std::exception_ptr e) noexcept : code_(status::failed), error_(std::move(e)) {}
  explicit operator bool() const noexcept { return code_ == status::ok; }
  void value() const {
    if (code_ != status::ok) detail::throw_result(code_, error_);
  }
  status code() const noexcept { return code_; }
  std::exception_ptr exception() const noexcept { return error_; }

 private:
  status code_;
  std::exception_ptr error_;
};

}  // namespace weft
