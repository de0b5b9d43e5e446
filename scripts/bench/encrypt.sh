#!/usr/bin/env bash
# Benchmark (run on demand, not a test): what encryption costs. On the trading fixture at scale
# 1000: cdb-pg-dump --compress zstd against the same with --encrypt, and against
# pg_dump | zstd | age -r KEY, in one run; then cdb-verify --identity (decrypt, decompress,
# validate) on the encrypted dumps, and age -d on the plain one, as throughput. Prints medians
# of RUNS, peak memory and ratios.
#
#   scripts/bench/encrypt.sh [RUNS]        (default 3; needs a release build, made if missing)
runs=${1:-3}
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_inside cdb-pg-dump cdb-verify -- "$@"

bindir=$(swift build -c release --show-bin-path)
bench_folder bench
age-keygen -o "$out/key.txt" 2>/dev/null
recipient=$(age-keygen -y "$out/key.txt")

echo "preparing: trading fixture at scale $scale …" >&2
make_trading
echo "== bench_trading ($(db_size bench_trading))" >&2

: >"$out/results"
once() {  # once LABEL OUTFILE CMD... : appends "label seconds maxrss_kib size"
  local label=$1 file=$2; shift 2
  rm -f "$file"
  /usr/bin/time -f '%e %M' -o "$out/time" "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; return 1; }
  local size=0
  [ -f "$file" ] && size=$(stat -c %s "$file")
  echo "$label $(cat "$out/time") $size" >>"$out/results"
}

dump=("$bindir/cdb-pg-dump" --quiet --dbname bench_trading --require-table public.orders)
"${dump[@]}" -o "$out/c.sql" >/dev/null
for _ in $(seq "$runs"); do
  once cdb_zstd "$out/c.sql.zst" "${dump[@]}" --compress zstd -o "$out/c.sql.zst"
  once cdb_zstd_age "$out/c.sql.zst.age" "${dump[@]}" --compress zstd --recipient "$recipient" -o "$out/c.sql.zst.age"
  once pgdump_zstd_age "$out/p.sql.zst.age" sh -c "pg_dump -Fp bench_trading | zstd -q -T0 | age -r '$recipient' > '$out/p.sql.zst.age'"
  once cdb_age "$out/c.sql.age" "${dump[@]}" --recipient "$recipient" -o "$out/c.sql.age"
  once verify_zstd_age "$out/none" "$bindir/cdb-verify" --quiet --require-table public.orders --identity "$out/key.txt" "$out/c.sql.zst.age"
  once verify_age "$out/none" "$bindir/cdb-verify" --quiet --require-table public.orders --identity "$out/key.txt" "$out/c.sql.age"
  once verify_plain "$out/none" "$bindir/cdb-verify" --quiet --require-table public.orders "$out/c.sql"
  once age_d "$out/none" sh -c "age -d -i '$out/key.txt' '$out/c.sql.age' > /dev/null"
done
plain=$(stat -c %s "$out/c.sql" 2>/dev/null || echo 0)
sort -k1,1 -k2,2n "$out/results" | awk -v plain="$plain" '
  { n[$1]++; t[$1, n[$1]] = $2; if ($3 > m[$1]) m[$1] = $3; if ($4 > 0) s[$1] = $4 }
  END {
    for (k in n) med[k] = t[k, int((n[k] + 1) / 2)]
    printf "%-16s %9s %10s %10s\n", "command", "median s", "peak MiB", "size MiB"
    split("cdb_zstd cdb_zstd_age pgdump_zstd_age cdb_age verify_zstd_age verify_age verify_plain age_d", order, " ")
    for (i = 1; i <= 8; i++) { k = order[i]; printf "%-16s %9.2f %10.1f %10.1f\n", k, med[k], m[k]/1024, s[k]/1048576 }
    printf "ratios: cdb zstd+age / cdb zstd time %.2f (target <= 1.10); cdb zstd+age / pg_dump|zstd|age %.2f\n", med["cdb_zstd_age"]/med["cdb_zstd"], med["cdb_zstd_age"]/med["pgdump_zstd_age"]
    printf "        cdb-verify --identity on the plain-SQL .age: %.0f MB/s of plaintext (decrypt + validate; target >= 1000), validating alone %.0f MB/s, age -d %.0f MB/s\n", plain/1e6/med["verify_age"], plain/1e6/med["verify_plain"], plain/1e6/med["age_d"]
  }'
