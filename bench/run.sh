#!/usr/bin/env bash
# bench/run.sh: runs weft's workload runner and every peer of bench/peers/, one program and one
# repetition at a time (never two at once: this is a 2-core machine), and prints the comparison
# as a markdown table: one row per workload and metric, one column per weft variant and per peer,
# then the ratios weft/best-peer and weft/floor.
#
#   bench/run.sh [--scale X] [--reps N] [--out DIR] [--only W1,W3,...] [--peers go,tbb,...]
#                [--budget SECONDS]
#
# Defaults: --scale 1.0 (the N of WORKLOADS.md), --reps 5 (the median of 5), --out
# bench/results/, all workloads, all peers found, --budget 540 (seconds of measuring, the
# probe included; with the build and the checks around it the run stays within 10 minutes).
# Each figure is the median of --reps repetitions, run in interleaved rounds (every figure once,
# then every figure again, ...), unless a repetition is so slow that the budget cannot hold them
# all: then fewer (at least 1), and the table says so. A repetition
# that runs longer than WEFT_BENCH_REP_TIMEOUT seconds (default 120 x scale, at least 60) is
# stopped and shown as `timeout`. W9 holds 1M x scale idle units at once: if MemAvailable cannot
# hold ~10 KB per unit and 2 GB to spare, W9 runs at a smaller scale, and the table says so.
#
# Writes into DIR: results.csv (`peer,workload,metric_name,value`, the medians), raw.csv (every
# repetition), reps.txt (repetitions per figure and why fewer), meta.txt (machine, load, commit),
# table.md (the table with its notes) and the plots (gnuplot, PNG): latency_W3.png,
# latency_W4.png, latency_W7.png, throughput.png. Prints the table on stdout.
#
# Finds weft_workloads as $WEFT_WORKLOADS, else under $WEFT_BUILD_DIR, build/bench, build/peers;
# the peers (peer_*) in the same build directory's bench/peers/ (or $WEFT_PEERS_DIR).
# Warns on stderr when the machine is busy (load average, idle cores measured over 1 s, build
# processes) and when spin-mode figures (weft-spin, floor, atomic_queue) are meaningless because
# fewer than 2 cores are idle.
# Exit status: 0; 1 if a result check failed or weft's runner timed out (a peer's timeout is shown
# in the table, not counted as a failure); 2 on a usage error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

scale=1.0
reps=5
out="$here/results"
only=""
peers_wanted=""
budget=540
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale) scale=${2:?--scale needs a value}; shift 2 ;;
    --reps) reps=${2:?--reps needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    --only) only=${2:?--only needs a value}; shift 2 ;;
    --peers) peers_wanted=${2:?--peers needs a value}; shift 2 ;;
    --budget) budget=${2:?--budget needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
if ! awk -v s="$scale" -v r="$reps" -v b="$budget" 'BEGIN { exit !(s > 0 && r >= 1 && r == int(r) && b > 0) }'; then
  echo "run.sh: --scale must be > 0, --reps an integer >= 1, --budget > 0" >&2
  exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
log() { echo "run.sh: $*" >&2; }

# ---------------------------------------------------------------- the programs
find_runner() {
  if [[ -n "${WEFT_WORKLOADS:-}" && -x "$WEFT_WORKLOADS" ]]; then echo "$WEFT_WORKLOADS"; return; fi
  local d f
  for d in "${WEFT_BUILD_DIR:-}" "$root/build/bench" "$root/build/peers"; do
    [[ -n "$d" && -d "$d" ]] || continue
    f=$(find "$d" -name weft_workloads -type f -perm -u+x -print -quit 2>/dev/null || true)
    if [[ -n "$f" ]]; then echo "$f"; return; fi
  done
}
runner=$(find_runner)
if [[ -z "$runner" ]]; then
  log "no weft_workloads binary: build the bench preset (cmake --preset bench && cmake --build --preset bench) or set WEFT_WORKLOADS"
  exit 2
fi
peers_dir=${WEFT_PEERS_DIR:-$(dirname "$runner")/peers}

# programs[i] = "name path": weft first (its runner also prints the floors), then the peers.
programs=("weft $runner")
declare -A peer_exe=(
  [boost-fiber]=peer_boost_fiber [moodycamel]=peer_moodycamel [moodycamel-rwq]=peer_moodycamel_rwq
  [tbb]=peer_tbb [atomic_queue]=peer_atomic_queue [caf]=peer_caf [go]=peer_go
)
peer_order=(go boost-fiber moodycamel moodycamel-rwq tbb atomic_queue caf)
missing_peers=()
for p in "${peer_order[@]}"; do
  if [[ -n "$peers_wanted" && ",$peers_wanted," != *",$p,"* ]]; then continue; fi
  exe="$peers_dir/${peer_exe[$p]}"
  if [[ -x "$exe" ]]; then programs+=("$p $exe"); else missing_peers+=("$p"); fi
done
if ((${#missing_peers[@]})); then
  log "peers not built (no ${peers_dir#"$root"/}/peer_*; their packages missing at configure time?): ${missing_peers[*]}"
fi

all_workloads=(L0 L1 W1 W2 W3 W4 W5 W6 W7 W8 W9 W10)
workloads=()
for w in "${all_workloads[@]}"; do
  if [[ -z "$only" || ",$only," == *",$w,"* ]]; then workloads+=("$w"); fi
done

# ---------------------------------------------------------------- is the machine quiet enough?
cores=$(nproc 2>/dev/null || echo 1)
idle_cores() {  # idle CPU over one second, in cores (one decimal)
  local a b
  a=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  awk -v a="$a" -v b="$b" -v n="$cores" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2];
    printf "%.1f", (t > 0 ? (y[1] - x[1]) / t * n : 0) }'
}
build_procs() {  # pgrep -c prints 0 and exits 1 when nothing matches
  local n
  n=$(pgrep -c -x 'cc1plus|cc1|clang|clang\+\+|clang-14|ld|ld.gold|ninja|make|go|compile' 2>/dev/null || true)
  echo "${n:-0}"
}
check_machine() {  # $1 = when; sets load1, idle, builds; warns
  read -r load1 _ < /proc/loadavg
  idle=$(idle_cores)
  builds=$(build_procs)
  if awk -v l="$load1" -v i="$idle" -v n="$cores" 'BEGIN { exit !(l > 0.5 || i < n - 0.3) }' || [[ "$builds" -gt 0 ]]; then
    log "WARNING ($1): the machine is busy: load average $load1 on $cores cores, $idle cores idle over 1 s, $builds build processes: figures will be noisy"
  fi
  if awk -v i="$idle" 'BEGIN { exit !(i < 1.7) }'; then
    log "WARNING ($1): about $idle idle cores: spin-mode figures (weft-spin, floor L0/L1, atomic_queue) need 2 idle cores and are meaningless now"
  fi
}
check_machine "before the run"
load_before=$load1 idle_before=$idle builds_before=$builds

# W9's scale: room for ~10 KB per idle unit (weft-fiber and boost-fiber use ~5 KB, go ~3 KB) and
# 2 GB to spare, in kB.
mem_avail_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
w9_scale=$(awk -v s="$scale" -v m="$mem_avail_kb" 'BEGIN { spare = 2 * 1048576; need = 1e6 * s * 10 + spare;
  if (m < need) s = int((m - spare) / (1e6 * 10) * 100) / 100; if (s < 0.01) s = 0.01; print s }')
w9_note=""
if awk -v a="$w9_scale" -v b="$scale" 'BEGIN { exit !(a < b) }'; then
  w9_note="W9 ran at --scale $w9_scale instead of $scale: $((mem_avail_kb / 1024)) MB available cannot hold $(awk -v s="$scale" 'BEGIN { printf "%d", 1e6 * s }') idle units at 10 KB each and 2 GB to spare"
  log "$w9_note"
fi

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | head -1)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cpu_model=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //')
{
  echo "date: $started_at"
  echo "machine: $(uname -srm), $cores cores ($cpu_model), $(awk '/^MemTotal:/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo)"
  echo "compiler: $(g++ --version 2>/dev/null | head -1); $(go version 2>/dev/null || echo 'go: not installed')"
  echo "commit: $commit${dirty:+ (working tree has uncommitted changes)}"
  echo "before the run: load average $load_before, $idle_before cores idle over 1 s, $builds_before build processes"
  echo "settings: --scale $scale --reps $reps --budget $budget s; W9 at --scale $w9_scale"
  echo "weft runner: ${runner#"$root"/}; peers: ${peers_dir#"$root"/}"
} > "$out/meta.txt"

raw="$out/raw.csv"
echo "peer,workload,metric_name,value,rep" > "$raw"
: > "$out/reps.txt"
: > "$out/failures.txt"
rep_timeout=${WEFT_BENCH_REP_TIMEOUT:-$(awk -v s="$scale" 'BEGIN { t = 120 * s; print (t < 60 ? 60 : int(t)) }')}
status=0

now() { date +%s.%N; }

# ---------------------------------------------------------------- vCPU placement gate
# This kind of VM (the project's 2-core KVM guest) now and then runs its two vCPUs where a
# cache-line round trip takes ~5x longer (L0 ~65 ns -> ~320-350 ns) for a minute or so, and now
# and then on two hyperthreads of one core (L0 ~28-39 ns, ~10% of the probes of a run). Every
# cross-core figure (weft's threads, the spin peers, CAF, ...) then reads 2-5x slower, or for
# the sibling placement faster (an SPSC ring through one core's own cache), while programs that
# stay on one core (Go's W3-W5 goroutines mostly do) do not move: one such minute in a run used
# to decide a median. So before each repetition a short L0 probe (10,000 round trips, ~10 ms)
# checks the placement; the repetition waits (2 s steps, at most 20 s per repetition and
# WEFT_BENCH_GATE_MAX_WAIT, default 90 s, per run, reserved out of the budget), then runs anyway
# and is marked, while the probe reads
#   - more than 3x the run's best probe: the slow placement; or
#   - less than 0.7x the median of the run's probes that were not slow: the sibling placement
#     (the normal placement is most of the time, so that median is the normal probe; a run that
#     starts in the sibling placement accepts it until normal probes outnumber it).
# Every program is gated the same way, so the table compares everyone in the same (normal)
# placement; placement.csv lists every probe. WEFT_BENCH_PLACEMENT_GATE=0 turns it off.
gate_on=${WEFT_BENCH_PLACEMENT_GATE:-1}
gate_wait_left=${WEFT_BENCH_GATE_MAX_WAIT:-90}
gate_waited=0 gate_slow_reps=0
probe_l0() {
  "$runner" --only L0 --peers floor --reps 1 --scale 0.01 2>/dev/null | awk -F, '$2 == "L0" { print $4; exit }'
}
l0_best=""
l0_seen=()  # the probes that were not slow (normal and sibling placements)
l0_median() {
  printf '%s\n' "${l0_seen[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}
if [[ "$gate_on" != 0 ]]; then
  initial=()
  for _ in 1 2 3; do
    v=$(probe_l0 || true)
    [[ -n "$v" ]] || continue
    initial+=("$v")
    if [[ -z "$l0_best" ]] || awk -v a="$v" -v b="$l0_best" 'BEGIN { exit !(a < b) }'; then l0_best=$v; fi
  done
  for v in "${initial[@]}"; do
    awk -v a="$v" -v b="$l0_best" 'BEGIN { exit !(a > 3 * b) }' || l0_seen+=("$v")
  done
  [[ -n "$l0_best" ]] || gate_on=0
fi
echo "peer,workload,rep,l0_probe_ns,waited_s,slow,placement" > "$out/placement.csv"
# Waits for the normal placement before a repetition; appends to placement.csv. Column `slow`:
# 1 = the repetition ran outside the normal placement anyway (the wait ran out); `placement`:
# what the last probe read (normal, sibling or slow).
placement_gate() {  # name workload rep
  [[ "$gate_on" != 0 ]] || return 0
  local v med waited=0 slow=0 where
  for (( ; ; )); do
    v=$(probe_l0 || true)
    [[ -n "$v" ]] || return 0
    # A new best counts as the normal placement too (the first probes may all have been slow).
    if awk -v a="$v" -v b="$l0_best" 'BEGIN { exit !(a < b) }'; then l0_best=$v; fi
    if awk -v a="$v" -v b="$l0_best" 'BEGIN { exit !(a > 3 * b) }'; then
      where=slow
    else
      l0_seen+=("$v")
      med=$(l0_median)
      where=normal
      awk -v a="$v" -v m="$med" 'BEGIN { exit !(a < 0.7 * m) }' && where=sibling
    fi
    [[ "$where" == normal ]] && break
    if ((waited >= 20 || gate_wait_left <= 0)); then slow=1; gate_slow_reps=$((gate_slow_reps + 1)); break; fi
    sleep 2
    waited=$((waited + 2)) gate_wait_left=$((gate_wait_left - 2)) gate_waited=$((gate_waited + 2))
  done
  ((waited == 0)) || log "$1 $2 rep $3: waited ${waited} s for the normal vCPU placement (L0 probe $v ns: $where; best $l0_best, median ${med:-?})"
  echo "$1,$2,$3,$v,$waited,$slow,$where" >> "$out/placement.csv"
}

# One repetition of one workload of one program: appends its lines to raw.csv with the rep
# number; records failures. Sets rep_secs. Returns 0; 1 on a failed check (or weft timing out);
# 2 when a peer's repetition timed out.
run_rep() {  # name exe workload rep scale
  local name=$1 exe=$2 w=$3 rep=$4 s=$5 t0 rc=0 err
  err=$(mktemp)
  t0=$(now)
  timeout --kill-after=10 "$rep_timeout" "$exe" --only "$w" --reps 1 --scale "$s" > "$out/.rep.csv" 2> "$err" || rc=$?
  rep_secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
  awk -F, -v r="$rep" 'NF == 4 { print $0 "," r }' "$out/.rep.csv" >> "$raw"
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "$name,$w,timeout" >> "$out/failures.txt"
    log "$name $w: repetition $rep exceeded ${rep_timeout} s: stopped"
    rm -f "$err"
    [[ "$name" == weft ]] && return 1  # weft's own runner: a hang (its watchdog is 300 s)
    return 2                           # a peer too slow for the budget: shown, not a failure
  fi
  if [[ $rc -ne 0 ]]; then
    grep -h 'FAILED' "$err" >&2 || cat "$err" >&2
    # weft_workloads: "FAILED W3/weft-spin: why"; peers: "<peer>: FAILED W3: why"
    sed -n 's/^weft_workloads: FAILED \([A-Z0-9]*\)\/\([a-z-]*\):.*/\2,\1,FAIL/p; s/^\([a-z_-]*\): FAILED \([A-Z0-9]*\):.*/\1,\2,FAIL/p' "$err" >> "$out/failures.txt"
    grep -q 'FAILED' "$err" || echo "$name,$w,FAIL" >> "$out/failures.txt"
    log "$name $w: repetition $rep exited with $rc"
    rm -f "$err"; return 1
  fi
  sed -n "s/^note: /run.sh: $name: note: /p" "$err" >&2
  rm -f "$err"
  return 0
}

# ---------------------------------------------------------------- which program offers what
# A probe at a tiny scale (N x 0.0001, one repetition) lists each program's workloads (and proves
# each one runs); the budget is then shared among the cases that exist.
t_start=$(now)
declare -A offers
ncases=0
for entry in "${programs[@]}"; do
  name=${entry%% *} exe=${entry#* }
  list=$(timeout 120 "$exe" --scale 0.0001 --reps 1 --only "$(IFS=,; echo "${workloads[*]}")" 2>/dev/null | cut -d, -f2 | sort -u | tr '\n' ' ' || true)
  offers[$name]=$list
  for w in $list; do ncases=$((ncases + 1)); done
  log "$name offers: ${list:-nothing}"
done

# ---------------------------------------------------------------- the run
# Interleaved: round 1 runs every case (program x workload) once, then rounds 2..reps run each
# case again, in the same order. A repetition of one figure is thus spread over the whole run,
# so a few minutes of a slower machine (this VM changes vCPU placement now and then; other
# tenants come and go) hit one repetition of many figures instead of every repetition of a few,
# and the median drops it. Repeated runs agree better this way (bench/RESULTS.md).
# Budget: after round 1 each case's repetition time is known; what is left of the budget (less
# what the placement gate may still wait) is shared out, cheapest cases first (their unused
# share passes to the dearer ones), and a case gets min(reps - 1, share / its time) more
# repetitions.
cases=()  # "name|exe|workload|scale"
for entry in "${programs[@]}"; do
  name=${entry%% *} exe=${entry#* }
  for w in "${workloads[@]}"; do
    [[ " ${offers[$name]} " == *" $w "* ]] || continue
    s=$scale
    [[ "$w" == W9 ]] && s=$w9_scale
    cases+=("$name|$exe|$w|$s")
  done
done
declare -A case_spent case_done case_why case_more
for ((rep = 1; rep <= reps; rep++)); do
  if ((rep == 2)); then
    # Plan the remaining rounds from round 1's times.
    plan_in=""
    for c in "${cases[@]}"; do
      IFS='|' read -r name exe w s <<< "$c"
      [[ -n "${case_why[$c]:-}" ]] && continue
      plan_in+="$c ${case_spent[$c]}"$'\n'
    done
    # What the placement gate may still wait, and its probes (~30 ms each), come off the top.
    reserve=0
    [[ "$gate_on" != 0 ]] && reserve=$(awk -v w="$gate_wait_left" -v n="${#cases[@]}" -v r="$reps" 'BEGIN { print w + n * (r - 1) * 0.03 }')
    left=$(awk -v b="$budget" -v t0="$t_start" -v t="$(now)" -v res="$reserve" 'BEGIN { r = b - (t - t0) - res; print (r < 0 ? 0 : r) }')
    while IFS=' ' read -r c more share; do
      [[ -n "$c" ]] || continue
      case_more[$c]=$more
      if ((more < reps - 1)); then
        case_why[$c]=$(awk -v sp="${case_spent[$c]}" -v sh="$share" 'BEGIN { printf "a repetition takes %.1f s; this figure'"'"'s share of the budget is %.0f s", sp, sh + sp }')
      fi
    done < <(printf '%s' "$plan_in" | awk -v left="$left" -v more_max=$((reps - 1)) '
      NF == 2 { c[NR] = $1; t[NR] = $2; n++ }
      END {
        # cheapest first
        for (i = 1; i <= n; i++) o[i] = i
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (t[o[j]] < t[o[i]]) { x = o[i]; o[i] = o[j]; o[j] = x }
        for (k = 1; k <= n; k++) {
          i = o[k]; share = left / (n - k + 1)
          m = t[i] > 0 ? int(share / t[i]) : more_max
          if (m > more_max) m = more_max
          if (m < 0) m = 0
          left -= m * t[i]
          print c[i], m, share
        }
      }')
  fi
  for c in "${cases[@]}"; do
    IFS='|' read -r name exe w s <<< "$c"
    if ((rep > 1)); then
      [[ "${case_why[$c]:-}" == failed || "${case_why[$c]:-}" == timeout ]] && continue
      ((rep - 1 <= ${case_more[$c]:-0})) || continue
    fi
    rc=0
    placement_gate "$name" "$w" "$rep"
    run_rep "$name" "$exe" "$w" "$rep" "$s" || rc=$?
    if ((rc == 1)); then status=1; case_why[$c]="failed"; continue; fi
    if ((rc == 2)); then case_why[$c]="timeout"; continue; fi
    case_done[$c]=$rep
    case_spent[$c]=$(awk -v a="${case_spent[$c]:-0}" -v b="$rep_secs" 'BEGIN { print a + b }')
  done
  log "round $rep of $reps done"
done
for c in "${cases[@]}"; do
  IFS='|' read -r name exe w s <<< "$c"
  echo "$name,$w,${case_done[$c]:-0},$reps,${case_why[$c]:-}" >> "$out/reps.txt"
  log "$(printf '%-14s %-4s %d/%d reps %6.1f s %s' "$name" "$w" "${case_done[$c]:-0}" "$reps" "${case_spent[$c]:-0}" "${case_why[$c]:-}")"
done
t_total=$(awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')
rm -f "$out/.rep.csv"

check_machine "after the run"
{
  echo "after the run: load average $load1, $idle cores idle over 1 s, $builds build processes"
  echo "measuring time: $t_total s"
  if [[ "$gate_on" != 0 ]]; then
    echo "vCPU placement gate: best L0 probe $l0_best ns; waited $gate_waited s in all; $gate_slow_reps repetitions ran outside the normal placement anyway (placement.csv)"
  else
    echo "vCPU placement gate: off"
  fi
  [[ -n "$w9_note" ]] && echo "note: $w9_note"
} >> "$out/meta.txt"

# ---------------------------------------------------------------- table and plots
python3 "$here/plot_report.py" --out "$out" --reps "$reps" --spin-warning "$(awk -v i="$idle_before" 'BEGIN { print (i < 1.7 ? 1 : 0) }')"
log "measured for $t_total s; results in ${out#"$root"/}/ (results.csv, raw.csv, table.md, meta.txt, *.png)"
exit "$status"
