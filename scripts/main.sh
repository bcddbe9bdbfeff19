#!/usr/bin/env bash
# The main job: install the Debian packages if needed, configure and build the `bench` preset
# (gcc Release, benchmarks only), then run the benchmark comparison: bench/run.sh if it exists
# (it prints the comparison table; arguments are forwarded to it), else weft's own workload
# runner weft_workloads, which prints the CSV lines of WORKLOADS.md (arguments forwarded, e.g.
# --only W1,W3 --reps 3 --scale 0.1).
# bench/run.sh gets WEFT_BUILD_DIR (the bench build directory) and WEFT_WORKLOADS (the runner).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/scripts/deps.sh" --bench >&2
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"

echo "=== configure + build: preset bench" >&2
cmake --preset bench >&2
cmake --build --preset bench >&2

export WEFT_BUILD_DIR="$root/build/bench"
WEFT_WORKLOADS=$(find "$WEFT_BUILD_DIR" -name weft_workloads -type f -perm -u+x -print -quit)
export WEFT_WORKLOADS

if [[ -f bench/run.sh ]]; then
  echo "=== bench/run.sh $*" >&2
  exec bash bench/run.sh "$@"
fi
if [[ -z "$WEFT_WORKLOADS" ]]; then
  echo "main.sh: no bench/run.sh and no weft_workloads binary under build/bench" >&2
  exit 1
fi
echo "=== ${WEFT_WORKLOADS#"$root"/} $*" >&2
exec "$WEFT_WORKLOADS" "$@"
