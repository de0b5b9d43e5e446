#!/usr/bin/env bash
# Benchmark (run on demand, not a test): cdb-pg-dump against pg_dump and against the server's
# own COPY rate, in one run, on a `pgbench -i -s 20` database, on the trading fixture at
# scale 1000, and on a catalog-heavy one (fixtures/catalog_heavy.sql: 500 tables and thousands
# of catalog objects, little data). Prints wall time (median of RUNS), peak memory, sizes, ratios.
#
#   scripts/bench/pg-dump.sh [RUNS]        (default 3; needs a release build, made if missing)
runs=${1:-3}
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_inside cdb-pg-dump -- "$@"

# CDB_BENCH_BIN: another build to measure (before/after a change); CDB_BENCH_ARGS: extra flags
# for every cdb run (e.g. --jobs 1).
bin=${CDB_BENCH_BIN:-$(swift build -c release --show-bin-path)/cdb-pg-dump}
read -r -a extra <<<"${CDB_BENCH_ARGS:-}"
bench_folder bench

echo "preparing: pgbench -i -s 20, trading fixture at scale $scale …" >&2
make_pgbench
make_trading
createdb bench_catalog
psql -X -q -v ON_ERROR_STOP=1 -d bench_catalog -f fixtures/catalog_heavy.sql >/dev/null

# once LABEL OUTFILE CMD... : runs CMD once; appends "label seconds maxrss_kib size" to $out/results.
once() {
  local label=$1 file=$2; shift 2
  rm -f "$file"
  /usr/bin/time -f '%e %M' -o "$out/time" "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; return 1; }
  local size=0
  [ -f "$file" ] && size=$(stat -c %s "$file")
  echo "$label $(cat "$out/time") $size" >>"$out/results"
}

copy_all() {  # the server's emission rate: COPY every table to /dev/null
  local db=$1
  for t in $(psql -X -At -d "$db" -c "SELECT quote_ident(schemaname)||'.'||quote_ident(tablename) FROM pg_tables WHERE schemaname='public'"); do
    psql -X -q -d "$db" -c "COPY $t TO STDOUT" >/dev/null
  done
}
export -f copy_all

for db in bench_pgbench bench_trading bench_catalog; do
  echo >&2
  echo "== $db ($(db_size "$db"))" >&2
  case $db in bench_pgbench) table=public.pgbench_accounts ;; bench_trading) table=public.orders ;; *) table=public.t_1 ;; esac
  : >"$out/results"
  # Rounds interleave the commands, so that cache state and machine noise hit all alike.
  for _ in $(seq "$runs"); do
    once copy "$out/none" bash -c "copy_all $db"
    once pg_dump "$out/p.sql" pg_dump -Fp -f "$out/p.sql" "$db"
    # cdb fsyncs before the rename (a backup must survive a crash); pg_dump -Fp never syncs.
    once pg_dump_sync "$out/q.sql" sh -c "pg_dump -Fp -f '$out/q.sql' $db && sync '$out/q.sql'"
    once cdb "$out/c.sql" "$bin" "${extra[@]}" --quiet --dbname "$db" -o "$out/c.sql" --require-table "$table"
    once pg_dump_Fc "$out/p.dump" pg_dump -Fc -f "$out/p.dump" "$db"
    once cdb_zstd "$out/c.sql.zst" "$bin" "${extra[@]}" --quiet --dbname "$db" --compress zstd -o "$out/c.sql.zst" --require-table "$table"
  done
  # Median time, maximum RSS and last size per command.
  results=$(sort -k1,1 -k2,2n "$out/results" | awk '
    { n[$1]++; t[$1, n[$1]] = $2; if ($3 > m[$1]) m[$1] = $3; s[$1] = $4 }
    END { for (k in n) print k, t[k, int((n[k] + 1) / 2)], m[k], s[k] }')
  echo "$results" | awk '
    { t[$1]=$2; m[$1]=$3; s[$1]=$4 }
    END {
      printf "%-12s %9s %10s %12s\n", "command", "median s", "peak MiB", "size MiB"
      split("copy pg_dump pg_dump_sync cdb pg_dump_Fc cdb_zstd", order, " ")
      for (i = 1; i <= 6; i++) { k = order[i]; printf "%-12s %9.2f %10.1f %12.1f\n", k, t[k], m[k]/1024, s[k]/1048576 }
      printf "ratios: cdb/pg_dump time %.2f (target <= 1.05), cdb/(pg_dump + sync) %.2f, cdb/COPY time %.2f\n", t["cdb"]/t["pg_dump"], t["cdb"]/t["pg_dump_sync"], t["cdb"]/t["copy"]
      printf "        cdb zstd/pg_dump -Fc time %.2f (target <= 0.5), size %.2f (target <= 1.1)\n", t["cdb_zstd"]/t["pg_dump_Fc"], s["cdb_zstd"]/s["pg_dump_Fc"]
      printf "        peak memory cdb %.1f MiB, cdb zstd %.1f MiB (target <= 64; <= 32 on bench_catalog), pg_dump %.1f MiB\n", m["cdb"]/1024, m["cdb_zstd"]/1024, m["pg_dump"]/1024
    }'
done
