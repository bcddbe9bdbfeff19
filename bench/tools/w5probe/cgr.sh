#!/bin/bash
# cgr.sh [RUNNER] : the workload runner's instructions per W5 round trip (callgrind at --scale
# 0.02 and 0.04: the difference covers 22,000 round trips, start-up and teardown cancel).
# Default RUNNER: build/bench/bench/weft_workloads. Compare it with cg.sh's w5t figure: a gap
# beyond the runner's own loop (~60) means the library's path was compiled differently there.
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../../build/bench/bench/weft_workloads}
ir() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --only W5 --reps 1 --scale "$1" 2>&1 \
    | grep "Collected" | awk '{print $4}'
}
a=$(ir 0.02)
b=$(ir 0.04)
python3 -c "print(round(($b-$a)/22000, 1))"
