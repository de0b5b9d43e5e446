#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine: installs what cdb needs, builds it (release),
# starts a throwaway PostgreSQL loaded with the sample trading data, backs it up into a
# temporary backup root, and shows what was written and that it checks out.
#
#   scripts/demo.sh          # throwaway PostgreSQL with the trading fixture
#   scripts/demo.sh --mine   # your own database instead (PG* variables or the repository's .env)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
echo "==> building (release)…" >&2
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
root=$(mktemp -d "${TMPDIR:-/tmp}/cdb-demo.XXXXXX")/Claire_Backups

run_job() {
  "$bin/cdb-pg-dump" --backup-root "$root"
  echo >&2
  echo "==> written under $root:" >&2
  find "$root" -type f | sort >&2
  echo "==> checksums:" >&2
  (cd "$root/PostgreSQL" && sha256sum -c ./*.sha256) >&2
}

if [ "${1:-}" = "--mine" ]; then
  run_job
else
  export -f run_job
  export bin root
  scripts/with-postgres.sh --load-fixture bash -c run_job
fi
