#!/usr/bin/env bash
# Installs the Debian 12 packages weft needs to build, test and benchmark, if any is missing.
# Idempotent: when everything is installed it only checks (no apt-get, no network).
# Uses sudo when not run as root. (make: the API contract check uses the default generator.)
#   scripts/deps.sh            the library, its tests and its own benchmarks
#   scripts/deps.sh --bench    also the benchmark peers and the plotting tool (scripts/main.sh)
# The ARM64 cross stage adds its own multiarch packages (scripts/test.sh, stage arm64).
set -euo pipefail

packages=(
  cmake make ninja-build g++ clang clang-14 libclang-rt-14-dev python3
  libboost-context-dev libconcurrentqueue-dev libbenchmark-dev libgtest-dev
  # reliability: model checkers (issue 7)
  relacy-dev spin
)
bench_packages=(
  # C++ peers of bench/peers/, the Go peer (Go 1.19, stdlib only) and the plots of bench/run.sh
  libboost-fiber-dev libreaderwriterqueue-dev libtbb-dev libatomic-queue-dev libcaf-dev golang-go
  gnuplot-nox
)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=("${bench_packages[@]}") ;;
    *) echo "deps.sh: unknown argument '$arg' (known: --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "deps: all ${#packages[@]} packages installed"
  exit 0
fi

echo "deps: installing ${missing[*]}"
if ((EUID == 0)); then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "deps: missing packages (${missing[*]}) and not root, and no sudo: install them yourself" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
