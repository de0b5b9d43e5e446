#!/usr/bin/env bash
# Benchmark (run on demand, not a test): cdb-repo-snap on a repository with a long history,
# against `git archive --format=zip HEAD` in the same run. The script builds the repository
# itself with git fast-import: one commit of FILES source files (default 4,800, LINES_PER_FILE
# lines each: about 10 KB, a tree the size of git's own), then COMMITS small commits (default
# 100,000) that change small files beside them, then `git gc` (which writes a commit-graph file, as git does by
# default), then measures, as medians of RUNS interleaved rounds:
#   - git archive of the full clone
#   - cdb-repo-snap of the full clone as git gc leaves it (a commit-graph file), no earlier snapshot
#   - cdb-repo-snap of the same clone without the commit-graph file: the whole history walked
#   - cdb-repo-snap of a shallow clone of the same tree (depth 1)
#   - the post-commit hook's run (--incremental) one commit after a snapshot: an increment
# and prints seconds, peak memory and the issue's ratios.
#   scripts/bench/long-history.sh [RUNS]      (COMMITS=…, FILES=… in the environment)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
runs=${1:-5}
commits=${COMMITS:-100000}
files=${FILES:-4800}
swift build -c release --product cdb-repo-snap >/dev/null
bin=$(swift build -c release --show-bin-path)/cdb-repo-snap
work=$(mktemp -d "${TMPDIR:-/tmp}/cdb-history-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The history: the first commit adds every file, each later one changes one file's line.
git init -q -b main "$work/full"
awk -v commits="$commits" -v files="$files" -v lines="${LINES_PER_FILE:-150}" 'BEGIN {
  t = 1600000000
  srand(7)
  for (c = 1; c <= commits; c++) {
    printf "commit refs/heads/main\nmark :%d\ncommitter Bench <bench@example.com> %d +0000\n", c, t + c * 60
    msg = "change " c; printf "data %d\n%s\n", length(msg), msg
    if (c > 1) printf "from :%d\n", c - 1
    if (c == 1) {
      for (f = 0; f < files; f++) {
        # Source-like text that does not compress to nothing: names and numbers vary by line.
        body = "def module_" f "(value):\n"
        for (k = 0; k < lines; k++) body = body sprintf("    v%d = step_%x(value, %d, \"%x\")  # %s\n", k, int(rand() * 65536), int(rand() * 100000), int(rand() * 4294967296), (rand() < 0.5 ? "keeps the state" : "moves the price"))
        body = body "    return value\n"
        printf "M 100644 inline src/m%02d/file%05d.py\ndata %d\n%s\n", f % 50, f, length(body), body
      }
    } else {
      # Later commits change small files (a history of many small commits over a big tree).
      f = (c * 7919) % 300
      body = "state " f "\nvalue = " c "\n"
      printf "M 100644 inline state/s%03d.txt\ndata %d\n%s\n", f, length(body), body
    }
  }
}' | git -C "$work/full" fast-import --quiet
git -C "$work/full" checkout -q main
# fast-import stores each blob as a delta on the one before (newest deepest); a clone's pack is
# made afresh, newest versions whole: repack as a server would.
git -C "$work/full" repack -q -a -d -f
git -C "$work/full" gc -q
git clone -q --depth 1 "file://$work/full" "$work/shallow"
git -C "$work/full" commit-graph write --reachable 2>/dev/null  # what gc.writeCommitGraph does
cp -a "$work/full" "$work/walk"
rm -f "$work/walk/.git/objects/info/commit-graph"
echo "repository: $(git -C "$work/full" rev-list --count HEAD) commits, $(git -C "$work/full" ls-files | wc -l) files, $(du -sh "$work/full/.git" | cut -f1) packed" >&2

: >"$work/results"
measure() {  # NAME DIR COMMAND…
  local name=$1 dir=$2; shift 2
  rm -f "$work/out.zip"
  (cd "$dir" && /usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null)
  echo "$name $(cat "$work/t")" >>"$work/results"
}
for round in $(seq "$runs"); do
  measure git_archive "$work/full" git archive --format=zip -o "$work/out.zip" HEAD
  measure full "$work/full" "$bin" --quiet --force --backup-root "$work/root-full-$round" -o "$work/out.zip"
  measure walk "$work/walk" "$bin" --quiet --force --backup-root "$work/root-walk-$round" -o "$work/out.zip"
  measure shallow "$work/shallow" "$bin" --quiet --force --backup-root "$work/root-shallow-$round" -o "$work/out.zip"
  # The post-commit hook's run one commit after a snapshot into the same backup root: an
  # increment on it, its commit count built on the earlier one.
  "$bin" --quiet --force --incremental --backup-root "$work/root-next-$round" --repo "$work/full" >/dev/null
  echo "round $round" >>"$work/full/src/m00/file00000.py"
  git -C "$work/full" -c user.name=b -c user.email=b@e commit -qam "round $round"
  measure next "$work/full" "$bin" --quiet --force --incremental --backup-root "$work/root-next-$round"
done
sort -k1,1 -k2,2n "$work/results" | awk '
  { n[$1]++; t[$1, n[$1]] = $2; if ($3 > m[$1]) m[$1] = $3 }
  END {
    for (k in n) med[k] = t[k, int((n[k] + 1) / 2)]
    printf "%-34s %9s %10s\n", "run", "median s", "peak MiB"
    printf "%-34s %9.2f %10.1f\n", "git archive (full clone)", med["git_archive"], m["git_archive"]/1024
    printf "%-34s %9.2f %10.1f\n", "cdb-repo-snap, full clone", med["full"], m["full"]/1024
    printf "%-34s %9.2f %10.1f\n", "cdb-repo-snap, no commit-graph", med["walk"], m["walk"]/1024
    printf "%-34s %9.2f %10.1f\n", "cdb-repo-snap, shallow clone", med["shallow"], m["shallow"]/1024
    printf "%-34s %9.2f %10.1f\n", "cdb-repo-snap, one commit later", med["next"], m["next"]/1024
    printf "ratios: full clone %.2f x git archive (target <= 0.45), %.2f x shallow (target <= 1.15), peak %.1f MiB (target <= 100); one commit later %.2f x (target <= 0.40); no commit-graph %.2f x\n",
      med["full"]/med["git_archive"], med["full"]/med["shallow"], m["full"]/1024, med["next"]/med["git_archive"], med["walk"]/med["git_archive"]
  }'
