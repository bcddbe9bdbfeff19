#!/usr/bin/env bash
# Runs the three echo servers against the load client at 1,000 and 10,000 connections and prints
# one line per run. Usage: bench.sh <build-dir> [messages-per-conn-at-1000] [client-threads]
# (at 10,000 connections each connection sends a tenth as many, so every run is the same number
# of round trips). Each server is its own process; it is stopped with SIGTERM after its runs.
set -euo pipefail
build=${1:?usage: bench.sh <build-dir> [messages] [client-threads]}
msgs=${2:-200}
threads=${3:-1}
bin="$build/examples/echo_server"
for mode in actor epoll thread; do
  out=$(mktemp)
  "$bin/echo_server" --mode "$mode" --port 0 --workers 2 >"$out" &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.1; done
  port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out" | head -1)
  echo "== $mode (port $port)"
  "$bin/echo_client" --port "$port" --connections 1000 --messages "$msgs" --threads "$threads"
  "$bin/echo_client" --port "$port" --connections 10000 --messages $((msgs / 10)) --threads "$threads"
  kill -TERM "$pid"
  wait "$pid" || true
  rm -f "$out"
done
