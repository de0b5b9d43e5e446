#!/usr/bin/env bash
# Benchmark (run on demand, not a test): cdb-prune planning 100,000 backup files
# (50,000 dumps and 50,000 snapshots, one every 10 minutes) with --dry-run, median of RUNS.
#   scripts/bench/prune.sh [RUNS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
runs=${1:-5}
swift build -c release --product cdb-prune >/dev/null
bin=$(swift build -c release --show-bin-path)/cdb-prune
root=$(mktemp -d "${TMPDIR:-/tmp}/cdb-prune-bench.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/PostgreSQL" "$root/Repository"
python3 - "$root" <<'PY'
import os, sys, datetime
root = sys.argv[1]
t = datetime.datetime(2025, 11, 25, 12, 0)
for i in range(50_000):
    d = t - datetime.timedelta(minutes=10 * i)
    s = d.strftime("%Y-%m-%d_%H%M")
    open(f"{root}/PostgreSQL/cdb_backup_{s}.sql", "w").close()
    open(f"{root}/Repository/claire_repo_{s}_{i:07x}.zip", "w").close()
PY
echo "planning $(find "$root" -type f -name '*_*' | wc -l) backup files (--dry-run):" >&2
times=()
for _ in $(seq "$runs"); do
  /usr/bin/time -f %e -o "$root/t" "$bin" --backup-root "$root" --dry-run --quiet --now 2025-11-25T12:00:00Z >/dev/null
  times+=("$(cat "$root/t")")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "cdb-prune --dry-run, 100,000 files: median %.3f s over %d runs (target < 0.5 s)\n", a[int((NR+1)/2)], NR}'
