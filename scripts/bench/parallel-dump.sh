#!/usr/bin/env bash
# Benchmark (run on demand, not a test): cdb-pg-dump --jobs N against pg_dump -Fp and
# pg_dump -Fd -j N, in one run, interleaved rounds, medians: on `pgbench -i -s 20` and on the
# trading fixture at scale 1000. Prints wall time, client CPU (user+sys of the dumping program
# and its threads), server CPU (every backend's, from the postmaster's reaped children), peak
# memory, and ratios. The output of every cdb run is checked to be the same bytes as --jobs 1.
# cdb fsyncs its file before giving it its name; pg_dump -Fp does not, so "pg_dump+sync" (pg_dump
# -Fp, then `sync FILE`) is the same guarantee. On pgbench, where one table is all the data, two
# floors show what the machine allows: "floor_null_jN" is N psql reading that table's N page
# ranges (as cdb does) into /dev/null at once, "floor_files_jN" the same into N files — the
# server's part and the bare minimum of a client, no hashing, no checking, no fsync.
# Every command writes a new file (outputs removed and the disk synced before each, untimed).
#
#   scripts/bench/parallel-dump.sh [RUNS] [JOBS...]   (default 3 rounds; jobs 2 and 4)
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
  export CDB_BENCH_INSIDE=1
  exec scripts/with-postgres.sh "$0" "$runs" "${jobs[@]}"
fi

bin=${CDB_BENCH_BIN:-$(swift build -c release --show-bin-path)/cdb-pg-dump}
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
psql -X -q -d bench_pgbench -c 'VACUUM ANALYZE' -d bench_trading -c 'VACUUM ANALYZE' >/dev/null

# The CPU seconds of every backend that has exited (the postmaster's reaped children).
server_cpu() { awk -v t="$ticks" '{ print ($16 + $17) / t }' "/proc/$postmaster/stat"; }

# once LABEL CMD... : runs CMD once; appends "label wall client_cpu server_cpu maxrss_kib".
once() {
  local label=$1; shift
  local before after
  rm -rf "$out/p.sql" "$out/cj.sql" "$out/cj.sql.sha256" "$out/d" "$out"/range.*
  sync
  before=$(server_cpu)
  /usr/bin/time -f '%e %U %S %M' -o "$out/time" "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; return 1; }
  sleep 0.2  # the backends exit after the client; let the postmaster reap them
  after=$(server_cpu)
  read -r wall user sys rss <"$out/time"
  awk -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v a="$after" -v b="$before" -v r="$rss" \
    'BEGIN { print l, w, u + s, a - b, r }' >>"$out/results"
}

for db in bench_pgbench bench_trading; do
  echo >&2
  echo "== $db ($(psql -X -At -d "$db" -c "SELECT pg_size_pretty(pg_database_size(current_database()))"))" >&2
  case $db in bench_pgbench) table=public.pgbench_accounts ;; *) table=public.orders ;; esac
  : >"$out/results"
  labels="pg_dump pg_dump+sync cdb_j1"
  for j in "${jobs[@]}"; do labels="$labels cdb_j$j pg_dump_Fd_j$j"; done
  floors=""
  if [ "$db" = bench_pgbench ]; then
    for j in "${jobs[@]}"; do floors="$floors floor_null_j$j floor_files_j$j"; done
    pages=$(psql -X -At -d "$db" -c "SELECT pg_relation_size('$table') / 8192")
  fi
  # ranges J SINK: J psql at once, each reading one of J page ranges of $table into SINK (or
  # SINK.N when SINK is a folder's file prefix, not /dev/null). Run by `once` through bash -c.
  ranges() {
    local j=$1 sink=$2 i from to where file
    for i in $(seq 0 $((j - 1))); do
      from=$((pages * i / j)); to=$((pages * (i + 1) / j))
      where="ctid >= '($from,0)'"; [ "$i" -lt $((j - 1)) ] && where="$where AND ctid < '($to,0)'"
      file=$sink; [ "$sink" = /dev/null ] || file=$sink.$i
      psql -X -q -d "$db" -c "COPY (SELECT * FROM ONLY $table WHERE $where) TO STDOUT" >"$file" &
    done
    wait
  }
  export pages db table
  for _ in $(seq "$runs"); do
    once pg_dump pg_dump -Fp -f "$out/p.sql" "$db"
    once pg_dump+sync sh -c 'pg_dump -Fp -f "$1" "$2" && sync "$1"' - "$out/p.sql" "$db"
    rm -f "$out/c1.sql" "$out/c1.sql.sha256"
    once cdb_j1 "$bin" --quiet --jobs 1 --dbname "$db" -o "$out/c1.sql" --require-table "$table"
    for j in "${jobs[@]}"; do
      once "cdb_j$j" "$bin" --quiet --jobs "$j" --dbname "$db" -o "$out/cj.sql" --require-table "$table"
      cmp -s "$out/c1.sql" "$out/cj.sql" || { echo "cdb --jobs $j wrote other bytes than --jobs 1" >&2; exit 1; }
      once "pg_dump_Fd_j$j" pg_dump -Fd -j "$j" -f "$out/d" "$db"
      if [ -n "$floors" ]; then
        once "floor_null_j$j" bash -c "$(declare -f ranges); ranges \"\$@\"" - "$j" /dev/null
        once "floor_files_j$j" bash -c "$(declare -f ranges); ranges \"\$@\"" - "$j" "$out/range"
      fi
    done
  done
  sort -k1,1 -k2,2n "$out/results" | awk -v labels="$labels" -v floors="$floors" '
    { n[$1]++; w[$1, n[$1]] = $2; c[$1, n[$1]] = $3; s[$1, n[$1]] = $4; if ($5 > m[$1]) m[$1] = $5 }
    END {
      printf "%-16s %8s %12s %12s %9s\n", "command", "median s", "client cpu s", "server cpu s", "peak MiB"
      k = split(labels " " floors, order, " ")
      for (i = 1; i <= k; i++) { l = order[i]; h = int((n[l] + 1) / 2); t[l] = w[l, h]
        printf "%-16s %8.2f %12.2f %12.2f %9.1f\n", l, w[l, h], c[l, h], s[l, h], m[l] / 1024 }
      k = split(labels, order, " ")
      for (i = 4; i <= k; i += 2) { l = order[i]; f = order[i + 1]; j = substr(l, 6)
        printf "ratios: %s / pg_dump -Fp %.2f (target <= 0.75), / pg_dump+sync %.2f, / %s %.2f, / cdb --jobs 1 %.2f\n", l, t[l] / t["pg_dump"], t[l] / t["pg_dump+sync"], f, t[l] / t[f], t[l] / t["cdb_j1"]
        if (("floor_null_j" j) in t) printf "floors at --jobs %s: /dev/null %.2f, files %.2f x pg_dump -Fp (nothing that reads the data this way can beat these)\n", j, t["floor_null_j" j] / t["pg_dump"], t["floor_files_j" j] / t["pg_dump"] }
    }'
done
