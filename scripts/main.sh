#!/usr/bin/env bash
# The main job: install the Debian packages if needed (scripts/deps.sh --bench: the peers, Go,
# gnuplot), configure and build the `bench` preset (gcc Release, benchmarks only: weft's workload
# runner, the micro-benchmarks and every peer of bench/peers/ whose package is found), then run
# the comparison with bench/run.sh, which prints the markdown table and writes CSV, table and
# plots into bench/results/. Arguments go to bench/run.sh, e.g.
#   scripts/main.sh                          full run: --scale 1 --reps 5 (about 10 minutes)
#   scripts/main.sh --scale 0.1 --reps 1     smoke run (about 2-3 minutes)
#   scripts/main.sh --only W3,W4 --peers go  some workloads and peers
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
