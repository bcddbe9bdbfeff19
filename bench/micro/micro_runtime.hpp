// The runtimes the micro-benchmarks run their tasks and actors on: one per worker count, made on
// first use and shared by every benchmark of the weft_micro binary; never destroyed (a
// benchmark's helper task may still be parked when the process exits).
#pragma once

#include <cstddef>

#include <weft/runtime.hpp>

namespace weft_micro {

template <std::size_t Workers>
weft::runtime& shared_runtime() {
  static weft::runtime* rt = [] {
    weft::runtime_options o;
    o.workers = Workers;
    return new weft::runtime(o);
  }();
  return *rt;
}

}  // namespace weft_micro
