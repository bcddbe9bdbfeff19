#!/usr/bin/env bash
# The test command (what CI runs, through .ci/run). Stages, in order, failing fast:
#   release   cmake --workflow --preset ci-release: gcc Release -Werror, every test, weft_check_headers
#   contract  the API contract check of ../shared/contract (its README's command, from the repo root)
#   install   cmake --install into build/install-prefix, then tests/install_consumer (find_package)
#             and tests/fetchcontent_consumer (FetchContent) are configured, built and run
#   tsan      cmake --workflow --preset ci-tsan  (clang-14, ThreadSanitizer)
#   asan      cmake --workflow --preset ci-asan  (gcc, AddressSanitizer + UBSan)
#   stress1core  the `stress` label pinned to one core (taskset -c 0) on the release build,
#             then again on a build with random sched_yield injection (-DWEFT_INJECT_YIELDS=ON,
#             build/stress-inject; only the stress executables are built)
#   arm64     cross-built ARM64 (cmake/toolchains/aarch64-linux-gnu.cmake) `unit` label under
#             qemu-aarch64: outline atomics (preset arm64, every unit test), then
#             -mno-outline-atomics on a subset (platform, fault, fuzz replay) to stay affordable;
#             installs its multiarch packages itself (dpkg --add-architecture arm64)
# Usage: scripts/test.sh [--quick] [--stage NAME]...   (--quick = release + contract)
# The last line printed is "N passed, M failed", counting the ctest tests of all stages run
# (a stage that fails outside ctest, e.g. a compile error, counts as one failure); the exit
# status is non-zero if anything failed. Logs: build/test-logs/<stage>.log.
set -uo pipefail

self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
root=$(cd "$(dirname "$self")/.." && pwd)
cd "$root"

all_stages=(release contract install tsan asan stress1core arm64)
stages=()
usage() { sed -n '2,18p' "$self" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --quick) stages+=(release contract) ;;
    --stage) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; stages+=("$2"); shift ;;
    --stage=*) stages+=("${1#--stage=}") ;;
    -h|--help) usage; exit 0 ;;
    *) echo "test.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
((${#stages[@]})) || stages=("${all_stages[@]}")
for s in "${stages[@]}"; do
  [[ " ${all_stages[*]} " == *" $s "* ]] || { echo "test.sh: unknown stage '$s' (stages: ${all_stages[*]})" >&2; exit 2; }
done

"$root/scripts/deps.sh" || { echo "test.sh: scripts/deps.sh failed"; echo "0 passed, 1 failed"; exit 1; }

ncpu=$(nproc 2>/dev/null || echo 2)
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$ncpu}"
export CTEST_PARALLEL_LEVEL="${CTEST_PARALLEL_LEVEL:-$ncpu}"
export CTEST_OUTPUT_ON_FAILURE=1

# The specs live beside the repository: <clone>/../shared (locally /work/main/../shared).
shared_dir="../shared"
log_dir="$root/build/test-logs"
mkdir -p "$log_dir"

# --- stages (each runs in a subshell with set -e, from the repo root) -----------------------
stage_release() { cmake --workflow --preset ci-release; }
stage_tsan()    { cmake --workflow --preset ci-tsan; }
stage_asan()    { cmake --workflow --preset ci-asan; }

# One core, then one core with yield injection. Scales are cut so the stage stays ~3-4 minutes on
# the 2-core CI VM (a one-core run of the full-scale stress label takes several times longer).
stage_stress1core() {
  command -v taskset >/dev/null || { echo "test.sh: taskset (util-linux) is missing" >&2; return 1; }
  # The release build, reused if the release stage ran (else configured and built here).
  cmake --preset release
  cmake --build --preset release
  echo "--- stress label on one core (release build)"
  WEFT_TEST_SCALE=0.25 taskset -c 0 ctest --test-dir build/release -L stress --output-on-failure --timeout 600
  echo "--- stress label on one core with yield injection (build/stress-inject)"
  cmake -S . -B build/stress-inject -G Ninja -DCMAKE_BUILD_TYPE=Release -DWEFT_WERROR=ON \
    -DWEFT_INJECT_YIELDS=ON -DWEFT_BUILD_BENCHMARKS=OFF -DWEFT_BUILD_EXAMPLES=OFF
  # Only the executables of the stress label (their names come from the configured tree).
  local targets
  targets=$(cmake --build build/stress-inject --target help | sed -nE 's/^(weft_(stress|oversub)_tests):.*/\1/p' | sort -u)
  # shellcheck disable=SC2086
  cmake --build build/stress-inject --target $targets
  WEFT_TEST_SCALE=0.05 WEFT_INJECT_YIELD_RATE=4 taskset -c 0 \
    ctest --test-dir build/stress-inject -L stress --output-on-failure --timeout 600
}

# ARM64 under QEMU. The multiarch packages are installed here (idempotent: apt only when missing).
arm64_packages=(g++-aarch64-linux-gnu qemu-user-static libboost-context1.74-dev:arm64 libgtest-dev:arm64)
stage_arm64() {
  local missing=() pkg st sudo=()
  ((EUID == 0)) || sudo=(sudo)
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then "${sudo[@]}" dpkg --add-architecture arm64; fi
  for pkg in "${arm64_packages[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ "$st" == installed ]] || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "arm64: installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  else
    echo "arm64: all ${#arm64_packages[@]} packages installed"
  fi
  echo "--- arm64, outline atomics (gcc's default)"
  cmake --workflow --preset ci-arm64
  echo "--- arm64, -mno-outline-atomics (subset: weft_platform_tests, weft_fault_tests, weft_chan_fuzz_replay)"
  cmake --workflow --preset ci-arm64-no-outline-atomics
}

stage_contract() {
  if [[ ! -f "$shared_dir/contract/CMakeLists.txt" ]]; then
    echo "test.sh: FATAL: the API contract check is missing: expected $root/$shared_dir/contract" >&2
    echo "test.sh: CI must place a copy of shared/ beside the clone (<clone>/../shared)." >&2
    return 1
  fi
  # Exactly the command of ../shared/contract/README.md, run from the repo root.
  cmake -S ../shared/contract -B build/contract -DWEFT_SOURCE_DIR=$PWD && cmake --build build/contract && ctest --test-dir build/contract
}

stage_install() {
  local prefix="$root/build/install-prefix"
  rm -rf "$prefix" build/install_consumer build/fetchcontent_consumer
  cmake -S . -B build/install-lib -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_BENCHMARKS=OFF -DWEFT_BUILD_EXAMPLES=OFF \
    -DCMAKE_INSTALL_PREFIX="$prefix"
  cmake --build build/install-lib
  cmake --install build/install-lib
  echo "--- installed files:"
  (cd "$prefix" && find . -type f | sort)
  test -f "$prefix/include/weft/weft.hpp"
  test -f "$prefix/lib/cmake/weft/weftConfig.cmake"

  echo "--- find_package consumer (tests/install_consumer)"
  cmake -S tests/install_consumer -B build/install_consumer -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix"
  cmake --build build/install_consumer
  build/install_consumer/consumer

  echo "--- FetchContent consumer (tests/fetchcontent_consumer)"
  cmake -S tests/fetchcontent_consumer -B build/fetchcontent_consumer -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DWEFT_SOURCE_DIR="$root"
  cmake --build build/fetchcontent_consumer
  build/fetchcontent_consumer/consumer
}

# --- driver ----------------------------------------------------------------------------------
total_passed=0 total_failed=0
summary=()
overall_start=$SECONDS
for stage in "${stages[@]}"; do
  log="$log_dir/$stage.log"
  echo
  echo "=================================================================================="
  echo "=== stage: $stage"
  echo "=================================================================================="
  start=$SECONDS
  ( set -e; "stage_$stage" ) 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  elapsed=$((SECONDS - start))

  # ctest prints "NN% tests passed, F tests failed out of T" once per run.
  passed=0 failed=0
  while read -r f t; do
    passed=$((passed + t - f)); failed=$((failed + f))
  done < <(sed -nE 's/.*tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/p' "$log")
  if ((rc != 0 && failed == 0)); then failed=1; fi   # failed outside ctest (configure, build, run)
  total_passed=$((total_passed + passed)); total_failed=$((total_failed + failed))

  if ((rc == 0)); then verdict=PASS; else verdict="FAIL (exit $rc)"; fi
  line=$(printf '%-9s %-14s %5d s  ctest: %d passed, %d failed' "$stage" "$verdict" "$elapsed" "$passed" "$failed")
  summary+=("$line")
  echo "=== stage $stage: $verdict in ${elapsed} s (log: ${log#"$root"/})"
  ((rc == 0)) || break
done

echo
echo "=================================================================================="
echo "=== summary (total $((SECONDS - overall_start)) s)"
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
