# weft_build_flags: the one INTERFACE target that carries the language level, the warnings and
# the sanitizer flags (STYLE.md section 10). Every library, test, benchmark and example links it:
#   target_link_libraries(my_test PRIVATE weft::weft weft_build_flags)
# Libraries link it PRIVATE (through $<BUILD_INTERFACE:...>), so an installed weft does not hand
# -Werror or the warning set to its users.
#
# weft_sanitizer_flags: only the WEFT_SANITIZE part. weft_build_flags links it, and the libraries
# link it PUBLIC (build tree only), so anything in the same build that links weft::weft (the API
# contract check, a parent project) is instrumented too: the whole process or nothing.
include_guard(GLOBAL)

option(WEFT_WERROR "Turn warnings into errors (set by the presets)" OFF)
set(WEFT_SANITIZE "" CACHE STRING
    "Sanitizers for the whole build: empty, address,undefined, address, undefined or thread")
set_property(CACHE WEFT_SANITIZE PROPERTY STRINGS "" "address,undefined" "address" "undefined" "thread")

set(_weft_known_sanitizers "" "address,undefined" "undefined,address" "address" "undefined" "thread")
if(NOT WEFT_SANITIZE IN_LIST _weft_known_sanitizers)
  message(FATAL_ERROR
    "WEFT_SANITIZE='${WEFT_SANITIZE}' is not supported: use address,undefined or thread (or leave it empty)")
endif()

add_library(weft_sanitizer_flags INTERFACE)
if(WEFT_SANITIZE)
  set(_weft_san_flags "-fsanitize=${WEFT_SANITIZE}" -fno-omit-frame-pointer)
  if(WEFT_SANITIZE MATCHES "address|undefined")
    # Stop at the first report: a test that "passes" with a UBSan report has failed.
    list(APPEND _weft_san_flags -fno-sanitize-recover=all)
  endif()
  target_compile_options(weft_sanitizer_flags INTERFACE ${_weft_san_flags})
  target_link_options(weft_sanitizer_flags INTERFACE "-fsanitize=${WEFT_SANITIZE}")
  # Tests read this to scale their loops down (see also the WEFT_TEST_SCALE environment variable).
  target_compile_definitions(weft_sanitizer_flags INTERFACE WEFT_SANITIZED=1)
  message(STATUS "weft: sanitizers: ${WEFT_SANITIZE}")
endif()

# Yield injection (core/include/weft/detail/inject.hpp): WEFT_INJECT_YIELD() hooks at the
# protocols' interesting points call sched_yield() at random (WEFT_INJECT_YIELD_RATE=N: 1 in N,
# default 4). For stress runs only (scripts/test.sh stage stress1core); off, the hooks are nothing.
# Carried by weft_sanitizer_flags so the whole build (libraries included) agrees on it.
option(WEFT_INJECT_YIELDS "Random sched_yield() at protocol hooks (stress testing only)" OFF)
if(WEFT_INJECT_YIELDS)
  target_compile_definitions(weft_sanitizer_flags INTERFACE WEFT_INJECT_YIELDS=1)
  message(STATUS "weft: yield injection hooks on")
endif()

add_library(weft_build_flags INTERFACE)
target_compile_features(weft_build_flags INTERFACE cxx_std_20)
target_compile_options(weft_build_flags INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang,AppleClang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion>
  $<$<AND:$<BOOL:${WEFT_WERROR}>,$<CXX_COMPILER_ID:GNU,Clang,AppleClang>>:-Werror>)
target_link_libraries(weft_build_flags INTERFACE weft_sanitizer_flags)

# Fuzz targets (tests/fuzz) link weft_fuzz_flags on top of weft_build_flags; clang only.
option(WEFT_BUILD_FUZZ "Build the libFuzzer targets (clang only)" OFF)
add_library(weft_fuzz_flags INTERFACE)
if(WEFT_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "WEFT_BUILD_FUZZ needs clang (libFuzzer); configure with CXX=clang++-14")
  endif()
  target_compile_options(weft_fuzz_flags INTERFACE -fsanitize=fuzzer)
  target_link_options(weft_fuzz_flags INTERFACE -fsanitize=fuzzer)
endif()
