#!/usr/bin/env bash
# Benchmark (run on demand, not a test): cdb-pg-dump --jobs N against pg_dump -Fp and
# pg_dump -Fd -j N, in one run, interleaved rounds, medians: on `pgbench -i -s 20` and on the
# trading fixture at scale 1000. Prints wall time, client CPU (user+sys of the dumping program
# and its threads), server CPU (every backend's, from the postmaster's reaped children), peak
# memory, and ratios. The output of every cdb run is checked to be the same bytes as --jobs 1.
# cdb fsyncs its file before giving it its name; pg_dump -Fp does not, so "pg_dump+sync" (pg_dump
# -Fp, then `sync FILE`) is the same guarantee. Two floors show what the machine allows:
# "floor_null_jN" is N psql at once, each reading its share of every table's pages (ranges of
# ctid, as cdb does) into /dev/null, "floor_files_jN" the same into N files — the server's part
# and the bare minimum of a client: no snapshot shared, no order, no hashing, no checking, no
# fsync; "floor_sync_jN" the same files, then `sync` of them (durability the usual way: cdb,
# writing to the disk as it goes, beats it). "cdb_jN_stdout" is cdb writing to its standard
# output, redirected to a file: no fsync, the durability of pg_dump -Fp.
# Every command writes a new file (outputs removed and the disk synced before each, untimed).
# Ratios are medians of each round's own ratio (both commands run back to back in a round).
#
#   scripts/bench/parallel-dump.sh [RUNS] [JOBS...]   (default 3 rounds; jobs 2 and 4)
#   CDB_BENCH_DBS=bench_trading scripts/bench/parallel-dump.sh …   (one of the two databases;
#   bench_big: pgbench scale 100, one 1.3 GB table — not by default)
runs=${1:-3}
shift || true
jobs=("$@")
[ ${#jobs[@]} -gt 0 ] || jobs=(2 4)
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_inside cdb-pg-dump -- "$runs" "${jobs[@]}"

bin=${CDB_BENCH_BIN:-$(swift build -c release --show-bin-path)/cdb-pg-dump}
bench_folder bench
echo "preparing: ${CDB_BENCH_DBS:-bench_pgbench bench_trading} (pgbench -i -s 20 / -s 100 for bench_big; the trading fixture at scale $scale) …" >&2
case " ${CDB_BENCH_DBS:-bench_pgbench bench_trading} " in *" bench_pgbench "*) make_pgbench ;; esac
case " ${CDB_BENCH_DBS:-bench_pgbench bench_trading} " in *" bench_trading "*) make_trading ;; esac
case " ${CDB_BENCH_DBS:-} " in *" bench_big "*) make_pgbench bench_big 100 ;; esac

# once LABEL CMD... : runs CMD once; appends "round label wall client_cpu server_cpu maxrss_kib".
once() {
  local label=$1; shift
  local before after
  rm -rf "$out/p.sql" "$out/cj.sql" "$out/cj.sql.sha256" "$out/cs.sql" "$out/d" "$out"/range.*
  sync
  before=$(server_cpu)
  /usr/bin/time -f '%e %U %S %M' -o "$out/time" "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; return 1; }
  sleep 0.2  # the backends exit after the client; let the postmaster reap them
  after=$(server_cpu)
  read -r wall user sys rss <"$out/time"
  awk -v r="$round" -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v a="$after" -v b="$before" -v m="$rss" \
    'BEGIN { print r, l, w, u + s, a - b, m }' >>"$out/results"
}

# ranges J SINK: J psql at once, the i-th reading the i-th of J page ranges of every table (in
# $tables: "schema.table pages" lines) into SINK (or SINK.i when SINK is not /dev/null). Run by
# `once` through bash -c.
ranges() {
  local j=$1 sink=$2 i t p from to where file cmds
  for i in $(seq 0 $((j - 1))); do
    cmds=()
    while read -r t p; do
      from=$((p * i / j)); to=$((p * (i + 1) / j))
      where="ctid >= '($from,0)'"; [ "$i" -lt $((j - 1)) ] && where="$where AND ctid < '($to,0)'"
      cmds+=(-c "COPY (SELECT * FROM ONLY $t WHERE $where) TO STDOUT")
    done <<<"$tables"
    file=$sink; [ "$sink" = /dev/null ] || file=$sink.$i
    psql -X -q -d "$db" "${cmds[@]}" >"$file" &
  done
  wait
}

for db in ${CDB_BENCH_DBS:-bench_pgbench bench_trading}; do
  echo >&2
  echo "== $db ($(db_size "$db"))" >&2
  case $db in bench_pgbench|bench_big) table=public.pgbench_accounts ;; *) table=public.orders ;; esac
  tables=$(psql -X -At -F ' ' -d "$db" -c "SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), pg_catalog.pg_relation_size(c.oid) / 8192
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 1")
  export db tables
  : >"$out/results"
  labels="pg_dump pg_dump+sync cdb_j1"
  targets=""
  for j in "${jobs[@]}"; do
    labels="$labels cdb_j$j cdb_j${j}_stdout pg_dump_Fd_j$j floor_null_j$j floor_files_j$j floor_sync_j$j"
    targets="$targets
cdb_j$j pg_dump 0.75
cdb_j$j pg_dump+sync - (the same durability)
cdb_j${j}_stdout pg_dump - (the same durability: none)
cdb_j$j pg_dump_Fd_j$j -
cdb_j$j cdb_j1 -
floor_null_j$j pg_dump -
floor_files_j$j pg_dump - (the floor at --jobs $j: no client that reads the data this way can beat it)
floor_sync_j$j pg_dump - (the same files synced after)
cdb_j$j floor_sync_j$j -"
  done
  for round in $(seq "$runs"); do
    once pg_dump pg_dump -Fp -f "$out/p.sql" "$db"
    once pg_dump+sync sh -c 'pg_dump -Fp -f "$1" "$2" && sync "$1"' - "$out/p.sql" "$db"
    rm -f "$out/c1.sql" "$out/c1.sql.sha256"
    once cdb_j1 "$bin" --quiet --jobs 1 --dbname "$db" -o "$out/c1.sql" --require-table "$table"
    for j in "${jobs[@]}"; do
      once "cdb_j$j" "$bin" --quiet --jobs "$j" --dbname "$db" -o "$out/cj.sql" --require-table "$table"
      cmp -s "$out/c1.sql" "$out/cj.sql" || { echo "cdb --jobs $j wrote other bytes than --jobs 1" >&2; exit 1; }
      once "cdb_j${j}_stdout" sh -c '"$1" --quiet --jobs "$2" --dbname "$3" --require-table "$4" -o - >"$5"' - "$bin" "$j" "$db" "$table" "$out/cs.sql"
      cmp -s "$out/c1.sql" "$out/cs.sql" || { echo "cdb --jobs $j -o - wrote other bytes than --jobs 1" >&2; exit 1; }
      once "pg_dump_Fd_j$j" pg_dump -Fd -j "$j" -f "$out/d" "$db"
      once "floor_null_j$j" bash -c "$(declare -f ranges); ranges \"\$@\"" - "$j" /dev/null
      once "floor_files_j$j" bash -c "$(declare -f ranges); ranges \"\$@\"" - "$j" "$out/range"
      once "floor_sync_j$j" bash -c "$(declare -f ranges); ranges \"\$@\" && sync \"\$2\".*" - "$j" "$out/range"
    done
  done
  summarize "$labels" "$targets"
done
