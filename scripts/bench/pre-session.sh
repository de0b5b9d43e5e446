#!/usr/bin/env bash
# Benchmark (run on demand): a whole cdb-pre-session run at seed size — the trading fixture at
# scale 1 and this repository — median wall time over RUNS (a fresh backup root each run).
#   scripts/bench/pre-session.sh [RUNS]
runs=${1:-10}
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_inside --load-fixture -- "$@"
bin=$(swift build -c release --show-bin-path)/cdb-pre-session
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A configuration of its own, where this repository is enabled (cdb runs only for those).
export XDG_CONFIG_HOME=$work/config
"$bin" enable --repo . >/dev/null 2>&1
for i in $(seq "$runs"); do
  /usr/bin/time -f %e -o "$work/t" "$bin" --quiet --backup-root "$work/root$i" >/dev/null
  cat "$work/t"
done | sort -n | awk '{a[NR]=$1} END {printf "cdb-pre-session at seed size: median %.3f s, max %.3f s over %d runs\n", a[int((NR+1)/2)], a[NR], NR}'
