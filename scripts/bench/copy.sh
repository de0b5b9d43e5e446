#!/usr/bin/env bash
# Benchmark (run on demand, not a test): cdb-copy to an SFTP destination (a throwaway sshd on a
# loopback port, rclone's sftp backend) against `rclone copyto` of the same file unencrypted
# and against `age -r KEY < FILE | rclone rcat`, in one run. The file: a zstd dump of the
# trading fixture at scale 1000 (CDB_BENCH_TRADING_SCALE; 4500 makes the issue's 250 MB). Prints medians of RUNS and ratios.
#
#   scripts/bench/copy.sh [RUNS]     (default 3; needs a release build, made if missing)
runs=${1:-3}
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_inside cdb-pg-dump cdb-copy -- "$@"

bindir=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${TMPDIR:-/tmp}/cdb-copy-bench.XXXXXX")
cleanup() { [ -f "$work/sshd.pid" ] && kill "$(cat "$work/sshd.pid")" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The server.
for k in host client; do ssh-keygen -q -t ed25519 -N '' -f "$work/$k"; done
cp "$work/client.pub" "$work/authorized_keys"
mkdir -p /run/sshd "$work/remote"
port=$((20000 + RANDOM % 30000))
cat >"$work/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $work/host
AuthorizedKeysFile $work/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin yes
PidFile $work/sshd.pid
Subsystem sftp internal-sftp
EOF
/usr/sbin/sshd -f "$work/sshd_config" -E "$work/sshd.log"
export RCLONE_CONFIG=/dev/null RCLONE_CONFIG_T_TYPE=sftp RCLONE_CONFIG_T_HOST=127.0.0.1 RCLONE_CONFIG_T_PORT=$port \
       RCLONE_CONFIG_T_USER=$(id -un) RCLONE_CONFIG_T_KEY_FILE=$work/client RCLONE_CONFIG_T_SHELL_TYPE=unix
for _ in $(seq 50); do rclone lsjson "t:$work/remote" >/dev/null 2>&1 && break; sleep 0.1; done

# The file.
echo "preparing: trading fixture at scale $scale, a zstd dump …" >&2
make_trading
export CDB_BACKUP_ROOT=$work/root XDG_CONFIG_HOME=$work/config
mkdir -p "$CDB_BACKUP_ROOT"
"$bindir/cdb-pg-dump" --quiet --dbname bench_trading --require-table public.orders --compress zstd >/dev/null
dump=$(ls "$CDB_BACKUP_ROOT"/PostgreSQL/cdb_backup_*.sql.zst)
age-keygen -o "$work/key.txt" 2>/dev/null
recipient=$(age-keygen -y "$work/key.txt")
echo "file: $(basename "$dump"), $(du -h "$dump" | cut -f1)" >&2

: >"$work/results"
once() {  # once LABEL CMD...
  local label=$1; shift
  rm -rf "$work/remote" && mkdir -p "$work/remote"
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  echo "$label $(cat "$work/time")" >>"$work/results"
}
for _ in $(seq "$runs"); do
  once rclone_copyto rclone copyto "$dump" "t:$work/remote/PostgreSQL/$(basename "$dump")"
  once age_rclone_rcat sh -c "age -r '$recipient' < '$dump' | rclone rcat 't:$work/remote/PostgreSQL/$(basename "$dump").age'"
  once cdb_copy "$bindir/cdb-copy" --quiet --to "t:$work/remote" --recipient "$recipient"
done
sort -k1,1 -k2,2n "$work/results" | awk '
  { n[$1]++; t[$1, n[$1]] = $2; if ($3 > m[$1]) m[$1] = $3 }
  END {
    for (k in n) med[k] = t[k, int((n[k] + 1) / 2)]
    printf "%-16s %9s %10s\n", "command", "median s", "peak MiB"
    split("rclone_copyto age_rclone_rcat cdb_copy", order, " ")
    for (i = 1; i <= 3; i++) { k = order[i]; printf "%-16s %9.2f %10.1f\n", k, med[k], m[k]/1024 }
    printf "ratios: cdb-copy / rclone copyto (unencrypted) %.2f (target <= 1.05); cdb-copy / age | rclone rcat %.2f\n", med["cdb_copy"]/med["rclone_copyto"], med["cdb_copy"]/med["age_rclone_rcat"]
  }'
