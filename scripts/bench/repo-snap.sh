#!/usr/bin/env bash
# Benchmark (run on demand, not a test): cdb-repo-snap against `git archive --format=zip HEAD`
# in one run, on a repository made by committing a copy of /usr/include (about 8,000 files;
# another folder with CDB_BENCH_TREE). Prints median wall time, peak memory, size and ratios.
#   scripts/bench/repo-snap.sh [RUNS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
runs=${1:-5}
tree=${CDB_BENCH_TREE:-/usr/include}
swift build -c release --product cdb-repo-snap >/dev/null
bin=$(swift build -c release --show-bin-path)/cdb-repo-snap
work=$(mktemp -d "${TMPDIR:-/tmp}/cdb-snap-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/repo"
cp -a "$tree/." "$work/repo/"
git -C "$work/repo" init -q
git -C "$work/repo" add -A >/dev/null 2>&1
git -C "$work/repo" -c user.name=bench -c user.email=bench@example.com commit -qm bench
git -C "$work/repo" gc -q
echo "repository: $(git -C "$work/repo" ls-files | wc -l) files, $(du -sh "$work/repo/.git" | cut -f1) packed" >&2

: >"$work/results"
for _ in $(seq "$runs"); do
  rm -f "$work/g.zip" "$work/c.zip"
  /usr/bin/time -f '%e %M' -o "$work/t" git -C "$work/repo" archive --format=zip -o "$work/g.zip" HEAD
  echo "git_archive $(cat "$work/t") $(stat -c %s "$work/g.zip")" >>"$work/results"
  (cd "$work/repo" && /usr/bin/time -f '%e %M' -o "$work/t" "$bin" --quiet --force -o "$work/c.zip" >/dev/null)
  echo "cdb $(cat "$work/t") $(stat -c %s "$work/c.zip")" >>"$work/results"
done
sort -k1,1 -k2,2n "$work/results" | awk '
  { n[$1]++; t[$1, n[$1]] = $2; if ($3 > m[$1]) m[$1] = $3; s[$1] = $4 }
  END {
    for (k in n) med[k] = t[k, int((n[k] + 1) / 2)]
    printf "%-12s %9s %10s %12s\n", "command", "median s", "peak MiB", "size MiB"
    printf "%-12s %9.2f %10.1f %12.2f\n", "git archive", med["git_archive"], m["git_archive"]/1024, s["git_archive"]/1048576
    printf "%-12s %9.2f %10.1f %12.2f\n", "cdb-repo-snap", med["cdb"], m["cdb"]/1024, s["cdb"]/1048576
    printf "ratios: time %.2f (target <= 0.5), size %.3f (target <= 1.05), peak memory %.1f MiB (target <= 200)\n",
      med["cdb"]/med["git_archive"], s["cdb"]/s["git_archive"], m["cdb"]/1024
  }'
