# Cross-compiling weft for ARM64 Linux (aarch64) on a Debian 12 x86-64 host, and running its
# tests under user-mode QEMU. Used by the `arm64` and `arm64-no-outline-atomics` presets and by
# scripts/test.sh stage arm64.
#
# Host packages (scripts/test.sh stage arm64 installs them):
#   g++-aarch64-linux-gnu qemu-user-static           the cross compiler and the emulator
#   dpkg --add-architecture arm64, then
#   libboost-context1.74-dev:arm64 libgtest-dev:arm64 the target's libraries (Debian multiarch:
#                                                     /usr/lib/aarch64-linux-gnu, headers shared)
# The moodycamel queue is header-only (libconcurrentqueue-dev, found in /usr/include).
#
# Libraries are found through Debian's multiarch layout (CMAKE_LIBRARY_ARCHITECTURE), not a
# sysroot: find_package looks in /usr/lib/aarch64-linux-gnu/cmake first. Programs (ninja, the
# emulator) are the host's.
#
# Tests run through CMAKE_CROSSCOMPILING_EMULATOR: `qemu-aarch64-static`, WITHOUT
# `-L /usr/aarch64-linux-gnu`: the multiarch libc6:arm64 (pulled in by the packages above)
# provides /lib/ld-linux-aarch64.so.1 and the libraries at their multiarch paths. With -L, the
# cross toolchain's loader and libc (libc6-arm64-cross, a different Debian revision) are mixed
# with the multiarch libstdc++/libgcc, and any program that starts a std::thread hangs in its
# first pthread_create (measured: a 3-line gtest with two threads, 40 s timeout, every run;
# 0.4 s without -L). WEFT_QEMU_SYSROOT=<dir> adds `-L <dir>` for a host without multiarch libc.
# QEMU runs the target's atomics with the host's (x86-TSO) ordering, so
# these runs check code generation and ARM64 constants, not weak-memory reorderings (the Relacy
# models do that).
#
# WEFT_ARM64_OUTLINE_ATOMICS=OFF adds -mno-outline-atomics: inline LL/SC (ldaxr/stlxr) loops
# instead of gcc's default calls to libgcc's __aarch64_* helpers, which pick LSE atomics at run
# time. Both code paths are tested (CMakePresets.json: arm64, arm64-no-outline-atomics).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

find_program(WEFT_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64 REQUIRED)
set(WEFT_QEMU_SYSROOT "" CACHE PATH "qemu -L prefix for the ARM64 loader (empty: the multiarch one)")
if(WEFT_QEMU_SYSROOT)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${WEFT_QEMU_AARCH64};-L;${WEFT_QEMU_SYSROOT}")
else()
  set(CMAKE_CROSSCOMPILING_EMULATOR "${WEFT_QEMU_AARCH64}")
endif()

option(WEFT_ARM64_OUTLINE_ATOMICS "gcc's default outline atomics (OFF: -mno-outline-atomics)" ON)
if(NOT WEFT_ARM64_OUTLINE_ATOMICS)
  string(APPEND CMAKE_CXX_FLAGS_INIT " -mno-outline-atomics")
  string(APPEND CMAKE_C_FLAGS_INIT " -mno-outline-atomics")
endif()

# Search the target's multiarch directories for libraries and packages; programs on the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
