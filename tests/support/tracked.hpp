// tests/support/tracked.hpp: values that count their own lives.
//
// `tracked` (copyable), `tracked_move_only` and `tracked_copy_throws` (copying throws
// `copy_error`; moving is fine) carry an int payload and count every construction, copy,
// move and destruction in one global set of atomic counters. Each object also carries a magic
// word, so a destructor that runs twice on the same object, or a read of a destroyed object,
// is counted as an error instead of passing silently.
//
// Checks:
//   leak_check guard;                 // snapshot at construction
//   ...
//   guard.expect_live(3);             // exactly 3 tracked objects alive now (relative)
//   // at scope end (or guard.verify()): nothing leaked, nothing destroyed twice or used dead.
//
// A moved-from object has `is_moved_from()` true and value() == moved_from_value.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <ostream>
#include <stdexcept>

#include <gtest/gtest.h>

namespace weft::test {

struct tracked_counters {
  std::atomic<long> constructed{0};   // every constructor: value, copy, move
  std::atomic<long> destroyed{0};
  std::atomic<long> copies{0};
  std::atomic<long> moves{0};
  std::atomic<long> double_destroys{0};  // destructor on an object not alive
  std::atomic<long> dead_uses{0};        // value() / move from an object not alive
  long live() const {
    return constructed.load(std::memory_order_acquire) - destroyed.load(std::memory_order_acquire);
  }
};

inline tracked_counters& counters() {
  static tracked_counters c;
  return c;
}

enum class copy_policy { copyable, move_only, copy_throws };

struct copy_error : std::runtime_error {
  copy_error() : std::runtime_error("tracked_copy_throws: copy refused") {}
};

template <copy_policy Policy>
class basic_tracked {
 public:
  static constexpr int moved_from_value = INT_MIN;

  explicit basic_tracked(int v) : value_(v) { born(); }

  basic_tracked(const basic_tracked& o) requires(Policy == copy_policy::copyable)
      : value_(o.checked_value()) {
    counters().copies.fetch_add(1, std::memory_order_relaxed);
    born();
  }
  basic_tracked(const basic_tracked& o) requires(Policy == copy_policy::copy_throws) : value_(0) {
    (void)o.checked_value();
    throw copy_error();
  }
  basic_tracked(basic_tracked&& o) noexcept : value_(o.checked_value()) {
    o.value_ = moved_from_value;
    counters().moves.fetch_add(1, std::memory_order_relaxed);
    born();
  }

  basic_tracked& operator=(const basic_tracked& o) requires(Policy == copy_policy::copyable) {
    value_ = o.checked_value();
    counters().copies.fetch_add(1, std::memory_order_relaxed);
    return *this;
  }
  basic_tracked& operator=(basic_tracked&& o) noexcept {
    if (this != &o) {
      (void)checked_value();
      value_ = o.checked_value();
      o.value_ = moved_from_value;
      counters().moves.fetch_add(1, std::memory_order_relaxed);
    }
    return *this;
  }

  ~basic_tracked() {
    if (magic_ != alive_magic) {
      counters().double_destroys.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    magic_ = dead_magic;
    counters().destroyed.fetch_add(1, std::memory_order_acq_rel);
  }

  int value() const { return checked_value(); }
  bool is_moved_from() const { return checked_value() == moved_from_value; }

  friend bool operator==(const basic_tracked& a, const basic_tracked& b) { return a.value() == b.value(); }
  friend std::ostream& operator<<(std::ostream& os, const basic_tracked& t) {
    return os << "tracked(" << t.value_ << ")";
  }

 private:
  static constexpr std::uint32_t alive_magic = 0x7ACCED01u;
  static constexpr std::uint32_t dead_magic = 0xDEAD7ACCu;

  void born() {
    magic_ = alive_magic;
    counters().constructed.fetch_add(1, std::memory_order_acq_rel);
  }
  int checked_value() const {
    if (magic_ != alive_magic) counters().dead_uses.fetch_add(1, std::memory_order_relaxed);
    return value_;
  }

  std::uint32_t magic_ = 0;
  int value_;
};

using tracked = basic_tracked<copy_policy::copyable>;
using tracked_move_only = basic_tracked<copy_policy::move_only>;
using tracked_copy_throws = basic_tracked<copy_policy::copy_throws>;

/// Snapshot of the counters; at destruction (or verify()) expects that every tracked object
/// created since is destroyed exactly once and none was used after its death.
class leak_check {
 public:
  leak_check()
      : live0_(counters().live()),
        double0_(counters().double_destroys.load()),
        dead0_(counters().dead_uses.load()) {}
  leak_check(const leak_check&) = delete;
  leak_check& operator=(const leak_check&) = delete;
  ~leak_check() {
    if (!verified_) verify();
  }

  /// Objects alive now minus those alive at the snapshot.
  long live() const { return counters().live() - live0_; }
  long copies() const { return counters().copies.load(); }

  void expect_live(long n, const char* what = "") const {
    EXPECT_EQ(live(), n) << "tracked objects alive (relative to the snapshot) " << what;
    expect_no_double_destroy();
  }
  void expect_no_double_destroy() const {
    EXPECT_EQ(counters().double_destroys.load() - double0_, 0) << "a tracked object was destroyed twice";
    EXPECT_EQ(counters().dead_uses.load() - dead0_, 0) << "a destroyed tracked object was used";
  }
  /// Nothing leaked, nothing destroyed twice.
  void verify() {
    verified_ = true;
    EXPECT_EQ(live(), 0) << "tracked objects leaked (positive) or destroyed too often (negative)";
    expect_no_double_destroy();
  }

 private:
  long live0_;
  long double0_;
  long dead0_;
  bool verified_ = false;
};

}  // namespace weft::test
