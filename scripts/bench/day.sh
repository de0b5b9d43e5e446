#!/usr/bin/env bash
# Benchmark (run on demand, not a test): what an ordinary working day stores. A copy of this
# repository and the trading fixture at its sample size; a day is one cdb-pre-session, then ten
# commits of a few lines, each followed by the post-commit hook's snapshot. Day 1 starts with an
# empty backup root (its session writes the full snapshot); day 2 builds on it. Run with the
# default settings and with CDB_COMPRESS=zstd; then day 1 on a generated 50 MB repository,
# against one full snapshot plus the commits' own size. Prints bytes stored per day.
#
#   scripts/bench/day.sh            (needs a release build, made if missing)
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_inside --load-fixture cdb-pre-session cdb-repo-snap -- "$@"

bindir=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${TMPDIR:-/tmp}/cdb-day.XXXXXX")
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME=$work/config HOME=$work/home
mkdir -p "$HOME"
git clone -q . "$work/repo"
git -C "$work/repo" config user.email trader@example.com
git -C "$work/repo" config user.name Trader

# stored ROOT: bytes of every file under the root (backups, sidecars, logs).
stored() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

# day REPO ROOT LABEL: one session and ten commits; prints the bytes the day added.
day() {
  local repo=$1 root=$2 label=$3 before after
  before=$(stored "$root")
  (cd "$repo" && CDB_BACKUP_ROOT=$root "$bindir/cdb-pre-session" --quiet >/dev/null)
  for i in $(seq 10); do
    printf 'signal_threshold_%s = %s\n' "$label$i" "$RANDOM" >>"$repo/bench_notes.py"
    git -C "$repo" add bench_notes.py && git -C "$repo" commit -q -m "tune $label$i"
    (cd "$repo" && CDB_BACKUP_ROOT=$root "$bindir/cdb-repo-snap" --quiet --force --incremental >/dev/null)
  done
  after=$(stored "$root")
  echo $((after - before))
}

"$bindir/cdb-pre-session" enable --repo "$work/repo" >/dev/null
echo "sample size: this repository ($(du -sh --exclude=.git "$work/repo" | cut -f1) work tree), the trading fixture" >&2
for compress in none zstd; do
  root=$work/root-$compress
  mkdir -p "$root"
  if [ "$compress" = zstd ]; then export CDB_COMPRESS=zstd; else unset CDB_COMPRESS; fi
  d1=$(day "$work/repo" "$root" "a$compress")
  d2=$(day "$work/repo" "$root" "b$compress")
  full=$(find "$root/Repository" -name '*.zip' ! -name '*.inc-*' -printf '%s\n' | head -1)
  dump=$(find "$root/PostgreSQL" -name 'cdb_backup_*' ! -name '*.sha256' -printf '%s\n' | head -1)
  incs=$(find "$root/Repository" -name '*.inc-*.zip' -printf '%s\n' | awk '{ s += $1; n++ } END { printf "%d increments, %.1f KB on average", n, s / n / 1024 }')
  printf 'CDB_COMPRESS=%-5s day 1 %7.0f KB (full snapshot %.0f KB, dump %.0f KB)   day 2 %7.0f KB   (%s)\n' \
    "$compress" "$(echo "$d1/1024" | bc -l)" "$(echo "$full/1024" | bc -l)" "$(echo "$dump/1024" | bc -l)" "$(echo "$d2/1024" | bc -l)" "$incs"
done
unset CDB_COMPRESS

# A 50 MB repository: generated files, little history.
big=$work/big
mkdir -p "$big" && git -C "$big" init -q -b main
git -C "$big" config user.email trader@example.com && git -C "$big" config user.name Trader
python3 - "$big" <<'EOF'
import os, random, sys
random.seed(50)
root = sys.argv[1]
words = [("".join(random.choice("abcdefghijklmnop") for _ in range(random.randint(3, 9)))) for _ in range(5000)]
total = 0
i = 0
while total < 50 * 1024 * 1024:
    d = os.path.join(root, f"pkg{i % 40}")
    os.makedirs(d, exist_ok=True)
    text = " ".join(random.choice(words) for _ in range(random.randint(2000, 40000))) + "\n"
    with open(os.path.join(d, f"file{i}.txt"), "w") as f:
        f.write(text)
    total += len(text)
    i += 1
EOF
git -C "$big" add -A && git -C "$big" commit -q -m "50 MB"
"$bindir/cdb-pre-session" enable --repo "$big" >/dev/null
root=$work/root-big
mkdir -p "$root"
before=$(stored "$root")
(cd "$big" && CDB_BACKUP_ROOT=$root "$bindir/cdb-pre-session" --quiet --skip-db >/dev/null) || true
full=$(find "$root/Repository" -name '*.zip' ! -name '*.inc-*' -printf '%s\n' | head -1)
commits=0
for i in $(seq 10); do
  printf 'change %s\n' "$i" >>"$big/pkg1/file1.txt"
  git -C "$big" commit -q -am "change $i"
  commits=$((commits + $(git -C "$big" cat-file -s HEAD:pkg1/file1.txt)))
  (cd "$big" && CDB_BACKUP_ROOT=$root "$bindir/cdb-repo-snap" --quiet --force --incremental >/dev/null)
done
total=$(($(stored "$root") - before))
printf '50 MB repository: day 1 %.1f MB; one full snapshot %.1f MB + the commits'"'"' own size %.1f MB = %.1f MB; ratio %.2f (target <= 1.10)\n' \
  "$(echo "$total/1048576" | bc -l)" "$(echo "$full/1048576" | bc -l)" "$(echo "$commits/1048576" | bc -l)" \
  "$(echo "($full+$commits)/1048576" | bc -l)" "$(echo "$total/($full+$commits)" | bc -l)"
