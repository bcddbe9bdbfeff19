// tests/support/chan_flavor.hpp: the channel flavors as a test parameter.
//
// `flavor` names a channel shape (unbuffered, bounded with capacity 1 and 4, unbounded);
// `make<T>(f)` builds one. `FlavorExec` suites run every flavor in every execution context of
// exec_param.hpp:
//   class ChanOps : public ::testing::TestWithParam<weft::test::flavor_exec> {};
//   INSTANTIATE_TEST_SUITE_P(All, ChanOps, weft::test::flavor_exec_values(), weft::test::flavor_exec_name);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "exec_param.hpp"

namespace weft::test {

enum class flavor { unbuffered, bounded1, bounded4, unbounded };

inline const char* flavor_name_of(flavor f) {
  switch (f) {
    case flavor::unbuffered: return "Unbuffered";
    case flavor::bounded1: return "Bounded1";
    case flavor::bounded4: return "Bounded4";
    case flavor::unbounded: return "Unbounded";
  }
  return "Unknown";
}

inline std::vector<flavor> flavor_list() {
  return {flavor::unbuffered, flavor::bounded1, flavor::bounded4, flavor::unbounded};
}

/// The capacity the channel reports: 0, 1, 4 or SIZE_MAX.
inline std::size_t capacity_of(flavor f) {
  switch (f) {
    case flavor::unbuffered: return 0;
    case flavor::bounded1: return 1;
    case flavor::bounded4: return 4;
    case flavor::unbounded: return SIZE_MAX;
  }
  return 0;
}

/// How many values try_send can buffer with no receiver waiting (unbounded: "many").
inline std::size_t buffer_of(flavor f) {
  return f == flavor::unbounded ? std::size_t{1000} : capacity_of(f);
}

inline bool can_fill(flavor f) { return f != flavor::unbounded; }

template <class T>
weft::chan<T> make(flavor f) {
  switch (f) {
    case flavor::unbuffered: return weft::make_chan<T>(0);
    case flavor::bounded1: return weft::make_chan<T>(1);
    case flavor::bounded4: return weft::make_chan<T>(4);
    case flavor::unbounded: return weft::make_unbounded_chan<T>();
  }
  return weft::make_chan<T>(0);
}

inline auto flavor_values() { return ::testing::ValuesIn(flavor_list()); }

struct flavor_param_name_t {
  std::string operator()(const ::testing::TestParamInfo<flavor>& info) const {
    return flavor_name_of(info.param);
  }
};
inline constexpr flavor_param_name_t flavor_param_name{};

using flavor_exec = std::tuple<flavor, exec>;

inline auto flavor_exec_values() {
  return ::testing::Combine(::testing::ValuesIn(flavor_list()), ::testing::ValuesIn(exec_list()));
}

struct flavor_exec_name_t {
  std::string operator()(const ::testing::TestParamInfo<flavor_exec>& info) const {
    return std::string(flavor_name_of(std::get<0>(info.param))) + exec_name_of(std::get<1>(info.param));
  }
};
inline constexpr flavor_exec_name_t flavor_exec_name{};

}  // namespace weft::test
