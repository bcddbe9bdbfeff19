#!/usr/bin/env bash
# bench/run.sh: runs weft's workload runner (and, later, every peer in bench/peers/) and prints
# the comparison as a markdown table: one row per workload and metric, one column per peer.
#
#   bench/run.sh [--scale X] [--reps N] [--out DIR] [--only W1,W3,...] [other runner options]
#
# Defaults: --scale 1.0, --reps 5, --out bench/results/. Writes DIR/weft.csv (the runner's CSV,
# `peer,workload,metric_name,value`), DIR/<peer>.csv for each peer, DIR/meta.txt (machine, load,
# commit) and DIR/table.md; prints the table on stdout. Other options go to weft_workloads.
# The runner is $WEFT_WORKLOADS if set, else the first weft_workloads found under
# $WEFT_BUILD_DIR, build/bench, build/*.
# Warns on stderr when the machine is busy (1-minute load average against nproc), and when
# spin-mode figures (weft-spin, floor) are meaningless because fewer than 2 cores are idle.
# Exit status: the runner's (non-zero if a result check failed), else 0.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

scale=1.0
reps=5
out="$here/results"
runner_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale) scale=${2:?--scale needs a value}; shift 2 ;;
    --reps) reps=${2:?--reps needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) runner_args+=("$1"); shift ;;
  esac
done
mkdir -p "$out"

# ---- locate the runner
find_runner() {
  if [[ -n "${WEFT_WORKLOADS:-}" && -x "$WEFT_WORKLOADS" ]]; then
    echo "$WEFT_WORKLOADS"; return
  fi
  local d
  for d in "${WEFT_BUILD_DIR:-}" "$root/build/bench" "$root/build"; do
    [[ -n "$d" && -d "$d" ]] || continue
    local f
    f=$(find "$d" -name weft_workloads -type f -perm -u+x -print -quit 2>/dev/null || true)
    if [[ -n "$f" ]]; then echo "$f"; return; fi
  done
}
runner=$(find_runner)
if [[ -z "$runner" ]]; then
  echo "run.sh: no weft_workloads binary: build the bench preset (cmake --preset bench && cmake --build --preset bench) or set WEFT_WORKLOADS" >&2
  exit 2
fi

# ---- is the machine quiet enough?
cores=$(nproc 2>/dev/null || echo 1)
read -r load1 _ < /proc/loadavg
idle=$(awk -v n="$cores" -v l="$load1" 'BEGIN { i = int(n - l + 0.5); if (i < 0) i = 0; print i }')
busy=$(awk -v n="$cores" -v l="$load1" 'BEGIN { print (l > 0.5 ? 1 : 0) }')
compilers=$( (pgrep -c -x 'cc1plus|cc1|clang|clang\+\+|clang-14|ld|ninja|make' 2>/dev/null) || true)
compilers=${compilers:-0}
if [[ "$busy" == 1 || "$compilers" -gt 0 ]]; then
  echo "run.sh: WARNING: the machine is busy (load average $load1 on $cores cores, $compilers compiler/build processes): figures will be noisy" >&2
fi
if [[ "$idle" -lt 2 ]]; then
  echo "run.sh: WARNING: about $idle idle core(s): spin-mode figures (weft-spin, floor) need 2 idle cores and are meaningless now" >&2
fi

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(uname -srm), $cores cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //')"
  echo "load average before the run: $load1 (about $idle idle cores), build processes: $compilers"
  echo "commit: $commit"
  echo "runner: $runner --scale $scale --reps $reps ${runner_args[*]:-}"
} > "$out/meta.txt"

# ---- weft
status=0
echo "run.sh: $runner --scale $scale --reps $reps ${runner_args[*]:-}" >&2
"$runner" --scale "$scale" --reps "$reps" "${runner_args[@]}" > "$out/weft.csv" || status=$?
if [[ $status -ne 0 ]]; then
  echo "run.sh: weft_workloads exited with $status (a failed result check or a hang; see above)" >&2
fi

# ---- peers (the hook): each bench/peers/<name>/run.sh takes --scale X --reps N and prints the
# same CSV lines on stdout. None exist yet; see bench/peers/README.md.
for p in "$here"/peers/*/run.sh; do
  [[ -x "$p" ]] || continue
  name=$(basename "$(dirname "$p")")
  echo "run.sh: peer $name" >&2
  "$p" --scale "$scale" --reps "$reps" > "$out/$name.csv" || echo "run.sh: peer $name exited with $?" >&2
done

# ---- the table: rows = workload + metric, columns = weft's variants, floor, then other peers
shopt -s nullglob
csvs=("$out/weft.csv")  # weft first: its rows set the row order
for f in "$out"/*.csv; do [[ "$f" == "$out/weft.csv" ]] || csvs+=("$f"); done
awk -F, '
  NF == 4 && $1 != "peer" {
    key = $2 " " $3
    if (!(key in seen)) { seen[key] = 1; rows[++nrows] = key; rw[key] = $2; rm[key] = $3 }
    cell[key, $1] = $4
    if (!($1 in known)) { known[$1] = 1; extra[++nextra] = $1 }
  }
  END {
    ncols = split("weft weft-spin weft-fiber weft-actor floor", cols, " ")
    for (c = 1; c <= ncols; c++) fixed[cols[c]] = 1
    for (e = 1; e <= nextra; e++) if (!(extra[e] in fixed)) cols[++ncols] = extra[e]
    header = "| workload | metric |"; rule = "|---|---|"
    for (c = 1; c <= ncols; c++) { header = header " " cols[c] " |"; rule = rule "---:|" }
    print header; print rule
    for (r = 1; r <= nrows; r++) {
      line = "| " rw[rows[r]] " | " rm[rows[r]] " |"
      for (c = 1; c <= ncols; c++) {
        v = ((rows[r], cols[c]) in cell) ? cell[rows[r], cols[c]] : "–"
        line = line " " v " |"
      }
      print line
    }
  }' "${csvs[@]}" | tee "$out/table.md"
echo "run.sh: CSV in $out/ (weft.csv), table in $out/table.md" >&2
exit "$status"
