#!/bin/bash
# bw5.sh OUT [BUILD] : builds w5t (this directory) as OUT against BUILD's static libraries
# (default: the repository's build/bench).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=$(realpath -m "$1")
b=$(realpath "${2:-$root/build/bench}")
g++ -std=c++20 -O3 -DNDEBUG -g -I"$root/core/include" -I"$root/channels/include" "$here/w5t.cpp" -o "$out" \
  "$b/channels/libweft_channels.a" "$b/core/libweft_core.a" -lboost_context -lpthread
