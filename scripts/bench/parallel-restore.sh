#!/usr/bin/env bash
# Benchmark (run on demand, not a test): cdb-restore --jobs N against psql -f (the same plain
# dump) and pg_restore -j N (a directory dump of the same database), in one run, interleaved
# rounds, medians: on `pgbench -i -s 20` and on the trading fixture at scale 1000. Prints wall
# time, client CPU, server CPU (the postmaster's reaped children) and peak memory.
#
#   scripts/bench/parallel-restore.sh [RUNS] [JOBS...]   (default 3 rounds; jobs 2 and 4)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
runs=${1:-3}
shift || true
jobs=("$@")
[ ${#jobs[@]} -gt 0 ] || jobs=(2 4)
scale=${CDB_BENCH_TRADING_SCALE:-1000}

if [ -z "${PGHOST:-}" ] || [ -z "${CDB_BENCH_INSIDE:-}" ]; then
  scripts/install-deps.sh
  swift build -c release --product cdb-pg-dump >/dev/null
  swift build -c release --product cdb-restore >/dev/null
  export CDB_BENCH_INSIDE=1
  exec scripts/with-postgres.sh "$0" "$runs" "${jobs[@]}"
fi

bindir=$(swift build -c release --show-bin-path)
out=$(mktemp -d "${TMPDIR:-/tmp}/cdb-bench.XXXXXX")
trap 'rm -rf "$out"' EXIT
postmaster=$(head -1 "$CDB_TEST_PGDATA/postmaster.pid")
ticks=$(getconf CLK_TCK)

echo "preparing: pgbench -i -s 20, trading fixture at scale $scale …" >&2
createdb bench_pgbench
"$CDB_TEST_PGBIN/pgbench" -q -i -s 20 bench_pgbench >/dev/null 2>&1
createdb bench_trading
psql -X -q -v ON_ERROR_STOP=1 -d bench_trading -f fixtures/trading_schema.sql >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -v scale="$scale" -d bench_trading -f fixtures/trading_data.sql >/dev/null

server_cpu() { awk -v t="$ticks" '{ print ($16 + $17) / t }' "/proc/$postmaster/stat"; }

# once LABEL CMD... : restores into a fresh database "target" (dropped first).
once() {
  local label=$1; shift
  dropdb --if-exists target
  case $label in pg_restore*|psql) createdb target ;; esac
  sync  # untimed: no earlier run's writing competes
  local before after
  before=$(server_cpu)
  /usr/bin/time -f '%e %U %S %M' -o "$out/time" "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; return 1; }
  sleep 0.2
  after=$(server_cpu)
  read -r wall user sys rss <"$out/time"
  awk -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v a="$after" -v b="$before" -v r="$rss" \
    'BEGIN { print l, w, u + s, a - b, r }' >>"$out/results"
}

for db in bench_pgbench bench_trading; do
  echo >&2
  echo "== $db ($(psql -X -At -d "$db" -c "SELECT pg_size_pretty(pg_database_size(current_database()))"))" >&2
  case $db in bench_pgbench) table=public.pgbench_accounts ;; *) table=public.orders ;; esac
  rm -rf "$out/plain.sql"* "$out/dir"
  "$bindir/cdb-pg-dump" --quiet --dbname "$db" -o "$out/plain.sql" --require-table "$table" >/dev/null
  pg_dump -Fd -f "$out/dir" "$db"
  : >"$out/results"
  labels="psql cdb_j1"
  for j in "${jobs[@]}"; do labels="$labels cdb_j$j pg_restore_j$j"; done
  for _ in $(seq "$runs"); do
    once psql psql -X -q -v ON_ERROR_STOP=1 -d target -f "$out/plain.sql"
    once cdb_j1 "$bindir/cdb-restore" --quiet --no-verify --jobs 1 --create -d target "$out/plain.sql"
    for j in "${jobs[@]}"; do
      once "cdb_j$j" "$bindir/cdb-restore" --quiet --no-verify --jobs "$j" --create -d target "$out/plain.sql"
      once "pg_restore_j$j" pg_restore -j "$j" -d target "$out/dir"
    done
  done
  dropdb --if-exists target
  sort -k1,1 -k2,2n "$out/results" | awk -v labels="$labels" '
    { n[$1]++; w[$1, n[$1]] = $2; c[$1, n[$1]] = $3; s[$1, n[$1]] = $4; if ($5 > m[$1]) m[$1] = $5 }
    END {
      printf "%-16s %8s %12s %12s %9s\n", "command", "median s", "client cpu s", "server cpu s", "peak MiB"
      k = split(labels, order, " ")
      for (i = 1; i <= k; i++) { l = order[i]; h = int((n[l] + 1) / 2); t[l] = w[l, h]
        printf "%-16s %8.2f %12.2f %12.2f %9.1f\n", l, w[l, h], c[l, h], s[l, h], m[l] / 1024 }
      for (i = 3; i <= k; i += 2) { l = order[i]; f = order[i + 1]
        printf "ratios: %s / psql -f %.2f (target <= 0.8), / %s %.2f (target <= 0.9), / cdb --jobs 1 %.2f\n", l, t[l] / t["psql"], f, t[l] / t[f], t[l] / t["cdb_j1"] }
    }'
done
