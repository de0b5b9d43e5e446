#!/usr/bin/env bash
# Run on demand (too slow for CI): a repository holding one file over 4 GiB of random bytes.
# cdb-repo-snap must write ZIP64 both ways (an entry over 4 GiB inside repository.zip, and an
# outer zip over 4 GiB), and `unzip -t` must accept both. Needs about 14 GB of free disk.
#   scripts/bench/big-file.sh [SIZE_MIB]      (default 4200)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
size=${1:-4200}
swift build -c release --product cdb-repo-snap >/dev/null
bin=$(swift build -c release --show-bin-path)/cdb-repo-snap
work=$(mktemp -d "${TMPDIR:-/tmp}/cdb-big.XXXXXX")
trap 'rm -rf "$work"' EXIT
git -C "$work" init -q repo
head -c "$((size * 1048576))" /dev/urandom >"$work/repo/big.bin"
echo small >"$work/repo/small.txt"
git -C "$work/repo" add -A
git -C "$work/repo" -c user.name=big -c user.email=big@example.com commit -qm big
echo "repository with a $size MiB file committed" >&2
(cd "$work/repo" && /usr/bin/time -f 'cdb-repo-snap: %e s, peak %M KiB' "$bin" --force -o "$work/snap.zip")
ls -l "$work/snap.zip" >&2
unzip -tq "$work/snap.zip"
unzip -q "$work/snap.zip" repository.zip -d "$work/out"
unzip -tq "$work/out/repository.zip"
unzip -p "$work/out/repository.zip" big.bin | cmp - "$work/repo/big.bin" && echo "big.bin: identical after the round trip"
unzip -Zv "$work/out/repository.zip" big.bin | grep -E 'uncompressed size|compressed size|minimum software' >&2
