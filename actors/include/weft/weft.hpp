// weft: lock-free Go-style channels, green threads and actors for C++20.
// The umbrella header: everything in API.md.
#pragma once

#include <weft/status.hpp>
#include <weft/wait_strategy.hpp>
#include <weft/runtime.hpp>
#include <weft/chan.hpp>
#include <weft/select.hpp>
#include <weft/timers.hpp>
#include <weft/context.hpp>
#include <weft/oneshot.hpp>
#include <weft/spawn.hpp>
#include <weft/sync.hpp>
#include <weft/resilience.hpp>
#include <weft/actor.hpp>
#include <weft/histogram.hpp>
#include <weft/leak_check.hpp>
#include <weft/trace.hpp>
#include <weft/watchdog.hpp>
