#!/usr/bin/env bash
# Benchmark (run on demand, not a test): cdb-restore --jobs N against psql -f (the same plain
# dump) and pg_restore -j N (a directory dump of the same database), in one run, interleaved
# rounds, medians: on `pgbench -i -s 20` and on the trading fixture at scale 1000. Prints wall
# time, client CPU, server CPU (the postmaster's reaped children) and peak memory; ratios are
# medians of each round's own ratio. The floor: the least CPU any of the restores needed (client
# and server, the median of its rounds) spread over every core — a restore here is CPU-bound, so
# nothing that does the same work can finish sooner.
#
#   scripts/bench/parallel-restore.sh [RUNS] [JOBS...]   (default 3 rounds; jobs 2 and 4)
runs=${1:-3}
shift || true
jobs=("$@")
[ ${#jobs[@]} -gt 0 ] || jobs=(2 4)
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_inside cdb-pg-dump cdb-restore -- "$runs" "${jobs[@]}"

bindir=$(swift build -c release --show-bin-path)
bench_folder bench
echo "preparing: pgbench -i -s 20, trading fixture at scale $scale …" >&2
make_pgbench
make_trading

# once LABEL CMD... : restores into a fresh database "target" (dropped first); appends "round
# label wall client_cpu server_cpu maxrss_kib".
once() {
  local label=$1; shift
  dropdb --if-exists target 2>/dev/null
  case $label in pg_restore*|psql) createdb target ;; esac
  sync  # untimed: no earlier run's writing competes
  local before after
  before=$(server_cpu)
  /usr/bin/time -f '%e %U %S %M' -o "$out/time" "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; return 1; }
  sleep 0.2
  after=$(server_cpu)
  read -r wall user sys rss <"$out/time"
  awk -v r="$round" -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v a="$after" -v b="$before" -v m="$rss" \
    'BEGIN { print r, l, w, u + s, a - b, m }' >>"$out/results"
}

for db in bench_pgbench bench_trading; do
  echo >&2
  echo "== $db ($(db_size "$db"))" >&2
  case $db in bench_pgbench) table=public.pgbench_accounts ;; *) table=public.orders ;; esac
  rm -rf "$out/plain.sql"* "$out/dir"
  "$bindir/cdb-pg-dump" --quiet --dbname "$db" -o "$out/plain.sql" --require-table "$table" >/dev/null
  pg_dump -Fd -f "$out/dir" "$db"
  : >"$out/results"
  labels="psql cdb_j1"
  targets="cdb_j1 psql -"
  for j in "${jobs[@]}"; do
    labels="$labels cdb_j$j pg_restore_j$j"
    targets="$targets
cdb_j$j psql 0.8
cdb_j$j pg_restore_j$j 0.9
cdb_j$j cdb_j1 -"
  done
  for round in $(seq "$runs"); do
    once psql psql -X -q -v ON_ERROR_STOP=1 -d target -f "$out/plain.sql"
    once cdb_j1 "$bindir/cdb-restore" --quiet --no-verify --jobs 1 --create -d target "$out/plain.sql"
    for j in "${jobs[@]}"; do
      once "cdb_j$j" "$bindir/cdb-restore" --quiet --no-verify --jobs "$j" --create -d target "$out/plain.sql"
      once "pg_restore_j$j" pg_restore -j "$j" -d target "$out/dir"
    done
  done
  dropdb --if-exists target 2>/dev/null
  summarize "$labels" "$targets"
  cpu_floor "$labels"
done
