#!/usr/bin/env bash
# Benchmark (run on demand, not a test): restoring the `pgbench -i -s 20` dump with cdb-restore
# against `psql -f` in one run (interleaved, median of RUNS), and `cdb-restore --check` on the
# trading fixture at scale 1.
#   scripts/bench/restore.sh [RUNS]
runs=${1:-3}
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_inside --load-fixture cdb-pg-dump cdb-restore -- "$@"
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
createdb bench
"$CDB_TEST_PGBIN/pgbench" -q -i -s 20 bench >/dev/null 2>&1
"$bin/cdb-pg-dump" --quiet --dbname bench --require-table pgbench_accounts -o "$work/bench.sql" >/dev/null
"$bin/cdb-pg-dump" --quiet -o "$work/trading.sql" >/dev/null
echo "dump: $(du -h "$work/bench.sql" | cut -f1)" >&2
: >"$work/results"
run_psql() {
  /usr/bin/time -f %e -o "$work/t" psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "p$1" -f "$work/bench.sql" >/dev/null
  echo "psql $(cat "$work/t")" >>"$work/results"
}
run_cdb() {
  /usr/bin/time -f %e -o "$work/t" "$bin/cdb-restore" --quiet "$work/bench.sql" --dbname "c$1" >/dev/null
  echo "cdb $(cat "$work/t")" >>"$work/results"
}
# The server's work (COPY, index builds, WAL, checkpoints) dominates: alternate the order and
# checkpoint before each restore so that neither pays for the other's writes.
for i in $(seq "$runs"); do
  createdb "p$i"; createdb "c$i"
  psql -X -q -c CHECKPOINT
  if [ $((i % 2)) = 1 ]; then run_psql "$i"; psql -X -q -c CHECKPOINT; run_cdb "$i"
  else run_cdb "$i"; psql -X -q -c CHECKPOINT; run_psql "$i"; fi
  dropdb "p$i"; dropdb "c$i"
done
/usr/bin/time -f %e -o "$work/t" "$bin/cdb-restore" --quiet --check "$work/trading.sql"
echo "check $(cat "$work/t")" >>"$work/results"
sort -k1,1 -k2,2n "$work/results" | awk '
  { n[$1]++; t[$1, n[$1]] = $2 }
  END {
    for (k in n) med[k] = t[k, int((n[k] + 1) / 2)]
    printf "restore pgbench -s 20: psql -f %.2f s, cdb-restore %.2f s, ratio %.2f (target <= 1.0)\n", med["psql"], med["cdb"], med["cdb"] / med["psql"]
    printf "cdb-restore --check on the trading fixture (scale 1): %.2f s (target < 2 s)\n", med["check"]
  }'
