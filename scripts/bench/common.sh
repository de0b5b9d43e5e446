# Sourced by the benchmarks in this folder (not run): what they share. Moves to the repository's
# root; `bench_script` is the benchmark's own path.
set -euo pipefail
bench_script=$(realpath "$0")
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
scale=${CDB_BENCH_TRADING_SCALE:-1000}

# bench_inside [--load-fixture] PRODUCT... -- ARGS...: the first time through, installs what is
# missing, builds the release PRODUCTs (every product when none is named) and runs the benchmark again with ARGS inside a throwaway
# cluster (scripts/with-postgres.sh; --load-fixture: with the trading fixture at scale 1 as
# PGDATABASE) — it does not return; inside that cluster it returns at once.
bench_inside() {
  local options=() products=()
  [ "${1:-}" = --load-fixture ] && { options=(--load-fixture); shift; }
  while [ $# -gt 0 ] && [ "$1" != -- ]; do products+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  [ -n "${PGHOST:-}" ] && [ -n "${CDB_BENCH_INSIDE:-}" ] && return 0
  scripts/install-deps.sh
  local p
  [ ${#products[@]} -gt 0 ] || swift build -c release >/dev/null
  for p in "${products[@]}"; do swift build -c release --product "$p" >/dev/null; done
  export CDB_BENCH_INSIDE=1
  exec scripts/with-postgres.sh "${options[@]}" "$bench_script" "$@"
}

# bench_folder NAME: a new temporary folder in $out, removed when the benchmark exits.
bench_folder() {
  out=$(mktemp -d "${TMPDIR:-/tmp}/cdb-$1.XXXXXX")
  trap 'rm -rf "$out"' EXIT
}

# make_pgbench [NAME [SCALE]] / make_trading: the databases bench_pgbench (`pgbench -i -s 20`)
# and bench_trading (the trading fixture at $scale), vacuumed and analyzed as a database in use
# would be.
make_pgbench() {
  local name=${1:-bench_pgbench}
  createdb "$name"
  "$CDB_TEST_PGBIN/pgbench" -q -i -s "${2:-20}" "$name" >/dev/null 2>&1
  psql -X -q -d "$name" -c 'VACUUM ANALYZE' >/dev/null
}
make_trading() {
  createdb bench_trading
  psql -X -q -v ON_ERROR_STOP=1 -d bench_trading -f fixtures/trading_schema.sql >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -v scale="$scale" -d bench_trading -f fixtures/trading_data.sql >/dev/null
  psql -X -q -d bench_trading -c 'VACUUM ANALYZE' >/dev/null
}

# db_size DB: its size as PostgreSQL prints it.
db_size() { psql -X -At -d "$1" -c "SELECT pg_size_pretty(pg_database_size(current_database()))"; }

# server_cpu: the CPU seconds of every backend that has exited (the postmaster's reaped
# children; a backend exits after its client, so wait a moment after a run before reading).
server_cpu() {
  awk -v t="$(getconf CLK_TCK)" '{ print ($16 + $17) / t }' "/proc/$(head -1 "$CDB_TEST_PGDATA/postmaster.pid")/stat"
}

# summarize LABELS TARGETS: the table of a parallel benchmark from $out/results, whose lines are
# "round label wall client_cpu server_cpu maxrss_kib": per label the median wall time (with the
# client and server CPU of that run) and the peak memory. TARGETS lines "label base target
# note" then print the ratio label/base as the median of the rounds' own ratios (each round runs
# both back to back, so a machine that slows down for a minute slows both) beside the ratio of
# the medians, with the target when there is one ("-" for none).
# The awk function both tables use: the median of a[1..k] (sorted in place).
awk_median='
    function median(a, k,   i, j, x) {
      for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
      return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }'

summarize() {
  awk -v labels="$1" -v targets="$2" "$awk_median"'
    { r = $1; l = $2; n[l]++; w[l, n[l]] = $3; c[l, n[l]] = $4; s[l, n[l]] = $5; if ($6 > m[l]) m[l] = $6; at[l, r] = $3; rounds[r] = 1 }
    END {
      printf "%-18s %8s %12s %12s %9s\n", "command", "median s", "client cpu s", "server cpu s", "peak MiB"
      k = split(labels, order, " ")
      for (i = 1; i <= k; i++) {
        l = order[i]; if (!(l in n)) continue
        # the run with the median time, for its CPU split
        delete v; for (j = 1; j <= n[l]; j++) v[j] = w[l, j]
        t[l] = median(v, n[l]); best = 1
        for (j = 1; j <= n[l]; j++) if ((w[l, j] - t[l]) ^ 2 < (w[l, best] - t[l]) ^ 2) best = j
        printf "%-18s %8.2f %12.2f %12.2f %9.1f\n", l, t[l], c[l, best], s[l, best], m[l] / 1024
      }
      q = split(targets, lines, "\n")
      for (i = 1; i <= q; i++) {
        if (split(lines[i], f, " ") < 3) continue
        a = f[1]; b = f[2]; goal = f[3]; note = substr(lines[i], index(lines[i], f[3]) + length(f[3]) + 1)
        if (!(a in n) || !(b in n)) continue
        delete v; x = 0
        for (r in rounds) if ((a, r) in at && (b, r) in at && at[b, r] > 0) v[++x] = at[a, r] / at[b, r]
        printf "  %-16s / %-16s %5.2f (median of %d rounds; of the medians %.2f)%s%s\n", a, b, median(v, x), x, t[a] / t[b],
          goal == "-" ? "" : sprintf("  target <= %s", goal), note == "" ? "" : "  " note
      }
    }' "$out/results"
}

# cpu_floor LABELS: from $out/results (as for summarize), the least CPU (client + server, the
# median of its rounds) any of LABELS needed, spread over every core — the floor of a CPU-bound
# run — and its ratio to each pg_restore* label's median time.
cpu_floor() {
  awk -v cores="$(nproc)" -v labels="$1" "$awk_median"'
    { l = $2; n[l]++; cpu[l, n[l]] = $4 + $5; wall[l, n[l]] = $3 }
    END {
      least = -1
      for (l in n) { delete v; for (i = 1; i <= n[l]; i++) v[i] = cpu[l, i]; c = median(v, n[l]); if (least < 0 || c < least) { least = c; who = l } }
      printf "  floor: %.2f s = %.2f CPU s (%s, the least) / %d cores", least / cores, least, who, cores
      k = split(labels, order, " ")
      for (i = 1; i <= k; i++) if (order[i] ~ /^pg_restore/) { delete v; for (j = 1; j <= n[order[i]]; j++) v[j] = wall[order[i], j]
        printf "; %.2f x %s", least / cores / median(v, n[order[i]]), order[i] }
      print ""
    }' "$out/results"
}
